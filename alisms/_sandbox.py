"""The sandbox: :class:`alisms.testing.FakeSMSService` served over real HTTP on loopback.

A stdlib threading HTTP server; each request is handed to the fake, so any
correct V3 signer (not only alisms) can talk to it.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

from alisms.testing import AcceptedMessage, FakeRequest, FakeSMSService

__all__ = ["Sandbox"]

_MAX_BODY = 16 * 1024 * 1024


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

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
    service: FakeSMSService


class _Server6(_Server):
    address_family = socket.AF_INET6


class Sandbox:
    """The fake service on ``http://HOST:PORT``, serving from a background thread.

    ``port=0`` picks a free port; :attr:`endpoint` tells which. Use it as a
    context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(
        self,
        service: FakeSMSService | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        on_accept: Callable[[AcceptedMessage], None] | None = None,
    ) -> None:
        self.service = service or FakeSMSService()
        if on_accept is not None:
            self.service.on_accept = on_accept
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
        self._server.serve_forever()

    def stop(self) -> None:
        """Stop serving and close the socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
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
