"""The ``alisms`` command line, every command, against a sandbox on 127.0.0.1.

Commands run in-process through ``alisms._cli.main(argv, out=StringIO())``.
Every run goes through the ``cli`` fixture, which also checks that no secret
(AccessKey secret, STS token) appears on the output stream, stdout or stderr.
Exit codes: 0 ok, 1 refused / not sent, 2 usage or validation, 3 outcome unknown.
"""

from __future__ import annotations

import csv
import faulthandler
import io
import json
import logging
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import httpx
import independent_v3
import pytest

import alisms
import alisms._cli
import alisms.testing
from alisms._cli import main
from alisms._sandbox import Sandbox
from alisms.testing import DEFAULT_ACCESS_KEY_SECRET, FakeSMSService, FaultKind

CLI_ID = "cli-test-id"
CLI_SECRET = "cli-s3cret-Zq9w"
STS_TOKEN = "CAIS+cli/sts=token-77Qx"
WRONG_SECRET = "wrong-s3cret-Kp2v"
NEVER_SHOWN = (CLI_SECRET, STS_TOKEN, WRONG_SECRET, DEFAULT_ACCESS_KEY_SECRET)
WAIT = 10.0


@dataclass
class Run:
    code: int
    out: str
    err: str


@dataclass
class Cli:
    """Runs ``main`` and checks that no secret was printed anywhere."""

    capsys: pytest.CaptureFixture[str]

    def __call__(self, *argv: str) -> Run:
        out = io.StringIO()
        code = main(list(argv), out=out)
        captured = self.capsys.readouterr()
        for text in (out.getvalue(), captured.out, captured.err):
            for secret in NEVER_SHOWN:
                assert secret not in text, f"a secret was printed by {argv[0]}"
        return Run(code, out.getvalue() + captured.out, captured.err)


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys)


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(FakeSMSService(access_keys={CLI_ID: CLI_SECRET})) as running:
        yield running


@pytest.fixture
def conn(sandbox: Sandbox) -> list[str]:
    """Connection options for the sandbox."""
    return [
        "--endpoint",
        sandbox.endpoint,
        "--access-key-id",
        CLI_ID,
        "--access-key-secret",
        CLI_SECRET,
    ]


# -- send ------------------------------------------------------------------------------


def test_send_prints_the_accepted_message(cli: Cli, sandbox: Sandbox, conn: list[str]) -> None:
    run = cli("send", "--to", "+85212345678", "--message", "Your code is 1234", *conn)
    assert run.code == 0
    match = re.fullmatch(
        r"accepted: message id (\d+) to 85212345678, 1 segment\(s\), request id (\S+)\n", run.out
    )
    assert match is not None, run.out
    [message] = sandbox.service.messages
    assert (match[1], match[2]) == (message.message_id, message.request_id)
    assert message.text == "Your code is 1234"


def test_send_json_with_every_option(cli: Cli, sandbox: Sandbox, conn: list[str]) -> None:
    run = cli(
        "send",
        "--to",
        "0085212345678",
        "--message",
        "a" * 161,
        "--from",
        "MyShop",
        "--type",
        "otp",
        "--task-id",
        "task-7",
        "--validity-period",
        "600",
        "--channel-id",
        "ch-1",
        "--json",
        *conn,
    )
    assert run.code == 0
    record = json.loads(run.out)
    [message] = sandbox.service.messages
    assert record["message_id"] == message.message_id
    assert (record["to"], record["from_"], record["segments"]) == ("85212345678", "MyShop", 2)
    assert record["response_code"] == "OK"
    assert record["request_id"] == message.request_id
    assert record["number_detail"].keys() == {"carrier", "region", "country"}
    assert "raw" not in record and "raw_body" not in record
    assert (message.type, message.task_id, message.validity_period, message.channel_id) == (
        "OTP",
        "task-7",
        600,
        "ch-1",
    )


def test_send_with_credentials_and_endpoint_from_the_environment(
    cli: Cli, sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", CLI_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", CLI_SECRET)
    monkeypatch.setenv("ALISMS_ENDPOINT", sandbox.endpoint)
    run = cli("send", "--to", "85212345678", "--message", "from env")
    assert run.code == 0
    assert sandbox.service.messages[0].access_key_id == CLI_ID


def test_send_with_sts_credentials(cli: Cli, conn: list[str]) -> None:
    service = FakeSMSService(access_keys={CLI_ID: CLI_SECRET}, sts_tokens={CLI_ID: STS_TOKEN})
    with Sandbox(service) as sts_sandbox:
        connection = [*conn[2:], "--endpoint", sts_sandbox.endpoint]
        run = cli("send", "--to", "85212345678", "--message", "hi", *connection)
        assert run.code == 1 and "MissingSecurityToken" in run.err
        run = cli(
            "send", "--to", "85212345678", "--message", "hi", "--security-token", STS_TOKEN,
            *connection,
        )  # fmt: skip
        assert run.code == 0
    assert len(service.messages) == 1


@pytest.mark.parametrize(
    ("fault", "error", "code", "status"),
    [
        ("throttle", "ThrottlingError", "Throttling.User", 400),
        ("unavailable", "ServerError", "ServiceUnavailable", 503),
    ],
)
def test_send_refused_by_the_service_is_exit_1(
    cli: Cli,
    sandbox: Sandbox,
    conn: list[str],
    fault: FaultKind,
    error: str,
    code: str,
    status: int,
) -> None:
    sandbox.service.inject(fault)
    # One try: a retry would be answered (tests/test_retry.py covers retries).
    run = cli("send", "--to", "85212345678", "--message", "hi", "--json", "--attempts", "1", *conn)
    assert run.code == 1
    record = json.loads(run.out)
    assert (record["error"], record["code"], record["http_status"]) == (error, code, status)
    assert record["request_id"]
    assert f"alisms: {error}: {code}" in run.err
    assert sandbox.service.messages == []


def refuse_the_999_range(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make the fake refuse well-formed 999... numbers, as the service does unallocated ones.

    The client cannot know which well-formed numbers the service refuses, so
    this is the one way a number passes validation and is then refused.
    """
    monkeypatch.setattr(alisms.testing, "_NUMBER", re.compile(r"(?!999)[0-9]{7,15}"))


def test_send_rejected_by_the_service_is_exit_1(
    cli: Cli, sandbox: Sandbox, conn: list[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    refuse_the_999_range(monkeypatch)
    run = cli("send", "--to", "99912345678", "--message", "hi", *conn)
    assert run.code == 1
    assert run.out == ""
    assert "MessageRejectedError: MOBILE_NUMBER_ILLEGAL" in run.err
    assert sandbox.service.messages == []


def test_send_with_the_wrong_secret_is_exit_1(cli: Cli, sandbox: Sandbox) -> None:
    run = cli(
        "send", "--to", "85212345678", "--message", "hi", "--endpoint", sandbox.endpoint,
        "--access-key-id", CLI_ID, "--access-key-secret", WRONG_SECRET,
    )  # fmt: skip
    assert run.code == 1
    assert "SignatureDoesNotMatch" in run.err
    assert sandbox.service.messages == []


@pytest.mark.parametrize(
    "options",
    [
        ["--to", "852-1234-5678", "--message", "hi"],
        ["--to", "8613800138000", "--message", "hi"],  # Chinese mainland
        ["--to", "85212345678", "--message", "   "],
        ["--to", "85212345678", "--message", "hi", "--from", "My Shop!"],
        ["--to", "85212345678", "--message", "hi", "--type", "PROMO"],
        ["--to", "85212345678", "--message", "hi", "--validity-period", "0"],
    ],
    ids=["number", "mainland", "empty-text", "sender", "type", "validity"],
)
def test_send_validation_error_is_exit_2(
    cli: Cli, sandbox: Sandbox, conn: list[str], options: list[str]
) -> None:
    run = cli("send", *options, *conn)
    assert run.code == 2
    assert "ValidationError" in run.err
    run = cli("send", *options, "--json", *conn)
    assert run.code == 2
    assert json.loads(run.out)["error"] == "ValidationError"
    assert sandbox.service.messages == []


def test_send_without_credentials_is_exit_2(cli: Cli, sandbox: Sandbox) -> None:
    run = cli("send", "--to", "85212345678", "--message", "hi", "--endpoint", sandbox.endpoint)
    assert run.code == 2
    assert "CredentialsError" in run.err and "ALIBABA_CLOUD_ACCESS_KEY_ID" in run.err


def test_send_usage_error_exits_2(cli: Cli) -> None:
    run = cli("send", "--message", "no number")
    assert run.code == 2
    assert "--to" in run.err


@pytest.mark.parametrize("fault", ["drop_after_accept", "malformed"])
def test_send_with_an_unknown_outcome_is_exit_3(
    cli: Cli, sandbox: Sandbox, conn: list[str], fault: FaultKind
) -> None:
    sandbox.service.inject(fault)
    run = cli("send", "--to", "85212345678", "--message", "hi", *conn)
    assert run.code == 3
    assert "may have been accepted" in run.err or "outcome is unknown" in run.err
    # It was accepted: exit 3 is the truth, and exit 1 would invite a double send.
    assert len(sandbox.service.messages) == 1


def test_send_to_a_closed_port_is_exit_1(cli: Cli, conn: list[str]) -> None:
    closed = Sandbox()
    endpoint = closed.endpoint
    closed.stop()
    run = cli(
        "send", "--to", "85212345678", "--message", "hi", "--attempts", "1", *conn,
        "--endpoint", endpoint,
    )  # fmt: skip
    assert run.code == 1
    assert "TransportError" in run.err and "Nothing was sent" in run.err


# -- batch ------------------------------------------------------------------------------


def numbers(count: int, start: int = 0) -> list[str]:
    return [f"65{80000000 + start + i}" for i in range(count)]


def write_lines(path: Path, lines: list[str]) -> str:
    path.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    return str(path)


def csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_batch_from_a_plain_file_prints_a_csv_of_results(
    cli: Cli, sandbox: Sandbox, conn: list[str], tmp_path: Path
) -> None:
    given = ["+85212345678", "006581234567", "447700900123"]
    to_file = write_lines(tmp_path / "numbers.txt", [given[0], "", given[1], "  ", given[2]])
    run = cli("batch", "--to-file", to_file, "--message", "Hello", "--pace", "0", *conn)
    assert run.code == 0
    rows = csv_rows(run.out)
    assert list(rows[0]) == ["number", "status", "message_id", "code", "detail"]
    messages = sandbox.service.messages
    assert [r["number"] for r in rows] == given
    assert [r["status"] for r in rows] == ["sent"] * 3
    assert [r["message_id"] for r in rows] == [m.message_id for m in messages]
    assert [m.to for m in messages] == ["85212345678", "6581234567", "447700900123"]
    assert {m.text for m in messages} == {"Hello"}
    assert "3/3" in run.err and "sent 3" in run.err


def test_batch_from_a_csv_with_a_text_column_writes_jsonl(
    cli: Cli, sandbox: Sandbox, conn: list[str], tmp_path: Path
) -> None:
    source = tmp_path / "recipients.csv"
    source.write_text(
        'number,text\n85212345678,"Hi Ann, your order shipped"\n6581234567,你好 😀\n'
        '447700900123,"He said ""hi"""\n',
        encoding="utf-8",
    )
    output = tmp_path / "results.jsonl"
    run = cli(
        "batch", "--to-file", str(source), "--format", "jsonl", "--output", str(output),
        "--pace", "0", *conn,
    )  # fmt: skip
    assert run.code == 0
    assert run.out == ""
    records = [json.loads(line) for line in output.read_text(encoding="utf-8").splitlines()]
    messages = sandbox.service.messages
    assert [(r["number"], r["status"], r["message_id"]) for r in records] == [
        (m.to, "sent", m.message_id) for m in messages
    ]
    assert [m.text for m in messages] == [
        "Hi Ann, your order shipped",
        "你好 😀",
        'He said "hi"',
    ]
    assert [m.encoding for m in messages] == ["GSM-7", "UCS-2", "GSM-7"]


def test_batch_text_column_falls_back_to_message(
    cli: Cli, sandbox: Sandbox, conn: list[str], tmp_path: Path
) -> None:
    to_file = write_lines(tmp_path / "mixed.csv", ["85212345678,Custom", "6581234567"])
    run = cli("batch", "--to-file", to_file, "--message", "Default", "--pace", "0", *conn)
    assert run.code == 0
    assert [m.text for m in sandbox.service.messages] == ["Custom", "Default"]


def test_batch_reads_a_csv_with_a_byte_order_mark(
    cli: Cli, sandbox: Sandbox, conn: list[str], tmp_path: Path
) -> None:
    source = tmp_path / "excel.csv"
    source.write_bytes("number,text\r\n85212345678,hi\r\n6581234567,yo\r\n".encode("utf-8-sig"))
    run = cli("batch", "--to-file", str(source), "--pace", "0", *conn)
    assert [m.text for m in sandbox.service.messages] == ["hi", "yo"]
    assert [r["number"] for r in csv_rows(run.out)] == ["85212345678", "6581234567"]
    assert run.code == 0


def test_batch_without_texts_is_exit_2(
    cli: Cli, sandbox: Sandbox, conn: list[str], tmp_path: Path
) -> None:
    to_file = write_lines(tmp_path / "mixed.csv", ["85212345678,Custom", "6581234567"])
    run = cli("batch", "--to-file", to_file, "--pace", "0", *conn)
    assert run.code == 2 and "--message" in run.err
    empty = write_lines(tmp_path / "empty.txt", ["", "number"])
    assert cli("batch", "--to-file", empty, "--message", "x", *conn).code == 2
    missing = cli("batch", "--to-file", str(tmp_path / "nope.txt"), "--message", "x", *conn)
    assert missing.code == 2 and "nope.txt" in missing.err
    assert sandbox.service.messages == []


def test_batch_maps_the_failed_list_back_to_the_numbers_as_given(
    cli: Cli, sandbox: Sandbox, conn: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refuse_the_999_range(monkeypatch)
    given = ["+99912345678", "85212345678", "0099900000001", "6581234567"]
    to_file = write_lines(tmp_path / "numbers.txt", given)
    run = cli("batch", "--to-file", to_file, "--message", "hi", "--pace", "0", *conn)
    assert run.code == 1
    rows = csv_rows(run.out)
    assert [(r["number"], r["status"], r["code"]) for r in rows] == [
        ("+99912345678", "failed", "FailedList"),
        ("85212345678", "sent", ""),
        ("0099900000001", "failed", "FailedList"),
        ("6581234567", "sent", ""),
    ]
    messages = sandbox.service.messages
    assert [m.to for m in messages] == ["85212345678", "6581234567"]
    assert [r["message_id"] for r in rows if r["status"] == "sent"] == [
        m.message_id for m in messages
    ]
    assert "failed 2" in run.err and "sent 2" in run.err


def calls(sandbox: Sandbox) -> list[int]:
    """How many messages each call recorded, in order."""
    sizes = Counter(m.request_id for m in sandbox.service.messages)
    return [sizes[r] for r in dict.fromkeys(m.request_id for m in sandbox.service.messages)]


def test_batch_of_2500_is_three_calls_of_at_most_1000(
    cli: Cli, sandbox: Sandbox, conn: list[str], tmp_path: Path
) -> None:
    given = numbers(2500)
    to_file = write_lines(tmp_path / "numbers.txt", given)
    run = cli("batch", "--to-file", to_file, "--message", "hi", "--pace", "0", *conn)
    assert run.code == 0
    assert calls(sandbox) == [1000, 1000, 500]
    rows = csv_rows(run.out)
    assert [r["number"] for r in rows] == given
    assert {r["status"] for r in rows} == {"sent"}
    assert [r["message_id"] for r in rows] == [m.message_id for m in sandbox.service.messages]
    assert "1000/2500" in run.err and "2000/2500" in run.err and "2500/2500" in run.err


def test_batch_paces_its_calls(
    cli: Cli, sandbox: Sandbox, conn: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    waits: list[float] = []
    real_sleep = time.sleep

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        real_sleep(seconds)

    # The client's rate limiter does the pacing: record the waits it asks for.
    monkeypatch.setattr(
        alisms._client, "time", SimpleNamespace(monotonic=time.monotonic, sleep=sleep)
    )
    to_file = write_lines(tmp_path / "numbers.txt", numbers(1001))
    run = cli("batch", "--to-file", to_file, "--message", "hi", "--pace", "0.3", *conn)
    assert run.code == 0
    assert calls(sandbox) == [1000, 1]
    # One wait, before the second call: what is left of 0.3 s after the first call.
    assert len(waits) == 1 and 0.1 < waits[0] <= 0.3
    first, second = sandbox.service.messages[0], sandbox.service.messages[-1]
    assert (second.accepted_at - first.accepted_at).total_seconds() >= 0.28


def test_batch_interrupted_during_a_call_records_exactly_what_happened(
    cli: Cli, sandbox: Sandbox, conn: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    original = alisms.Client.batch_send_message_to_globe
    count = 0

    def interrupted_on_the_second_call(self: alisms.Client, *args: Any, **kwargs: Any) -> Any:
        nonlocal count
        count += 1
        result = original(self, *args, **kwargs)
        if count == 2:  # Ctrl-C lands after the request went out, before the answer is read
            raise KeyboardInterrupt
        return result

    monkeypatch.setattr(
        alisms.Client, "batch_send_message_to_globe", interrupted_on_the_second_call
    )
    given = numbers(2500)
    output = tmp_path / "results.csv"
    to_file = write_lines(tmp_path / "numbers.txt", given)
    run = cli(
        "batch", "--to-file", to_file, "--message", "hi", "--pace", "0", "--output", str(output),
        *conn,
    )  # fmt: skip
    assert run.code == 3
    assert count == 2
    assert "interrupted" in run.err
    rows = csv_rows(output.read_text(encoding="utf-8"))
    assert [r["number"] for r in rows] == given
    assert [r["status"] for r in rows] == ["sent"] * 1000 + ["unknown"] * 1000 + ["not_sent"] * 500
    recorded = sandbox.service.messages
    assert [r["message_id"] for r in rows[:1000]] == [m.message_id for m in recorded[:1000]]
    # The "unknown" ones were indeed accepted; the "not_sent" ones were indeed not.
    assert [m.to for m in recorded] == given[:2000]
    assert "sent 1000" in run.err and "unknown 1000" in run.err and "not_sent 500" in run.err


def test_batch_interrupted_between_calls_records_exactly_what_happened(
    cli: Cli, sandbox: Sandbox, conn: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def interrupt(seconds: float) -> None:
        assert seconds > 0
        raise KeyboardInterrupt

    # Ctrl-C while the second call waits for its rate-limit slot: it sent nothing.
    clock = SimpleNamespace(monotonic=time.monotonic, sleep=interrupt)
    monkeypatch.setattr(alisms._client, "time", clock)
    given = numbers(2500)
    to_file = write_lines(tmp_path / "numbers.txt", given)
    run = cli("batch", "--to-file", to_file, "--message", "hi", "--pace", "5", *conn)
    assert run.code == 1
    rows = csv_rows(run.out)
    assert [r["number"] for r in rows] == given
    assert [r["status"] for r in rows] == ["sent"] * 1000 + ["not_sent"] * 1500
    assert [m.to for m in sandbox.service.messages] == given[:1000]


def test_batch_call_refused_by_the_service_marks_its_chunk_failed(
    cli: Cli, sandbox: Sandbox, conn: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    refuse_the_999_range(monkeypatch)
    given = [f"999{10000000 + i}" for i in range(1000)] + ["85212345678"]
    to_file = write_lines(tmp_path / "numbers.txt", given)
    run = cli("batch", "--to-file", to_file, "--message", "hi", "--pace", "0", *conn)
    assert run.code == 1
    rows = csv_rows(run.out)
    assert [r["number"] for r in rows] == given
    assert {(r["status"], r["code"]) for r in rows[:1000]} == {("failed", "MOBILE_NUMBER_ILLEGAL")}
    assert (rows[1000]["status"], rows[1000]["message_id"]) == (
        "sent",
        sandbox.service.messages[0].message_id,
    )
    assert [m.to for m in sandbox.service.messages] == ["85212345678"]


def test_batch_call_throttled_marks_its_chunk_failed(
    cli: Cli, sandbox: Sandbox, conn: list[str], tmp_path: Path
) -> None:
    sandbox.service.inject("throttle")
    to_file = write_lines(tmp_path / "numbers.txt", numbers(3))
    run = cli(
        "batch", "--to-file", to_file, "--message", "hi", "--pace", "0", "--attempts", "1",
        *conn,
    )  # fmt: skip
    assert run.code == 1
    rows = csv_rows(run.out)
    assert {(r["status"], r["code"]) for r in rows} == {("failed", "Throttling.User")}
    assert sandbox.service.messages == []


def test_batch_call_with_an_unknown_outcome_marks_its_chunk_unknown(
    cli: Cli, sandbox: Sandbox, conn: list[str], tmp_path: Path
) -> None:
    sandbox.service.inject("drop_after_accept")
    to_file = write_lines(tmp_path / "numbers.txt", numbers(3))
    run = cli(
        "batch", "--to-file", to_file, "--message", "hi", "--pace", "0", "--format", "jsonl",
        *conn,
    )  # fmt: skip
    assert run.code == 3
    records = [json.loads(line) for line in run.out.splitlines()]
    assert [r["status"] for r in records] == ["unknown"] * 3
    assert len(sandbox.service.messages) == 3


def test_batch_refuses_an_invalid_row_alone_and_sends_the_rest(
    cli: Cli, sandbox: Sandbox, conn: list[str], tmp_path: Path
) -> None:
    given = ["85212345678", "852-bad", "6581234567"]
    to_file = write_lines(tmp_path / "numbers.txt", given)
    run = cli("batch", "--to-file", to_file, "--message", "hi", "--pace", "0", *conn)
    assert run.code == 1  # not everything given was sent
    rows = csv_rows(run.out)
    assert sorted(r["number"] for r in rows) == sorted(given)
    status = {r["number"]: r["status"] for r in rows}
    assert status == {"85212345678": "sent", "852-bad": "invalid", "6581234567": "sent"}
    assert {m.to for m in sandbox.service.messages} == {"85212345678", "6581234567"}
    assert len(sandbox.service.messages) == 2


# -- sign --explain ---------------------------------------------------------------------

DATE = "2026-01-02T03:04:05Z"
NONCE = "0123456789abcdef0123456789abcdef"


def sections(text: str) -> dict[str, str]:
    parts = re.split(r"^== (.+)\n", text, flags=re.MULTILINE)
    assert parts[0] == ""
    return {title: body.rstrip("\n") for title, body in zip(parts[1::2], parts[2::2], strict=True)}


def parse_curl(curl: str) -> tuple[str, list[tuple[str, str]], bytes]:
    tokens = [t for t in shlex.split(curl) if t != "\n"]
    assert tokens[:4] == ["curl", "-sS", "-X", "POST"]
    url, rest = tokens[4], tokens[5:]
    headers: list[tuple[str, str]] = []
    body = b""
    for option, value in zip(rest[::2], rest[1::2], strict=True):
        if option == "-H":
            name, _, header_value = value.partition(": ")
            headers.append((name, header_value))
        else:
            assert option == "--data-binary"
            body = value.encode("ascii")
    return url, headers, body


def fill_in(
    headers: list[tuple[str, str]], authorization: str, signature: str, token: str | None = None
) -> list[tuple[str, str]]:
    """The curl's headers with the shell variables the user is told to set."""
    values = {
        "$ALISMS_AUTHORIZATION": authorization.replace("<signature>", signature),
        "$ALIBABA_CLOUD_SECURITY_TOKEN": token or "",
    }
    return [(name, values.get(value, value)) for name, value in headers]


def sign_args(*extra: str) -> list[str]:
    return [
        "sign", "--explain", "--to", "85212345678", "--message", "Your code is 1234",
        "--access-key-id", CLI_ID, "--access-key-secret", CLI_SECRET, *extra,
    ]  # fmt: skip


def test_sign_explain_shows_every_stage_and_never_the_secret(cli: Cli) -> None:
    run = cli(*sign_args("--date", DATE, "--nonce", NONCE))
    assert run.code == 0
    parts = sections(run.out)
    assert list(parts) == [
        "Body",
        "Hashed payload",
        "Canonical request",
        "String to sign",
        "Signature",
        "Authorization (put the signature in place)",
        "Equivalent curl (set ALISMS_AUTHORIZATION to the value above; valid for 15 minutes, once)",
    ]
    curl = parts[list(parts)[-1]]
    signature = parts["Signature"]
    assert re.fullmatch(r"[0-9a-f]{64}", signature)
    # The curl never carries the signature: the user pastes the Authorization in.
    assert signature not in curl
    assert "$ALISMS_AUTHORIZATION" in curl
    authorization = parts["Authorization (put the signature in place)"]
    assert authorization.endswith(",Signature=<signature>")
    assert authorization.replace("<signature>", signature) not in run.out

    # An independent verifier agrees with every stage, from the curl's own headers.
    url, headers, body = parse_curl(curl)
    assert url == "https://dysmsapi.ap-southeast-1.aliyuncs.com/"
    assert body.decode() == parts["Body"] == "Message=Your%20code%20is%201234&To=85212345678"
    verdict = independent_v3.verify(
        method="POST",
        path="/",
        query=[],
        headers=fill_in(headers, authorization, signature),
        body=body,
        secret_for={CLI_ID: CLI_SECRET}.get,
    )
    assert verdict.ok, verdict.reason
    assert verdict.canonical_request == parts["Canonical request"]
    assert verdict.string_to_sign == parts["String to sign"]
    assert f"x-acs-date:{DATE}\n" in parts["Canonical request"]
    assert f"x-acs-signature-nonce:{NONCE}\n" in parts["Canonical request"]
    # Fixed date and nonce: the same explanation every time.
    assert cli(*sign_args("--date", DATE, "--nonce", NONCE)).out == run.out


def test_sign_explain_json(cli: Cli) -> None:
    run = cli(*sign_args("--date", DATE, "--nonce", NONCE, "--json"))
    assert run.code == 0
    explained = json.loads(run.out)
    assert explained.keys() >= {
        "body",
        "hashed_payload",
        "canonical_request",
        "string_to_sign",
        "signature",
        "signed_headers",
        "authorization",
        "curl",
    }
    _, headers, body = parse_curl(explained["curl"])
    assert explained["signature"] not in explained["curl"]
    verdict = independent_v3.verify(
        method="POST",
        path="/",
        query=[],
        headers=fill_in(headers, explained["authorization"], explained["signature"]),
        body=body,
        secret_for={CLI_ID: CLI_SECRET}.get,
    )
    assert verdict.ok, verdict.reason
    assert verdict.canonical_request == explained["canonical_request"]


def test_sign_explain_never_shows_the_security_token(cli: Cli) -> None:
    for output in ("text", "json"):
        extra = ["--json"] if output == "json" else []
        run = cli(
            *sign_args("--date", DATE, "--nonce", NONCE, "--security-token", STS_TOKEN, *extra)
        )
        assert run.code == 0  # and the cli fixture checked the token is nowhere in it
        assert "x-acs-security-token:<redacted>" in run.out.replace("\\n", "\n")
        assert "$ALIBABA_CLOUD_SECURITY_TOKEN" in run.out
    explained = json.loads(run.out)
    _, headers, body = parse_curl(explained["curl"])
    verdict = independent_v3.verify(
        method="POST",
        path="/",
        query=[],
        headers=fill_in(headers, explained["authorization"], explained["signature"], STS_TOKEN),
        body=body,
        secret_for={CLI_ID: CLI_SECRET}.get,
    )
    assert verdict.ok, verdict.reason


def test_sign_explain_with_sm3_and_environment_credentials(
    cli: Cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", CLI_ID)
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", CLI_SECRET)
    run = cli(
        "sign", "--explain", "--to", "85212345678", "--message", "hi", "--date", DATE,
        "--nonce", NONCE, "--signature-algorithm", "ACS3-HMAC-SM3", "--json",
    )  # fmt: skip
    assert run.code == 0
    explained = json.loads(run.out)
    assert explained["string_to_sign"].startswith("ACS3-HMAC-SM3\n")
    _, headers, body = parse_curl(explained["curl"])
    verdict = independent_v3.verify(
        method="POST",
        path="/",
        query=[],
        headers=fill_in(headers, explained["authorization"], explained["signature"]),
        body=body,
        secret_for={CLI_ID: CLI_SECRET}.get,
    )
    assert verdict.ok, verdict.reason


def test_the_explained_request_is_accepted_by_the_service(cli: Cli, sandbox: Sandbox) -> None:
    now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    run = cli(*sign_args("--endpoint", sandbox.endpoint, "--date", now, "--json"))
    explained = json.loads(run.out)
    url, headers, body = parse_curl(explained["curl"])
    assert url == f"{sandbox.endpoint}/"
    with httpx.Client() as http:
        response = http.post(
            url,
            headers=fill_in(headers, explained["authorization"], explained["signature"]),
            content=body,
        )
    assert response.status_code == 200, response.text
    assert response.json()["ResponseCode"] == "OK"
    assert [m.text for m in sandbox.service.messages] == ["Your code is 1234"]


def test_sign_explain_validates_like_send(cli: Cli) -> None:
    run = cli(
        "sign", "--explain", "--to", "8613800138000", "--message", "hi",
        "--access-key-id", CLI_ID, "--access-key-secret", CLI_SECRET,
    )  # fmt: skip
    assert run.code == 2 and "ValidationError" in run.err


def test_sign_explain_with_a_malformed_date_is_exit_2(cli: Cli) -> None:
    run = cli(*sign_args("--date", "2026-01-02 03:04:05"))
    assert run.code == 2
    assert "date" in run.err


# -- segments ----------------------------------------------------------------------------


def test_segments_text(cli: Cli) -> None:
    run = cli("segments", "Hello €")
    assert run.code == 0
    assert run.out == "encoding GSM-7, 7 characters, 8 units, 1 segment(s)\n"
    run = cli("segments", "a" * 161)
    assert run.out == "encoding GSM-7, 161 characters, 161 units, 2 segment(s)\n"


def test_segments_json(cli: Cli) -> None:
    run = cli("segments", "你" * 70 + "😀", "--json")
    assert run.code == 0
    assert json.loads(run.out) == {
        "encoding": "UCS-2",
        "characters": 71,
        "units": 72,
        "segments": 2,
    }


# -- demo ----------------------------------------------------------------------------------


def test_demo(cli: Cli) -> None:
    run = cli("demo")
    assert run.code == 0
    assert "canonical request" in run.out and "string to sign" in run.out
    assert "SendMessageToGlobe" in run.out and "BatchSendMessageToGlobe" in run.out
    single = re.search(r"message id (\d+)", run.out)
    batch = re.search(r"message ids (\[.*?\])", run.out)
    assert single is not None and batch is not None
    batch_ids = json.loads(batch[1].replace("'", '"'))
    assert len(batch_ids) == 3
    recorded = re.findall(r"^accepted (\d+) to (\d+)", run.out, flags=re.MULTILINE)
    assert [i for i, _ in recorded] == [single[1], *batch_ids]
    assert recorded[0][1] == "85212345678"
    # The demo leaves the alisms logger as it found it.
    assert not logging.getLogger("alisms").handlers


# -- sandbox, in-process ---------------------------------------------------------------


def test_sandbox_command_in_process_stops_on_sigint() -> None:
    # The sandbox prints its own (test) credentials by design: no secret check here.
    out = io.StringIO()
    listening = re.compile(r"listening on (http://\S+) access_key_id=(\S+) access_key_secret=(\S+)")
    sent: list[str] = []
    failures: list[BaseException] = []

    def drive() -> None:
        deadline = time.monotonic() + WAIT
        while (match := listening.search(out.getvalue())) is None:
            if time.monotonic() > deadline:
                return  # never listened: main() has failed on its own
            time.sleep(0.01)
        try:
            with alisms.Client(
                endpoint=match[1], access_key_id=match[2], access_key_secret=match[3]
            ) as client:
                sent.append(client.send_message_to_globe("85212345678", "in process").message_id)
        except BaseException as exc:  # reported by the test below
            failures.append(exc)
        finally:
            os.kill(os.getpid(), signal.SIGINT)  # caught by the command's own handler

    driver = threading.Thread(target=drive)
    handler_before = signal.getsignal(signal.SIGINT)
    # If the command ever stopped honouring SIGINT, main() would never return:
    # end the run with a traceback rather than hang it.
    faulthandler.dump_traceback_later(3 * WAIT, exit=True)
    driver.start()
    try:
        code = main(
            ["sandbox", "--port", "0", "--access-key-id", "ip-id", "--access-key-secret", "ip-s"],
            out=out,
        )
    finally:
        faulthandler.cancel_dump_traceback_later()
        driver.join(WAIT)
    assert failures == []
    assert code == 0
    assert signal.getsignal(signal.SIGINT) is handler_before
    lines = out.getvalue().splitlines()
    assert "access_key_id=ip-id" in lines[0]
    assert sent and sent[0] in lines[1] and "'in process'" in lines[1]
    assert lines[-1] == "alisms sandbox stopped"


# -- the console entry point ---------------------------------------------------------------


def test_python_dash_m_alisms_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "alisms", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for command in ("send", "batch", "sign", "segments", "sandbox", "demo"):
        assert command in done.stdout


def test_python_dash_m_alisms_returns_the_exit_code() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "alisms", "segments", "--json", "hi"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["segments"] == 1
    usage = subprocess.run(
        [sys.executable, "-m", "alisms", "send"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert usage.returncode == 2
    assert "--to" in usage.stderr


# -- query -------------------------------------------------------------------------------------


def sent_id(cli: Cli, sandbox: Sandbox, conn: list[str]) -> str:
    assert cli("send", "--to", "85212345678", "--message", "hi", *conn).code == 0
    return sandbox.service.messages[-1].message_id


def test_query_prints_where_the_message_stands(cli: Cli, sandbox: Sandbox, conn: list[str]) -> None:
    message_id = sent_id(cli, sandbox, conn)
    run = cli("query", message_id, *conn)
    assert run.code == 0
    first, sent, reported, request = run.out.splitlines()
    assert first == (
        f"message {message_id} to 85212345678: DELIVERED (Status 1; DELIVERED, success)"
    )
    accepted = sandbox.service.messages[0].accepted_at.replace(microsecond=0)
    assert sent == f"sent {accepted.astimezone(timezone(timedelta(hours=8))).isoformat()}"
    assert reported.startswith("reported ") and reported.endswith("+08:00")
    assert re.fullmatch(r"request id [0-9A-F-]{36}", request)


def test_query_json(cli: Cli, sandbox: Sandbox, conn: list[str]) -> None:
    message_id = sent_id(cli, sandbox, conn)
    when = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    sandbox.service.set_status(
        message_id, alisms.DeliveryStatus.FAILED, error_code="MK:0001", at=when
    )
    run = cli("query", message_id, "--json", *conn)
    assert run.code == 0
    record = json.loads(run.out)
    assert (record["message_id"], record["to"], record["message"]) == (
        message_id,
        "85212345678",
        "hi",
    )
    assert (record["status"], record["status_code"], record["error_code"]) == (
        "FAILED",
        "2",
        "MK:0001",
    )
    assert datetime.fromisoformat(record["receive_date"]) == when
    assert datetime.fromisoformat(record["send_date"]).utcoffset() == timedelta(hours=8)
    assert record["number_detail"].keys() == {"carrier", "region", "country"}
    assert "raw" not in record and "raw_body" not in record


def test_query_of_an_unknown_message_is_exit_1(cli: Cli, sandbox: Sandbox, conn: list[str]) -> None:
    run = cli("query", "1008030399999999", "--attempts", "1", "--json", *conn)
    assert run.code == 1
    record = json.loads(run.out)
    assert (record["error"], record["code"]) == ("ServerError", "DATA_NOT_EXIST")
    assert "alisms: ServerError: DATA_NOT_EXIST" in run.err


def test_query_validation_and_usage_errors_are_exit_2(
    cli: Cli, sandbox: Sandbox, conn: list[str]
) -> None:
    run = cli("query", "1008 0303", *conn)
    assert run.code == 2
    assert "ValidationError: message_id:" in run.err
    missing = cli("query", *conn)
    assert missing.code == 2
    assert "MESSAGE_ID" in missing.err


# -- the sandbox's delivery-report pushes --------------------------------------------------------


def test_sandbox_pushes_each_accepted_messages_report_to_the_receipt_url() -> None:
    from receipt_receiver import Receiver

    with Receiver() as receiver:
        command = [
            sys.executable, "-m", "alisms", "sandbox", "--port", "0",
            "--receipt-url", receiver.url, "--receipt-delay", "0.05",
        ]  # fmt: skip
        with subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8"
        ) as process:
            assert process.stdout is not None and process.stderr is not None
            try:
                listening = process.stdout.readline()
                match = re.search(
                    r"listening on (http://\S+) access_key_id=(\S+) access_key_secret=(\S+)",
                    listening,
                )
                assert match is not None, listening + process.stderr.read()
                assert process.stdout.readline() == (
                    f"pushing each accepted message's delivery report to {receiver.url} "
                    "after 0.05 s\n"
                )
                with alisms.Client(
                    endpoint=match[1], access_key_id=match[2], access_key_secret=match[3]
                ) as client:
                    sent = client.send_message_to_globe("85212345678", "push me", task_id="t-9")
                assert sent.message_id in process.stdout.readline()
                assert process.stdout.readline() == (
                    f"pushed delivery report(s) for {sent.message_id} to {receiver.url}\n"
                )
                [report] = receiver.wait_for_reports(1)
                assert (report.message_id, report.task_id) == (sent.message_id, "t-9")
                assert report.status is alisms.DeliveryStatus.DELIVERED
                stopped_at = time.monotonic()
                process.send_signal(signal.SIGTERM)
                assert process.wait(timeout=WAIT) == 0
                assert time.monotonic() - stopped_at < 3.0
                assert process.stdout.read() == "alisms sandbox stopped\n"
                assert "Traceback" not in process.stderr.read()
            finally:
                if process.poll() is None:
                    process.kill()


@pytest.mark.parametrize(
    "options",
    [["--receipt-url", "ftp://127.0.0.1/receipts"], ["--receipt-delay", "-1"]],
    ids=["not-http", "negative-delay"],
)
def test_sandbox_refuses_a_bad_receipt_option(cli: Cli, options: list[str]) -> None:
    run = cli("sandbox", "--port", "0", *options)
    assert run.code == 2
    assert "ValidationError: receipt_" in run.err


def test_query_has_its_own_help() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "alisms", "query", "--help"],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "MESSAGE_ID" in done.stdout and "--json" in done.stdout
