"""The fake OpenAI-compatible server and the chat client, over real sockets."""

from __future__ import annotations

import asyncio
import gzip
import http.server
import json
import signal
import subprocess
import sys
import threading
import zlib

import httpx
import pytest

from dailypapers.llm import (
    MAX_BODY_BYTES,
    ChatClient,
    Completion,
    LLMError,
    _inflated,
    bearer_key,
    retry_after,
)
from dailypapers.offline.fake_llm import HOSTILE, FakeLLM, refused_url

MESSAGES = [
    {"role": "system", "content": "Summarise."},
    {"role": "user", "content": "Title: Cats are liquid\nAbstract: We pour cats."},
]


def complete(url: str, *, timeout: float = 5.0, key: str | None = None) -> Completion:
    async def go() -> Completion:
        client = ChatClient(url, "fake-model", api_key=key, timeout=timeout)
        try:
            return await client.complete(MESSAGES)
        finally:
            await client.aclose()

    return asyncio.run(go())


def error_of(url: str, **kwargs: object) -> LLMError:
    with pytest.raises(LLMError) as caught:
        complete(url, **kwargs)  # type: ignore[arg-type]
    return caught.value


def test_a_completion_carries_content_and_usage() -> None:
    with FakeLLM(api_key="sk-test") as llm:
        answer = complete(llm.url, key="sk-test")
        sent = llm.completions[0].json()
    summary = json.loads(answer.content)
    assert "Cats are liquid" in summary["tldr"]
    assert answer.tokens_in > 0 and answer.tokens_out > 0
    assert sent["model"] == "fake-model"
    assert sent["messages"] == MESSAGES
    assert sent["response_format"] == {"type": "json_object"}
    assert llm.completions[0].headers["authorization"] == "Bearer sk-test"


def test_a_wrong_key_is_a_one_line_error_without_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DAILYPAPERS_LLM_API_KEY", "wrong-key-value")
    with FakeLLM(api_key="right-key") as llm:
        error = error_of(llm.url, key="wrong-key-value")
    assert str(error) == "HTTP 401: Incorrect API key provided: ***"


def test_connection_refused() -> None:
    error = error_of(refused_url())
    assert str(error).startswith("cannot reach the endpoint: ConnectError")
    assert "\n" not in str(error)


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ("500", "HTTP 500: fake"),
        ("503", "HTTP 503: fake"),
        ("html", "answer is not JSON (text/html, HTTP 200)"),
        ("not_json", "answer is not JSON (application/json, HTTP 200)"),
        ("empty_choices", "answer has no choices"),
        ("null_content", "answer has no content"),
        ("huge", f"answer larger than {MAX_BODY_BYTES // 1024} kB"),
    ],
)
def test_each_fault_is_one_line(fault: str, message: str) -> None:
    with FakeLLM() as llm:
        llm.fail(fault)
        assert str(error_of(llm.url)) == message
        assert json.loads(complete(llm.url).content)["tldr"]  # the fault was used up


def test_rate_limits_carry_retry_after() -> None:
    with FakeLLM() as llm:
        llm.fail("429", retry_after=7)
        llm.fail("429")
        first, second = error_of(llm.url), error_of(llm.url)
    assert first.rate_limited and first.retry_after == 7
    assert second.rate_limited and second.retry_after is None


def test_a_slow_answer_hits_the_total_deadline() -> None:
    with FakeLLM() as llm:
        llm.fail("slow")
        error = error_of(llm.url, timeout=0.3)
        llm.release()
    assert str(error) == "no answer within 0.3 s (timeout)"


def test_the_gate_holds_a_slow_answer_until_released() -> None:
    with FakeLLM() as llm:
        llm.fail("slow")
        result: list[Completion] = []
        worker = threading.Thread(target=lambda: result.append(complete(llm.url)))
        worker.start()
        worker.join(0.3)
        assert worker.is_alive() and not result
        llm.release()
        worker.join(5)
    assert result and json.loads(result[0].content)["tldr"]


def test_invalid_outputs_are_delivered_as_content() -> None:
    with FakeLLM() as llm:
        llm.fail("invalid")
        llm.fail("bad_schema")
        assert not complete(llm.url).content.startswith("{")
        assert json.loads(complete(llm.url).content)["tldr"] == ""


def test_hostile_mode_echoes_markup() -> None:
    with FakeLLM(hostile=True) as llm:
        content = json.loads(complete(llm.url).content)
    assert HOSTILE in content["tldr"]


def test_sticky_faults_until_healed() -> None:
    with FakeLLM() as llm:
        llm.fail("503", times=None)
        for _ in range(3):
            error_of(llm.url)
        llm.heal()
        assert complete(llm.url).content
    with pytest.raises(ValueError, match="unknown fault"):
        FakeLLM().fail("teapot")


def test_retry_after_forms() -> None:
    assert retry_after("12") == 12
    assert retry_after("-3") == 0
    assert retry_after("soon") is None
    assert retry_after(None) is None
    assert retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0


def test_the_client_works_through_any_transport() -> None:
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.url.path == "/api/v1/chat/completions"
        body = {"choices": [{"message": {"content": "{}"}}], "usage": {"prompt_tokens": "x"}}
        return httpx.Response(200, json=body)

    async def go() -> Completion:
        client = ChatClient(
            "http://llm.invalid/api/v1/",
            "m",
            api_key=None,
            timeout=1,
            transport=httpx.MockTransport(answer),
        )
        return await client.complete(MESSAGES)

    assert asyncio.run(go()) == Completion("{}", 0, 0)


def test_a_base_url_with_a_query_keeps_it_after_the_path() -> None:
    # Before: "/v1?api-version=2024-06-01/chat/completions", a 404 on Azure.
    seen: list[httpx.URL] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url)
        return httpx.Response(200, json={"choices": [{"message": {"content": "{}"}}]})

    async def go() -> Completion:
        client = ChatClient(
            "https://llm.invalid/openai/v1?api-version=2024-06-01",
            "m",
            api_key=None,
            timeout=1,
            transport=httpx.MockTransport(answer),
        )
        return await client.complete(MESSAGES)

    asyncio.run(go())
    assert seen[0].path == "/openai/v1/chat/completions"
    assert seen[0].params["api-version"] == "2024-06-01"


def test_the_fake_runs_a_command_with_its_url() -> None:
    show = "import os; print(os.environ['DAILYPAPERS_LLM_URL'])"
    done = subprocess.run(
        [sys.executable, "-m", "dailypapers.offline.fake_llm", "--", sys.executable, "-c", show],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("http://127.0.0.1:") and done.stdout.rstrip().endswith("/v1")


def test_the_fake_serves_until_ctrl_c() -> None:
    command = [sys.executable, "-m", "dailypapers.offline.fake_llm"]
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as proc:
        try:
            assert proc.stdout is not None and proc.stderr is not None
            url = proc.stdout.readline().strip()
            body = {"model": "m", "messages": MESSAGES}
            answer = httpx.post(url + "/chat/completions", json=body, timeout=10)
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=10) == 0
            assert proc.stderr.read().splitlines()[-1] == "stopped"
        finally:
            proc.kill()  # a server left running would hold the suite at the block's end
    assert url.endswith("/v1") and answer.status_code == 200


def test_down_then_up_on_the_same_url() -> None:
    with FakeLLM() as llm:
        url = llm.url
        llm.down()
        assert "ConnectError" in str(error_of(url))
        llm.up()
        assert llm.url == url and complete(url).content


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (200, b"[" * 100_000, "answer is not JSON (application/json, HTTP 200)"),
        (500, b'{"error": {"message": "bad\\u001b[31m red\\nline"}}', "HTTP 500: bad[31m red line"),
        (502, b"[" * 100_000, "HTTP 502"),
    ],
)
def test_hostile_bodies_give_one_clean_line(status: int, body: bytes, message: str) -> None:
    assert str(one_answer(status, body, {"content-type": "application/json"})) == message


def one_answer(status: int, body: bytes, headers: dict[str, str] | None = None) -> LLMError:
    """The error of a completion the transport answers with ``status`` and ``body``."""

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers=headers or {})

    async def go() -> Completion:
        client = ChatClient(
            "http://llm.invalid/v1",
            "m",
            api_key=None,
            timeout=5,
            transport=httpx.MockTransport(answer),
        )
        return await client.complete(MESSAGES)

    with pytest.raises(LLMError) as caught:
        asyncio.run(go())
    return caught.value


def test_a_key_quoted_late_in_an_error_is_masked_before_the_message_is_cut(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    key = "sk-SECRETKEY1234567890abcdef"
    monkeypatch.setenv("DAILYPAPERS_LLM_API_KEY", key)
    words = "Malformed API Key passed in. " * 3  # the key from the 99th character on
    body = json.dumps({"error": {"message": f"{words}Passed in: {key}"}}).encode()
    message = str(one_answer(401, body))
    assert "SECRETKEY" not in message and message.startswith("HTTP 401: Malformed API Key")


def test_a_redirect_is_not_an_answer() -> None:
    body = json.dumps({"choices": [{"message": {"content": '{"tldr": "Via redirect."}'}}]})
    assert str(one_answer(302, body.encode())) == "HTTP 302: not an answer"


def test_hidden_characters_leave_an_error_line() -> None:
    error = LLMError("bad\u202e \U000e0041\u2060word\ud800 \u00adend")
    assert str(error) == "bad word end"


def test_a_key_is_printable_ascii(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOME_KEY", "  sk-pasted-with-newline\n")
    assert bearer_key("SOME_KEY") == "sk-pasted-with-newline"
    monkeypatch.setenv("SOME_KEY", "sk-ключ")
    with pytest.raises(ValueError, match=r"^\$SOME_KEY holds characters") as caught:
        bearer_key("SOME_KEY")
    assert "ключ" not in str(caught.value)
    monkeypatch.setenv("SOME_KEY", " ")
    assert bearer_key("SOME_KEY") is None


def test_a_compressed_answer_is_inflated_within_the_cap() -> None:
    small = gzip.compress(b'{"ok": true}')
    assert _inflated(small, "gzip", 100) == b'{"ok": true}'
    assert _inflated(zlib.compress(b"abc"), "deflate", 100) == b"abc"
    bomb = gzip.compress(bytes(10_000_000))  # 10 MB of zeros: about 10 kB sent
    with pytest.raises(LLMError, match="answer larger than 256 kB"):
        _inflated(bomb, "gzip", MAX_BODY_BYTES)
    with pytest.raises(LLMError, match=r"answer in an encoding not asked for \(br\)"):
        _inflated(b"x", "br", MAX_BODY_BYTES)
    with pytest.raises(LLMError, match="answer's gzip body is damaged"):
        _inflated(b"not gzip", "gzip", MAX_BODY_BYTES)


def test_no_compression_is_asked_for_and_a_gzipped_answer_still_reads() -> None:
    body = json.dumps({"choices": [{"message": {"content": "{}"}}]}).encode()
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            seen.append(self.headers.get("accept-encoding", ""))
            packed = gzip.compress(body)
            self.send_response(200)
            self.send_header("content-encoding", "gzip")
            self.send_header("content-length", str(len(packed)))
            self.end_headers()
            self.wfile.write(packed)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        answer = complete(f"http://127.0.0.1:{server.server_address[1]}/v1")
    finally:
        server.shutdown()
        server.server_close()
    assert answer.content == "{}" and seen == ["identity"]


def test_the_fake_names_a_command_it_cannot_find() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dailypapers.offline.fake_llm", "--", "no-such-command-here"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (done.returncode, done.stderr) == (1, "Error: command not found: no-such-command-here\n")


def test_the_cap_holds_for_a_transport_that_read_the_answer_already() -> None:
    assert str(one_answer(200, b"x" * (MAX_BODY_BYTES + 1))) == "answer larger than 256 kB"


def test_raw_deflate_is_read_and_an_error_status_outlives_its_damaged_body() -> None:
    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)  # no zlib header, as some servers send
    raw = packer.compress(b'{"ok": 1}') + packer.flush()
    assert _inflated(raw, "deflate", 100) == b'{"ok": 1}'
    # A 429 whose gzip body is damaged is still a 429 (its Retry-After honoured).
    seen: list[LLMError] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            self.rfile.read(int(self.headers["content-length"]))
            self.send_response(429)
            self.send_header("retry-after", "7")
            self.send_header("content-encoding", "gzip")
            self.send_header("content-length", "8")
            self.end_headers()
            self.wfile.write(b"not gzip")

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        seen.append(error_of(f"http://127.0.0.1:{server.server_address[1]}/v1"))
    finally:
        server.shutdown()
        server.server_close()
    assert seen[0].rate_limited and seen[0].retry_after == 7
