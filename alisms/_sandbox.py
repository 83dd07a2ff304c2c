"""The sandbox: :class:`alisms.testing.FakeSMSService` served over real HTTP on loopback.

A stdlib threading HTTP server; each request is handed to the fake, so any
correct V3 signer (not only alisms) can talk to it. With a receipt URL, a
background thread pushes each accepted message's delivery report there a
moment after acceptance, as the platform does, so an application's receipt
handling can be tried end to end on one machine.
"""

from __future__ import annotations

import socket
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

from alisms.testing import AcceptedMessage, FakeRequest, FakeSMSService, ReceiptPushError

__all__ = ["ReceiptPusher", "Sandbox"]

PushReport = Callable[[list[str], Exception | None], None]
"""Told of each push: the message ids pushed, and the error if the push was not taken."""

_MAX_BODY = 16 * 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # answers go out at once on kept-alive connections

    def do_POST(self) -> None:
        self._serve()

    def do_GET(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        if length > _MAX_BODY:
            self.send_error(413)
            return
        body = self.rfile.read(length) if length else b""
        request = FakeRequest(
            method=self.command,
            target=self.path,
            headers=tuple((k, v) for k, v in self.headers.items()),
            body=body,
        )
        response = self.server.service.handle(request)
        if response.drop:
            self.close_connection = True
            return
        if response.delay:
            threading.Event().wait(response.delay)
        self.send_response(response.status)
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        self.end_headers()
        self.wfile.write(response.body)

    def log_message(self, format: str, *args: object) -> None:
        """Silence the per-request access log; accepted messages are reported instead."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many clients connecting at once are queued, not reset
    service: FakeSMSService


class _Server6(_Server):
    address_family = socket.AF_INET6


class ReceiptPusher:
    """Pushes each accepted message's delivery report to ``url``, ``delay`` seconds later.

    One background thread; the messages that fall due together go in one
    push (a JSON array), through :meth:`FakeSMSService.push_receipts`. A push
    that is not taken is reported to ``on_push`` and not retried. Call
    :meth:`start`, then :meth:`add` for each message, and :meth:`stop`,
    which drops the pushes not yet due.
    """

    def __init__(
        self,
        service: FakeSMSService,
        url: str,
        *,
        delay: float = 1.0,
        timeout: float = 2.0,
        on_push: PushReport | None = None,
    ) -> None:
        self.service = service
        self.url = url
        self.delay = delay
        self.timeout = timeout
        self.on_push = on_push
        self._due: deque[tuple[float, str]] = deque()
        self._changed = threading.Condition()
        self._stopping = False
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the pushing thread."""
        self._stopping = False
        self._thread = threading.Thread(
            target=self._run, name="alisms-sandbox-receipts", daemon=True
        )
        self._thread.start()

    def add(self, message: AcceptedMessage) -> None:
        """Push ``message``'s report once the delay has passed."""
        with self._changed:
            self._due.append((time.monotonic() + self.delay, message.message_id))
            self._changed.notify()

    def stop(self) -> None:
        """Stop after the push under way, if any; pushes not yet due are dropped."""
        with self._changed:
            self._stopping = True
            self._changed.notify()
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def _next(self) -> list[str] | None:
        """Wait for the next due messages; ``None`` when stopping."""
        with self._changed:
            while True:
                if self._stopping:
                    return None
                now = time.monotonic()
                if self._due and self._due[0][0] <= now:
                    ready = []
                    while self._due and self._due[0][0] <= now:
                        ready.append(self._due.popleft()[1])
                    return ready
                self._changed.wait(self._due[0][0] - now if self._due else None)

    def _run(self) -> None:
        while (ready := self._next()) is not None:
            error: Exception | None = None
            try:
                self.service.push_receipts(self.url, message_ids=ready, timeout=self.timeout)
            except ReceiptPushError as exc:
                error = exc
            if self.on_push is not None:
                self.on_push(ready, error)


class Sandbox:
    """The fake service on ``http://HOST:PORT``, serving from a background thread.

    ``port=0`` picks a free port; :attr:`endpoint` tells which. Use it as a
    context manager, or call :meth:`start` and :meth:`stop`.

    With ``receipt_url``, each accepted message's delivery report is POSTed
    there ``receipt_delay`` seconds after acceptance (see
    :class:`ReceiptPusher`); ``on_receipt`` is told of every push.
    """

    def __init__(
        self,
        service: FakeSMSService | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        on_accept: Callable[[AcceptedMessage], None] | None = None,
        receipt_url: str | None = None,
        receipt_delay: float = 1.0,
        on_receipt: PushReport | None = None,
    ) -> None:
        self.service = service or FakeSMSService()
        if on_accept is not None:
            self.service.on_accept = on_accept
        self._pusher: ReceiptPusher | None = None
        if receipt_url is not None:
            pusher = ReceiptPusher(
                self.service, receipt_url, delay=receipt_delay, on_push=on_receipt
            )
            reported = self.service.on_accept

            def accepted(message: AcceptedMessage) -> None:
                if reported is not None:
                    reported(message)
                pusher.add(message)

            self.service.on_accept = accepted
            self._pusher = pusher
        server_class = _Server6 if ":" in host.strip("[]") else _Server
        self._server = server_class((host.strip("[]"), port), _Handler, bind_and_activate=True)
        self._server.service = self.service
        self._thread: threading.Thread | None = None

    @property
    def endpoint(self) -> str:
        """The URL to pass as a client's ``endpoint``."""
        host, port = self._server.server_address[:2]
        name = host.decode() if isinstance(host, bytes) else str(host)
        shown = f"[{name}]" if ":" in name else name
        return f"http://{shown}:{port}"

    def start(self) -> Self:
        """Serve from a daemon thread until :meth:`stop`."""
        self.service.endpoint = self.endpoint
        if self._pusher is not None:
            self._pusher.start()
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="alisms-sandbox",
            daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve on this thread until :meth:`stop` is called from another or a signal."""
        self.service.endpoint = self.endpoint
        if self._pusher is not None:
            self._pusher.start()
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop serving, stop pushing receipts, and close the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        if self._pusher is not None:
            self._pusher.stop()
        self._server.server_close()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
