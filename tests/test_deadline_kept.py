"""The run's deadline stops the run wherever it passes, also in the steps that never fail it.

Ranking, summaries and each notification channel turn their own errors into
one line and let the run go on; the deadline (``update --deadline``) is not
theirs: before, it was swallowed there, and the run went on without one.
"""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest

from dailypapers.deadline import RunDeadlineExceeded, run_deadline
from dailypapers.rank import foryou

PASSED = RunDeadlineExceeded("run deadline of 1 s passed; stopped")


def passed() -> None:
    raise PASSED


def test_the_ranking_lets_the_deadline_through(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(RunDeadlineExceeded):
        foryou._guarded(passed)
    assert "for you: skipped" not in capsys.readouterr().err
    assert foryou._guarded(lambda: 1 / 0) is None  # its own errors: one line, the run goes on
    assert "for you: skipped (division by zero)" in capsys.readouterr().err


def test_the_summaries_let_the_deadline_through(monkeypatch: pytest.MonkeyPatch) -> None:
    from dailypapers import summaries

    monkeypatch.setattr(summaries, "summarise", lambda *args, **kwargs: passed())

    class Configured:
        class settings:
            summaries = object()

    with pytest.raises(RunDeadlineExceeded):
        summaries.summarise_for_update(Configured(), store=None)  # type: ignore[arg-type]


class Channel:
    """A channel whose ``send`` runs ``sending`` (the delivery's moment) and confirms."""

    name = "webhook"
    max_per_topic = 0

    def __init__(self, sending: Callable[[], None]) -> None:
        self.sending = sending

    def destination(self) -> str:
        return "webhook:x"

    def describe(self) -> str:
        return "a webhook"

    def problem(self) -> None:
        return None

    def send(self, digest: object) -> str:
        self.sending()
        return "delivered"


class Batch:
    empty = False

    class digest:
        shown = 1


class Settings:
    class settings:
        class notify:
            max_per_topic = 5


def deliver(monkeypatch: pytest.MonkeyPatch, channel: Channel, recorded: list[int]) -> None:
    """Deliver one batch on ``channel`` (run 7), appending each run it is recorded for."""
    from dailypapers import notify

    monkeypatch.setattr(notify, "pending_batch", lambda *args, **kwargs: Batch())
    monkeypatch.setattr(notify, "mark_delivered", lambda store, batch, run: recorded.append(run))
    notify._deliver_one(Settings(), None, channel, None, 7, None, False)  # type: ignore[arg-type]


def test_a_channel_lets_the_deadline_through(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(RunDeadlineExceeded):
        deliver(monkeypatch, Channel(passed), [])


def test_a_delivery_is_recorded_before_the_deadline_stops_the_run(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The timer fires while a channel finishes a delivery its server accepted (an SMTP
    QUIT, an HTTP body after "201 Created"): before, the run stopped there, unrecorded,
    and the next run sent the digest again. Now the delivery ends and is recorded, then
    the run stops."""
    fired = Channel(lambda: signal.raise_signal(signal.SIGALRM))
    recorded: list[int] = []
    with pytest.raises(RunDeadlineExceeded), run_deadline(600):
        deliver(monkeypatch, fired, recorded)
    assert recorded == [7]


def test_the_deadline_is_held_only_while_delivering() -> None:
    from dailypapers.deadline import held

    with pytest.raises(RunDeadlineExceeded), run_deadline(600):
        with held():
            signal.raise_signal(signal.SIGALRM)
            reached = True  # the block went on
        pytest.fail("the held deadline did not pass at the end of the block")
    assert reached
    assert signal.SIGALRM not in signal.pthread_sigmask(signal.SIG_BLOCK, set())


def test_the_deadline_is_the_timer_s_error() -> None:
    """What the tests above raise is what the timer raises."""
    with pytest.raises(RunDeadlineExceeded), run_deadline(0.01):
        signal.pause()


def test_reading_a_ris_library_lets_the_deadline_through(monkeypatch: pytest.MonkeyPatch) -> None:
    import rispy

    from dailypapers.rank.library import read_ris

    monkeypatch.setattr(rispy, "loads", lambda text: passed())
    with pytest.raises(RunDeadlineExceeded):
        read_ris("TY  - JOUR\nER  - \n")


def test_ctrl_c_during_a_held_deadline_is_not_replaced_by_it() -> None:
    """Ctrl-C while the deadline waited for a delivery: before, the pending deadline was
    raised as the block ended, and the run exited 1 "deadline" instead of 130."""
    from dailypapers.deadline import held

    with pytest.raises(KeyboardInterrupt), run_deadline(600), held():
        signal.raise_signal(signal.SIGALRM)  # due, held
        raise KeyboardInterrupt
    assert signal.SIGALRM not in signal.sigpending()
    assert signal.SIGALRM not in signal.pthread_sigmask(signal.SIG_BLOCK, set())
