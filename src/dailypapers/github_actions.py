"""Tell GitHub Actions how a run went: the job summary and step outputs.

When ``$GITHUB_STEP_SUMMARY`` is set, the run's headline (and what each
notification channel did) is appended to the job's summary page. When
``$GITHUB_OUTPUT`` is set, machine-readable outputs are appended for later
steps: ``status``, ``new``, ``revised``, ``date``, ``headline`` and
``commit-message`` (the scaffolded workflow commits with it).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from dailypapers.masking import mask
from dailypapers.models import counted
from dailypapers.pipeline import RunReport


def commit_message(report: RunReport) -> str:
    """``Daily papers 2026-08-21: 12 new, 1 revised``."""
    day = report.day.isoformat() if report.day else "update"
    revised = f", {report.saved.revised} revised" if report.saved.revised else ""
    return f"Daily papers {day}: {report.new_to_topics} new{revised}"


def outputs(report: RunReport) -> dict[str, str]:
    """The step outputs, one line each."""
    return {
        "status": report.status,
        "new": str(report.new_to_topics),
        "revised": str(report.saved.revised),
        "date": report.day.isoformat() if report.day else "",
        "headline": report.headline(),
        "commit-message": commit_message(report),
    }


def summary_markdown(report: RunReport) -> str:
    """The job summary: the headline, then one line per notification channel."""
    lines = [f"### dailypapers: {_text(report.headline())}", "", _text(report.summary())]
    for outcome in report.notified:
        if outcome.error:
            lines.append(f"- {outcome.channel}: failed: {_text(outcome.error)}")
        elif outcome.papers:
            receipt = _text(outcome.receipt or "")
            sent = counted(outcome.papers, "paper")
            lines.append(f"- {outcome.channel}: sent {sent} {receipt}".rstrip())
        else:
            lines.append(f"- {outcome.channel}: nothing new to send")
    return "\n".join(lines) + "\n"


def report_to_actions(report: RunReport, environ: Mapping[str, str] | None = None) -> None:
    """Append to ``$GITHUB_STEP_SUMMARY`` and ``$GITHUB_OUTPUT`` when they are set."""
    env = os.environ if environ is None else environ
    summary_file = env.get("GITHUB_STEP_SUMMARY")
    if summary_file:
        _append(Path(summary_file), mask(summary_markdown(report)))
    output_file = env.get("GITHUB_OUTPUT")
    if output_file:
        text = "".join(f"{key}={_one_line(value)}\n" for key, value in outputs(report).items())
        _append(Path(output_file), mask(text))


def _text(value: str) -> str:
    """A server's or a paper's words as text on the summary page: one line, no markup.

    Masked before it is escaped: escaping changes a secret (``bot@example.org``
    becomes ``bot<!-- -->@example.org``), which the page's own mask would miss.
    """
    from dailypapers.render.markdown import escape_cell

    return escape_cell(_one_line(mask(value)), brackets=True, backticks=True)


def _one_line(value: str) -> str:
    return " ".join(value.split())


def _append(path: Path, text: str) -> None:
    with path.open("a", encoding="utf-8") as handle:
        handle.write(text)
