"""A local stand-in for the dysmsapi gateway, for end-to-end tests on 127.0.0.1.

It is a real HTTP/1.1 server (``http.server.ThreadingHTTPServer`` in a
background thread) and it shares no code with ``alisms``: every request's V3
signature is checked with ``tests/independent_v3.py``, the form body is parsed
with :func:`urllib.parse.parse_qsl` (strict UTF-8), and the answers are the
documented JSON shapes of SendMessageToGlobe and BatchSendMessageToGlobe.

Like the gateway it refuses a bad signature (400 ``SignatureDoesNotMatch``), an
unknown AccessKey (404 ``InvalidAccessKeyId.NotFound``), a reused nonce (400
``SignatureNonceUsed``), a date more than 15 minutes off (400
``InvalidTimeStamp.Expired``) and a wrong or missing STS token, each with the
gateway's JSON error body.

Every request is kept in :attr:`LocalGateway.requests` and every accepted
message in :attr:`LocalGateway.messages`. A test can queue a canned answer
(:meth:`LocalGateway.queue_response`), a stall that never answers
(:meth:`LocalGateway.queue_stall`) or a dropped connection
(:meth:`LocalGateway.queue_drop`) for the next request.

Use it as a context manager; leaving the block closes every connection and
joins every thread, and fails loudly if a handler crashed.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import math
import socket
import sys
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qsl, urlsplit

from independent_v3 import VerifyResult, verify

__all__ = [
    "API_VERSION",
    "CannedResponse",
    "LocalGateway",
    "ReceivedMessage",
    "ReceivedRequest",
    "segments_of",
]

API_VERSION = "2018-05-01"
_FORM = "application/x-www-form-urlencoded"
_MAX_SKEW = timedelta(minutes=15)
_MAX_BATCH = 1000
_STALL_LIMIT = 30.0  # seconds a stalled request is held at most

# The GSM 03.38 basic character set; the extension table characters count twice.
_GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
_GSM_EXTENDED = frozenset("|^€{}[]~\\\f")


def segments_of(text: str) -> int:
    """The number of billed SMS parts for ``text`` (GSM-7 or UCS-2, concatenated)."""
    if all(c in _GSM_BASIC or c in _GSM_EXTENDED for c in text):
        units = sum(2 if c in _GSM_EXTENDED else 1 for c in text)
        single, multi = 160, 153
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi = 70, 67
    return 1 if units <= single else math.ceil(units / multi)


@dataclass(frozen=True)
class ReceivedRequest:
    """One HTTP request as the server saw it, and how it was answered."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes
    verification: VerifyResult | None
    status: int | None
    error_code: str | None

    def header(self, name: str) -> str | None:
        """The value of header ``name`` (case-insensitive), or ``None``."""
        lowered = name.lower()
        for key, value in self.headers:
            if key.lower() == lowered:
                return value
        return None

    @property
    def signed_headers(self) -> list[str]:
        """The names listed in the ``Authorization`` header's ``SignedHeaders``."""
        auth = self.header("authorization") or ""
        for part in auth.partition(" ")[2].split(","):
            key, _, value = part.partition("=")
            if key == "SignedHeaders":
                return value.split(";")
        return []


@dataclass(frozen=True)
class ReceivedMessage:
    """One message the server accepted: what a phone would have received."""

    action: str
    to: str
    text: str
    sender: str | None
    type: str | None
    task_id: str | None
    validity_period: str | None
    channel_id: str | None
    message_id: str
    access_key_id: str
    algorithm: str
    headers: Mapping[str, str] = field(repr=False)


@dataclass(frozen=True)
class CannedResponse:
    """An answer queued by a test for the next request, instead of the gateway's own."""

    status: int
    body: bytes
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _Stall:
    """Hold the next request without answering until the server closes."""


@dataclass(frozen=True)
class _Drop:
    """Read the next request, then close its connection without answering."""


@dataclass
class _Key:
    secret: str | None = None
    security_token: str | None = None
    public_key_pem: str | None = None


class _Refusal(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class _Business(Exception):
    """A 200 answer with a ResponseCode other than OK."""

    def __init__(self, code: str, description: str) -> None:
        super().__init__(description)
        self.code = code
        self.description = description


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "LocalGateway/1"
    timeout = _STALL_LIMIT + 5
    server: _Server

    def setup(self) -> None:
        super().setup()
        # Headers and body go out in separate writes: without this, Nagle's algorithm
        # and the client's delayed ACK add 40 ms to every answer on a kept-alive connection.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        self.server.gateway._handle(self)

    do_GET = do_POST

    def log_message(self, format: str, *args: Any) -> None:
        pass


class _Server(ThreadingHTTPServer):
    daemon_threads = False
    block_on_close = True

    def __init__(self, address: tuple[str, int], gateway: LocalGateway) -> None:
        self.gateway = gateway
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def open_connections(self) -> int:
        with self._open_lock:
            return len(self._open)

    def drop_connections(self) -> None:
        with self._open_lock:
            connections = list(self._open)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, ConnectionError | TimeoutError):
            return  # the client went away; that is the client's business
        self.gateway._errors.append(exc)


class LocalGateway:
    """The local gateway. ``with LocalGateway() as gw:`` starts it on a free port."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self._host = host
        self._keys: dict[str, _Key] = {}
        self._lock = threading.Lock()
        self._nonces: set[str] = set()
        self._requests: list[ReceivedRequest] = []
        self._messages: list[ReceivedMessage] = []
        self._queue: deque[CannedResponse | _Stall | _Drop] = deque()
        self._ids = itertools.count(1)
        self._release = threading.Event()
        self._errors: list[BaseException | None] = []
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self.failing_numbers: set[str] = set()
        """Numbers the gateway does not accept (MOBILE_NUMBER_ILLEGAL or FailedList)."""
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        """The gateway's clock, for the x-acs-date check."""

    # -- set-up ---------------------------------------------------------------

    def add_access_key(
        self, access_key_id: str, secret: str, *, security_token: str | None = None
    ) -> None:
        """Accept HMAC signatures by ``access_key_id``; with a token, require that STS token."""
        with self._lock:
            self._keys[access_key_id] = _Key(secret=secret, security_token=security_token)

    def add_rsa_key(self, access_key_id: str, public_key_pem: str) -> None:
        """Accept ``ACS3-RSA-SHA256`` signatures by ``access_key_id`` checked with this key."""
        with self._lock:
            self._keys[access_key_id] = _Key(public_key_pem=public_key_pem)

    def queue_response(
        self,
        status: int,
        body: bytes | str | Mapping[str, Any],
        *,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        """Answer the next request with ``status`` and ``body`` (a mapping is sent as JSON)."""
        if isinstance(body, Mapping):
            raw = json.dumps(body).encode()
            content_type = "application/json;charset=utf-8"
        else:
            raw = body.encode() if isinstance(body, str) else body
            content_type = "text/plain;charset=utf-8"
        sent = {"Content-Type": content_type, **(headers or {})}
        with self._lock:
            self._queue.append(CannedResponse(status, raw, sent))

    def queue_stall(self) -> None:
        """Read the next request and never answer it (until the server closes)."""
        with self._lock:
            self._queue.append(_Stall())

    def queue_drop(self) -> None:
        """Read the next request whole, then close the connection without a word.

        The request was sent but not processed: nothing is accepted and its
        nonce is not remembered, so an identical resend is served normally.
        """
        with self._lock:
            self._queue.append(_Drop())

    def clear(self) -> None:
        """Forget the requests and messages seen so far (not the nonces)."""
        with self._lock:
            self._requests.clear()
            self._messages.clear()
            self._queue.clear()

    # -- what the server saw -------------------------------------------------

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Every request received, in order, accepted or not."""
        with self._lock:
            return list(self._requests)

    @property
    def messages(self) -> list[ReceivedMessage]:
        """Every message accepted, in order."""
        with self._lock:
            return list(self._messages)

    @property
    def port(self) -> int:
        """The port the server listens on."""
        if self._server is None:
            raise RuntimeError("the server is not running")
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        """``host:port``, the form the ``host`` header takes."""
        return f"{self._host}:{self.port}"

    @property
    def url(self) -> str:
        """``http://host:port``, usable as a client's ``endpoint``."""
        return f"http://{self.endpoint}"

    def open_connections(self) -> int:
        """How many client connections are open right now."""
        return self._server.open_connections() if self._server else 0

    def wait_until_idle(self, timeout: float = 2.0) -> bool:
        """Wait until no client connection is open; ``False`` if some still are."""
        deadline = time.monotonic() + timeout
        while self.open_connections():
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True

    # -- life cycle ----------------------------------------------------------

    def start(self) -> Self:
        """Bind a free port and serve in a background thread."""
        self._server = _Server((self._host, 0), self)
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.005},
            name=f"local-gateway-{self.port}",
        )
        self._thread.start()
        return self

    def close(self) -> None:
        """Stop serving, drop open connections and join every thread."""
        if self._server is None or self._thread is None:
            return
        self._release.set()
        self._server.shutdown()
        self._server.drop_connections()
        self._server.server_close()
        self._thread.join()
        self._server = None
        if self._errors:
            raise AssertionError(f"the local gateway crashed: {self._errors!r}") from (
                self._errors[0]
            )

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- handling ------------------------------------------------------------

    def _secret_for(self, access_key_id: str) -> str | None:
        key = self._keys.get(access_key_id)
        return key.secret if key else None

    def _public_key_for(self, access_key_id: str) -> str | None:
        key = self._keys.get(access_key_id)
        return key.public_key_pem if key else None

    def _handle(self, handler: _Handler) -> None:
        length_text = handler.headers.get("Content-Length")
        if length_text is None and handler.headers.get("Transfer-Encoding"):
            self._record(handler, b"", None, 411, "MissingContentLength")
            self._send_error(handler, _Refusal(411, "MissingContentLength", "length required"))
            return
        body = handler.rfile.read(int(length_text or 0))
        with self._lock:
            canned = self._queue.popleft() if self._queue else None
        if isinstance(canned, _Stall):
            self._record(handler, body, None, None, None)
            self._release.wait(_STALL_LIMIT)
            handler.close_connection = True
            return
        if isinstance(canned, _Drop):
            self._record(handler, body, None, None, None)
            handler.close_connection = True
            return
        if canned is not None:
            self._record(handler, body, None, canned.status, None)
            self._send(handler, canned.status, canned.body, canned.headers)
            return

        verification: VerifyResult | None = None
        try:
            target = urlsplit(handler.path)
            query = parse_qsl(
                target.query, keep_blank_values=True, encoding="utf-8", errors="strict"
            )
            verification = verify(
                method=handler.command,
                path=target.path,
                query=query,
                headers=list(handler.headers.items()),
                body=body,
                secret_for=self._secret_for,
                public_key_pem_for=self._public_key_for,
            )
            key_id = self._authenticate(handler, verification)
            action, params = self._parse(handler, query, body)
            answer = self._dispatch(action, params, key_id, verification, handler)
        except _Refusal as refusal:
            self._record(handler, body, verification, refusal.status, refusal.code)
            self._send_error(handler, refusal)
            return
        except _Business as business:
            self._record(handler, body, verification, 200, business.code)
            self._send_json(
                handler,
                200,
                {
                    "ResponseCode": business.code,
                    "ResponseDescription": business.description,
                    "RequestId": str(uuid.uuid4()).upper(),
                },
            )
            return
        self._record(handler, body, verification, 200, None)
        self._send_json(handler, 200, answer)

    def _authenticate(self, handler: _Handler, verification: VerifyResult) -> str:
        headers = handler.headers
        if not verification.ok:
            if verification.reason.startswith("unknown access key id"):
                raise _Refusal(
                    404, "InvalidAccessKeyId.NotFound", "Specified access key is not found."
                )
            raise _Refusal(
                400,
                "SignatureDoesNotMatch",
                "Specified signature is not matched with our calculation. "
                f"({verification.reason}) server string to sign is:{verification.string_to_sign}",
            )
        key_id = verification.access_key_id
        assert key_id is not None
        with self._lock:
            key = self._keys[key_id]
        token = headers.get("x-acs-security-token")
        if key.security_token is not None and token is None:
            raise _Refusal(
                400, "MissingSecurityToken", "SecurityToken is mandatory for this action."
            )
        if token is not None and token != key.security_token:
            raise _Refusal(
                400,
                "InvalidSecurityToken.MismatchWithAccessKey",
                "The security token you provided does not match the access key.",
            )
        self._check_date(headers.get("x-acs-date", ""))
        nonce = headers.get("x-acs-signature-nonce", "")
        if not nonce:
            raise _Refusal(400, "MissingSignatureNonce", "SignatureNonce is mandatory.")
        with self._lock:
            if nonce in self._nonces:
                raise _Refusal(
                    400, "SignatureNonceUsed", "Specified signature nonce was used already."
                )
            self._nonces.add(nonce)
        return key_id

    def _check_date(self, text: str) -> None:
        try:
            moment = datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise _Refusal(
                400,
                "InvalidTimeStamp.Format",
                "Specified time stamp or date value is not well formatted.",
            ) from None
        if abs(self.clock() - moment) > _MAX_SKEW:
            raise _Refusal(
                400, "InvalidTimeStamp.Expired", "Specified time stamp or date value is expired."
            )

    def _parse(
        self, handler: _Handler, query: list[tuple[str, str]], body: bytes
    ) -> tuple[str, dict[str, str]]:
        headers = handler.headers
        if headers.get("x-acs-version") != API_VERSION:
            raise _Refusal(
                400, "InvalidVersion", f"Specified parameter Version is not valid: {API_VERSION}."
            )
        action = headers.get("x-acs-action", "")
        if action not in ("SendMessageToGlobe", "BatchSendMessageToGlobe"):
            raise _Refusal(404, "InvalidAction.NotFound", f"Specified api is not found: {action}")
        pairs = list(query)
        if body:
            content_type = (headers.get("content-type") or "").split(";")[0].strip().lower()
            if content_type != _FORM:
                raise _Refusal(
                    400, "InvalidParameter.ContentType", f"unsupported content type {content_type}"
                )
            try:
                text = body.decode("utf-8", "strict")
                pairs += parse_qsl(
                    text,
                    keep_blank_values=True,
                    strict_parsing=True,
                    encoding="utf-8",
                    errors="strict",
                )
            except (UnicodeDecodeError, ValueError) as exc:
                raise _Refusal(
                    400, "InvalidParameter", f"the form body is malformed: {exc}"
                ) from None
        params: dict[str, str] = {}
        for name, value in pairs:
            if name in params:
                raise _Refusal(400, "InvalidParameter.Duplicate", f"{name} is given twice")
            params[name] = value
        return action, params

    def _dispatch(
        self,
        action: str,
        params: dict[str, str],
        key_id: str,
        verification: VerifyResult,
        handler: _Handler,
    ) -> dict[str, Any]:
        for required in ("To", "Message"):
            if not params.get(required):
                raise _Refusal(
                    400, f"Missing{required}", f"{required} is mandatory for this action."
                )
        sender = params.get("From")
        common = {
            "action": action,
            "sender": sender,
            "type": params.get("Type"),
            "task_id": params.get("TaskId"),
            "validity_period": params.get("ValidityPeriod"),
            "channel_id": params.get("ChannelId"),
            "access_key_id": key_id,
            "algorithm": verification.string_to_sign.partition("\n")[0],
            "headers": {k.lower(): v for k, v in handler.headers.items()},
        }
        request_id = str(uuid.uuid4()).upper()
        if action == "SendMessageToGlobe":
            to, text = params["To"], params["Message"]
            if not self._acceptable(to):
                raise _Business("MOBILE_NUMBER_ILLEGAL", f"{to} is not a valid number")
            message_id = self._new_message_id()
            with self._lock:
                self._messages.append(
                    ReceivedMessage(to=to, text=text, message_id=message_id, **common)
                )
            answer: dict[str, Any] = {
                "ResponseCode": "OK",
                "ResponseDescription": "The SMS Send Request was accepted",
                "RequestId": request_id,
                "MessageId": message_id,
                "To": to,
                "Segments": str(segments_of(text)),
                "NumberDetail": {
                    "Carrier": "CMI",
                    "Region": "HongKong",
                    "Country": "Hongkong, China",
                },
            }
            if sender is not None:
                answer["From"] = sender
            return answer

        numbers = self._json_list(params["To"], "To")
        texts = self._json_list(params["Message"], "Message")
        if len(numbers) > _MAX_BATCH:
            raise _Business("MOBILE_COUNT_OVER_LIMIT", "more than 1000 numbers")
        if len(texts) != len(numbers):
            raise _Business("INVALID_PARAMETERS", "To and Message have different lengths")
        ids: list[str] = []
        failed: list[str] = []
        accepted: list[ReceivedMessage] = []
        for to, text in zip(numbers, texts, strict=True):
            if not self._acceptable(to):
                failed.append(to)
                continue
            message_id = self._new_message_id()
            ids.append(message_id)
            accepted.append(ReceivedMessage(to=to, text=text, message_id=message_id, **common))
        with self._lock:
            self._messages.extend(accepted)
        answer = {
            "ResponseCode": "OK",
            "ResponseDescription": "The SMS Send Request was accepted",
            "RequestId": request_id,
            "MessageIdList": json.dumps(ids),
            "FailedList": json.dumps(failed),
            "SuccessCount": str(len(ids)),
        }
        if sender is not None:
            answer["From"] = sender
        return answer

    def _acceptable(self, number: str) -> bool:
        return (
            number.isascii()
            and number.isdigit()
            and 7 <= len(number) <= 15
            and not number.startswith(("0", "86"))
            and number not in self.failing_numbers
        )

    @staticmethod
    def _json_list(value: str, name: str) -> list[str]:
        try:
            decoded = json.loads(value)
        except ValueError:
            raise _Business("INVALID_JSON_PARAM", f"{name} is not JSON") from None
        if not isinstance(decoded, list) or not all(isinstance(i, str) for i in decoded):
            raise _Business("INVALID_JSON_PARAM", f"{name} is not a JSON array of strings")
        return decoded

    def _new_message_id(self) -> str:
        with self._lock:
            return f"1008{next(self._ids):012d}"

    def _record(
        self,
        handler: _Handler,
        body: bytes,
        verification: VerifyResult | None,
        status: int | None,
        code: str | None,
    ) -> None:
        request = ReceivedRequest(
            method=handler.command,
            target=handler.path,
            headers=tuple(handler.headers.items()),
            body=body,
            verification=verification,
            status=status,
            error_code=code,
        )
        with self._lock:
            self._requests.append(request)

    def _send_error(self, handler: _Handler, refusal: _Refusal) -> None:
        host = handler.headers.get("host", "dysmsapi.ap-southeast-1.aliyuncs.com")
        self._send_json(
            handler,
            refusal.status,
            {
                "RequestId": str(uuid.uuid4()).upper(),
                "HostId": host,
                "Code": refusal.code,
                "Message": refusal.message,
                "Recommend": (
                    f"https://api.aliyun.com/troubleshoot?q={refusal.code}&product=Dysmsapi"
                ),
            },
        )

    def _send_json(self, handler: _Handler, status: int, data: Mapping[str, Any]) -> None:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        request_id = str(data.get("RequestId", ""))
        headers = {"Content-Type": "application/json;charset=utf-8", "x-acs-request-id": request_id}
        self._send(handler, status, body, headers)

    @staticmethod
    def _send(handler: _Handler, status: int, body: bytes, headers: Mapping[str, str]) -> None:
        handler.send_response(status)
        for name, value in headers.items():
            handler.send_header(name, value)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        handler.wfile.write(body)
