"""The sandbox: the fake service over real HTTP on 127.0.0.1, in-process and as ``alisms sandbox``.

Every request here crosses a real loopback socket: alisms's own clients (sync
and async), a raw httpx request signed by ``tests/independent_v3.py`` with the
parameters in the query string, faults that only mean something on a wire
(a connection closed without an answer, a slow answer), and the command-line
server in a subprocess, stopped by SIGTERM and by SIGINT.
"""

from __future__ import annotations

import json
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import IO, Any

import httpx
import independent_v3
import pytest
from conftest import ClientRunner

import alisms
from alisms._sandbox import Sandbox
from alisms.testing import (
    DEFAULT_ACCESS_KEY_ID,
    DEFAULT_ACCESS_KEY_SECRET,
    AcceptedMessage,
    FakeSMSService,
)

WAIT = 10.0
"""Seconds any wait in this file gives up after, so nothing can hang."""

# One injected fault is one answer of the service. A client that retries would
# turn it into a retried success, so these tests switch retries off: they are
# about the fake's answers, not about alisms.Retry.
NO_RETRY: dict[str, Any] = {"retry": False}


def unknown_because_of(error: BaseException) -> alisms.AlismsError:
    """The failure behind a send whose outcome is unknown (even with retries off).

    A send that got no usable answer ends in :class:`alisms.DeliveryUnknownError`,
    whose ``last_error`` says what went wrong on the wire.
    """
    assert isinstance(error, alisms.DeliveryUnknownError)
    assert error.last_error is not None
    return error.last_error


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox() as running:
        yield running


def client_kwargs(sandbox: Sandbox, **kwargs: Any) -> dict[str, Any]:
    kwargs.setdefault("access_key_id", DEFAULT_ACCESS_KEY_ID)
    kwargs.setdefault("access_key_secret", DEFAULT_ACCESS_KEY_SECRET)
    return {"endpoint": sandbox.endpoint, **NO_RETRY, **kwargs}


# -- the in-process server ----------------------------------------------------------


def test_the_endpoint_is_a_free_loopback_port() -> None:
    with Sandbox() as one, Sandbox() as two:
        for running in (one, two):
            match = re.fullmatch(r"http://127\.0\.0\.1:(\d+)", running.endpoint)
            assert match is not None and int(match.group(1)) > 0
            assert running.service.endpoint == running.endpoint
        assert one.endpoint != two.endpoint


def test_both_clients_over_real_http(sandbox: Sandbox, client_runner: ClientRunner) -> None:
    sent, batch = client_runner.call_many(
        client_kwargs(sandbox),
        [
            ("send_message_to_globe", ("+85212345678", "Hello 👋"), {"from_": "alisms"}),
            (
                "batch_send_message_to_globe",
                (["6581234567", "447700900123"], ["one", "two"]),
                {"type": "MKT"},
            ),
        ],
    )
    assert (sent.to, sent.from_, sent.segments) == ("85212345678", "alisms", 1)
    assert batch.failed == [] and len(batch.message_ids) == 2
    messages = sandbox.service.messages
    assert [m.message_id for m in messages] == [sent.message_id, *batch.message_ids]
    assert [(m.to, m.text) for m in messages] == [
        ("85212345678", "Hello 👋"),
        ("6581234567", "one"),
        ("447700900123", "two"),
    ]
    assert messages[0].encoding == "UCS-2"


def test_refusals_come_back_over_http(sandbox: Sandbox, client_runner: ClientRunner) -> None:
    with pytest.raises(alisms.AuthenticationError) as caught:
        client_runner.call(
            client_kwargs(sandbox, access_key_secret="wrong"),
            "send_message_to_globe",
            "85212345678",
            "hi",
        )
    assert (caught.value.code, caught.value.http_status) == ("SignatureDoesNotMatch", 400)
    assert caught.value.host_id and caught.value.recommend
    sandbox.service.inject("unavailable")
    with pytest.raises(alisms.ServerError) as unavailable:
        client_runner.call(client_kwargs(sandbox), "send_message_to_globe", "85212345678", "hi")
    assert unavailable.value.http_status == 503
    assert sandbox.service.messages == []


def test_on_accept_reports_each_message_from_the_server_thread() -> None:
    seen: list[tuple[AcceptedMessage, str]] = []
    service = FakeSMSService(access_keys={"sb-id": "sb-secret"})

    def report(message: AcceptedMessage) -> None:
        seen.append((message, threading.current_thread().name))

    with (
        Sandbox(service, on_accept=report) as running,
        alisms.Client(
            access_key_id="sb-id", access_key_secret="sb-secret", endpoint=running.endpoint
        ) as client,
    ):
        result = client.send_message_to_globe("85212345678", "hi")
    [(message, thread)] = seen
    assert message.message_id == result.message_id
    assert message.access_key_id == "sb-id"
    assert thread != threading.main_thread().name


def test_start_and_stop_without_a_with_block() -> None:
    running = Sandbox().start()
    try:
        with alisms.Client(**client_kwargs(running)) as client:
            client.send_message_to_globe("85212345678", "hi")
    finally:
        running.stop()
    assert len(running.service.messages) == 1
    # Stopped means the port is closed: nothing can have been sent.
    with (
        alisms.Client(**client_kwargs(running)) as client,
        pytest.raises(alisms.TransportError) as e,
    ):
        client.send_message_to_globe("85212345678", "after stop")
    assert e.value.may_have_been_sent is False
    assert len(running.service.messages) == 1


def _ipv6_loopback() -> bool:
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as probe:
            probe.bind(("::1", 0))
    except OSError:
        return False
    return True


@pytest.mark.skipif(not _ipv6_loopback(), reason="no IPv6 loopback on this machine")
def test_the_ipv6_loopback_can_be_served() -> None:
    with Sandbox(host="::1") as running:
        assert running.endpoint.startswith("http://[::1]:")
        with alisms.Client(**client_kwargs(running)) as client:
            client.send_message_to_globe("85212345678", "over IPv6")
    assert len(running.service.messages) == 1


# -- another V3 implementation, over the wire ------------------------------------------


def independent_headers(
    host: str,
    *,
    action: str,
    query: Sequence[tuple[str, str]],
    body: bytes,
    secret: str = DEFAULT_ACCESS_KEY_SECRET,
    method: str = "POST",
    algorithm: str = "ACS3-HMAC-SHA256",
    user_agent: str | None = None,
) -> list[tuple[str, str]]:
    """Every header another correct V3 client would send, Authorization included."""
    headers = [
        ("host", host),
        ("x-acs-action", action),
        ("x-acs-version", "2018-05-01"),
        ("x-acs-date", datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")),
        ("x-acs-signature-nonce", f"raw-{time.monotonic_ns()}"),
        ("x-acs-content-sha256", independent_v3.payload_hash(body, algorithm)),
    ]
    if body:
        headers.append(("content-type", "application/x-www-form-urlencoded"))
    names = None
    if user_agent is not None:
        headers.append(("user-agent", user_agent))
        names = [n for n, _ in headers]
    authorization = independent_v3.sign(
        method=method,
        path="/",
        query=query,
        headers=headers,
        body=body,
        access_key_id=DEFAULT_ACCESS_KEY_ID,
        secret=secret,
        algorithm=algorithm,
        signed_header_names=names,
    )
    return [*headers, ("authorization", authorization)]


def encode_pairs(pairs: Sequence[tuple[str, str]]) -> str:
    return "&".join(f"{independent_v3.encode(k)}={independent_v3.encode(v)}" for k, v in pairs)


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_a_raw_request_signed_independently_with_the_query_string(
    sandbox: Sandbox, method: str
) -> None:
    host = sandbox.endpoint.removeprefix("http://")
    query = [("To", "85212345678"), ("Message", "From another SDK: 50% off & more ~ 你好")]
    headers = independent_headers(
        host, action="SendMessageToGlobe", query=query, body=b"", method=method
    )
    with httpx.Client() as http:
        response = http.request(
            method, f"{sandbox.endpoint}/?{encode_pairs(query)}", headers=headers
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["ResponseCode"] == "OK"
    [message] = sandbox.service.messages
    assert (message.message_id, message.to, message.text) == (
        body["MessageId"],
        "85212345678",
        query[1][1],
    )


def test_a_raw_batch_in_a_form_body_with_sm3_and_a_signed_user_agent(sandbox: Sandbox) -> None:
    host = sandbox.endpoint.removeprefix("http://")
    params = [
        ("To", json.dumps(["85212345678", "8613800138000"])),
        ("Message", json.dumps(["hi", "mainland"])),
    ]
    body = encode_pairs(params).encode()
    headers = independent_headers(
        host,
        action="BatchSendMessageToGlobe",
        query=[],
        body=body,
        algorithm="ACS3-HMAC-SM3",
        user_agent="raw-httpx/1.0",
    )
    with httpx.Client() as http:
        response = http.post(f"{sandbox.endpoint}/", headers=headers, content=body)
    assert response.status_code == 200, response.text
    answer = response.json()
    assert json.loads(answer["FailedList"]) == ["8613800138000"]
    assert [m.to for m in sandbox.service.messages] == ["85212345678"]


def test_a_raw_request_with_the_wrong_secret_gets_the_gateway_error(sandbox: Sandbox) -> None:
    host = sandbox.endpoint.removeprefix("http://")
    query = [("To", "85212345678"), ("Message", "hi")]
    headers = independent_headers(
        host, action="SendMessageToGlobe", query=query, body=b"", secret="nope"
    )
    with httpx.Client() as http:
        response = http.post(f"{sandbox.endpoint}/?{encode_pairs(query)}", headers=headers)
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert response.json()["Code"] == "SignatureDoesNotMatch"
    assert sandbox.service.messages == []


# -- faults on a real wire -------------------------------------------------------------


def test_drop_after_accept_closes_the_connection_without_an_answer(
    sandbox: Sandbox, client_runner: ClientRunner
) -> None:
    sandbox.service.inject("drop_after_accept")
    with pytest.raises(alisms.DeliveryUnknownError) as caught:
        client_runner.call(client_kwargs(sandbox), "send_message_to_globe", "85212345678", "hi")
    cause = unknown_because_of(caught.value)
    assert isinstance(cause, alisms.TransportError) and cause.may_have_been_sent is True
    assert [m.text for m in sandbox.service.messages] == ["hi"]


def test_drop_after_accept_sends_not_one_byte_back(sandbox: Sandbox) -> None:
    host = sandbox.endpoint.removeprefix("http://")
    query = [("To", "85212345678"), ("Message", "hi")]
    headers = independent_headers(host, action="SendMessageToGlobe", query=query, body=b"")
    request = f"POST /?{encode_pairs(query)} HTTP/1.1\r\n" + "".join(
        f"{name}: {value}\r\n"
        for name, value in [*headers, ("content-length", "0"), ("connection", "close")]
    )
    sandbox.service.inject("drop_after_accept")
    address, port = host.rsplit(":", 1)
    with socket.create_connection((address, int(port)), timeout=WAIT) as raw:
        raw.sendall(f"{request}\r\n".encode())
        received = b""
        while chunk := raw.recv(4096):
            received += chunk
    assert received == b""  # closed without a status line, headers or body
    assert len(sandbox.service.messages) == 1


def test_a_raw_httpx_client_sees_the_dropped_connection(sandbox: Sandbox) -> None:
    host = sandbox.endpoint.removeprefix("http://")
    query = [("To", "85212345678"), ("Message", "hi")]
    sandbox.service.inject("drop_after_accept")
    headers = independent_headers(host, action="SendMessageToGlobe", query=query, body=b"")
    with httpx.Client() as http, pytest.raises(httpx.RemoteProtocolError):
        http.post(f"{sandbox.endpoint}/?{encode_pairs(query)}", headers=headers)
    assert len(sandbox.service.messages) == 1


def test_the_same_client_goes_on_after_a_dropped_connection(sandbox: Sandbox) -> None:
    with alisms.Client(**client_kwargs(sandbox)) as client:
        client.send_message_to_globe("85212345678", "first")  # a kept-alive connection
        sandbox.service.inject("drop_after_accept")
        with pytest.raises(alisms.DeliveryUnknownError):
            client.send_message_to_globe("85212345678", "dropped")
        client.send_message_to_globe("85212345678", "third")
    assert [m.text for m in sandbox.service.messages] == ["first", "dropped", "third"]


def test_delay_answers_late(sandbox: Sandbox, client_runner: ClientRunner) -> None:
    sandbox.service.inject("delay", seconds=0.05)
    started = time.monotonic()
    result = client_runner.call(
        client_kwargs(sandbox), "send_message_to_globe", "85212345678", "hi"
    )
    assert time.monotonic() - started >= 0.05
    assert sandbox.service.messages[0].message_id == result.message_id


def test_a_client_timeout_shorter_than_the_delay(
    sandbox: Sandbox, client_runner: ClientRunner
) -> None:
    delay = 0.4
    sandbox.service.inject("delay", seconds=delay)
    started = time.monotonic()
    with pytest.raises(alisms.DeliveryUnknownError) as caught:
        client_runner.call(
            client_kwargs(sandbox, timeout=0.1), "send_message_to_globe", "85212345678", "hi"
        )
    assert time.monotonic() - started < delay
    cause = unknown_because_of(caught.value)
    assert isinstance(cause, alisms.TransportError) and cause.may_have_been_sent is True
    # Let the server thread finish its late answer before the sandbox stops.
    time.sleep(max(0.0, delay - (time.monotonic() - started)) + 0.05)
    # It was accepted before the delay: the client could not know, and said so.
    deadline = time.monotonic() + WAIT
    while not sandbox.service.messages and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(sandbox.service.messages) == 1


# -- `alisms sandbox` as a subprocess -----------------------------------------------------

LISTENING = re.compile(
    r"alisms sandbox listening on (?P<url>http://\S+) "
    r"access_key_id=(?P<id>\S+) access_key_secret=(?P<secret>\S+)"
)


def _pump(stream: IO[str], lines: queue.Queue[str | None]) -> None:
    for line in stream:
        lines.put(line)
    lines.put(None)


@contextmanager
def sandbox_process(*args: str) -> Iterator[tuple[subprocess.Popen[str], queue.Queue[str | None]]]:
    """Run ``python -m alisms sandbox --port 0 ARGS``; its stdout lines arrive on a queue."""
    command = [sys.executable, "-m", "alisms", "sandbox", "--port", "0", *args]
    with subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        encoding="utf-8",
    ) as process:
        assert process.stdout is not None
        lines: queue.Queue[str | None] = queue.Queue()
        reader = threading.Thread(target=_pump, args=(process.stdout, lines), daemon=True)
        reader.start()
        try:
            yield process, lines
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=WAIT)
            reader.join(timeout=WAIT)


def next_line(lines: queue.Queue[str | None]) -> str:
    line = lines.get(timeout=WAIT)
    assert line is not None, "the sandbox closed its output"
    return line


@pytest.mark.parametrize(
    ("stop_with", "credentials"),
    [
        (signal.SIGTERM, ("cli-sandbox-id", "cli-sandbox-secret")),
        (signal.SIGINT, None),
    ],
    ids=["SIGTERM-own-credentials", "SIGINT-default-credentials"],
)
def test_the_sandbox_command(
    stop_with: signal.Signals, credentials: tuple[str, str] | None
) -> None:
    args = (
        ["--access-key-id", credentials[0], "--access-key-secret", credentials[1]]
        if credentials
        else []
    )
    with sandbox_process(*args) as (process, lines):
        first = next_line(lines)
        match = LISTENING.search(first)
        assert match is not None, first
        url, key_id, secret = match["url"], match["id"], match["secret"]
        assert re.fullmatch(r"http://127\.0\.0\.1:[1-9]\d*", url)
        expected = credentials or (DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET)
        assert (key_id, secret) == expected

        with alisms.Client(access_key_id=key_id, access_key_secret=secret, endpoint=url) as client:
            result = client.send_message_to_globe("+85212345678", "Hello from a test", from_="T1")
            logged = next_line(lines)
            assert result.message_id in logged
            assert "85212345678" in logged and "Hello from a test" in logged and "T1" in logged
            if credentials:  # only the given pair is known, not the default one
                with (
                    alisms.Client(
                        access_key_id=DEFAULT_ACCESS_KEY_ID,
                        access_key_secret=DEFAULT_ACCESS_KEY_SECRET,
                        endpoint=url,
                    ) as other,
                    pytest.raises(alisms.AuthenticationError) as refused,
                ):
                    other.send_message_to_globe("85212345678", "x")
                assert refused.value.code == "InvalidAccessKeyId.NotFound"

            # Stopped while this client still holds a kept-alive connection.
            stopped_at = time.monotonic()
            process.send_signal(stop_with)
            assert process.wait(timeout=WAIT) == 0
            assert time.monotonic() - stopped_at < 3.0
        rest = []
        while (line := lines.get(timeout=WAIT)) is not None:
            rest.append(line)
        assert rest == ["alisms sandbox stopped\n"]
        assert process.stderr is not None
        errors = process.stderr.read()
        assert "Traceback" not in errors, errors

    # Stopped cleanly: the port is closed.
    with (
        alisms.Client(
            access_key_id=key_id, access_key_secret=secret, endpoint=url, **NO_RETRY
        ) as client,
        pytest.raises(alisms.TransportError) as caught,
    ):
        client.send_message_to_globe("85212345678", "after stop")
    assert caught.value.may_have_been_sent is False
