"""A fake STS endpoint and ECS metadata service on 127.0.0.1, for the credential providers.

One ``http.server`` in a background thread answers both:

* ``POST /`` as STS 2015-04-01: ``AssumeRole`` must carry a V3 signature that
  ``tests/independent_v3.py`` verifies against :attr:`FakeIdentity.source_keys`;
  ``AssumeRoleWithOIDC`` must be anonymous and carry the expected OIDC token.
* ``PUT /latest/api/token`` and ``GET /latest/meta-data/ram/security-credentials/[role]``
  as the ECS instance metadata service (IMDSv2 token optional unless
  :attr:`FakeIdentity.require_imds_token`).
* ``GET /credentials-uri`` as a credentials URI (``ALIBABA_CLOUD_CREDENTIALS_URI``):
  the metadata service's document, without any token.

Each answer issues fresh credentials (``STS.id-<n>``) expiring at
``clock() + lifetime``. Tests can queue failures, slow the answers down to
make callers overlap, and read every request back from :attr:`requests`.
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qsl

import independent_v3

ROLE_PATH = "/latest/meta-data/ram/security-credentials/"
URI_PATH = "/credentials-uri"


@dataclass(frozen=True)
class Seen:
    """One request the fake received."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8"), strict_parsing=False))


@dataclass
class FakeIdentity:
    """The fake; use as a context manager. ``url`` is its base URL once started."""

    source_keys: dict[str, str] = field(default_factory=dict)
    oidc_token: str = ""
    role_name: str = "sms-role"
    lifetime: timedelta = timedelta(hours=1)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    delay: float = 0.0
    imds_v2: bool = True
    require_imds_token: bool = False
    requests: list[Seen] = field(default_factory=list)
    failures: deque[tuple[int, bytes]] = field(default_factory=deque)
    issued: list[tuple[str, str, str]] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None
    _errors: list[BaseException] = field(default_factory=list)

    @property
    def uri(self) -> str:
        """The credentials URI."""
        return self.url + URI_PATH

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def count(self, method: str, path_prefix: str = "/") -> int:
        """How many requests with this method had a path starting with ``path_prefix``."""
        with self._lock:
            return sum(
                1 for r in self.requests if r.method == method and r.path.startswith(path_prefix)
            )

    def sts_calls(self, action: str | None = None) -> list[Seen]:
        with self._lock:
            return [
                r
                for r in self.requests
                if r.method == "POST" and (action is None or r.headers["x-acs-action"] == action)
            ]

    def fail_next(self, status: int, payload: dict[str, Any] | bytes, times: int = 1) -> None:
        """Answer the next ``times`` STS or credentials requests with this status and body."""
        body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        with self._lock:
            self.failures.extend([(status, body)] * times)

    def _issue(self) -> dict[str, str]:
        with self._lock:
            n = len(self.issued) + 1
            creds = (f"STS.id-{n}", f"secret-{n}-Must-Not-Leak", f"CAIS-token-{n}-Must-Not-Leak")
            self.issued.append(creds)
        expiration = self.clock() + self.lifetime
        return {
            "AccessKeyId": creds[0],
            "AccessKeySecret": creds[1],
            "SecurityToken": creds[2],
            "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }

    def _failure(self) -> tuple[int, bytes] | None:
        with self._lock:
            return self.failures.popleft() if self.failures else None

    # -- the HTTP side -------------------------------------------------------------------

    def handle(self, seen: Seen) -> tuple[int, str, bytes]:
        with self._lock:
            self.requests.append(seen)
        if self.delay:
            time.sleep(self.delay)
        if seen.method == "POST" and seen.path == "/":
            return self._sts(seen)
        if seen.method == "PUT" and seen.path == "/latest/api/token":
            if not self.imds_v2:
                return 404, "text/plain", b"Not Found"
            ttl = seen.headers.get("x-aliyun-ecs-metadata-token-ttl-seconds")
            if ttl != "21600":
                return 400, "text/plain", b"bad ttl"
            return 200, "text/plain", b"imds-session-token"
        if seen.method == "GET" and seen.path.startswith(ROLE_PATH):
            return self._imds(seen)
        if seen.method == "GET" and seen.path.split("?")[0] == URI_PATH:
            return self._uri()
        return 404, "text/plain", b"Not Found"

    def _imds(self, seen: Seen) -> tuple[int, str, bytes]:
        token = seen.headers.get("x-aliyun-ecs-metadata-token")
        if token is not None and token != "imds-session-token":
            return 401, "text/plain", b"bad token"
        if token is None and self.require_imds_token:
            return 401, "text/plain", b"token required"
        role = seen.path[len(ROLE_PATH) :]
        if not role:
            return 200, "text/plain", self.role_name.encode()
        if role != self.role_name:
            return 404, "text/plain", b"Not Found"
        failure = self._failure()
        if failure is not None:
            return failure[0], "application/json", failure[1]
        document = {"Code": "Success", "LastUpdated": "2026-01-01T00:00:00Z", **self._issue()}
        return 200, "text/plain", json.dumps(document).encode()

    def _uri(self) -> tuple[int, str, bytes]:
        failure = self._failure()
        if failure is not None:
            return failure[0], "application/json", failure[1]
        document = {"Code": "Success", **self._issue()}
        return 200, "application/json", json.dumps(document).encode()

    def _sts(self, seen: Seen) -> tuple[int, str, bytes]:
        action = seen.headers.get("x-acs-action")
        form = seen.form

        def error(status: int, code: str, message: str) -> tuple[int, str, bytes]:
            body = {"RequestId": "REQ-ERR", "Code": code, "Message": message}
            return status, "application/json", json.dumps(body).encode()

        if seen.headers.get("x-acs-version") != "2015-04-01":
            return error(400, "InvalidVersion", "bad version")
        if action == "AssumeRole":
            result = independent_v3.verify(
                method="POST",
                path="/",
                query=(),
                headers=list(seen.headers.items()),
                body=seen.body,
                secret_for=self.source_keys.get,
            )
            if not result.ok:
                return error(400, "SignatureDoesNotMatch", result.reason)
            for name in ("RoleArn", "RoleSessionName", "DurationSeconds"):
                if not form.get(name):
                    return error(400, "MissingParameter", name)
        elif action == "AssumeRoleWithOIDC":
            if "authorization" in seen.headers:
                return error(400, "UnexpectedAuthorization", "anonymous call expected")
            if form.get("OIDCToken") != self.oidc_token:
                return error(
                    400, "InvalidParameter.OIDCToken", f"token {form.get('OIDCToken')} is invalid"
                )
            for name in ("RoleArn", "OIDCProviderArn", "RoleSessionName", "DurationSeconds"):
                if not form.get(name):
                    return error(400, "MissingParameter", name)
        else:
            return error(400, "InvalidAction", f"unknown action {action}")
        failure = self._failure()
        if failure is not None:
            return failure[0], "application/json", failure[1]
        answer = {"RequestId": "REQ-OK", "Credentials": self._issue()}
        return 200, "application/json", json.dumps(answer).encode()

    def __enter__(self) -> FakeIdentity:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _any(self) -> None:
                try:
                    length = int(self.headers.get("content-length") or 0)
                    body = self.rfile.read(length) if length else b""
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    seen = Seen(self.command, self.path, headers, body)
                    status, content_type, payload = fake.handle(seen)
                except BaseException as exc:  # pragma: no cover - surfaced at exit
                    fake._errors.append(exc)
                    status, content_type, payload = 500, "text/plain", b"fake crashed"
                self.send_response(status)
                self.send_header("content-type", content_type)
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_PUT = do_POST = _any

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), daemon=True
        )
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        if self._errors and exc is None:
            raise AssertionError(f"the fake crashed: {self._errors!r}")
