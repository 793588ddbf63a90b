"""Ranking against the library: import into the store, a fixed order, explanations, CLI."""

from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from dailypapers import schema
from dailypapers.cli import cli
from dailypapers.models import Author, Paper
from dailypapers.rank import api, libstore
from dailypapers.rank.commands import import_library
from dailypapers.rank.library import LibraryError
from dailypapers.rank.vectors import term_counts
from dailypapers.store import open_store, utcnow

T0 = datetime(2025, 5, 1, tzinfo=UTC)


def paper(number: int, title: str, abstract: str, *, days: int = 0, version: int = 1) -> Paper:
    return Paper(
        id=f"2505.{number:05d}",
        version=version,
        title=title,
        abstract=abstract,
        authors=(Author("Ada Lovelace"),),
        categories=("cs.LG",),
        primary="cs.LG",
        published=T0 + timedelta(days=days),
        updated=T0 + timedelta(days=days),
    )


OLD = [
    paper(
        1,
        "Reward models for language model alignment",
        "We train reward models from human preferences.",
    ),
    paper(
        2, "Graph neural networks for molecules", "Message passing predicts molecular properties."
    ),
    paper(
        3,
        "Preference optimisation without reward models",
        "Direct preference optimisation aligns language models.",
    ),
]
NEW = [
    paper(
        10,
        "Robust reward models against reward hacking",
        "Reward models trained on human preference data resist hacking.",
        days=5,
    ),
    paper(11, "Protein folding with diffusion", "A diffusion model folds proteins.", days=5),
    paper(
        12,
        "Molecular graph transformers",
        "Graph transformers predict molecular properties of molecules.",
        days=5,
    ),
    paper(13, "Weather forecasting at scale", "Forecasting weather with neural operators.", days=5),
]


def fill(url: str) -> None:
    with open_store(url) as store:
        store.write(lambda conn: store.save_papers(conn, OLD + NEW, utcnow()))


def test_import_matches_by_id_doi_title_and_ranks_in_a_fixed_order(
    store_url: str, tmp_path: Path
) -> None:
    fill(store_url)
    bib = tmp_path / "lib.bib"
    bib.write_text(
        "@article{a, title={Whatever}, eprint={2505.00001}}\n"
        "@article{b, title={Preference Optimisation WITHOUT reward-models}}\n"
        "@article{c, title={Unstored paper on reward model ensembles},"
        " abstract={Ensembles of reward models.}}\n",
        encoding="utf-8",
    )
    with open_store(store_url) as store:
        assert import_library(store, [bib]) == [
            f"{bib.resolve()}: 3 items, 2 matched stored papers"
        ]
        ranked = api.for_you(store, since=T0 + timedelta(days=4))
        every = api.rank_papers(store, NEW)
    assert [s.paper.id for s in every] == ["2505.00010", "2505.00011", "2505.00012", "2505.00013"]
    # "For you" leaves out what shares no term with the library (molecules, weather)
    assert [s.paper.id for s in ranked] == ["2505.00010", "2505.00011"]
    assert [s.score for s in every[2:]] == [0.0, 0.0] and ranked[1].score > 0
    top = ranked[0]
    assert top.score > ranked[1].score >= 0
    assert "reward" in top.because["terms"]
    assert top.because["items"][0] in {"2505.00001", "c"}


def test_a_library_is_read_before_the_store_is_locked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading and analysing a (big, slow) file held SQLite's write lock: another run
    wanting to write failed with "database is locked" after its busy timeout."""
    import sqlite3

    url = f"sqlite:///{tmp_path / 'papers.db'}"
    fill(url)
    bib = tmp_path / "lib.bib"
    bib.write_text("@article{a, title={Whatever}, eprint={2505.00001}}\n", encoding="utf-8")
    from dailypapers.rank import library

    real = library.read_library
    writes: list[str] = []

    def another_writer_meanwhile(path: Path) -> list[object]:
        other = sqlite3.connect(tmp_path / "papers.db", timeout=0, isolation_level=None)
        try:
            other.execute("BEGIN IMMEDIATE")  # "database is locked" while a write is open
            other.execute("ROLLBACK")
            writes.append("could write")
        finally:
            other.close()
        return real(path)  # type: ignore[return-value]

    monkeypatch.setattr(libstore, "read_library", another_writer_meanwhile)
    with open_store(url) as store:
        assert import_library(store, [bib]) == [f"{bib.resolve()}: 1 item, 1 matched stored papers"]
    assert writes == ["could write"]


def test_bad_file_imports_nothing(store_url: str, tmp_path: Path) -> None:
    fill(store_url)
    good = tmp_path / "ids.txt"
    good.write_text("2505.00001\n", encoding="utf-8")
    bad = tmp_path / "bad.ris"
    bad.write_text("2505.00001\n", encoding="utf-8")
    bad_list = tmp_path / "bad.txt"
    bad_list.write_text("nonsense\n", encoding="utf-8")
    with open_store(store_url) as store:
        with pytest.raises(LibraryError):
            import_library(store, [good, bad_list])
        with store.engine.connect() as conn:
            assert conn.scalar(sa.select(sa.func.count()).select_from(schema.library_items)) == 0


def test_second_run_recomputes_nothing_and_revisions_are_reanalysed(store_url: str) -> None:
    fill(store_url)
    with open_store(store_url) as store:
        assert store.write(libstore.refresh_terms) == len(OLD + NEW)
        assert store.write(libstore.refresh_terms) == 0
        revised = paper(13, "Weather forecasting", "Only weather now.", days=6, version=2)
        store.write(lambda conn: store.save_papers(conn, [revised], utcnow()))
        assert store.write(libstore.refresh_terms) == 1
        with store.engine.connect() as conn:
            corpus = libstore.corpus(conn)
    assert corpus.documents == len(OLD + NEW)
    assert corpus.frequencies is not None
    assert corpus.frequencies["neural"] == 1  # the old version's terms were taken out
    assert corpus.frequencies["weather"] == 1


def test_without_library_nothing_is_ranked(store_url: str) -> None:
    fill(store_url)
    with open_store(store_url) as store:
        with store.reading() as conn:
            assert not schema.has_library(conn)
        assert api.for_you(store) == []


def project(tmp_path: Path) -> Path:
    config = tmp_path / "papers.toml"
    config.write_text('[[topics]]\nname = "Reward"\n', encoding="utf-8")
    url = f"sqlite:///{tmp_path / '.dailypapers' / 'papers.db'}"
    fill(url)
    return config


def test_cli_library_rank_similar(tmp_path: Path) -> None:
    config = project(tmp_path)
    ids = tmp_path / "ids.txt"
    ids.write_text("2505.00001\n2505.00003\n", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["library", "import", "--config", str(config), str(ids)])
    assert result.exit_code == 0, result.output
    assert "2 items, 2 matched" in result.output
    url = f"sqlite:///{tmp_path / '.dailypapers' / 'papers.db'}"
    with open_store(url) as store, store.reading() as conn:
        assert schema.has_library(conn)  # "For you" is computed without [library] paths
    listing = runner.invoke(cli, ["library", "list", "--config", str(config)])
    assert "2505.00001" in listing.output
    stats = runner.invoke(cli, ["library", "stats", "--config", str(config)])
    assert "2 items in 1 file; 2 matched" in stats.output
    assert f"{ids}: 2 items, 2 matched stored papers, imported " in stats.output  # per file
    ranked = runner.invoke(
        cli, ["rank", "--config", str(config), "--since", "2025-05-05", "--json"]
    )
    assert ranked.exit_code == 0, ranked.output
    rows = json.loads(ranked.output)
    assert rows[0]["id"] == "2505.00010" and rows[0]["because"]["items"]
    explained = runner.invoke(
        cli, ["rank", "--config", str(config), "--since", "2025-05-05", "--explain"]
    )
    assert "because: 2505.0000" in explained.output
    similar = runner.invoke(cli, ["similar", "--config", str(config), "2505.00002"])
    assert similar.exit_code == 0, similar.output
    assert similar.output.splitlines()[0].split()[2] == "2505.00012"
    cited = runner.invoke(cli, ["similar", "--config", str(config), "arXiv:2505.00002v1"])
    assert cited.exit_code == 0 and cited.output == similar.output  # as papers cite it
    missing = runner.invoke(cli, ["similar", "--config", str(config), "2505.09999"])
    assert missing.exit_code == 1 and "not in the store" in missing.output


def test_cli_malformed_library_is_one_line(tmp_path: Path) -> None:
    config = project(tmp_path)
    bad = tmp_path / "bad.bib"
    bad.write_text("@article{x, title={unclosed\n", encoding="utf-8")
    result = CliRunner().invoke(cli, ["library", "import", "--config", str(config), str(bad)])
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "bad.bib" in result.output


def test_a_paper_twice_in_the_library_weighs_once(tmp_path: Path) -> None:
    def ranking(folder: Path, files: dict[str, str]) -> list[object]:
        folder.mkdir()
        config = project(folder)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        runner = CliRunner()
        names = [str(folder / name) for name in files]
        assert (
            runner.invoke(cli, ["library", "import", "--config", str(config), *names]).exit_code
            == 0
        )
        args = ["rank", "--config", str(config), "--since", "2025-05-05", "--json"]
        return list(json.loads(runner.invoke(cli, args).output))

    once = ranking(tmp_path / "once", {"a.txt": "2505.00001\n2505.00003\n"})
    twice = ranking(
        tmp_path / "twice",
        {"a.txt": "2505.00001\n2505.00001v2\narXiv:2505.00003\n", "b.txt": "2505.00001\n"},
    )
    assert twice == once


def test_rank_with_a_configured_library_that_breaks_is_one_line(tmp_path: Path) -> None:
    # Before: "unexpected error: LibraryError" (import and similar said it plainly).
    config = project(tmp_path)
    (tmp_path / "bad.bib").write_text("@article{x, title={unclosed\n", encoding="utf-8")
    (tmp_path / "loop.bib").symlink_to("loop.bib")
    for name in ("bad.bib", "loop.bib"):
        text = f'[[topics]]\nname = "Reward"\n[library]\npaths = ["{name}"]\n'
        config.write_text(text, encoding="utf-8")
        result = CliRunner().invoke(cli, ["rank", "--config", str(config)])
        assert result.exit_code == 1 and result.output.count("\n") == 1, result.output
        assert result.output.startswith(f"dailypapers: {tmp_path / name}: ")


def test_configured_library_paths_are_reimported_when_changed(tmp_path: Path) -> None:
    config_path = project(tmp_path)
    ids = tmp_path / "ids.txt"
    ids.write_text("2505.00002\n", encoding="utf-8")
    config_path.write_text(
        '[[topics]]\nname = "Reward"\n\n[library]\npaths = ["ids.txt"]\n', encoding="utf-8"
    )
    from dailypapers.config import load_config

    config = load_config(config_path)
    url = config.db_url
    with open_store(url) as store:
        first = api.for_you(store, config, since=T0 + timedelta(days=4))
        assert first[0].paper.id == "2505.00012"  # molecules, like 2505.00002
        ids.write_text("2505.00001\n", encoding="utf-8")
        second = api.for_you(store, config, since=T0 + timedelta(days=4))
    assert second[0].paper.id == "2505.00010"  # reward models, like 2505.00001


def test_refresh_terms_reads_stale_papers_in_batches_with_the_same_results(
    store_url: str,
) -> None:
    fill(store_url)
    revised = paper(13, "Weather forecasting", "Only weather now.", days=6, version=2)
    final = {p.id: term_counts(p.title, p.abstract) for p in [*OLD, *NEW[:-1], revised]}
    reads: list[str] = []
    with open_store(store_url) as store:
        sa.event.listen(
            store.engine,
            "before_cursor_execute",
            lambda *args: reads.append(args[2]) if "paper_terms.version" in args[2] else None,
        )
        assert store.write(lambda conn: libstore.refresh_terms(conn, batch=2)) == 7
        assert len(reads) == 5  # ceil(7 / 2) pages, then the empty one that ends the loop
        store.write(lambda conn: store.save_papers(conn, [revised], utcnow()))
        assert store.write(lambda conn: libstore.refresh_terms(conn, batch=2)) == 1
        with store.engine.connect() as conn:
            query = sa.select(schema.paper_terms.c.paper_id, schema.paper_terms.c.terms)
            cached = {row.paper_id: row.terms for row in conn.execute(query)}
            corpus = libstore.corpus(conn)
    assert cached == {key: dict(counts) for key, counts in final.items()}
    df = Counter(term for counts in final.values() for term in counts)
    assert corpus.frequencies is not None
    assert {t: n for t, n in corpus.frequencies.items() if n} == df
    assert corpus.documents == len(final)
    assert corpus.total_length == sum(sum(c.values()) for c in final.values())


def test_a_paper_in_an_id_list_and_a_bib_keeps_the_bib_s_terms(tmp_path: Path) -> None:
    # The id list's row of a paper not in the store has no terms; the .bib's has.
    # Deduplicating by paper must keep the one with terms (a review found the
    # first version of the dedup kept the empty one: every score became 0).
    config = project(tmp_path)
    (tmp_path / "ids.txt").write_text("2409.99999\n", encoding="utf-8")
    bib = "@article{r, title={Reward models for preference learning}, eprint={2409.99999}}\n"
    (tmp_path / "refs.bib").write_text(bib, encoding="utf-8")
    runner = CliRunner()
    names = [str(tmp_path / "ids.txt"), str(tmp_path / "refs.bib")]
    assert runner.invoke(cli, ["library", "import", "--config", str(config), *names]).exit_code == 0
    args = ["rank", "--config", str(config), "--since", "2025-05-05", "--json"]
    rows = json.loads(runner.invoke(cli, args).output)
    assert rows and rows[0]["score"] > 0


def test_library_remove_drops_a_file_s_items_and_refuses_what_it_cannot(tmp_path: Path) -> None:
    config = project(tmp_path)
    reward, molecules = tmp_path / "reward.txt", tmp_path / "molecules.txt"
    reward.write_text("2505.00001\n2505.00003\n", encoding="utf-8")
    molecules.write_text("2505.00002\n", encoding="utf-8")
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        words = 1 if args[0] == "rank" else 2
        result = runner.invoke(cli, [*args[:words], "--config", str(config), *args[words:]])
        return result.exit_code, result.output

    assert run("library", "import", str(reward), str(molecules))[0] == 0
    rank = ("rank", "--since", "2025-05-05", "--json")
    assert json.loads(run(*rank)[1])[0]["because"]["items"][0] != "2505.00002"
    molecules.unlink()  # gone from disk: still removable by its name
    code, output = run("library", "remove", str(reward), str(tmp_path / "nothing.bib"))
    assert code == 1 and output.count("\n") == 1 and "nothing.bib: not in the library" in output
    assert "3 items in 2 files" in run("library", "stats")[1]  # all or nothing
    assert run("library", "remove", str(reward)) == (0, f"{reward}: removed, 2 items\n")
    assert "1 item in 1 file" in run("library", "stats")[1]
    picks = json.loads(run(*rank)[1])
    assert picks[0]["id"] == "2505.00012" and picks[0]["because"]["items"] == ["2505.00002"]

    text = config.read_text(encoding="utf-8") + '\n[library]\npaths = ["molecules.txt"]\n'
    config.write_text(text, encoding="utf-8")
    code, output = run("library", "remove", "molecules.txt")
    assert code == 1 and "listed in [library] paths" in output


def test_items_imported_before_their_papers_are_matched_once_the_papers_are_stored(
    store_url: str, tmp_path: Path
) -> None:
    # Before: an item was matched only when imported, so an id list read before the
    # update that stored its papers never matched (its papers were recommended to
    # their reader, and the items counted by no text at all).
    ids, bib = tmp_path / "ids.txt", tmp_path / "journal.bib"
    ids.write_text("2505.00001\n", encoding="utf-8")
    bib.write_text(
        "@article{pub, title={Preference optimisation without reward models},"
        " journal={Journal of Alignment}, doi={10.1000/jal.7}}\n"
        "@article{doi, title={Another title entirely}, doi={10.1000/WEATHER.13}}\n",
        encoding="utf-8",
    )
    weather = next(p for p in NEW if p.id == "2505.00013").with_changes(doi="10.1000/Weather.13")
    with open_store(store_url) as store:
        import_library(store, [ids, bib])
        store.write(lambda conn: store.save_papers(conn, [*OLD, *NEW[:3], weather], utcnow()))
        ranked = api.for_you(store, since=T0)
        with store.reading() as conn:
            matched = {row.key: row.paper_id for row in libstore.library(conn)}
    assert matched == {
        "2505.00001": "2505.00001",  # by arXiv id
        "10.1000/jal.7": "2505.00003",  # by title (its DOI is the journal's)
        "10.1000/weather.13": "2505.00013",  # by DOI, case aside
    }
    assert {s.paper.id for s in ranked}.isdisjoint({"2505.00001", "2505.00003", "2505.00013"})
    assert ranked[0].paper.id == "2505.00010" and ranked[0].because["items"][0] == "2505.00001"


def test_a_store_whose_items_never_matched_is_mended_by_arxiv_id(store_url: str) -> None:
    # A store written before the fix: the item's paper is stored and analysed, the item unlinked.
    fill(store_url)
    with open_store(store_url) as store:
        store.write(libstore.refresh_terms)
        import_library_unmatched(store, "2505.00001")
        store.write(libstore.refresh_terms)
        with store.reading() as conn:
            assert [row.paper_id for row in libstore.library(conn)] == ["2505.00001"]


def import_library_unmatched(store: object, arxiv_id: str) -> None:
    from dailypapers.store import Store

    assert isinstance(store, Store)

    def write(conn: sa.Connection) -> None:
        now = utcnow()
        conn.execute(
            schema.library_files.insert().values(
                path="/x", digest="d", item_count=1, imported_at=now
            )
        )
        conn.execute(
            schema.library_items.insert().values(
                path="/x",
                position=0,
                key=arxiv_id,
                title="",
                abstract="",
                arxiv_id=arxiv_id,
                collections=[],
                paper_id=None,
                terms={},
            )
        )

    store.write(write)


def test_a_later_match_by_doi_wins_and_an_arxiv_item_never_matches_by_title(
    store_url: str, tmp_path: Path
) -> None:
    # The diff review's cases: an item with an arXiv id was taken by another paper of the
    # same title (for good); a title match in an earlier batch beat a DOI match in a later.
    bib = tmp_path / "lib.bib"
    bib.write_text(
        "@article{survey, title={Weather forecasting at scale}, eprint={2601.00001}}\n"
        "@article{journal, title={Molecular graph transformers}, doi={10.1000/J.7}}\n",
        encoding="utf-8",
    )
    same_title = NEW[3]  # 2505.00013, "Weather forecasting at scale": not the survey
    by_doi = paper(99, "Graph transformers, the journal version", "Molecules.", days=6)
    with open_store(store_url) as store:
        import_library(store, [bib])
        store.write(
            lambda conn: store.save_papers(
                conn, [*NEW, by_doi.with_changes(doi="10.1000/j.7")], utcnow()
            )
        )
        store.write(lambda conn: libstore.refresh_terms(conn, batch=1))  # one paper a batch
        with store.reading() as conn:
            matched = {row.key: row.paper_id for row in libstore.library(conn)}
    assert same_title.title == "Weather forecasting at scale"
    assert matched == {"2601.00001": None, "10.1000/j.7": "2505.00099"}


def test_an_entry_with_an_arxiv_id_is_not_matched_by_title_at_import(
    store_url: str, tmp_path: Path
) -> None:
    # The second diff review: at import, the title fallback still took another paper of
    # the same title, for good (an unmatched item is the only kind matched again later).
    bib = tmp_path / "lib.bib"
    bib.write_text(
        "@article{s, title={Weather forecasting at scale}, eprint={2601.00001}}\n"
        "@article{t, title={Weather forecasting at scale}}\n",
        encoding="utf-8",
    )
    fill(store_url)
    with open_store(store_url) as store:
        import_library(store, [bib])
        with store.reading() as conn:
            matched = {row.key: row.paper_id for row in libstore.library(conn)}
    assert matched == {"2601.00001": None, "t": "2505.00013"}  # no id: by title, as before
