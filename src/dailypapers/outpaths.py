"""Output paths checked at load time: no output may overwrite the store, the config or another.

Every enabled output path is resolved (symlinks followed) and must be

* inside the project folder (unless ``allow_outside = true``);
* not the config file, not the store file nor inside the store's folder;
* for a file (README, ``papers.json``): not an existing folder, not another
  output's file, not a file an output folder owns (``site/index.html``,
  ``feeds/all.xml``: other files there are kept, so ``site/papers.json`` is fine);
* for a folder (feeds, site): not holding the config or the store.

Each violation is one ``file:line: key: ...`` line (exit 2). A symlinked
output is followed: the folder or file it points at is checked, and later
published in its place (``publish.files.followed``; the link stays).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

# output name -> (config section, key, is a folder)
_KEYS: dict[str, tuple[str, str, bool]] = {
    "readme": ("readme", "path", False),
    "json": ("json", "path", False),
    "feeds": ("feeds", "dir", True),
    "site": ("site", "dir", True),
}


@dataclass(frozen=True)
class _Output:
    name: str
    key: str
    path: Path
    folder: bool


@dataclass(frozen=True)
class Project:
    """What the checks need to know of a config (built by ``config.py``)."""

    base: Path  # the config's folder
    config_file: Path
    state: Path  # the state folder (.dailypapers)
    store: Path | None  # the SQLite file, if the store is one
    allow_outside: bool
    outputs: Sequence[str]  # the enabled outputs: readme, json, feeds, site
    paths: Mapping[str, Path]  # output name -> its path


def output_path_problems(project: Project) -> list[tuple[tuple[str, str], str]]:
    """Every violation as ``((section, key), message)``; empty when the paths are safe."""
    outputs = [
        _Output(_KEYS[name][0], _KEYS[name][1], project.paths[name].resolve(), _KEYS[name][2])
        for name in project.outputs
    ]
    problems = []
    for out in outputs:
        message = _placement(out, project) or _clash(out, outputs)
        if message:
            problems.append(((out.name, out.key), message))
    return problems


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _placement(out: _Output, project: Project) -> str | None:
    path, state = out.path, project.state.resolve()
    base, config_file = project.base.resolve(), project.config_file.resolve()
    store = project.store.resolve() if project.store else None
    if not project.allow_outside and not _inside(path, base):
        return f"resolves to {path}, outside the project (set allow_outside = true to allow it)"
    if path == config_file or (out.folder and _inside(config_file, path)):
        return "would overwrite the config file"
    if _inside(path, state) or (out.folder and _inside(state, path)):
        return "would overwrite the store's folder"
    if store is not None and (path == store or (out.folder and _inside(store, path))):
        return "would overwrite the store"
    if not out.folder and path.exists() and not path.is_file():
        return _not_a_file(path)
    if out.folder and path.exists() and not path.is_dir():
        return f"{path.name} is a file; name a folder"
    return None


def _not_a_file(path: Path) -> str:
    if path.is_dir():
        return f"{path.name} is a folder; name a file"
    return f"{path.name} is a named pipe, socket or device, not a file; remove it"  # a read hangs


def _clash(out: _Output, outputs: list[_Output]) -> str | None:
    for other in outputs:
        if other is out:
            continue
        if out.path == other.path:
            return f"is also {other.name}.{other.key}; outputs must not overwrite each other"
        if other.folder and _owned_by(out.path, other):
            return f"is a file {other.name}.{other.key} owns and rewrites on every run"
    return None


def owns_feed_file(relative: str) -> bool:
    """Files of the feeds folder that dailypapers writes (others are left alone)."""
    return "/" not in relative and relative.endswith(".xml")


def owns_site_file(relative: str) -> bool:
    """Files of the site folder that dailypapers writes (others are left alone)."""
    top = relative.split("/", 1)[0]
    return relative in ("index.html", ".nojekyll") or (
        "/" in relative and top in ("topics", "assets", "feeds")
    )


def _owned_by(path: Path, folder: _Output) -> bool:
    """Whether ``path`` is the folder or a file the folder's renderer owns (and replaces).

    Other files in an output folder are carried over: ``papers.json`` may live
    in the site folder, to be published with it.
    """
    if path == folder.path:
        return True
    if folder.path not in path.parents:
        return False
    relative = path.relative_to(folder.path).as_posix()
    owns = owns_site_file if folder.name == "site" else owns_feed_file
    return owns(relative)
