"""The ``alisms`` command line: send, batch, query, sign --explain, segments, sandbox, demo.

Exit codes: 0 success; 1 the service refused, or nothing was sent; 2 usage or
validation error; 3 outcome unknown (the message may have been accepted).
Secrets are never printed.
"""

from __future__ import annotations

import argparse
import csv
import json
import logging
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any, TextIO

from alisms import _core, _operations, signing
from alisms._bulk import BulkMessage, BulkOutcome
from alisms._client import Client
from alisms._config import resolve_endpoint
from alisms._credentials import Credentials, EnvironmentCredentials
from alisms._errors import (
    AlismsError,
    ConfigurationError,
    DeliveryUnknownError,
    MalformedResponseError,
    TransportError,
    ValidationError,
)
from alisms._retry import DEFAULT_RETRY, Retry
from alisms._segments import count_segments

__all__ = ["main"]

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNKNOWN = 0, 1, 2, 3


def exit_code_for(error: AlismsError) -> int:
    """Map an error to the command's exit code."""
    if isinstance(error, ValidationError | ConfigurationError):
        return EXIT_USAGE
    if isinstance(error, MalformedResponseError | DeliveryUnknownError):
        return EXIT_UNKNOWN
    if isinstance(error, TransportError):
        return EXIT_UNKNOWN if error.may_have_been_sent else EXIT_REFUSED
    return EXIT_REFUSED


def _error_record(error: AlismsError) -> dict[str, Any]:
    return {
        "error": type(error).__name__,
        "code": error.code,
        "message": str(error),
        "request_id": error.request_id,
        "http_status": error.http_status,
    }


# -- argument parsing ---------------------------------------------------------


def _add_connection(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("connection (default: the same environment variables)")
    group.add_argument(
        "--access-key-id", help="AccessKey ID (default $ALIBABA_CLOUD_ACCESS_KEY_ID)"
    )
    group.add_argument(
        "--access-key-secret",
        help="AccessKey secret (default $ALIBABA_CLOUD_ACCESS_KEY_SECRET; prefer the variable)",
    )
    group.add_argument("--security-token", help="STS token (default $ALIBABA_CLOUD_SECURITY_TOKEN)")
    group.add_argument(
        "--endpoint", help="host name or URL (default $ALISMS_ENDPOINT or Singapore)"
    )
    group.add_argument("--region", help="region whose documented endpoint to use")
    group.add_argument(
        "--signature-algorithm", default=signing.DEFAULT_ALGORITHM, choices=signing.ALGORITHMS
    )
    group.add_argument("--timeout", type=float, help="seconds (default 5 to connect, 10 to read)")
    group.add_argument(
        "--attempts",
        type=int,
        default=DEFAULT_RETRY.attempts,
        help="tries in all for what is safe to retry (1: never retry); a message is never "
        "sent twice",
    )
    parser.add_argument("--json", action="store_true", help="print JSON for scripts")


def _add_message_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--from", dest="from_", help="sender ID")
    parser.add_argument("--type", help="OTP, NOTIFY or MKT")
    parser.add_argument("--task-id", help="echoed in delivery receipts")
    parser.add_argument("--validity-period", type=int, help="seconds")
    parser.add_argument("--channel-id")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="alisms", description="Alibaba Cloud international SMS from the command line."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    send = commands.add_parser("send", help="send one message")
    send.add_argument("--to", required=True, help="number with dialing code")
    send.add_argument("--message", required=True, help="the text")
    _add_message_options(send)
    _add_connection(send)

    query = commands.add_parser("query", help="show where a sent message stands")
    query.add_argument("message_id", metavar="MESSAGE_ID", help="the id a send returned")
    _add_connection(query)

    batch = commands.add_parser("batch", help="send to a list of numbers, 1,000 per call")
    batch.add_argument(
        "--to-file", required=True, help="one number per line, or CSV with number and text"
    )
    batch.add_argument("--message", help="the text for every number (else the CSV's column)")
    batch.add_argument("--output", help="where to write per-recipient results (default stdout)")
    batch.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    batch.add_argument(
        "--pace", type=float, default=1.0, help="seconds between calls (the API allows 1/s)"
    )
    _add_message_options(batch)
    _add_connection(batch)

    sign = commands.add_parser("sign", help="show how a send would be signed, without sending")
    sign.add_argument("--explain", action="store_true", required=True)
    sign.add_argument("--to", required=True)
    sign.add_argument("--message", required=True)
    sign.add_argument("--date", help="x-acs-date to sign with (default now)")
    sign.add_argument("--nonce", help="nonce to sign with (default random)")
    _add_message_options(sign)
    _add_connection(sign)

    segments = commands.add_parser("segments", help="encoding and billed segments of a text")
    segments.add_argument("text")
    segments.add_argument("--json", action="store_true")

    sandbox = commands.add_parser("sandbox", help="serve the local fake service over HTTP")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=0, help="0 picks a free port")
    sandbox.add_argument("--access-key-id")
    sandbox.add_argument("--access-key-secret")
    sandbox.add_argument(
        "--receipt-url",
        metavar="URL",
        help="POST each accepted message's delivery report to this http(s) URL",
    )
    sandbox.add_argument(
        "--receipt-delay",
        type=float,
        default=1.0,
        metavar="SECONDS",
        help="how long after acceptance to push the report (default 1)",
    )

    commands.add_parser("demo", help="send through an in-process sandbox and show each step")
    return parser


def _client(args: argparse.Namespace, **extra: Any) -> Client:
    return Client(
        access_key_id=args.access_key_id,
        access_key_secret=args.access_key_secret,
        security_token=args.security_token,
        endpoint=args.endpoint,
        region=args.region,
        signature_algorithm=args.signature_algorithm,
        timeout=args.timeout,
        retry=Retry(attempts=args.attempts),
        **extra,
    )


def _message_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    return {
        "from_": args.from_,
        "type": args.type,
        "task_id": args.task_id,
        "validity_period": args.validity_period,
        "channel_id": args.channel_id,
    }


# -- commands -------------------------------------------------------------------


def _cmd_send(args: argparse.Namespace, out: TextIO) -> int:
    with _client(args) as client:
        result = client.send_message_to_globe(args.to, args.message, **_message_kwargs(args))
    if args.json:
        record = {k: v for k, v in asdict(result).items() if k not in ("raw", "raw_body")}
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
    else:
        out.write(
            f"accepted: message id {result.message_id} to {result.to}, "
            f"{result.segments} segment(s), request id {result.request_id}\n"
        )
    return EXIT_OK


def _cmd_query(args: argparse.Namespace, out: TextIO) -> int:
    with _client(args) as client:
        result = client.query_message(args.message_id)
    if args.json:
        record = {k: v for k, v in asdict(result).items() if k not in ("raw", "raw_body")}
        record["status"] = result.status.name
        for name in ("send_date", "receive_date"):
            moment = getattr(result, name)
            record[name] = moment.isoformat() if moment is not None else None
        out.write(json.dumps(record, ensure_ascii=False) + "\n")
        return EXIT_OK
    verdict = ", ".join(v for v in (result.error_code, result.error_description) if v)
    lines = [
        f"message {result.message_id} to {result.to or '?'}: {result.status.name} "
        f"(Status {result.status_code}{'; ' + verdict if verdict else ''})",
    ]
    if result.send_date is not None:
        lines.append(f"sent {result.send_date.isoformat()}")
    if result.receive_date is not None:
        lines.append(f"reported {result.receive_date.isoformat()}")
    lines.append(f"request id {result.request_id}")
    out.write("\n".join(lines) + "\n")
    return EXIT_OK


@dataclass
class _Recipient:
    number: str
    text: str | None


def _read_recipients(path: str) -> list[_Recipient]:
    # utf-8-sig: spreadsheet programs start "CSV UTF-8" files with a byte-order mark.
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = [row for row in csv.reader(handle) if row and any(c.strip() for c in row)]
    if rows and rows[0][0].strip().lower() in ("number", "to", "phone"):
        rows = rows[1:]
    return [
        _Recipient(row[0].strip(), row[1] if len(row) > 1 and row[1] != "" else None)
        for row in rows
    ]


class _Results:
    """Per-recipient results, written as they are known."""

    fields = ("number", "status", "message_id", "code", "detail")

    def __init__(self, stream: TextIO, fmt: str) -> None:
        self.stream, self.fmt = stream, fmt
        self.counts: dict[str, int] = {}
        self.writer = csv.writer(stream) if fmt == "csv" else None
        if self.writer is not None:
            self.writer.writerow(self.fields)

    def add(
        self, number: str, status: str, message_id: str = "", code: str = "", detail: str = ""
    ) -> None:
        self.counts[status] = self.counts.get(status, 0) + 1
        row = (number, status, message_id, code, detail)
        if self.writer is not None:
            self.writer.writerow(row)
        else:
            self.stream.write(json.dumps(dict(zip(self.fields, row, strict=True))) + "\n")
        self.stream.flush()


def _progress(done: int, total: int) -> None:
    width = 30
    filled = width * done // max(total, 1)
    end = "\n" if done >= total else ""
    sys.stderr.write(f"\r[{'#' * filled}{'.' * (width - filled)}] {done}/{total}{end}")
    sys.stderr.flush()


def _cmd_batch(args: argparse.Namespace, out: TextIO) -> int:
    recipients = _read_recipients(args.to_file)
    if not recipients:
        raise ValidationError("to_file", f"{args.to_file} lists no numbers")
    if args.message is None and any(r.text is None for r in recipients):
        raise ValidationError("message", "give --message, or a text column for every number")
    options = _message_kwargs(args)
    # Options apply to every call: refuse bad ones before anything is sent (exit 2).
    _operations.batch_send_message_to_globe(["85200000000"], "check", **options)
    messages = (
        BulkMessage(r.number, r.text if r.text is not None else args.message, **options)
        for r in recipients
    )
    pace = {"BatchSendMessageToGlobe": 1 / args.pace if args.pace > 0 else None}
    client = _client(args, rate_limits=pace)
    run = client.send_many(
        messages,
        batch=True,
        concurrency=1,
        on_progress=lambda summary: _progress(summary.total, len(recipients)),
    )
    stream = open(args.output, "w", encoding="utf-8", newline="") if args.output else out  # noqa: SIM115
    results = _Results(stream, args.format)
    reported: set[int] = set()
    worst = EXIT_OK

    def record(outcome: BulkOutcome) -> None:
        nonlocal worst
        reported.add(outcome.index)
        number = recipients[outcome.index].number
        error = outcome.error
        if outcome.status == "sent":
            results.add(number, "sent", message_id=outcome.message_id or "")
            return
        if outcome.status == "failed" and outcome.result is not None:
            results.add(number, "failed", code="FailedList")  # refused within the batch
            worst = max(worst, EXIT_REFUSED)
            return
        code = exit_code_for(error) if error is not None else EXIT_UNKNOWN
        status: str = outcome.status
        if isinstance(error, ValidationError):
            status, code = "invalid", EXIT_REFUSED  # a bad row: the others still went
        if outcome.status == "not_sent":
            code = EXIT_REFUSED
        detail = str(error) if error is not None else f"{outcome.status} (interrupted)"
        results.add(number, status, code=_code_of(error), detail=detail)
        worst = max(worst, code)

    try:
        with client, run:
            for outcome in run:
                record(outcome)
    except KeyboardInterrupt:
        sys.stderr.write("\ninterrupted: the results record what was and was not sent\n")
    finally:
        for outcome in run.unreported:
            record(outcome)
        for index, recipient in enumerate(recipients):
            if index not in reported:
                results.add(recipient.number, "not_sent", detail="interrupted before sending")
                worst = max(worst, EXIT_REFUSED)
        if stream is not out:
            stream.close()
    summary = ", ".join(f"{k} {v}" for k, v in sorted(results.counts.items()))
    sys.stderr.write(f"{summary}\n")
    return worst


def _code_of(error: AlismsError | None) -> str:
    if error is None:
        return ""
    return error.code or type(error).__name__


def _credentials_for_sign(args: argparse.Namespace) -> Credentials:
    if args.access_key_id or args.access_key_secret:
        return Credentials(
            args.access_key_id or "", args.access_key_secret or "", args.security_token
        )
    return EnvironmentCredentials().get_credentials()


def _cmd_sign(args: argparse.Namespace, out: TextIO) -> int:
    operation = _operations.send_message_to_globe(args.to, args.message, **_message_kwargs(args))
    credentials = _credentials_for_sign(args)
    core = _core.Core(
        resolve_endpoint(args.endpoint, args.region),
        signing.check_algorithm(args.signature_algorithm),
    )
    date = _core.utc_now()
    if args.date:
        try:
            date = datetime.strptime(args.date, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise ValidationError(
                "date", f"{args.date!r} is not a date like 2026-01-02T03:04:05Z (UTC)"
            ) from None
    signed = core.sign(operation, credentials, date=date, nonce=args.nonce or _core.new_nonce())
    lines = [f"curl -sS -X POST {shlex.quote(core.endpoint.url)}"]
    for name, value in signed.headers.items():
        if name == "authorization":
            lines.append('-H "authorization: $ALISMS_AUTHORIZATION"')
        elif name == "x-acs-security-token":
            lines.append('-H "x-acs-security-token: $ALIBABA_CLOUD_SECURITY_TOKEN"')
        else:
            lines.append(f"-H {shlex.quote(f'{name}: {value}')}")
    lines.append(f"--data-binary {shlex.quote(signed.body.decode('ascii'))}")
    curl = " \\\n  ".join(lines)
    explanation = {
        "body": signed.body.decode("ascii"),
        "hashed_payload": signed.hashed_payload,
        "canonical_request": signed.redacted_canonical_request(),
        "string_to_sign": signed.string_to_sign,
        "signature": signed.signature,
        "signed_headers": signed.signed_headers,
        "authorization": (
            f"{signed.algorithm} Credential={credentials.access_key_id},"
            f"SignedHeaders={signed.signed_headers},Signature=<signature>"
        ),
        "curl": curl,
    }
    if args.json:
        out.write(json.dumps(explanation, ensure_ascii=False) + "\n")
        return EXIT_OK
    for title, key in (
        ("Body", "body"),
        ("Hashed payload", "hashed_payload"),
        ("Canonical request", "canonical_request"),
        ("String to sign", "string_to_sign"),
        ("Signature", "signature"),
        ("Authorization (put the signature in place)", "authorization"),
        (
            "Equivalent curl (set ALISMS_AUTHORIZATION to the value above; "
            "valid for 15 minutes, once)",
            "curl",
        ),
    ):
        out.write(f"== {title}\n{explanation[key]}\n\n")
    return EXIT_OK


def _cmd_segments(args: argparse.Namespace, out: TextIO) -> int:
    info = count_segments(args.text)
    if args.json:
        out.write(json.dumps(asdict(info)) + "\n")
    else:
        out.write(
            f"encoding {info.encoding}, {info.characters} characters, "
            f"{info.units} units, {info.segments} segment(s)\n"
        )
    return EXIT_OK


def _describe_message(message: Any) -> str:
    sender = f" from {message.from_}" if message.from_ else ""
    return (
        f"accepted {message.message_id} to {message.to}{sender}: "
        f"{message.segments} segment(s) {message.encoding}: {message.text!r}"
    )


def _cmd_sandbox(args: argparse.Namespace, out: TextIO) -> int:
    from alisms._sandbox import Sandbox
    from alisms.testing import DEFAULT_ACCESS_KEY_ID, DEFAULT_ACCESS_KEY_SECRET, FakeSMSService

    key_id = args.access_key_id or DEFAULT_ACCESS_KEY_ID
    secret = args.access_key_secret or DEFAULT_ACCESS_KEY_SECRET
    url = args.receipt_url
    if url is not None and not url.lower().startswith(("http://", "https://")):
        raise ValidationError("receipt_url", f"{url!r} is not an http:// or https:// URL")
    if not args.receipt_delay >= 0:
        raise ValidationError("receipt_delay", "give seconds, 0 or more")
    service = FakeSMSService(access_keys={key_id: secret})
    stop = threading.Event()
    writing = threading.Lock()

    def write(line: str) -> None:
        with writing:
            out.write(line + "\n")
            out.flush()

    def report(message: Any) -> None:
        write(_describe_message(message))

    def pushed(message_ids: list[str], error: Exception | None) -> None:
        ids = ", ".join(message_ids)
        if error is None:
            write(f"pushed delivery report(s) for {ids} to {url}")
        else:
            write(f"delivery report push for {ids} failed: {error}")

    with Sandbox(
        service,
        host=args.host,
        port=args.port,
        on_accept=report,
        receipt_url=url,
        receipt_delay=args.receipt_delay,
        on_receipt=pushed,
    ) as sandbox:
        previous = {
            s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            out.write(
                f"alisms sandbox listening on {sandbox.endpoint} "
                f"access_key_id={key_id} access_key_secret={secret}\n"
            )
            if url is not None:
                out.write(
                    f"pushing each accepted message's delivery report to {url} "
                    f"after {args.receipt_delay:g} s\n"
                )
            out.flush()
            while not stop.wait(0.5):
                pass
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
    out.write("alisms sandbox stopped\n")
    return EXIT_OK


class _EchoHandler(logging.Handler):
    def __init__(self, write: Callable[[str], object]) -> None:
        super().__init__(logging.DEBUG)
        self.write = write

    def emit(self, record: logging.LogRecord) -> None:
        self.write(record.getMessage())


def _cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from alisms._sandbox import Sandbox
    from alisms.testing import FakeSMSService

    service = FakeSMSService()
    key_id, secret = next(iter(service.access_keys.items()))
    logger = logging.getLogger("alisms")
    handler = _EchoHandler(lambda text: out.write(f"\n-- {text}\n"))
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    started = time.perf_counter()
    try:
        with (
            Sandbox(service) as sandbox,
            Client(
                access_key_id=key_id, access_key_secret=secret, endpoint=sandbox.endpoint
            ) as client,
        ):
            out.write(
                f"sandbox listening on {sandbox.endpoint} (a local fake; nothing is billed)\n"
            )
            out.write("\n== SendMessageToGlobe: what is signed")
            one = client.send_message_to_globe(
                "85212345678", "Your code is 123456. Valid 5 minutes.", from_="alisms", type="OTP"
            )
            out.write(
                f"\n== what came back\nmessage id {one.message_id}, {one.segments} "
                f"segment(s), request id {one.request_id}\n"
            )
            out.write("\n== BatchSendMessageToGlobe: what is signed")
            many = client.batch_send_message_to_globe(
                ["6581234567", "447700900123", "12025550123"],
                ["Hello Singapore 👋", "Hello London", "Hello New York"],
                type="NOTIFY",
            )
            out.write(
                f"\n== what came back\nmessage ids {many.message_ids}, failed "
                f"{many.failed}, request id {many.request_id}\n"
            )
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    out.write("\n== the sandbox recorded\n")
    for message in service.messages:
        out.write(_describe_message(message) + "\n")
    out.write(f"\ndone in {time.perf_counter() - started:.2f} s\n")
    return EXIT_OK


_COMMANDS: dict[str, Callable[[argparse.Namespace, TextIO], int]] = {
    "send": _cmd_send,
    "query": _cmd_query,
    "batch": _cmd_batch,
    "sign": _cmd_sign,
    "segments": _cmd_segments,
    "sandbox": _cmd_sandbox,
    "demo": _cmd_demo,
}


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run the command line; return the exit code."""
    stream = out or sys.stdout
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exit_:
        # argparse exits on --help (0) and on usage errors (2): return the code instead.
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE
    try:
        return _COMMANDS[args.command](args, stream)
    except AlismsError as error:
        if getattr(args, "json", False):
            stream.write(json.dumps(_error_record(error)) + "\n")
        sys.stderr.write(f"alisms: {type(error).__name__}: {error}\n")
        return exit_code_for(error)
    except OSError as error:
        sys.stderr.write(f"alisms: {error}\n")
        return EXIT_USAGE


def run() -> None:
    """Entry point of the console script."""
    if os.name == "posix":
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    sys.exit(main())
