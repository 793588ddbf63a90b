"""Library files: BibTeX, RIS, CSL JSON, zotero.sqlite and arXiv id lists."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from dailypapers.rank.library import LibraryError, normalise_title, read_library
from dailypapers.rank.libstore import digest

BIB = r"""
@article{muller2025,
  title = {Caf\'e {Reward} Models for M\"uller},
  author = {M\"uller, J.},
  eprint = {2505.07271},
  archivePrefix = {arXiv},
  abstract = {We study reward models.},
}
@inproceedings{noabs,
  title = {Graph Networks at Scale},
  doi = {10.1145/3580305.ABC},
}
@misc{url, title = {By URL}, url = {https://arxiv.org/abs/2401.00001v2}}
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_bibtex_accents_ids_dois_and_missing_abstracts(tmp_path: Path) -> None:
    entries = read_library(write(tmp_path, "lib.bib", BIB))
    assert [e.key for e in entries] == ["muller2025", "noabs", "url"]
    first = entries[0]
    assert first.title == "Café Reward Models for Müller"
    assert first.arxiv_id == "2505.07271"
    assert first.abstract == "We study reward models."
    assert entries[1].doi == "10.1145/3580305.abc"
    assert entries[1].abstract == "" and entries[1].arxiv_id is None
    assert entries[2].arxiv_id == "2401.00001"


def test_malformed_bibtex_is_one_line_naming_file_and_entry(tmp_path: Path) -> None:
    path = write(tmp_path, "bad.bib", "@article{a, title={ok}}\n@article{b, title={oops\n")
    with pytest.raises(LibraryError) as caught:
        read_library(path)
    message = str(caught.value)
    assert str(path) in message and "line 2" in message and "\n" not in message


def test_malformed_bibtex_prints_nothing_else(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    path = write(tmp_path, "bad.bib", "@article{x, title={Unclosed\n")
    with pytest.raises(LibraryError):
        read_library(path)
    assert capfd.readouterr().err == ""  # the parser's own multi-line warning stays quiet


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("junk.ris", "\x00\x01 random bytes, no record\n", "no RIS record found"),
        ("junk.bib", "just some words, no entry\n", "no BibTeX entry found"),
    ],
)
def test_a_file_with_no_entry_is_an_error(
    tmp_path: Path, name: str, content: str, message: str
) -> None:
    path = write(tmp_path, name, content)
    with pytest.raises(LibraryError, match=message):
        read_library(path)


def test_ris(tmp_path: Path) -> None:
    text = (
        "TY  - JOUR\nTI  - Diffusion Policies\nAB  - We act.\nDO  - 10.1000/XY\n"
        "UR  - https://arxiv.org/abs/2502.00002\nY2  - 2025/03/04\nER  - \n"
        "TY  - JOUR\nT1  - No Abstract Here\nER  - \n"
    )
    entries = read_library(write(tmp_path, "lib.ris", text))
    assert [e.title for e in entries] == ["Diffusion Policies", "No Abstract Here"]
    assert entries[0].arxiv_id == "2502.00002" and entries[0].doi == "10.1000/xy"


def test_a_ris_file_cut_short_imports_nothing(tmp_path: Path) -> None:
    # Before: the records before the cut were imported, the last silently dropped.
    record = "TY  - JOUR\nTI  - {}\nER  - \n"
    cut = record.format("A") + record.format("Second") + "TY  - JOUR\nTI  - Third\n"
    with pytest.raises(LibraryError, match=r"3 records start .* but 2 end .*: the file is cut"):
        read_library(write(tmp_path, "cut.ris", cut))
    whole = read_library(write(tmp_path, "whole.ris", cut + "ER  - \n"))
    assert [e.title for e in whole] == ["A", "Second", "Third"]


def test_csl_json(tmp_path: Path) -> None:
    items = [
        {
            "id": "a",
            "title": "Sparse Attention",
            "abstract": "Fast.",
            "DOI": "10.48550/arXiv.2503.00003",
            "accessed": {"date-parts": [[2025, 4, 1]]},
        },
        {"id": "b", "title": "Second"},
    ]
    entries = read_library(write(tmp_path, "lib.json", json.dumps(items)))
    assert entries[0].arxiv_id == "2503.00003" and entries[0].doi is None
    assert entries[0].added == datetime(2025, 4, 1, tzinfo=UTC)
    with pytest.raises(LibraryError, match="entry #1: not an object"):
        read_library(write(tmp_path, "bad.json", "[1]"))
    with pytest.raises(LibraryError, match="not valid JSON"):
        read_library(write(tmp_path, "worse.json", "{"))


def test_id_list(tmp_path: Path) -> None:
    text = (
        "# my papers\n2505.07271\nhttps://arxiv.org/pdf/2401.00001v3.pdf\n\nhep-th/9901001  # old\n"
    )
    entries = read_library(write(tmp_path, "ids.txt", text))
    assert [e.arxiv_id for e in entries] == ["2505.07271", "2401.00001", "hep-th/9901001"]
    with pytest.raises(LibraryError, match="line 2: not an arXiv id"):
        read_library(write(tmp_path, "bad.txt", "2505.07271\nnot an id\n"))
    forms = "arXiv:2505.07271\nARXIV: 2401.00001v2\n10.48550/arXiv.2402.00002\n"
    entries = read_library(write(tmp_path, "prefixed.txt", forms))  # as a .bib carries them
    assert [e.arxiv_id for e in entries] == ["2505.07271", "2401.00001", "2402.00002"]


def test_latin1_and_utf16_library_files_are_read_as_written(tmp_path: Path) -> None:
    latin = tmp_path / "latin.bib"
    latin.write_bytes("@misc{k, title = {Récompense modèle}}".encode("latin-1"))
    (entry,) = read_library(latin)  # before: "R\ufffdcompense", matching no paper's title
    assert entry.title == "Récompense modèle"
    wide = tmp_path / "wide.txt"
    wide.write_bytes("2505.07271\n".encode("utf-16"))  # with its BOM
    assert [e.arxiv_id for e in read_library(wide)] == ["2505.07271"]


def test_paths_that_are_no_file_are_one_line(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "pipe.bib")  # before: read forever (no writer)
    with pytest.raises(LibraryError, match=r"pipe\.bib: not a regular file"):
        read_library(tmp_path / "pipe.bib")
    (tmp_path / "loop.bib").symlink_to("loop.bib")
    with pytest.raises(LibraryError, match=r"loop\.bib: cannot read: "):
        read_library(tmp_path / "loop.bib")
    with pytest.raises(LibraryError, match=r"cannot read: embedded null byte"):
        read_library(tmp_path / "nul\0.bib")


def zotero_db(path: Path) -> Path:
    """A zotero.sqlite holding the tables (and columns) of Zotero's schema we read."""
    db = sqlite3.connect(path)
    db.executescript(
        """
        CREATE TABLE itemTypes (itemTypeID INTEGER PRIMARY KEY, typeName TEXT,
            templateItemTypeID INT, display INT DEFAULT 1);
        CREATE TABLE items (itemID INTEGER PRIMARY KEY, itemTypeID INT NOT NULL,
            dateAdded TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
            dateModified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
            clientDateModified TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP,
            libraryID INT NOT NULL, key TEXT NOT NULL, version INT NOT NULL DEFAULT 0,
            synced INT NOT NULL DEFAULT 0, UNIQUE (libraryID, key));
        CREATE TABLE fields (fieldID INTEGER PRIMARY KEY, fieldName TEXT, fieldFormatID INT);
        CREATE TABLE itemDataValues (valueID INTEGER PRIMARY KEY, value UNIQUE);
        CREATE TABLE itemData (itemID INT, fieldID INT, valueID, PRIMARY KEY (itemID, fieldID));
        CREATE TABLE deletedItems (itemID INTEGER PRIMARY KEY,
            dateDeleted DEFAULT CURRENT_TIMESTAMP NOT NULL);
        CREATE TABLE collections (collectionID INTEGER PRIMARY KEY, collectionName TEXT NOT NULL,
            parentCollectionID INT DEFAULT NULL, clientDateModified TIMESTAMP,
            libraryID INT NOT NULL,
            key TEXT NOT NULL, version INT NOT NULL DEFAULT 0, synced INT NOT NULL DEFAULT 0);
        CREATE TABLE collectionItems (collectionID INT NOT NULL, itemID INT NOT NULL,
            orderIndex INT NOT NULL DEFAULT 0, PRIMARY KEY (collectionID, itemID));
        INSERT INTO itemTypes VALUES (1, 'journalArticle', NULL, 1), (2, 'attachment', NULL, 1),
            (3, 'preprint', NULL, 1), (4, 'note', NULL, 1);
        INSERT INTO fields VALUES (1, 'title', NULL), (2, 'abstractNote', NULL), (3, 'DOI', NULL),
            (4, 'url', NULL), (5, 'extra', NULL), (6, 'archiveID', NULL);
        INSERT INTO items (itemID, itemTypeID, dateAdded, libraryID, key) VALUES
            (1, 1, '2024-01-02 10:00:00', 1, 'AAAA1111'),
            (2, 2, '2024-01-03 10:00:00', 1, 'ATTACH01'),
            (3, 3, '2025-02-01 09:30:00', 1, 'PREPRINT'),
            (4, 1, '2025-03-01 09:30:00', 1, 'DELETED1');
        INSERT INTO itemDataValues VALUES (1, 'Old Journal Paper'), (2, 'Its abstract.'),
            (3, '10.1000/J.1'), (4, 'A Preprint'), (5, 'arXiv:2505.07271'), (6, 'Deleted');
        INSERT INTO itemData VALUES (1, 1, 1), (1, 2, 2), (1, 3, 3),
            (3, 1, 4), (3, 6, 5), (4, 1, 6);
        INSERT INTO deletedItems (itemID) VALUES (4);
        INSERT INTO collections (collectionID, collectionName, libraryID, key)
            VALUES (1, 'RLHF', 1, 'COLL0001');
        INSERT INTO collectionItems VALUES (1, 3, 0);
        """
    )
    db.commit()
    db.close()
    return path


def test_zotero_sqlite_read_from_a_copy_with_date_added(tmp_path: Path) -> None:
    path = zotero_db(tmp_path / "zotero.sqlite")
    before = path.read_bytes()
    entries = read_library(path)
    assert [e.key for e in entries] == ["PREPRINT", "AAAA1111"]  # newest added first
    assert entries[0].arxiv_id == "2505.07271" and entries[0].collections == ("RLHF",)
    assert entries[0].added == datetime(2025, 2, 1, 9, 30, tzinfo=UTC)
    assert entries[1].doi == "10.1000/j.1" and entries[1].abstract == "Its abstract."
    assert path.read_bytes() == before


def test_not_a_zotero_database(tmp_path: Path) -> None:
    path = write(tmp_path, "zotero.sqlite", "not sqlite at all" * 100)
    with pytest.raises(LibraryError, match="not a Zotero database"):
        read_library(path)


def test_missing_file_is_one_line(tmp_path: Path) -> None:
    with pytest.raises(LibraryError, match="cannot read"):
        read_library(tmp_path / "nope.bib")


def test_normalise_title() -> None:
    assert normalise_title("Café: Reward-Models!") == normalise_title("cafe reward models")


def test_zotero_sqlite_in_wal_mode_keeps_items_not_yet_checkpointed(tmp_path: Path) -> None:
    path = zotero_db(tmp_path / "zotero.sqlite")
    zotero = sqlite3.connect(path)  # Zotero running: its newest writes sit in zotero.sqlite-wal
    try:
        assert zotero.execute("PRAGMA journal_mode=WAL").fetchone() == ("wal",)
        zotero.execute("PRAGMA wal_autocheckpoint=0")
        zotero.executescript(
            """
            INSERT INTO items (itemID, itemTypeID, dateAdded, libraryID, key)
                VALUES (5, 3, '2025-06-01 08:00:00', 1, 'WALITEM1');
            INSERT INTO itemDataValues VALUES (7, 'Only in the WAL'), (8, 'arXiv:2506.00001');
            INSERT INTO itemData VALUES (5, 1, 7), (5, 6, 8);
            """
        )
        wal = path.with_name("zotero.sqlite-wal")
        assert wal.stat().st_size > 0
        main_file, log = path.read_bytes(), wal.read_bytes()
        entries = read_library(path)
        assert [e.key for e in entries] == ["WALITEM1", "PREPRINT", "AAAA1111"]
        assert entries[0].arxiv_id == "2506.00001" and entries[0].title == "Only in the WAL"
        assert path.read_bytes() == main_file and wal.read_bytes() == log  # nothing touched
    finally:
        zotero.close()


def test_an_item_added_to_the_wal_changes_the_digest(tmp_path: Path) -> None:
    path = zotero_db(tmp_path / "zotero.sqlite")
    before = digest(path)
    zotero = sqlite3.connect(path)
    try:
        zotero.execute("PRAGMA journal_mode=WAL")
        zotero.execute("PRAGMA wal_autocheckpoint=0")
        zotero.execute("INSERT INTO itemDataValues VALUES (9, 'New')")
        zotero.commit()
        main_file = path.read_bytes()
        after = digest(path)
        zotero.execute("INSERT INTO itemDataValues VALUES (10, 'Newer')")
        zotero.commit()
        assert path.read_bytes() == main_file  # only the log changed
        assert len({before, after, digest(path)}) == 3  # so [library] paths re-imports
    finally:
        zotero.close()


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        (
            "deep.bib",
            "@misc{k, title = {" + "{" * 3000 + "x" + "}" * 3000 + "}}",
            "entry k: braces",
        ),
        ("deep.json", "[" * 100_000 + "]" * 100_000, "not valid JSON: nested too deeply"),
        ("ids.txt", "2501.00001v" + "9" * 5000 + "\n", "line 1: not an arXiv id or URL"),
    ],
)
def test_a_hostile_file_is_one_line_naming_it(
    tmp_path: Path, name: str, text: str, problem: str
) -> None:
    """Before: RecursionError or ValueError, "unexpected error" without the file's name."""
    path = write(tmp_path, name, text)
    with pytest.raises(LibraryError) as caught:
        read_library(path)
    assert str(caught.value).startswith(f"{path}: {problem}")
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("date", [5, {"a": 1}, [[1e400, 1, 1]], [[10**20, 1, 1]], "x", None])
def test_a_csl_date_of_any_shape_is_no_date(tmp_path: Path, date: object) -> None:
    item = {"id": "k", "title": "A title", "accessed": {"date-parts": date}}
    text = json.dumps([item]).replace("Infinity", "1e400")
    (entry,) = read_library(write(tmp_path, "lib.json", text))
    assert entry.added is None and entry.title == "A title"


def test_a_huge_bibtex_field_is_cut_before_its_latex_is_read(tmp_path: Path) -> None:
    """A 1 MB abstract took 27 s to convert (square of its size); now its first 40,000."""
    path = write(tmp_path, "big.bib", "@misc{k, title = {T}, abstract = {" + "a " * 500_000 + "}}")
    (entry,) = read_library(path)
    assert len(entry.abstract) == 20_000


def test_keys_and_titles_carry_no_terminal_control(tmp_path: Path) -> None:
    """`library list` printed a key's OSC 8 hyperlink escape as it was."""
    evil = "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07"
    item = {"id": evil + "k" * 5000, "title": f"A {evil} title\u202e"}
    (entry,) = read_library(write(tmp_path, "lib.json", json.dumps([item])))
    assert not any(c in entry.key + entry.title for c in "\x1b\x07\u202e")
    assert len(entry.key) <= 200


def test_a_library_that_cannot_be_read_is_one_line_when_digested(tmp_path: Path) -> None:
    """Before: the digest read the file outside the reader's error handling (a traceback)."""
    folder = write(tmp_path, "lib.bib", BIB).parent / "a-folder.bib"
    folder.mkdir()  # reading a folder fails as an unreadable file does, also as root
    with pytest.raises(LibraryError, match=r"a-folder\.bib: cannot read: "):
        digest(folder)


def test_a_zotero_log_over_the_size_limit_is_refused_before_it_is_copied(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from dailypapers.rank import library

    monkeypatch.setattr(library, "MAX_FILE_BYTES", 1024)
    path = tmp_path / "zotero.sqlite"
    sqlite3.connect(path).close()
    (tmp_path / "zotero.sqlite-wal").write_bytes(b"\0" * 2048)
    with pytest.raises(LibraryError, match=r"zotero\.sqlite: its -wal is larger than"):
        read_library(path)


def test_a_bare_percent_is_text_not_a_latex_comment(tmp_path: Path) -> None:
    # arXiv's own BibTeX export writes "80%" unescaped: before, pylatexenc read a
    # comment and cut the title to "TimeChat-Online: 80" (17% of a 2025 sample's abstracts).
    bib = (
        "@misc{a, title={TimeChat-Online: 80% Visual Tokens are Naturally Redundant},"
        " abstract={Reaches 100\\% codebook use and 95% recall in $O(n)$ time.},"
        " url={https://example.org/a%20b}}\n"
    )
    entry = read_library(write(tmp_path, "pct.bib", bib))[0]
    assert entry.title == "TimeChat-Online: 80% Visual Tokens are Naturally Redundant"
    assert entry.abstract == "Reaches 100% codebook use and 95% recall in O(n) time."


@pytest.mark.parametrize(
    "value",
    [
        "Plain words, commas; colons: and 'quotes' stay as they are",
        "Spaces  and\n a line break\tand tabs\n",
        "Accents: Caf\\'e M\\\"uller {GPT}-4 -- $x^2$ ~ `a' ``b'' 50\\% & more",
    ],
)
def test_a_value_reads_as_pylatexenc_reads_it(value: str) -> None:
    # Values without LaTeX skip the conversion (4x faster on a 2,000-entry export):
    # the text must be what the conversion gives.
    from pylatexenc.latex2text import LatexNodes2Text

    from dailypapers.rank.library import _latex_text

    latex = LatexNodes2Text()
    assert _latex_text(latex, value) == latex.latex_to_text(value)


def test_arxiv_ids_in_the_fields_exporters_put_them_in(tmp_path: Path) -> None:
    # Google Scholar's RIS and CSL JSON name arXiv in the journal; BibTeX in howpublished or note.
    ris = (
        "TY  - JOUR\nTI  - Direct Preference Optimization\n"
        "JO  - arXiv preprint arXiv:2305.18290\nER  - \n"
        "TY  - JOUR\nTI  - Second\nM3  - arXiv:2203.02155\nER  - \n"
    )
    assert [e.arxiv_id for e in read_library(write(tmp_path, "s.ris", ris))] == [
        "2305.18290",
        "2203.02155",
    ]
    csl = [{"id": "a", "title": "T", "container-title": "arXiv preprint arXiv:2305.18290"}]
    entries = read_library(write(tmp_path, "s.json", json.dumps(csl)))
    assert entries[0].arxiv_id == "2305.18290"
    bib = (
        "@misc{a, title={A}, howpublished={\\url{https://arxiv.org/abs/2203.02155}}}\n"
        "@misc{b, title={B}, note={arXiv:2305.18290}}\n"
    )
    assert [e.arxiv_id for e in read_library(write(tmp_path, "s.bib", bib))] == [
        "2203.02155",
        "2305.18290",
    ]
