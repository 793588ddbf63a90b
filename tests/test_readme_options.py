"""The README's table of contents and "Watch" sentence, and the exact-reference mode."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from dailypapers.config import load_config
from dailypapers.offline.reference import read_readme, reference_papers, reference_text
from dailypapers.pipeline import readme_options
from dailypapers.render.markdown import WATCH, Section, github_anchors, render_readme


def options(tmp_path: Path, text: str, topics: int) -> dict[str, bool]:
    path = tmp_path / "papers.toml"
    path.write_text(text + '\n[[topics]]\nname = "X"\n', encoding="utf-8")
    return readme_options(load_config(path), topics)


@pytest.mark.parametrize(
    ("text", "topics", "expected"),
    [
        ("", 2, {"watch": False, "toc": False}),
        ("", 6, {"watch": False, "toc": True}),
        ("[notify.github]\n", 5, {"watch": True, "toc": False}),
        ("[readme]\ntoc = false\n", 14, {"watch": False, "toc": False}),
        ("[readme]\ntoc = true\n", 1, {"watch": False, "toc": True}),
        ("[readme]\nexact_reference = true\n", 14, {"watch": True, "toc": False}),
    ],
)
def test_options_follow_the_config(
    tmp_path: Path, text: str, topics: int, expected: dict[str, bool]
) -> None:
    assert options(tmp_path, text, topics) == expected


def test_exact_reference_mode_is_the_reference_byte_for_byte(tmp_path: Path) -> None:
    text = reference_text()
    readme = read_readme(text)
    sections = [Section(name, papers) for name, papers in reference_papers(readme).items()]
    chosen = options(tmp_path, "[readme]\nexact_reference = true\n", len(sections))
    rendered = render_readme(
        readme.title,
        sections,
        updated_on=readme.updated_on,
        max_papers=100,
        link_base="http://arxiv.org/abs/",
        watch=chosen["watch"],
        toc=chosen["toc"],
    )
    assert rendered == text


def test_without_the_issue_channel_there_is_no_watch_sentence() -> None:
    text = render_readme("X", [Section("A", [])], updated_on=date(2025, 1, 1), watch=False)
    assert "Watch" not in text and WATCH.strip() not in text
    assert "Last update: 2025-01-01\n\n## A\n" in text


def test_contents_link_every_topic_by_githubs_anchor() -> None:
    names = ["Reward Model", "LLM: Reasoning & RL", "Reward model", "Diffusion [images]"]
    text = render_readme(
        "X", [Section(n, []) for n in names], updated_on=date(2025, 1, 1), toc=True
    )
    contents = text.split("Last update: 2025-01-01\n\n", 1)[1].split("\n\n", 1)[0]
    assert contents.splitlines() == [
        "- [Reward Model](#reward-model)",
        "- [LLM: Reasoning & RL](#llm-reasoning--rl)",
        "- [Reward model](#reward-model-1)",
        "- [Diffusion \\[images\\]](#diffusion-images)",
    ]
    assert github_anchors(["Émotions été"]) == ["émotions-été"]


def test_contents_keep_combining_marks_and_count_the_title() -> None:
    # Before: Python's \w dropped marks (#नटवरक-सरकष pointed nowhere), and a topic
    # named like the title linked to the title.
    names = ["नेटवर्क सुरक्षा", "ความปลอดภัยที่ดี", "⚡\ufe0f Fast inference", "Daily Papers", "x² _y_"]
    assert github_anchors(names) == [
        "नेटवर्क-सुरक्षा",
        "ความปลอดภัยที่ดี",
        "\ufe0f-fast-inference",
        "daily-papers",
        "x-_y_",
    ]
    text = render_readme(
        "Daily Papers", [Section(n, []) for n in names], updated_on=date(2025, 1, 1), toc=True
    )
    assert "- [Daily Papers](#daily-papers-1)\n" in text
    assert "- [नेटवर्क सुरक्षा](#नेटवर्क-सुरक्षा)\n" in text
