"""The rows of issue 11's hardening in docs/reliability.md (imported by bench/reliability.py).

Each row injects its cause for real: fake servers over sockets, real files,
the real command line (``python -m dailypapers``) where a command is involved.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import cmarkgfm
import httpx
from cmarkgfm.cmark import Options

from dailypapers.config import load_config
from dailypapers.models import Author, Paper
from dailypapers.offline.corpus import demo_corpus
from dailypapers.offline.fake_arxiv import FakeArxiv, feed_xml
from dailypapers.offline.faults import fault, gzip_bomb
from dailypapers.pipeline import run_update
from dailypapers.render.atom import render_feed
from dailypapers.render.catalog import build_catalog
from dailypapers.render.digest import Digest, Entry, TopicDigest, render_chat, render_issue
from dailypapers.render.markdown import Section, render_section
from dailypapers.render.site import site_files
from dailypapers.serve import make_server, server_url
from dailypapers.store import open_store
from reliability_oai import oai_absurd_row

START = datetime(2025, 3, 3, tzinfo=UTC)
WHEN = datetime(2025, 5, 20, 10, 0, tzinfo=UTC)


def _paper(number: int, when: datetime = WHEN, title: str = "A reward model study") -> Paper:
    return Paper(
        id=f"2505.{number:05d}",
        version=1,
        title=title,
        abstract="We study a reward model.",
        authors=(Author("A"),),
        categories=("cs.LG",),
        primary="cs.LG",
        published=when,
        updated=when,
    )


def _cli(
    project: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    return subprocess.run(
        [sys.executable, "-m", "dailypapers", *args],
        cwd=project,
        env={**clean, **(env or {})},
        text=True,
        capture_output=True,
        timeout=300,
    )


def _one_line(done: subprocess.CompletedProcess[str], code: int) -> bool:
    lines = done.stderr.strip().splitlines()
    return done.returncode == code and len(lines) == 1 and "Traceback" not in done.stderr


def _config(project: Path, url: str, extra: str = "", topics: str = "") -> Path:
    path = project / "papers.toml"
    path.write_text(
        (topics or '[[topics]]\nname = "Reward Model"\n')
        + f'[arxiv]\napi_url = "{url}"\ndelay = 0\nbackoff = 0\nmax_attempts = 2\n{extra}',
        encoding="utf-8",
    )
    return path


def _gfm(text: str) -> str:
    return str(cmarkgfm.github_flavored_markdown_to_html(text, options=Options.CMARK_OPT_UNSAFE))


Row = tuple[str, str, int, str]  # area, what was tried, cases, observed outcome


# --- data loss and silent misses -----------------------------------------------------------


def future_row() -> Row:
    future = _paper(99999, datetime(2099, 1, 1, tzinfo=UTC), "A reward model from 2099")
    old = [_paper(n, START - timedelta(hours=n + 1)) for n in range(20)]
    with FakeArxiv(old) as server, tempfile.TemporaryDirectory() as name:
        config = load_config(_config(Path(name), server.api_url, "page_size = 100\n"))
        server.add_papers([future])
        run_update(config, now=START, force=True)
        found = []
        for day in range(1, 4):
            arrivals = [
                _paper(100 * day + n, START + timedelta(days=day, minutes=n + 1)) for n in range(10)
            ]
            server.add_papers(arrivals)
            report = run_update(config, now=START + timedelta(days=day, hours=12), force=True)
            found.append(report.saved.new)
    return (
        "data",
        "a paper dated 2099 stored, then 3 incremental runs with 10 arrivals each "
        "(main: every later run said nothing new)",
        3,
        f"new papers found per run: {found}; each run warns `arXiv dates 2505.99999v1 in the "
        "future ...; stored, never used as a stop mark` (property test: "
        "`tests/test_harden_data.py`)",
    )


BAD_PATHS = [
    '[json]\npath = ".dailypapers/papers.db"',
    '[readme]\npath = "papers.toml"',
    '[json]\npath = "README.md"',
    '[json]\npath = "site/index.html"',
    '[json]\npath = "feeds/all.xml"',
    '[readme]\npath = "feeds"',
    '[readme]\npath = "../README.md"',
]


def output_paths_row() -> Row:
    good, example = 0, ""
    with tempfile.TemporaryDirectory() as name:
        project = Path(name) / "p"
        project.mkdir()
        for extra in BAD_PATHS:
            (project / "papers.toml").write_text(
                'outputs = ["readme", "json", "feeds", "site"]\n[[topics]]\nname = "A"\n'
                + extra
                + "\n",
                encoding="utf-8",
            )
            done = _cli(project, "update")
            good += _one_line(done, 2) and not list(project.glob("*.json"))
            example = example or done.stderr.strip().split("papers.toml", 1)[-1]
        real = project / "www"
        real.mkdir()
        (project / "site").symlink_to(real)
        with FakeArxiv(demo_corpus()) as server:
            _config(
                project,
                server.api_url,
                topics='outputs = ["site"]\n[[topics]]\nname = "Reward Model"\n',
            )
            linked = _cli(project, "update")
        followed = linked.returncode == 0 and (real / "index.html").exists()
        leftovers = [p.name for p in project.iterdir() if p.name.startswith(".site.")]
    return (
        "data",
        "output paths onto the store, the config, each other, a folder, outside the project; "
        "a symlinked site folder",
        len(BAD_PATHS) + 1,
        f"{good}/{len(BAD_PATHS)} refused at load with one `file:line: key: ...` line, exit 2, "
        f"nothing written (e.g. `papers.toml{example[:70]}`); symlinked site folder "
        f"{'followed' if followed else 'NOT FOLLOWED'}, leftovers: {leftovers or 'none'}",
    )


def corrupt_row() -> Row:
    results = []
    with FakeArxiv(demo_corpus()) as server, tempfile.TemporaryDirectory() as name:
        project = Path(name)
        _config(project, server.api_url)
        _cli(project, "update")
        db = project / ".dailypapers" / "papers.db"
        with sqlite3.connect(db) as conn:
            size = conn.execute("PRAGMA page_size").fetchone()[0]
            root = conn.execute(
                "SELECT rootpage FROM sqlite_master WHERE name='papers'"
            ).fetchone()[0]
        data = bytearray(db.read_bytes())
        data[(root - 1) * size : root * size] = b"\xa5" * size
        db.write_bytes(bytes(data))
        before = db.read_bytes()
        commands = [
            ["doctor"],
            ["doctor", "--repair"],
            ["update", "--force"],
            ["search", "x"],
            ["render"],
        ]
        for args in commands:
            done = _cli(project, *args)
            results.append(_one_line(done, 1) and db.read_bytes() == before)
        message = done.stderr.strip().split(": ", 2)[-1]
    return (
        "store",
        "a corrupt page in the papers table; `doctor`, `doctor --repair`, `update`, "
        "`search`, `render`",
        len(commands),
        f"{sum(results)}/{len(commands)} one line, exit 1, file byte-identical: "
        f"`...{message[:150]}...`",
    )


# --- resource limits -------------------------------------------------------------------


# VmHWM (not ru_maxrss, which a child inherits from its parent across exec). The
# console script's entry, as a user's install runs it (``update --force`` is not a
# plain update, so it goes on to the full command line, as there).
_PEAK = (
    "import sys\nfrom dailypapers.entry import main\ntry:\n    main()\nfinally:\n"
    "    hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM')][0]\n"
    "    print('peak', hwm.split()[1], file=sys.stderr)\n"
)


def _peak_run(project: Path) -> tuple[subprocess.CompletedProcess[str], float, float]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DAILYPAPERS_")}
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, "update", "--force"],
        cwd=project,
        env=clean,
        text=True,
        capture_output=True,
        timeout=600,
    )
    peak = next(
        int(line.split()[1]) for line in done.stderr.splitlines() if line.startswith("peak")
    )
    return done, peak / 1024, time.monotonic() - started


def size_row() -> Row:
    outcomes = []
    with FakeArxiv(demo_corpus()) as server, tempfile.TemporaryDirectory() as name:
        project = Path(name)
        _config(project, server.api_url, "timeout = 5\n")
        gzip_bomb(512.0)
        for injected, label in (
            (fault("bomb", megabytes=512.0), "512 MB gzip bomb"),
            (fault("huge", megabytes=256), "256 MB plain body"),
        ):
            server.clear_faults()
            server.reset_log()
            server.inject(injected)
            done, peak, _ = _peak_run(project)
            error = [line for line in done.stderr.splitlines() if line.startswith("dailypapers")]
            outcomes.append(
                f"{label}: exit {done.returncode}, peak RSS {peak:.0f} MB, {len(server.requests)} "
                f"request(s), `{(error or ['?'])[-1].split(': ', 2)[-1][:70]}`"
            )
    return (
        "limits",
        "decoded size cap (default 64 MB, `[arxiv] max_response_mb`) on arXiv responses; "
        "the same cap on OAI-PMH, the feed, webhook and GitHub answers (tests)",
        2,
        "; ".join(outcomes),
    )


def deadline_row() -> Row:
    outcomes = []
    with FakeArxiv(demo_corpus()) as server, tempfile.TemporaryDirectory() as name:
        project = Path(name)
        for extra, args, label in (
            ("timeout = 1\nrequest_deadline = 3\n", ["update"], "request_deadline = 3"),
            ("timeout = 1\n", ["update", "--deadline", "3"], "update --deadline 3"),
        ):
            _config(project, server.api_url, extra)
            server.clear_faults()
            server.inject(*[fault("drip", chunks=300, pause=0.2)] * 3)  # 60 s, 0.2 s a piece
            started = time.monotonic()
            done = _cli(project, *args)
            seconds = time.monotonic() - started
            outcomes.append(
                f"{label}: exit {done.returncode} after {seconds:.1f} s, "
                f"`{done.stderr.strip().splitlines()[-1].split(': ', 2)[-1][:60]}`"
            )
        server.clear_faults()
    return (
        "limits",
        "a server dripping one piece every 0.2 s for 60 s (never trips the 1 s read timeout); "
        "SMTP greeting, webhook and GitHub drips in `tests/test_harden_limits.py`",
        2,
        "; ".join(outcomes),
    )


def site_row() -> Row:
    sys.path.insert(0, str(Path(__file__).parent))
    from site_scale import measure, real_papers

    pool = real_papers(10_000)
    small, large = measure(250, 10, pool), measure(1000, 10, pool)
    size = (large["mb"] / 1000) / (small["mb"] / 250)
    speed = (large["seconds"] / 1000) / (small["seconds"] / 250)
    over = large["mb"] - 20
    targets = "target < 5 s " + ("met" if large["seconds"] < 5 else "missed")
    targets += ", < 20 MB " + ("met" if over < 0 else f"missed by {over:.1f} MB")
    return (
        "limits",
        "site of 1,000 topics x 10 real papers (`python bench/site_scale.py`)",
        2,
        f"{large['seconds']:.1f} s, {large['mb']:.1f} MB (250 topics: {small['seconds']:.1f} s, "
        f"{small['mb']:.1f} MB; per topic x{size:.2f} size, x{speed:.2f} time: linear; "
        f"{targets}: the papers' own text is {large['text_mb']:.1f} MB, "
        "see docs/benchmarks.md)",
    )


# --- injection ---------------------------------------------------------------------------


def _readme(item: Paper, topic: str = "Reward Model") -> str:
    return _gfm(render_section(Section(topic, [item])))


def backtick_row() -> Row:
    comments = ["`torch` code at https://github.com/x/y", "a`b`c`d` e" * 3, "``x`` y ` z " * 3]
    intact = 0
    for comment in comments:
        page = _readme(_paper(1).with_changes(comment=comment))
        _, issue = render_issue(
            Digest(
                "D",
                date(2025, 5, 21),
                (TopicDigest("T", (Entry(_paper(1).with_changes(comment=comment)),)),),
            )
        )
        intact += (
            page.count("</summary>") == 2
            and page.count("<td") == 4
            and _gfm(issue).count("</summary>") == 1
        )
    return (
        "injection",
        "backticks in a long comment's 5-character summary (README and issue)",
        len(comments),
        f"{intact}/{len(comments)} folds intact under cmark-gfm",
    )


def links_row() -> Row:
    live = "[click](javascript:alert(1)) ![x](https://evil.example/t.png) ftp://e.example/f"
    live += " xmpp:a@e.example x@e.example"
    bad = 0
    for field in ("title", "abstract", "comment"):
        page = _readme(_paper(1).with_changes(**{field: live + " https://github.com/x/y and more"}))
        hrefs = [h.split('"')[0] for h in page.split('href="')[1:]]
        bad += "<img" in page or any(not h.startswith("https://") for h in hrefs)
    return (
        "injection",
        "Markdown links, images, `ftp:`/`xmpp:`/e-mail autolinks in title, abstract, comment",
        3,
        f"fields with a live non-https link or an image: {bad}/3; bare https URLs stay live; "
        "the golden README test stays byte-identical",
    )


def mentions_row() -> Row:
    from dailypapers.config import GitHubSettings, WebhookSettings
    from dailypapers.notify.github import GitHubChannel
    from dailypapers.notify.webhook import WebhookChannel
    from dailypapers.offline.fake_github import FakeGitHub
    from support.webhook import WebhookReceiver

    title = (
        "<!channel> <!here> <@U123> <https://evil.example|https://arxiv.org/abs/1> @everyone @user"
    )
    digest = Digest("D", date(2025, 5, 21), (TopicDigest("T", (Entry(_paper(1, title=title)),)),))
    env = dict(os.environ)
    try:
        with WebhookReceiver() as hook, FakeGitHub(token="t0k", repository="lab/p") as github:
            os.environ.update(
                DAILYPAPERS_WEBHOOK_URL=f"{hook.url}/h",
                GITHUB_TOKEN="t0k",
                GITHUB_REPOSITORY="lab/p",
                GITHUB_API_URL=github.url,
            )
            WebhookChannel(WebhookSettings()).send(digest)
            GitHubChannel(GitHubSettings()).send(digest)
            sent = hook.requests[0].json()
            body = str(github.requests[-1].json()["body"])
    finally:
        os.environ.clear()
        os.environ.update(env)
    slack_live = sum(token in sent["text"] for token in ("<!", "<@", "<http", "@everyone", "@user"))
    issue_live = sum(token in body for token in ("@everyone", "@user"))
    return (
        "injection",
        "`<!channel>`, `<!here>`, `<@U123>`, `<url|label>`, `@everyone`, `@user` in a title, "
        "sent to the fake webhook and fake GitHub",
        3,
        f"live in Slack/Mattermost `text`: {slack_live}; Discord `allowed_mentions`: "
        f"{sent['allowed_mentions']}; live `@` in the issue body: {issue_live} "
        "(hypothesis property per channel in `tests/test_harden_injection.py`)",
    )


def heading_bidi_row() -> Row:
    sneaky = "Safe\u202etxt.exe\u2066x\u2069 \u009b31m \x1b[2J"
    item = _paper(1, title=sneaky).with_changes(abstract=sneaky, comment=sneaky)
    catalog = build_catalog("D", [("Reward Model", "q", [item])])
    outputs = {
        "README": render_section(Section("T", [item])),
        "site": b"".join(site_files(catalog).values()).decode(),
        "feed": render_feed(catalog, [item], name="t", file_name="t.xml", subtitle="s").decode(),
        "chat": render_chat(
            Digest("D", date(2025, 5, 21), (TopicDigest("T", (Entry(item),)),)), 3000
        ),
    }
    leaked = [k for k, v in outputs.items() if any(c in v for c in "\u202e\u2066\u009b\x1b")]
    headings = ["<b>x</b>", "[x](javascript:alert(1))"]
    live = sum(
        "<b>" in _readme(_paper(1), n).split("</h2>")[0]
        or 'href="javascript' in _readme(_paper(1), n).split("</h2>")[0]
        for n in headings
    )
    return (
        "injection",
        "topic names `<b>`, `[x](javascript:...)` in `## ` headings; U+202E, U+2066, U+009B, ESC "
        "in paper text (README, site, feed, chat; terminal in tests)",
        len(headings) + len(outputs),
        f"live headings: {live}/{len(headings)}; outputs with bidi or control characters: "
        f"{leaked or 'none'}",
    )


# --- tracebacks ------------------------------------------------------------------------


def absurd_row() -> Row:
    cases = [
        ("2505.20002v1</id>", "2505.20002v1180591620717411303424</id>"),
        ("<updated>2025-05-20T10:00:00Z</updated>", "<updated>9999-12-31T23:59:59-05:00</updated>"),
        (
            "<published>2025-05-20T10:00:00Z</published>",
            "<published>0001-01-01T00:00:00+01:00</published>",
        ),
    ]
    good = 0
    with FakeArxiv(demo_corpus()) as server:
        for old, new in cases:
            body = feed_xml(
                [_paper(20001), _paper(20002)],
                total_results=2,
                start_index=0,
                items_per_page=2,
                query_string="x",
            ).decode()
            head, _, tail = body.rpartition("<entry>")
            server.inject(
                fault("status", code=200, body=head + "<entry>" + tail.replace(old, new, 1))
            )
            with tempfile.TemporaryDirectory() as name:
                project = Path(name)
                _config(project, server.api_url)
                done = _cli(project, "update")
                with sqlite3.connect(project / ".dailypapers" / "papers.db") as conn:
                    ids = {r[0] for r in conn.execute("SELECT id FROM papers")}
            good += (
                done.returncode == 0
                and "Traceback" not in done.stderr
                and "2505.20002" in done.stderr
                and "2505.20001" in ids  # the good entry of the same page
                and "2505.20002" not in ids
            )
    return (
        "tracebacks",
        "an entry with version v1180591620717411303424, updated 9999-12-31T23:59:59-05:00, "
        "published 0001-01-01T00:00:00+01:00",
        len(cases),
        f"{good}/{len(cases)}: the entry is skipped with a warning naming it, "
        "the rest stored, exit 0",
    )


def read_only_row() -> Row:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return ("tracebacks", "a read-only project", 0, "skipped (needs root and unshare)")
    with FakeArxiv(demo_corpus()) as server, tempfile.TemporaryDirectory() as name:
        project = Path(name)
        _config(project, server.api_url)
        script = f"mount --bind -o ro {project} {project} && cd {project} && "
        script += f"{sys.executable} -m dailypapers update"
        done = subprocess.run(
            ["unshare", "-m", "sh", "-c", script], capture_output=True, text=True, timeout=120
        )
    return (
        "tracebacks",
        "`update` in a project on a read-only mount",
        1,
        f"exit {done.returncode}, {'one line' if _one_line(done, 1) else 'NOT ONE LINE'}: "
        f"`...{done.stderr.strip()[-110:]}`",
    )


def nesting_and_args_row(project: Path) -> Row:
    cases: list[tuple[list[str], int]] = [
        (["search", "(" * 500 + "reward" + ")" * 500], 2),
        (["search", "ti:"], 2),
        (["search", 'cat:"cs.LG'], 2),
        (["search", "xx:reward"], 2),
        (["search", "submittedDate:[zz TO yy]"], 2),
        (["search", "reward", "--limit", "99999999999999999999"], 2),
        (["backfill", "--since", "2099-01-01"], 2),
        (["backfill", "--since", "0001-01-01", "--until", "0001-01-20"], 2),
    ]
    good = sum(_one_line(_cli(project, *args), code) for args, code in cases)
    dash = _cli(project, "search", "--", "-reward").returncode == 0
    return (
        "tracebacks",
        '500 nested parentheses, `ti:`, `cat:"cs.LG`, `xx:reward`, `submittedDate:[zz TO yy]`, '
        "`--limit 99999999999999999999`, `backfill --since 2099-01-01`, `--since 0001-01-01`; "
        "`search -- -reward`",
        len(cases) + 1,
        f"{good}/{len(cases)} one line, exit 2; `search -- -reward`: "
        f"{'accepted' if dash else 'REFUSED'} (the help says so)",
    )


def topic_depth_row(project: Path) -> Row:
    (project / "deep.toml").write_text(
        '[[topics]]\nname = "A"\nquery = \'' + "(" * 1000 + "ti:a" + ")" * 1000 + "'\n",
        encoding="utf-8",
    )
    done = _cli(project, "update", "--config", "deep.toml")
    return (
        "tracebacks",
        "a topic query nested 1,000 levels",
        1,
        f"exit {done.returncode}, `{done.stderr.strip().split(': ', 3)[-1][:70]}`",
    )


def also_rows(project: Path) -> list[Row]:
    entries = tuple(Entry(_paper(n, title="A reward model " + "x" * 200)) for n in range(29))
    digest = Digest("Daily Papers", date(2025, 5, 21), (TopicDigest("T", entries),)).capped(3)
    headline = render_chat(digest, 80).splitlines()[0]
    with open_store(load_config(project / "papers.toml").db_url) as store:
        store.start_run("harvest")
        store.start_run("update")
    before = _cli(project, "doctor")
    runs_line = next(line for line in before.stdout.splitlines() if " runs:" in line)
    _cli(project, "update", "--force")  # marks the update row; the harvest row stays for harvest
    site = project / "site"
    (site / "sub").mkdir(parents=True, exist_ok=True)
    (site / "index.html").write_text("x", encoding="utf-8")
    server = make_server(site, port=0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        listing = httpx.get(server_url(server) + "sub/").status_code
        nul = httpx.get(server_url(server) + "index.html%00.txt").status_code
    finally:
        server.shutdown()
        server.server_close()
    return [
        ("also", "chat headline with 29 new papers of which none fit", 1, f"`{headline}`"),
        ("also", "`doctor` after a run killed after its commit", 1, f"`{runs_line.strip()[:160]}`"),
        (
            "also",
            "`serve`: a folder, `/index.html%00.txt`",
            2,
            f"folder: HTTP {listing}; NUL byte: HTTP {nul}, no traceback",
        ),
    ]


def hardening_rows() -> list[Row]:
    rows = [future_row(), output_paths_row(), corrupt_row(), size_row(), deadline_row(), site_row()]
    rows += [
        backtick_row(),
        links_row(),
        mentions_row(),
        heading_bidi_row(),
        absurd_row(),
        oai_absurd_row(),
        read_only_row(),
    ]
    with FakeArxiv(demo_corpus()) as server, tempfile.TemporaryDirectory() as name:
        project = Path(name)
        _config(project, server.api_url)
        _cli(project, "update")
        rows += [topic_depth_row(project), nesting_and_args_row(project), *also_rows(project)]
    return rows
