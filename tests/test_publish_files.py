"""Atomic writes of a rendered output, and the README compared line by line as it is written."""

from __future__ import annotations

import errno
import io
import itertools
import os
import tempfile
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dailypapers.publish.files import (
    write_atomic,
    write_if_changed,
    write_lines_if_changed,
    write_parts,
)
from dailypapers.render.markdown import Section, is_date_line, readme_parts, same_but_date

LINES = st.lists(
    st.sampled_from(
        [
            "Last update: 2025-01-01",
            "Last update: 2025-01-02",
            "Last update: 2025-1-02",
            " Last update: 2025-01-02",
            "Last update: ٢٠٢٥-٠١-٠٢",  # \d is any digit in a str pattern
            "| a | b |",
            "é 模型",
            "",
            "\r",
        ]
    ),
    max_size=6,
)
ENDS = st.sampled_from(["\n", "\r\n", "\r", ""])


def text(lines: list[str], ends: list[str]) -> str:
    return "".join(line + end for line, end in zip(lines, ends, strict=False))


@settings(max_examples=300, deadline=None)
@given(LINES, st.lists(ENDS, min_size=6, max_size=6), LINES, st.lists(ENDS, min_size=6, max_size=6))
def test_line_by_line_verdict_is_same_but_dates(
    tmp_path_factory: pytest.TempPathFactory,
    old_lines: list[str],
    old_ends: list[str],
    new_lines: list[str],
    new_ends: list[str],
) -> None:
    folder = tmp_path_factory.mktemp("same")
    path = folder / "README.md"
    old, new = text(old_lines, old_ends), text(new_lines, new_ends)
    path.write_bytes(old.encode("utf-8"))
    expected = same_but_date(path.read_text(encoding="utf-8"), new)  # what update used to ask
    written = write_lines_if_changed(path, [new[:3], new[3:]], ignored=is_date_line)
    assert written is not expected
    assert path.read_bytes() == (old if expected else new).encode("utf-8")
    assert [p.name for p in folder.iterdir()] == ["README.md"]  # no temporary file left


def readme(day: int, title: str = "X") -> Iterator[str]:
    return readme_parts(title, [Section("T", [])], updated_on=date(2025, 1, day))


def test_an_unchanged_readme_keeps_its_file(tmp_path: Path) -> None:
    path = tmp_path / "README.md"
    assert write_lines_if_changed(path, readme(1), ignored=is_date_line)
    before = path.stat()
    assert not write_lines_if_changed(path, readme(2), ignored=is_date_line)
    after = path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert "Last update: 2025-01-01" in path.read_text(encoding="utf-8")
    assert write_lines_if_changed(path, readme(2), ignored=is_date_line, force=True)
    assert write_lines_if_changed(path, readme(2, "Y"), ignored=is_date_line)
    assert path.read_text(encoding="utf-8") == "".join(readme(2, "Y"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md"]


def test_an_undecodable_readme_is_replaced(tmp_path: Path) -> None:
    path = tmp_path / "README.md"
    path.write_bytes(b"\xff\xfe not UTF-8\n")
    assert write_lines_if_changed(path, readme(1), ignored=is_date_line)
    assert path.read_text(encoding="utf-8") == "".join(readme(1))


def test_a_render_that_fails_half_way_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "README.md"
    path.write_text("old\n", encoding="utf-8")
    os.chmod(path, 0o640)

    def parts() -> Iterator[str]:
        yield "new header\n"
        raise RuntimeError("a paper could not be rendered")

    with pytest.raises(RuntimeError):
        write_lines_if_changed(path, parts(), ignored=is_date_line)
    assert path.read_text(encoding="utf-8") == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]
    assert write_parts(path, ["a", "é" * 70_000, b"\n"])  # larger than a chunk; mode kept
    assert path.read_text(encoding="utf-8") == "a" + "é" * 70_000 + "\n"
    assert path.stat().st_mode & 0o777 == 0o640


@pytest.mark.parametrize(
    "error", [FileNotFoundError("feeds/x.xml"), UnicodeDecodeError("utf-8", b"\xff", 0, 1, "bad")]
)
def test_a_render_failing_like_an_unreadable_file_changes_nothing(
    tmp_path: Path, error: Exception
) -> None:
    """Fails on the old code: such an error of the rendering counted as "the old file
    differs", and the lines rendered so far replaced the README without an error."""
    path = tmp_path / "README.md"
    path.write_text("head\nA\nB\nC\n", encoding="utf-8")

    def parts() -> Iterator[str]:
        yield "head\nA\n"
        raise error

    with pytest.raises(type(error)):
        write_lines_if_changed(path, parts(), ignored=is_date_line)
    assert path.read_text(encoding="utf-8") == "head\nA\nB\nC\n"
    assert [p.name for p in tmp_path.iterdir()] == ["README.md"]


def test_date_lines_are_the_ones_same_but_date_ignores() -> None:
    assert is_date_line("Last update: 2025-06-04\n") and is_date_line("Last update: 2025-06-04")
    assert not is_date_line("Last update: 2025-06-04 \n")
    assert not is_date_line("Last update: 2025-06-04\n\n")
    assert not is_date_line("x Last update: 2025-06-04\n")


def test_write_if_changed_still_compares_whole_texts(tmp_path: Path) -> None:
    path = tmp_path / "papers.json"
    assert write_if_changed(path, "[]\n") and not write_if_changed(path, "[]\n")


class _FullDisk(io.BytesIO):
    """A temporary file on a disk that fills after a few bytes."""

    def write(self, data: bytes) -> int:  # type: ignore[override]
        if self.tell() + len(data) > 8:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return super().write(data)


def _no_temp_file(code: int) -> Callable[..., object]:
    def refuse(*args: object, **kwargs: object) -> object:
        raise OSError(code, os.strerror(code))

    return refuse


@pytest.mark.parametrize("code", [errno.EROFS, errno.EACCES, errno.ENOSPC])
def test_an_unchanged_readme_needs_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    """A read-only folder or a full disk: unchanged is still unchanged (failed on the old code)."""
    path = tmp_path / "README.md"
    assert write_lines_if_changed(path, readme(1), ignored=is_date_line)
    before = path.read_bytes()
    monkeypatch.setattr(tempfile, "mkstemp", _no_temp_file(code))
    assert not write_lines_if_changed(path, readme(2), ignored=is_date_line)
    with pytest.raises(OSError) as raised:  # changed: the error, nothing written
        write_lines_if_changed(path, readme(2, "Y"), ignored=is_date_line)
    assert raised.value.errno == code
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["README.md"]


def test_a_disk_that_fills_while_writing_an_unchanged_readme(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The temporary file fills the disk half-way: unchanged passes (failed on the old code)."""
    path = tmp_path / "README.md"
    assert write_lines_if_changed(path, readme(1), ignored=is_date_line)
    before = path.read_bytes()

    def full_disk(fd: int, mode: str) -> _FullDisk:
        os.close(fd)
        return _FullDisk()

    monkeypatch.setattr(os, "fdopen", full_disk)
    assert not write_lines_if_changed(path, readme(2), ignored=is_date_line)
    with pytest.raises(OSError) as raised:
        write_lines_if_changed(path, readme(2, "Y"), ignored=is_date_line)
    assert raised.value.errno == errno.ENOSPC
    assert path.read_bytes() == before and [p.name for p in tmp_path.iterdir()] == ["README.md"]


def _then(called: list[str]) -> Iterator[str]:
    """No parts: notes that the parts before it were all taken (the README's ``first``,
    which publishes the other outputs)."""
    called.append("first")
    yield from ()


@pytest.mark.parametrize("fails", ["temporary file", "disk fills"])
def test_a_changed_readme_that_cannot_be_written_fails_before_what_follows_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fails: str
) -> None:
    """The site and papers.json are published after the README's parts (``first``): a
    README that differs and cannot be written fails before them, not after (the old code
    published them, then failed, leaving the README of the run before)."""
    path = tmp_path / "README.md"
    assert write_lines_if_changed(path, readme(1), ignored=is_date_line)
    before = path.read_bytes()
    if fails == "temporary file":
        monkeypatch.setattr(tempfile, "mkstemp", _no_temp_file(errno.ENOSPC))
    else:

        def full_disk(fd: int, mode: str) -> _FullDisk:
            os.close(fd)
            return _FullDisk()

        monkeypatch.setattr(os, "fdopen", full_disk)
    called: list[str] = []
    with pytest.raises(OSError) as raised:
        write_lines_if_changed(
            path, itertools.chain(readme(2, "Y"), _then(called)), ignored=is_date_line
        )
    assert raised.value.errno == errno.ENOSPC and called == []
    assert path.read_bytes() == before
    assert not write_lines_if_changed(  # unchanged: what follows is still published
        path, itertools.chain(readme(2), _then(called)), ignored=is_date_line
    )
    assert called == ["first"]


@pytest.mark.parametrize("force", [False, True])
def test_a_symlinked_readme_is_written_where_it_points(tmp_path: Path, force: bool) -> None:
    """``README.md -> docs/index.md``: the old code replaced the link with a file (the
    config's path checks, and the output folders, follow links)."""
    (tmp_path / "docs").mkdir()
    target = tmp_path / "docs" / "index.md"
    target.write_text("old\n", encoding="utf-8")
    link = tmp_path / "README.md"
    link.symlink_to(Path("docs") / "index.md")
    assert write_lines_if_changed(link, readme(1), ignored=is_date_line, force=force)
    assert link.is_symlink() and target.read_text(encoding="utf-8") == "".join(readme(1))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["README.md", "docs"]
    assert not write_lines_if_changed(link, readme(2), ignored=is_date_line)  # date only
    assert write_if_changed(link, "plain\n") and link.is_symlink()
    assert target.read_text(encoding="utf-8") == "plain\n"


@pytest.mark.parametrize("lines", [False, True])
def test_a_folder_that_cannot_be_written_is_named_not_the_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, lines: bool
) -> None:
    """Before: "[Errno 30] Read-only file system: '.../.README.md.jcc612ey.tmp'"."""
    import errno
    import tempfile

    def read_only(*args: object, dir: Path, **kwargs: object) -> tuple[int, str]:
        raise OSError(errno.EROFS, "Read-only file system", f"{dir}/.README.md.jcc612ey.tmp")

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    target = tmp_path / "README.md"
    with pytest.raises(OSError) as info:
        if lines:
            write_lines_if_changed(target, ["new\n"])
        else:
            write_atomic(target, "new\n")
    assert info.value.errno == errno.EROFS
    assert str(info.value) == f"[Errno 30] Read-only file system: '{target}'"
