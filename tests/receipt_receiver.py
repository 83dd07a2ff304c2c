"""A tiny receiving endpoint for delivery-report pushes, on 127.0.0.1, for the tests.

A stdlib ``ThreadingHTTPServer`` in a background thread. Every POST body it
receives is kept in :attr:`Receiver.bodies`; the reports that parse are kept
in :attr:`Receiver.reports` (read with :func:`alisms.parse_delivery_reports`,
as an application would). It answers with ``reply`` (default
:data:`alisms.RECEIPT_REPLY`) and ``status`` (default 200), or with a 400 for
a body that does not parse. Use it as a context manager.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

import alisms


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        receiver = self.server.receiver
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length)
        status, reply = receiver.status, receiver.reply
        with receiver.changed:
            receiver.bodies.append(body)
            receiver.content_types.append(self.headers.get("content-type", ""))
            try:
                receiver.reports.extend(alisms.parse_delivery_reports(body))
            except alisms.ReceiptError as error:
                status, reply = 400, str(error).encode()
            receiver.changed.notify_all()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, format: str, *args: object) -> None:
        """No access log in the test output."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    receiver: Receiver


class Receiver:
    """Receives pushes at :attr:`url` until the ``with`` block ends."""

    def __init__(self, *, status: int = 200, reply: bytes = alisms.RECEIPT_REPLY) -> None:
        self.status = status
        self.reply = reply
        self.bodies: list[bytes] = []
        self.content_types: list[str] = []
        self.reports: list[alisms.DeliveryReport] = []
        self.changed = threading.Condition()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.receiver = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        """Where to push."""
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}/sms/receipts"

    def wait_for_reports(self, count: int, timeout: float = 10.0) -> list[alisms.DeliveryReport]:
        """Wait until at least ``count`` reports have arrived; return them all."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while len(self.reports) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.reports)} of {count} reports arrived"
                self.changed.wait(left)
            return list(self.reports)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._thread.join()
        self._server.server_close()
