"""Output paths checked at load time: no output may overwrite the store, the config or another.

Every enabled output path is resolved (symlinks followed) and must be

* inside the project folder (unless ``allow_outside = true``);
* not the config file, not the store file nor inside the store's folder;
* for a file (README, ``papers.json``): not an existing folder, not another
  output's file, not a file an output folder owns (``site/index.html``,
  ``feeds/all.xml``: other files there are kept, so ``site/papers.json`` is fine);
* for a folder (feeds, site): not holding the config or the store.

Each violation is one ``file:line: key: ...`` line (exit 2). A symlinked
output folder is followed: the folder it points at is checked (and later
published in place of the link's target).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from dailypapers.config import Config

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


def output_path_problems(config: Config) -> list[tuple[tuple[str, str], str]]:
    """Every violation as ``((section, key), message)``; empty when the paths are safe."""
    outputs = _outputs(config)
    base = config.base_dir.resolve()
    store = _store_file(config)
    problems = []
    for out in outputs:
        message = _problem(out, outputs, base, config.path.resolve(), store, config)
        if message:
            problems.append(((out.name, out.key), message))
    return problems


def _outputs(config: Config) -> list[_Output]:
    paths = {
        "readme": config.readme_path,
        "json": config.json_path,
        "feeds": config.feeds_dir,
        "site": config.site_dir,
    }
    found = []
    for name in config.settings.outputs:
        section, key, folder = _KEYS[name]
        found.append(_Output(section, key, paths[name].resolve(), folder))
    return found


def _store_file(config: Config) -> Path | None:
    url = config.db_url
    if not url.startswith("sqlite:///") or ":memory:" in url:
        return None
    return Path(url.removeprefix("sqlite:///")).resolve()


def _inside(path: Path, folder: Path) -> bool:
    return path == folder or folder in path.parents


def _problem(
    out: _Output,
    outputs: list[_Output],
    base: Path,
    config_file: Path,
    store: Path | None,
    config: Config,
) -> str | None:
    return _placement(out, base, config_file, store, config) or _clash(out, outputs)


def _placement(
    out: _Output, base: Path, config_file: Path, store: Path | None, config: Config
) -> str | None:
    path, state = out.path, config.state_dir.resolve()
    if not config.settings.allow_outside and not _inside(path, base):
        return f"resolves to {path}, outside the project (set allow_outside = true to allow it)"
    if path == config_file or (out.folder and _inside(config_file, path)):
        return "would overwrite the config file"
    if _inside(path, state) or (out.folder and _inside(state, path)):
        return "would overwrite the store's folder"
    if store is not None and (path == store or (out.folder and _inside(store, path))):
        return "would overwrite the store"
    if not out.folder and path.is_dir():
        return f"{path.name} is a folder; name a file"
    if out.folder and path.exists() and not path.is_dir():
        return f"{path.name} is a file; name a folder"
    return None


def _clash(out: _Output, outputs: list[_Output]) -> str | None:
    for other in outputs:
        if other is out:
            continue
        if out.path == other.path:
            return f"is also {other.name}.{other.key}; outputs must not overwrite each other"
        if other.folder and _owned_by(out.path, other):
            return f"is a file {other.name}.{other.key} owns and rewrites on every run"
    return None


def _owned_by(path: Path, folder: _Output) -> bool:
    """Whether ``path`` is the folder or a file the folder's renderer owns (and replaces).

    Other files in an output folder are carried over: ``papers.json`` may live
    in the site folder, to be published with it.
    """
    from dailypapers.publish.outputs import owns_feed_file, owns_site_file

    if path == folder.path:
        return True
    if folder.path not in path.parents:
        return False
    relative = path.relative_to(folder.path).as_posix()
    owns = owns_site_file if folder.name == "site" else owns_feed_file
    return owns(relative)
