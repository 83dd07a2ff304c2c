"""A canned SendMessageToGlobe server and a load generator, for the benchmark only.

The server is a minimal HTTP/1.1 keep-alive server on an asyncio ``Protocol``
(uvloop when installed): it reads each request's head and its
``Content-Length`` body, and answers every one with the same documented
SendMessageToGlobe success JSON, so alisms parses it as an accepted message.
It checks nothing else; it exists to cost far less per request than any
client under test. It runs in its own process (``python bench/server.py
serve``), so it never shares the clients' GIL, and prints its port on the
first line of its output.

The load generator (``python bench/server.py load``) measures the server's
capacity with raw keep-alive sockets, far cheaper per request than an HTTP
client: it writes prebuilt request bytes and counts the fixed-length answers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import sys
from typing import Any, cast

BODY = json.dumps(
    {
        "ResponseCode": "OK",
        "NumberDetail": {"Carrier": "CMI", "Region": "HongKong", "Country": "China"},
        "RequestId": "F655A8D5-B967-440B-8683-DAD6FF8DE990",
        "Segments": "1",
        "ResponseDescription": "The SMS Send Request was accepted",
        "From": "Alicloud321",
        "To": "85212345678",
        "MessageId": "1008030300123456",
    },
    separators=(",", ":"),
).encode()
"""The documented success answer (``Segments`` a string, ``NumberDetail`` an object)."""

RESPONSE = (
    b"HTTP/1.1 200 OK\r\n"
    b"Content-Type: application/json;charset=utf-8\r\n"
    b"x-acs-request-id: F655A8D5-B967-440B-8683-DAD6FF8DE990\r\n"
    b"Connection: keep-alive\r\n"
    b"Content-Length: " + str(len(BODY)).encode() + b"\r\n\r\n" + BODY
)
"""Every answer, byte for byte: a fixed length, so the load generator counts bytes."""

_BAD_REQUEST = b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def use_fast_loop() -> str:
    """Install uvloop's event loop policy when uvloop is installed; return the loop's name."""
    try:
        import uvloop
    except ImportError:
        return "asyncio"
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return "uvloop"


class CannedHTTP(asyncio.Protocol):
    """One keep-alive connection: every complete request gets :data:`RESPONSE`."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = b""

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """Keep the transport; disable Nagle so answers leave at once."""
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        sock = transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def data_received(self, data: bytes) -> None:
        """Answer every complete request in the buffer with one write."""
        buffer = self.buffer + data if self.buffer else data
        answers = 0
        pos = 0
        while True:
            end = buffer.find(b"\r\n\r\n", pos)
            if end < 0:
                break
            head = buffer[pos:end].lower()
            start = head.find(b"\r\ncontent-length:")
            length = 0
            if start >= 0:
                stop = head.find(b"\r\n", start + 2)
                length = int(head[start + 17 : stop if stop >= 0 else len(head)])
            elif b"\r\ntransfer-encoding:" in head:
                # Not needed by any client here: refuse loudly rather than misparse.
                assert self.transport is not None
                self.transport.write(_BAD_REQUEST)
                self.transport.close()
                return
            body_end = end + 4 + length
            if body_end > len(buffer):
                break
            answers += 1
            pos = body_end
        self.buffer = buffer[pos:]
        if answers:
            assert self.transport is not None
            self.transport.write(RESPONSE * answers)


async def _serve(host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(CannedHTTP, host, port, backlog=1024, reuse_address=True)
    bound = server.sockets[0].getsockname()[1]
    print(bound, flush=True)
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def serve(host: str = "127.0.0.1", port: int = 0) -> None:
    """Run the canned server until SIGTERM or SIGINT; print the bound port first."""
    use_fast_loop()
    asyncio.run(_serve(host, port))


# -- load generator -------------------------------------------------------------


def sample_request(port: int) -> bytes:
    """A SendMessageToGlobe POST shaped like the ones alisms sends (about 900 bytes)."""
    body = b"Message=Your%20code%20is%20123456&To=85212345678&Type=OTP"
    head = (
        f"POST / HTTP/1.1\r\n"
        f"Host: 127.0.0.1:{port}\r\n"
        "Accept: application/json\r\n"
        "Accept-Encoding: gzip, deflate\r\n"
        "Connection: keep-alive\r\n"
        "User-Agent: alisms-bench-load\r\n"
        "x-acs-action: SendMessageToGlobe\r\n"
        "x-acs-version: 2018-05-01\r\n"
        "x-acs-date: 2026-01-02T03:04:05Z\r\n"
        "x-acs-signature-nonce: 0123456789abcdef0123456789abcdef\r\n"
        f"x-acs-content-sha256: {'0' * 64}\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Authorization: ACS3-HMAC-SHA256 Credential=bench,SignedHeaders=content-type;host;"
        "x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version,"
        f"Signature={'0' * 64}\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class _Load(asyncio.Protocol):
    """Keeps ``depth`` requests in flight on one connection; counts whole answers."""

    def __init__(self, request: bytes, depth: int, counter: list[int]) -> None:
        self.request = request
        self.depth = depth
        self.counter = counter
        self.pending = 0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass
        transport.get_extra_info("socket").setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.transport.write(self.request * self.depth)

    def data_received(self, data: bytes) -> None:
        self.pending += len(data)
        done, self.pending = divmod(self.pending, len(RESPONSE))
        if done:
            self.counter[0] += done
            assert self.transport is not None
            self.transport.write(self.request * done)


async def _load(port: int, connections: int, depth: int, warmup: float, duration: float) -> int:
    loop = asyncio.get_running_loop()
    counter = [0]
    request = sample_request(port)
    transports = []
    for _ in range(connections):
        transport, _protocol = await loop.create_connection(
            lambda: _Load(request, depth, counter), "127.0.0.1", port
        )
        transports.append(transport)
    await asyncio.sleep(warmup)
    before = counter[0]
    await asyncio.sleep(duration)
    done = counter[0] - before
    for transport in transports:
        transport.close()
    return done


def load(port: int, connections: int, depth: int, warmup: float, duration: float) -> None:
    """Drive the server for ``duration`` seconds; print the answers counted, as JSON."""
    use_fast_loop()
    done = asyncio.run(_load(port, connections, depth, warmup, duration))
    print(json.dumps({"answers": done, "seconds": duration}), flush=True)


def measure_capacity(
    port: int,
    *,
    processes: int = 2,
    connections: int = 32,
    depth: int = 1,
    warmup: float = 0.3,
    duration: float = 1.5,
) -> dict[str, Any]:
    """Measure the server's answers per second with ``processes`` load generators.

    ``connections`` keep-alive connections in all, each with ``depth``
    requests in flight (``depth`` 1: no pipelining, as the HTTP clients do).
    """
    import subprocess

    per = max(1, connections // processes)
    children = [
        subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
            [
                sys.executable,
                os.path.abspath(__file__),
                "load",
                "--port",
                str(port),
                "--connections",
                str(per),
                "--depth",
                str(depth),
                "--warmup",
                str(warmup),
                "--duration",
                str(duration),
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        for _ in range(processes)
    ]
    answers = 0
    for child in children:
        out, _ = child.communicate(timeout=60)
        if child.returncode != 0:
            raise RuntimeError(f"load generator failed with exit code {child.returncode}")
        answers += json.loads(out.strip().splitlines()[-1])["answers"]
    return {
        "rps": answers / duration,
        "processes": processes,
        "connections": per * processes,
        "depth": depth,
    }


def main() -> None:
    """Command line: ``serve`` or ``load``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=0)
    ld = sub.add_parser("load")
    ld.add_argument("--port", type=int, required=True)
    ld.add_argument("--connections", type=int, default=16)
    ld.add_argument("--depth", type=int, default=1)
    ld.add_argument("--warmup", type=float, default=0.3)
    ld.add_argument("--duration", type=float, default=1.5)
    args = parser.parse_args()
    if args.command == "serve":
        serve(args.host, args.port)
    else:
        load(args.port, args.connections, args.depth, args.warmup, args.duration)


if __name__ == "__main__":
    main()
