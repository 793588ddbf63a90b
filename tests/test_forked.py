"""A render's feeds and ``papers.json`` in a forked child (publish/forked.py).

The same bytes as a render in one process; the child's error raised in the
parent with its type (one line at the CLI), the outputs after it left as
they were; and the one-process path where a fork is not safe.
"""

from __future__ import annotations

import errno
import os
import signal
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner

from dailypapers.cli import cli
from dailypapers.config import load_config
from dailypapers.offline.corpus import hostile_papers
from dailypapers.pipeline import render_outputs, save_all
from dailypapers.publish import forked
from dailypapers.sources import TopicFetch, plan_topics
from dailypapers.store import open_store

linux_only = pytest.mark.skipif(not forked._can_fork(), reason="forks on Linux, one thread")


@pytest.fixture(autouse=True)
def a_free_core(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fork whatever the machine's load (the tests share it)."""
    monkeypatch.setattr(forked, "_a_core_is_free", lambda: True)


class Unrebuildable(Exception):
    def __init__(self, a: str, b: str) -> None:  # pickles, but cannot be rebuilt
        super().__init__(f"{a} and {b}")


def test_the_child_sends_its_value() -> None:
    pending = forked.Pending(lambda in_child: (in_child, os.getpid()))
    in_child, pid = pending.result()
    assert pending.forked == in_child
    assert (pid != os.getpid()) == in_child


@linux_only
def test_the_child_forks_where_it_is_safe() -> None:
    assert forked.Pending(lambda in_child: in_child).result() is True


@linux_only
@pytest.mark.parametrize(
    ("cores", "load", "forks"), [(2, 1.0, True), (2, 1.6, False), (1, 0.0, False)]
)
def test_a_busy_machine_does_the_work_in_one_process(
    monkeypatch: pytest.MonkeyPatch, cores: int, load: float, forks: bool
) -> None:
    monkeypatch.undo()  # the real check, on this machine's answers
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(cores)))
    monkeypatch.setattr(os, "getloadavg", lambda: (load, load, load))
    assert forked.Pending(lambda in_child: in_child).result() is forks


def test_a_process_with_threads_does_the_work_itself() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=stop.wait)
    thread.start()
    try:
        pending = forked.Pending(lambda in_child: os.getpid())
        assert not pending.forked and pending.result() == os.getpid()
    finally:
        stop.set()
        thread.join()


def test_the_childs_error_is_raised_with_its_type() -> None:
    def full(in_child: bool) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    with pytest.raises(OSError) as raised:
        forked.Pending(full).result()
    assert raised.value.errno == errno.ENOSPC


def test_an_error_that_cannot_travel_is_its_one_line() -> None:
    def odd(in_child: bool) -> None:
        raise Unrebuildable("this", "that")

    with pytest.raises(Exception, match="this and that") as raised:
        forked.Pending(odd).result()
    assert type(raised.value) is (RuntimeError if forked._can_fork() else Unrebuildable)


@pytest.mark.parametrize("error", [KeyboardInterrupt, OSError])
def test_work_done_here_raises_its_error_at_once(
    monkeypatch: pytest.MonkeyPatch, error: type[BaseException]
) -> None:
    """Without a fork, Ctrl-C or the run's deadline in the feeds' work is not held back
    until the site and the README have rendered (the old code kept it for result())."""
    monkeypatch.setattr(forked, "_can_fork", lambda: False)

    def interrupted(in_child: bool) -> None:
        raise error("stopped")

    with pytest.raises(error, match="stopped"):
        forked.Pending(interrupted)


@linux_only
def test_a_signal_held_across_the_fork_ends_the_child(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The deadline's SIGALRM (or Ctrl-C) arriving during the fork is raised when the
    parent unblocks it: the child is ended, not left to publish after the run failed."""
    import time

    parent, real = os.getpid(), signal.pthread_sigmask
    published = tmp_path / "published"

    def unmask_raises(how: int, mask: object) -> object:
        previous = real(how, mask)  # type: ignore[arg-type]
        if how == signal.SIG_SETMASK and os.getpid() == parent:
            raise KeyboardInterrupt  # as the handler of a signal held meanwhile would
        return previous

    def slow(in_child: bool) -> None:
        time.sleep(0.3)
        published.write_text("after the run failed", encoding="utf-8")

    children, fork = [], os.fork

    def noted_fork() -> int:
        pid = fork()
        if pid:
            children.append(pid)
        return pid

    monkeypatch.setattr(os, "fork", noted_fork)
    monkeypatch.setattr(signal, "pthread_sigmask", unmask_raises)
    with pytest.raises(KeyboardInterrupt):
        forked.Pending(slow)
    monkeypatch.undo()
    assert len(children) == 1
    with pytest.raises(ChildProcessError):  # ended and reaped, not left running
        os.waitpid(children[0], os.WNOHANG)
    time.sleep(0.5)
    assert not published.exists()


@linux_only
def test_a_killed_child_is_an_error() -> None:
    def killed(in_child: bool) -> None:
        assert in_child, "not forked"  # never SIGKILL the test run itself
        os.kill(os.getpid(), signal.SIGKILL)

    with pytest.raises(ChildProcessError, match="ended with signal 9"):
        forked.Pending(killed).result()


def project(folder: Path) -> Path:
    """A store with hostile papers in two topics and all four outputs configured."""
    folder.mkdir()
    (folder / "papers.toml").write_text(
        'outputs = ["readme", "json", "feeds", "site"]\n\n'
        '[[topics]]\nname = "A"\n\n[[topics]]\nname = "B"\n',
        encoding="utf-8",
    )
    config = load_config(folder / "papers.toml")
    papers = hostile_papers()
    plans = plan_topics(config)
    fetched = [TopicFetch(plans[0], papers), TopicFetch(plans[1], papers[1:])]
    with open_store(config.db_url) as store:
        save_all(store, fetched, datetime(2025, 6, 2, 12, tzinfo=UTC))
    return folder / "papers.toml"


def published(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and ".dailypapers" not in path.parts and path.suffix != ".toml"
    }


@linux_only
def test_a_forked_render_writes_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runs = []
    real = forked.Pending.__init__

    def counted(self: forked.Pending[object], work: object) -> None:
        real(self, work)  # type: ignore[arg-type]
        runs.append(self.forked)

    monkeypatch.setattr(forked.Pending, "__init__", counted)
    outputs = {}
    for fork in (True, False):
        config = load_config(project(tmp_path / f"fork-{fork}"))
        monkeypatch.setattr(forked, "_can_fork", lambda fork=fork: fork)
        with open_store(config.db_url) as store:
            render_outputs(config, store, force=True, today=datetime(2025, 6, 3).date())
        outputs[fork] = published(config.path.parent)
    assert runs == [True, False]
    assert len(outputs[True]) > 10 and any(p.startswith("feeds/") for p in outputs[True])
    assert outputs[True] == outputs[False]


@linux_only
@pytest.mark.parametrize("broken", ["feeds", "json"])
def test_a_failed_child_is_one_line_and_changes_what_comes_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, broken: str
) -> None:
    from dailypapers.publish import outputs
    from dailypapers.render import atom

    path = project(tmp_path / "project")
    assert CliRunner().invoke(cli, ["render", "--config", str(path)]).exit_code == 0
    before = published(path.parent)
    config = load_config(path)
    after = [config.site_dir, config.json_path, config.readme_path]  # the feeds' followers
    inodes = [p.stat().st_ino for p in after]

    def full(*args: object, **kwargs: object) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(atom, "feed_files", full) if broken == "feeds" else None
    monkeypatch.setattr(outputs, "render_json", full) if broken == "json" else None
    result = CliRunner().invoke(cli, ["render", "--force", "--config", str(path)])
    assert result.exit_code == 1
    assert result.output.splitlines()[-1] == (
        "dailypapers: failed: No space left on device: free some space and run again "
        "(each output is replaced whole or left as it was)"
    )
    assert published(path.parent) == before
    assert [p.stat().st_ino for p in after] == inodes  # not even written again


@pytest.mark.parametrize("enabled", [True, False])
def test_no_collection_runs_while_the_outputs_render(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, enabled: bool
) -> None:
    import gc

    from dailypapers import pipeline
    from dailypapers.publish import outputs

    seen = []
    real = outputs.start_outputs

    def spied(*args: object, **kwargs: object) -> object:
        seen.append(gc.isenabled())
        return real(*args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pipeline, "start_outputs", spied)
    config = load_config(project(tmp_path / "project"))
    if not enabled:
        gc.disable()
    try:
        with open_store(config.db_url) as store:
            render_outputs(config, store, force=True)
        assert seen == [False]  # paused while the outputs render
        assert gc.isenabled() == enabled  # and as it was after
    finally:
        gc.enable()


@linux_only
def test_an_interrupted_wait_ends_the_child(monkeypatch: pytest.MonkeyPatch) -> None:
    blocked, never = os.pipe()  # the child waits on it for ever: only an end stops it

    def stuck(in_child: bool) -> bytes:
        assert in_child, "not forked"  # here, the read would hold the test run for ever
        return os.read(blocked, 1)

    pending = forked.Pending(stuck)
    os.close(blocked)

    def interrupted(fd: int) -> bytes:
        os.close(fd)
        raise KeyboardInterrupt  # as the run's deadline or Ctrl-C would, mid-wait

    monkeypatch.setattr(forked, "_read_all", interrupted)
    try:
        with pytest.raises(KeyboardInterrupt):
            pending.wait()
        with pytest.raises(ChildProcessError):  # already reaped: it was ended, not left
            os.waitpid(pending._pid, os.WNOHANG)
    finally:
        os.close(never)


@linux_only
def test_a_cancelled_child_is_ended_not_waited_for() -> None:
    """Failed on the old code (no cancel: a caller's error, the run's deadline, waited for
    the child's whole work, and the child published after the deadline)."""
    blocked, never = os.pipe()
    try:
        pending = forked.Pending(lambda in_child: in_child and os.read(blocked, 1))
        assert pending.forked  # not forked, the work returned at once (no read for ever)
        pending.cancel()  # returns: the child is ended, not waited for
        with pytest.raises(ChildProcessError):  # already reaped
            os.waitpid(pending._pid, os.WNOHANG)
        pending.wait()  # nothing left to wait for
    finally:
        os.close(blocked)
        os.close(never)


@linux_only
def test_a_second_ctrl_c_while_ending_the_child_still_reaps_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A Ctrl-C arriving as cancel() waits for the child: raised after it is reaped, not
    instead (the old code left a zombie for as long as the process lived)."""
    blocked, never = os.pipe()
    real_waitpid = os.waitpid

    def interrupted_wait(pid: int, options: int) -> tuple[int, int]:
        os.kill(os.getpid(), signal.SIGINT)  # the second Ctrl-C, as the wait begins
        signal.getsignal(signal.SIGINT)  # a bytecode boundary: a handler would run here
        return real_waitpid(pid, options)

    try:
        pending = forked.Pending(lambda in_child: in_child and os.read(blocked, 1))
        assert pending.forked
        monkeypatch.setattr(os, "waitpid", interrupted_wait)
        with pytest.raises(KeyboardInterrupt):
            pending.cancel()
        monkeypatch.setattr(os, "waitpid", real_waitpid)
        with pytest.raises(ChildProcessError):  # reaped before the Ctrl-C was raised
            os.waitpid(pending._pid, os.WNOHANG)
    finally:
        os.close(blocked)
        os.close(never)


@linux_only
def test_the_renders_error_ends_the_child(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An error while the site renders (here) ends the child rendering the feeds: the
    render fails at once instead of waiting for it (the old code hung here)."""
    from dailypapers.publish import outputs
    from dailypapers.render import site

    blocked, never = os.pipe()

    def stuck(*args: object) -> object:
        os.read(blocked, 1)
        raise AssertionError("the child was not ended")

    def failing(*args: object) -> object:
        raise OSError(errno.EIO, "the site could not be rendered")

    monkeypatch.setattr(outputs, "_write_feeds", stuck)
    monkeypatch.setattr(site, "site_files", failing)
    config = load_config(project(tmp_path / "p"))
    previous = signal.signal(signal.SIGALRM, lambda *_: pytest.fail("waited for the child"))
    signal.alarm(20)  # a guard against hanging, not a measurement
    try:
        with open_store(config.db_url) as store, pytest.raises(OSError, match="site could"):
            render_outputs(config, store, force=True, today=datetime(2025, 6, 3).date())
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        os.close(blocked)
        os.close(never)


@linux_only
def test_a_child_does_not_outlive_a_parent_killed_without_a_handler(tmp_path: Path) -> None:
    """``timeout`` sends SIGTERM to the command alone, which has no handler for it: the
    child ends with it (PR_SET_PDEATHSIG). The old code's child published the feeds after
    the run had died."""
    import subprocess
    import sys
    import time

    published = tmp_path / "published"
    script = (
        "import os, signal, sys, time\n"
        "from pathlib import Path\n"
        "from dailypapers.publish import forked\n"
        "forked._a_core_is_free = lambda: True\n"
        "def slow(in_child):\n"
        "    time.sleep(1.0)\n"
        "    Path(sys.argv[1]).write_text('after the run died')\n"
        "pending = forked.Pending(slow)\n"
        "assert pending.forked\n"
        "time.sleep(0.2)\n"
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(published)], capture_output=True, timeout=60
    )
    assert done.returncode == -signal.SIGKILL, done.stderr
    time.sleep(1.5)
    assert not published.exists()
