"""`[notify.*]` in papers.toml: validated like the rest, and never a place for secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from dailypapers.config import ConfigError, load_config
from dailypapers.scaffold import CONFIG_TEMPLATE

TOPIC = '[[topics]]\nname = "Reward Model"\n'


def error_of(tmp_path: Path, text: str) -> str:
    path = tmp_path / "papers.toml"
    path.write_text(TOPIC + text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return str(info.value)


def test_ssl_without_a_port_is_465(tmp_path: Path) -> None:
    # Before: implicit TLS to port 587 (STARTTLS's), which no server answers.
    for security, port, expected in [("ssl", "", 465), ("ssl", "smtp_port = 2465\n", 2465)]:
        path = tmp_path / "papers.toml"
        path.write_text(
            '[[topics]]\nname = "A"\n[notify.email]\nsmtp_host = "smtp.x.org"\n'
            f'security = "{security}"\n{port}sender = "a@x.org"\nrecipients = ["b@x.org"]\n',
            encoding="utf-8",
        )
        email = load_config(path).settings.notify.email
        assert email is not None and email.smtp_port == expected


def test_the_commented_template_block_is_valid(tmp_path: Path) -> None:
    block = CONFIG_TEMPLATE.split("# [notify]\n", 1)[1]
    text = CONFIG_TEMPLATE + "\n".join(
        line.removeprefix("# ").split("  #")[0] for line in ("# [notify]\n" + block).splitlines()
    )
    path = tmp_path / "papers.toml"
    path.write_text(text, encoding="utf-8")
    notify = load_config(path).settings.notify
    assert list(notify.channels) == ["github", "email", "webhook"]
    assert notify.max_per_topic == 15 and notify.email is not None
    assert notify.email.security == "starttls" and notify.email.recipients == ["me@example.org"]


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ("email", "password"),
        ("email", "smtp_password"),
        ("email", "user"),
        ("github", "token"),
        ("webhook", "url"),
        ("webhook", "webhook_url"),
    ],
)
def test_secret_keys_are_refused_without_echoing_them(tmp_path: Path, table: str, key: str) -> None:
    message = error_of(tmp_path, f'\n[notify.{table}]\n{key} = "hunter2-value"\n')
    assert f"papers.toml:4: notify.{table}: '{key}' looks like a secret" in message
    assert "hunter2-value" not in message and "environment" in message


def test_bad_values_name_the_line(tmp_path: Path) -> None:
    email = '\n[notify.email]\nsmtp_host = "h"\nsender = "a@b.org"\nrecipients = ["nobody"]\n'
    assert error_of(tmp_path, email).endswith(
        "papers.toml:7: notify.email.recipients: not an e-mail address: 'nobody'"
    )
    assert "notify.email.security: Input should be" in error_of(
        tmp_path, email.replace('["nobody"]', '["a@b.org"]') + 'security = "tls"\n'
    )
    assert error_of(tmp_path, "\n[notify]\nmax_per_topic = 0\n").startswith(
        f"{tmp_path / 'papers.toml'}:5: notify.max_per_topic: "
    )
    assert "unknown section `[notify.slack]`" in error_of(tmp_path, "\n[notify.slack]\n")


EMAIL = '[notify.email]\nsmtp_host = "smtp.x.org"\nsender = "{}"\nrecipients = ["{}"]\n'


@pytest.mark.parametrize(
    ("sender", "recipient"),
    [
        ("a,b@x.org", "me@x.org"),  # before: accepted, then every send failed
        ("a@x.org;", "me@x.org"),
        ("a:b@x.org", "me@x.org"),
        ("ü@x.org", "me@x.org"),
        ("=?utf-8?q?x?=@x.org", "me@x.org"),
        ("me@x.org", "boss,team@x.org"),  # before: sent to "boss" and to "team@x.org"
    ],
)
def test_addresses_a_header_cannot_carry_are_config_errors(
    tmp_path: Path, sender: str, recipient: str
) -> None:
    message = error_of(tmp_path, EMAIL.format(sender, recipient))
    assert "notify.email." in message and "not an e-mail address" in message


def test_an_ordinary_address_still_loads(tmp_path: Path) -> None:
    path = tmp_path / "papers.toml"
    text = '[[topics]]\nname = "A"\n' + EMAIL.format("Lab.Bot+daily@x-y.org", "me@sub.x.org")
    path.write_text(text, encoding="utf-8")
    assert load_config(path).settings.notify.email is not None


@pytest.mark.parametrize(
    ("table", "line", "problem"),
    [
        ("[notify]", 'link = "https://example.org/daily papers"', "notify.link: must be an http"),
        ("[notify]", 'link = "https://x.test/a\\n## injected"', "notify.link: must be an http"),
        ("[readme]", 'link_base = "javascript:alert(1)//"', "readme.link_base: must be an http"),
    ],
)
def test_the_links_every_message_carries_are_checked(
    tmp_path: Path, table: str, line: str, problem: str
) -> None:
    # Before: accepted; the link broke (or added a heading and a team mention to
    # the issue), and javascript: reached the HTML e-mail's links.
    assert problem in error_of(tmp_path, f"{table}\n{line}\n")


def test_a_title_with_controls_or_a_bidi_override_is_a_config_error(tmp_path: Path) -> None:
    # Before: its escape codes and bidi override reached every message's heading.
    path = tmp_path / "papers.toml"
    path.write_text('title = "Daily \\u202eRTL\\u001b[31m Papers"\n' + TOPIC, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"papers\.toml:1: title: must be one line of printable"):
        load_config(path)
