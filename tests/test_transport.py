"""alisms/_transport.py: which failures prove a request never left, and the aiohttp paths.

The httpx rules first. Then the direct aiohttp path
(``AsyncClient(transport="aiohttp")`` and ``http_client=`` an
``aiohttp.ClientSession``) end to end against the local gateway on 127.0.0.1,
which checks every signature independently: what goes on the wire, how each
failure is classified, and that the client's retries read them exactly as they
read httpx's. Last, httpx-aiohttp's ``AiohttpTransport``, still supported.

aiohttp comes with the dev extra; without it the aiohttp tests are skipped.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import importlib.util
import ipaddress
import logging
import socket
import ssl
import threading
import time
from collections.abc import Awaitable, Callable, Iterator
from types import SimpleNamespace
from typing import Any

import httpx
import pytest
from local_server import LocalGateway

import alisms
from alisms import _transport
from alisms._sandbox import Sandbox
from alisms._transport import aiohttp_client_timeout, aiohttp_error, surely_not_sent
from alisms.signing import SignedRequest
from alisms.testing import FakeSMSService

needs_aiohttp = pytest.mark.skipif(
    importlib.util.find_spec("aiohttp") is None,
    reason="aiohttp is not installed (it comes with the dev extra)",
)
needs_httpx_aiohttp = pytest.mark.skipif(
    importlib.util.find_spec("httpx_aiohttp") is None,
    reason="httpx-aiohttp is not installed (it comes with the dev extra)",
)

FAST = alisms.Retry(attempts=3, backoff_base=0.01, backoff_cap=0.02)
NUMBER = "85212345678"
HANG = 10.0
"""A call still running after this long hangs: an upper bound, not a speed claim."""
FORM = "application/x-www-form-urlencoded"


def foreign_error(module: str, name: str, *bases: type) -> BaseException:
    """An exception whose class claims to live in ``module`` (as aiohttp's do)."""
    cls = type(name, bases or (Exception,), {"__module__": module})
    return cls("boom")


def wrapped(httpx_error: type[httpx.HTTPError], cause: BaseException | None) -> httpx.HTTPError:
    error = httpx_error("failed")
    error.__cause__ = cause
    return error


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# -- httpx: which errors prove nothing was sent ------------------------------------------


@pytest.mark.parametrize("kind", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
def test_httpx_connection_errors_prove_nothing_was_sent(kind: type[httpx.HTTPError]) -> None:
    assert surely_not_sent(wrapped(kind, None))
    assert surely_not_sent(wrapped(kind, OSError("connection refused")))


@pytest.mark.parametrize(
    "kind", [httpx.ReadTimeout, httpx.WriteTimeout, httpx.RemoteProtocolError, httpx.ReadError]
)
def test_errors_after_connecting_may_have_been_sent(kind: type[httpx.HTTPError]) -> None:
    assert not surely_not_sent(wrapped(kind, None))


def test_an_aiohttp_disconnect_mapped_to_connect_timeout_may_have_been_sent() -> None:
    # httpx-aiohttp maps every aiohttp.ClientConnectionError to httpx.ConnectTimeout,
    # a server disconnect after the request was written included.
    base = foreign_error("aiohttp.client_exceptions", "ClientConnectionError").__class__
    disconnect = foreign_error("aiohttp.client_exceptions", "ServerDisconnectedError", base)
    assert not surely_not_sent(wrapped(httpx.ConnectTimeout, disconnect))


def test_an_aiohttp_connector_error_proves_nothing_was_sent() -> None:
    base = foreign_error("aiohttp.client_exceptions", "ClientOSError").__class__
    connector = foreign_error("aiohttp.client_exceptions", "ClientConnectorError", base)
    assert surely_not_sent(wrapped(httpx.ConnectError, connector))


def test_importing_alisms_or_making_an_async_client_does_not_import_aiohttp() -> None:
    import subprocess
    import sys

    script = (
        "import sys, alisms\n"
        "alisms.AsyncClient(access_key_id='id', access_key_secret='secret')\n"
        "assert not alisms._transport.is_aiohttp_session(object())\n"
        "raise SystemExit(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('aiohttp', 'yarl', 'multidict')) or 0)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


# -- aiohttp: the error rule and the timeouts, without a network -------------------------


def connection_key() -> Any:
    """Enough of aiohttp's ConnectionKey for its connector errors to render."""
    return SimpleNamespace(host="127.0.0.1", port=1, ssl=True, is_ssl=False)


def aiohttp_errors() -> tuple[list[BaseException], list[BaseException]]:
    """Real aiohttp exceptions: those proving nothing left, and those that may have sent."""
    import aiohttp

    key = connection_key()
    refused = ConnectionRefusedError(111, "Connect call failed")
    not_sent: list[BaseException] = [
        aiohttp.ClientConnectorError(key, refused),
        aiohttp.ClientConnectorDNSError(key, OSError(-2, "Name or service not known")),
        aiohttp.ClientConnectorCertificateError(key, ssl.SSLCertVerificationError("bad cert")),
        aiohttp.ClientConnectorSSLError(key, ssl.SSLError("handshake")),
        aiohttp.ClientProxyConnectionError(key, refused),
        aiohttp.ConnectionTimeoutError("Connection timeout to host"),
    ]
    may_have_sent: list[BaseException] = [
        aiohttp.ServerDisconnectedError(),
        aiohttp.SocketTimeoutError("Timeout on reading data from socket"),
        aiohttp.ServerTimeoutError("timeout"),
        TimeoutError(),
        aiohttp.ClientOSError(104, "Connection reset by peer"),
        aiohttp.ClientPayloadError("Response payload is not completed"),
        aiohttp.ClientConnectionResetError("Cannot write to closing transport"),
        aiohttp.ClientConnectionError("Connection closed"),
        OSError("anything else"),
    ]
    return not_sent, may_have_sent


@needs_aiohttp
def test_only_aiohttp_connector_errors_and_its_connect_timeout_prove_nothing_was_sent() -> None:
    not_sent, may_have_sent = aiohttp_errors()
    url = "http://127.0.0.1:1/"
    for exc in not_sent:
        error = aiohttp_error(exc, url)
        assert error.may_have_been_sent is False, exc
        assert "Nothing was sent" in str(error)
        assert error.message.startswith(f"could not send the request to {url}: ")
    for exc in may_have_sent:
        error = aiohttp_error(exc, url)
        assert error.may_have_been_sent is True, exc
        assert "check before sending it again" in str(error)
        assert error.message.startswith(f"no answer from {url}: {type(exc).__name__}")


@needs_aiohttp
def test_httpx_timeouts_map_onto_aiohttp_client_timeout() -> None:
    default = httpx.Timeout(10.0, connect=5.0)
    small = aiohttp_client_timeout(default, body_size=100)
    # pool wait + connect; connect alone; read between chunks; no total for a small body.
    assert (small.connect, small.sock_connect, small.sock_read, small.total) == (
        15.0,
        5.0,
        10.0,
        None,
    )
    big = aiohttp_client_timeout(default, body_size=1_000_000)
    assert big.total == 35.0  # bounds a write that never ends (aiohttp has no write timeout)
    assert (big.connect, big.sock_connect, big.sock_read) == (15.0, 5.0, 10.0)

    unbounded = aiohttp_client_timeout(httpx.Timeout(None), body_size=1_000_000)
    assert (unbounded.connect, unbounded.sock_connect, unbounded.sock_read) == (None,) * 3
    assert unbounded.total is None
    no_pool_limit = aiohttp_client_timeout(httpx.Timeout(2.0, pool=None), body_size=1_000_000)
    assert (no_pool_limit.connect, no_pool_limit.sock_connect, no_pool_limit.total) == (
        None,
        2.0,
        None,
    )
    # What the client sends when the deadline cuts a try short: every phase cut.
    cut = aiohttp_client_timeout(httpx.Timeout(0.25), body_size=10)
    assert (cut.connect, cut.sock_connect, cut.sock_read) == (0.5, 0.25, 0.25)


# -- aiohttp end to end: helpers -----------------------------------------------------------


def fast_kwargs(server: LocalGateway, **extra: Any) -> dict[str, Any]:
    """An AsyncClient on the aiohttp path to ``server`` as testid, retries off, no pacing."""
    return {
        "access_key_id": "testid",
        "access_key_secret": "testsecret",
        "endpoint": server.url,
        "transport": "aiohttp",
        "retry": False,
        "rate_limits": None,
        **extra,
    }


def run_fast(kwargs: dict[str, Any], call: Callable[[alisms.AsyncClient], Awaitable[Any]]) -> Any:
    """``call(client)`` on a client built from ``kwargs`` inside ``asyncio.run``; closed after."""

    async def main() -> Any:
        async with alisms.AsyncClient(**kwargs) as client:
            return await call(client)

    return asyncio.run(main())


def raised(kwargs: dict[str, Any], text: str = "hi") -> alisms.AlismsError:
    """The error one send raises."""

    async def send(client: alisms.AsyncClient) -> None:
        await client.send_message_to_globe(NUMBER, text)

    with pytest.raises(alisms.AlismsError) as caught:
        run_fast(kwargs, send)
    return caught.value


def spy_on_signed(client: alisms.AsyncClient, signed: list[SignedRequest]) -> None:
    """Note every SignedRequest the client hands to its sender."""
    send = client._send

    async def noting(url: str, request: SignedRequest, timeout: httpx.Timeout) -> Any:
        signed.append(request)
        return await send(url, request, timeout)

    client._send = noting


def assert_wire_matches(received: Any, sent: SignedRequest) -> None:
    """What the server got is exactly what was signed: bytes and every header we set."""
    assert received.verification is not None and received.verification.ok
    assert received.body == sent.body
    for name, value in sent.headers.items():
        assert received.header(name) == value, name
    assert received.header("content-type") == FORM  # no charset added
    assert received.header("content-length") == str(len(sent.body))
    assert received.header("transfer-encoding") is None  # not chunked
    assert received.header("content-encoding") is None  # not compressed
    assert sum(k.lower() == "content-type" for k, _ in received.headers) == 1
    assert sum(k.lower() == "host" for k, _ in received.headers) == 1


# -- aiohttp end to end: success and API errors -----------------------------------------


@needs_aiohttp
def test_the_aiohttp_path_sends_exactly_the_signed_bytes(server: LocalGateway) -> None:
    signed: list[SignedRequest] = []
    big_batch = [f"6581{i:06d}" for i in range(1000)]  # a body over 32 KiB: a total timeout too

    async def calls(client: alisms.AsyncClient) -> tuple[Any, Any, Any]:
        spy_on_signed(client, signed)
        one = await client.send_message_to_globe(NUMBER, "fast 🚀 & = + %", type="OTP")
        few = await client.batch_send_message_to_globe(["6581234567"] * 3, "fast")
        many = await client.batch_send_message_to_globe(big_batch, "x" * 40)
        return one, few, many

    one, few, many = run_fast(fast_kwargs(server), calls)
    assert one.segments == 1 and len(few.message_ids) == 3 and len(many.message_ids) == 1000
    assert [m.text for m in server.messages][:4] == ["fast 🚀 & = + %", "fast", "fast", "fast"]
    assert len(signed[2].body) > 32 * 1024
    assert len(server.requests) == len(signed) == 3
    for received, sent in zip(server.requests, signed, strict=True):
        assert_wire_matches(received, sent)


@needs_aiohttp
def test_the_aiohttp_path_reads_api_errors(server: LocalGateway) -> None:
    server.failing_numbers.add(NUMBER)
    error = raised(fast_kwargs(server))
    assert isinstance(error, alisms.MessageRejectedError)
    assert error.code == "MOBILE_NUMBER_ILLEGAL"
    assert error.request_id

    error = raised(fast_kwargs(server, access_key_secret="wrong-secret"))
    assert isinstance(error, alisms.AuthenticationError)
    assert error.code == "SignatureDoesNotMatch" and error.http_status == 400


@needs_aiohttp
def test_the_aiohttp_path_retries_throttling_with_a_new_signature(server: LocalGateway) -> None:
    server.queue_response(
        400, {"Code": "Throttling.User", "Message": "Request was denied due to user flow control."}
    )
    result = run_fast(
        fast_kwargs(server, retry=FAST),
        lambda client: client.send_message_to_globe(NUMBER, "again"),
    )
    first, second = server.requests
    assert first.status == 400 and second.status == 200
    assert first.header("x-acs-signature-nonce") != second.header("x-acs-signature-nonce")
    assert [m.message_id for m in server.messages] == [result.message_id]


# -- aiohttp end to end: failures -----------------------------------------------------------


@needs_aiohttp
def test_a_refused_connection_is_not_sent_and_is_retried(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="alisms")
    url = f"http://127.0.0.1:{closed_port()}"
    kwargs = {
        "access_key_id": "testid",
        "access_key_secret": "testsecret",
        "endpoint": url,
        "transport": "aiohttp",
        "retry": FAST,
    }
    started = time.monotonic()
    error = raised(kwargs)
    assert time.monotonic() - started < HANG
    assert isinstance(error, alisms.TransportError)
    assert not isinstance(error, alisms.DeliveryUnknownError)
    assert error.may_have_been_sent is False
    assert "ClientConnectorError" in str(error) and "Nothing was sent" in str(error)
    retried = [r.getMessage() for r in caplog.records if "failed (TransportError" in r.getMessage()]
    assert len(retried) == 2 and all("signing anew" in m for m in retried)


@needs_aiohttp
def test_a_disconnect_after_the_request_was_written_may_have_been_sent(
    server: LocalGateway,
) -> None:
    server.queue_drop()
    error = raised(fast_kwargs(server))
    assert isinstance(error, alisms.DeliveryUnknownError)
    last = error.last_error
    assert isinstance(last, alisms.TransportError) and last.may_have_been_sent is True
    assert "ServerDisconnectedError" in str(last)
    assert len(server.requests) == 1  # it was written
    assert server.messages == []


@needs_aiohttp
def test_a_disconnect_is_followed_by_the_identical_request_never_a_new_one(
    server: LocalGateway,
) -> None:
    """A send that may have arrived is never signed anew: the gateway's nonce check decides."""
    server.queue_drop()
    result = run_fast(
        fast_kwargs(server, retry=FAST),
        lambda client: client.send_message_to_globe(NUMBER, "once"),
    )
    dropped, resent = server.requests
    assert resent.body == dropped.body
    assert resent.header("authorization") == dropped.header("authorization")
    assert resent.header("x-acs-signature-nonce") == dropped.header("x-acs-signature-nonce")
    assert [m.message_id for m in server.messages] == [result.message_id]


@needs_aiohttp
def test_an_answer_lost_after_acceptance_is_never_sent_twice() -> None:
    service = FakeSMSService()
    service.inject("drop_after_accept")

    async def main(endpoint: str) -> BaseException:
        kwargs = {
            "access_key_id": "alisms-test-id",
            "access_key_secret": "alisms-test-secret",
            "endpoint": endpoint,
            "transport": "aiohttp",
            "retry": FAST,
        }
        async with alisms.AsyncClient(**kwargs) as client:
            with pytest.raises(alisms.DeliveryUnknownError) as caught:
                await client.send_message_to_globe(NUMBER, "once")
        return caught.value

    with Sandbox(service) as sandbox:
        unknown = asyncio.run(main(sandbox.endpoint))
    assert [m.text for m in service.messages] == ["once"]
    assert isinstance(unknown, alisms.DeliveryUnknownError)
    assert unknown.code == "SignatureNonceUsed"  # the identical resend was refused


@needs_aiohttp
@pytest.mark.parametrize(
    "options",
    [{"timeout": 0.3, "retry": False}, {"timeout": 30.0, "deadline": 0.3, "retry": FAST}],
    ids=["read-timeout", "cut-by-the-deadline"],
)
def test_a_stalled_answer_times_out_as_may_have_been_sent(
    server: LocalGateway, options: dict[str, Any]
) -> None:
    """With a deadline of 0.3 s, the 30 s read timeout is cut, and no time is left to resend."""
    server.queue_stall()
    started = time.monotonic()
    error = raised(fast_kwargs(server, **options))
    assert time.monotonic() - started < HANG
    assert isinstance(error, alisms.DeliveryUnknownError)
    last = error.last_error
    assert isinstance(last, alisms.TransportError) and last.may_have_been_sent is True
    assert "SocketTimeoutError" in str(last)
    assert len(server.requests) == 1


@needs_aiohttp
def test_waiting_for_a_pooled_connection_times_out_as_not_sent(server: LocalGateway) -> None:
    """httpx's pool timeout is part of aiohttp's connect timeout: nothing left."""
    import aiohttp

    server.queue_stall()

    async def main() -> alisms.AlismsError:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
            kwargs = fast_kwargs(server, transport=None, http_client=session)
            stalled = alisms.AsyncClient(**kwargs, timeout=HANG)
            waiting = alisms.AsyncClient(
                **kwargs, timeout=httpx.Timeout(HANG, pool=0.1, connect=0.1)
            )
            holder = asyncio.create_task(stalled.send_message_to_globe(NUMBER, "first"))
            while not server.requests:
                await asyncio.sleep(0.01)
            try:
                with pytest.raises(alisms.TransportError) as caught:
                    await waiting.send_message_to_globe(NUMBER, "second")
            finally:
                holder.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await holder
            return caught.value

    error = asyncio.run(main())
    assert error.may_have_been_sent is False
    assert "ConnectionTimeoutError" in str(error)
    assert len(server.requests) == 1


@contextlib.contextmanager
def deaf_server() -> Iterator[tuple[int, Callable[[], None]]]:
    """A loopback server that accepts connections and never reads from them.

    Yields its port and a function that closes the connections it accepted.
    """
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.05)
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                accepted.append(listener.accept()[0])

    def hang_up() -> None:
        for sock in accepted:
            sock.close()

    thread = threading.Thread(target=accept)
    thread.start()
    try:
        yield listener.getsockname()[1], hang_up
    finally:
        stop.set()
        thread.join()
        hang_up()
        listener.close()


@needs_aiohttp
def test_a_write_that_never_ends_times_out_as_may_have_been_sent() -> None:
    """aiohttp has no write timeout; a large body gets a total one instead."""
    numbers = [f"6581{i:06d}" for i in range(1000)]
    with deaf_server() as (port, hang_up):
        kwargs = {
            "access_key_id": "testid",
            "access_key_secret": "testsecret",
            "endpoint": f"http://127.0.0.1:{port}",
            "transport": "aiohttp",
            "retry": False,
            "timeout": httpx.Timeout(0.05),
        }

        async def main() -> alisms.DeliveryUnknownError:
            async with alisms.AsyncClient(**kwargs) as client:
                with pytest.raises(alisms.DeliveryUnknownError) as caught:
                    await client.batch_send_message_to_globe(numbers, "x" * 12_000)
            # The connection still holds unsent bytes; it closes once the peer hangs up.
            hang_up()
            await asyncio.sleep(0.1)
            return caught.value

        started = time.monotonic()
        unknown = asyncio.run(main())
    assert time.monotonic() - started < HANG
    last = unknown.last_error
    assert isinstance(last, alisms.TransportError) and last.may_have_been_sent is True
    assert last.message.endswith(": TimeoutError")  # the total timeout, not a read timeout


# -- aiohttp end to end: TLS ---------------------------------------------------------------


def self_signed_certificate(tmp: Any) -> tuple[str, str]:
    """A certificate for 127.0.0.1 that no trust store knows, and its key, as PEM files."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "cert.pem", tmp / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return str(cert_path), str(key_path)


@contextlib.contextmanager
def tls_server(cert: str, key: str) -> Iterator[int]:
    """A loopback TLS server that completes handshakes it can and closes each connection."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    listener.settimeout(0.05)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn = listener.accept()[0]
            except TimeoutError:
                continue
            conn.settimeout(2.0)
            with contextlib.suppress(OSError), context.wrap_socket(conn, server_side=True):
                pass
            conn.close()

    thread = threading.Thread(target=serve)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        thread.join()
        listener.close()


@needs_aiohttp
def test_an_owned_session_checks_certificates(tmp_path: Any) -> None:
    cert, key = self_signed_certificate(tmp_path)
    with tls_server(cert, key) as port:
        kwargs = {
            "access_key_id": "testid",
            "access_key_secret": "testsecret",
            "endpoint": f"https://127.0.0.1:{port}",
            "transport": "aiohttp",
            "retry": False,
        }
        error = raised(kwargs)
    assert isinstance(error, alisms.TransportError)
    assert error.may_have_been_sent is False  # the handshake failed: nothing left
    assert "ClientConnectorCertificateError" in str(error)


@needs_aiohttp
def test_the_endpoint_rules_apply_to_the_aiohttp_path() -> None:
    with pytest.raises(alisms.ConfigurationError, match="plain HTTP"):
        alisms.AsyncClient(
            access_key_id="a",
            access_key_secret="b",
            endpoint="http://10.0.0.1",
            transport="aiohttp",
        )


# -- aiohttp: closed, trio, another loop, not installed ------------------------------------


@needs_aiohttp
def test_a_closed_session_sends_nothing(server: LocalGateway) -> None:
    import aiohttp

    async def given() -> alisms.AlismsError:
        session = aiohttp.ClientSession()
        await session.close()
        client = alisms.AsyncClient(**fast_kwargs(server, transport=None, http_client=session))
        with pytest.raises(alisms.TransportError) as caught:
            await client.send_message_to_globe(NUMBER, "hi")
        return caught.value

    async def owned() -> alisms.AlismsError:
        client = alisms.AsyncClient(**fast_kwargs(server))
        await client.send_message_to_globe(NUMBER, "before")
        await client.aclose()
        with pytest.raises(alisms.TransportError) as caught:
            await client.send_message_to_globe(NUMBER, "after")
        return caught.value

    for error in (asyncio.run(given()), asyncio.run(owned())):
        assert isinstance(error, alisms.TransportError)
        assert error.may_have_been_sent is False
        assert error.message == f"the client is closed; nothing was sent to {server.url}/"
    assert [m.text for m in server.messages] == ["before"]


@needs_aiohttp
def test_under_trio_the_aiohttp_path_says_it_is_asyncio_only(server: LocalGateway) -> None:
    import anyio

    async def main() -> None:
        async with alisms.AsyncClient(**fast_kwargs(server, retry=FAST)) as client:
            await client.send_message_to_globe(NUMBER, "trio")

    with pytest.raises(alisms.ConfigurationError, match="asyncio only") as caught:
        anyio.run(main, backend="trio")
    assert "default httpx transport" in str(caught.value)
    assert server.requests == []


@needs_aiohttp
def test_an_owned_session_stays_in_the_loop_that_made_it(server: LocalGateway) -> None:
    client = alisms.AsyncClient(**fast_kwargs(server))
    first, second = asyncio.new_event_loop(), asyncio.new_event_loop()
    try:
        first.run_until_complete(client.send_message_to_globe(NUMBER, "first loop"))
        with pytest.raises(alisms.ConfigurationError, match="another event loop"):
            second.run_until_complete(client.send_message_to_globe(NUMBER, "second loop"))
        first.run_until_complete(client.aclose())
    finally:
        first.close()
        second.close()
    assert [m.text for m in server.messages] == ["first loop"]


def test_transport_aiohttp_without_aiohttp_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "aiohttp", None)  # import aiohttp fails
    with pytest.raises(alisms.ConfigurationError) as caught:
        alisms.AsyncClient(access_key_id="a", access_key_secret="b", transport="aiohttp")
    assert "pip install 'alisms-intl[aiohttp]'" in str(caught.value)


@needs_aiohttp
def test_errors_of_the_aiohttp_path_never_show_the_signature(server: LocalGateway) -> None:
    server.queue_drop()
    signed: list[SignedRequest] = []

    async def call(client: alisms.AsyncClient) -> None:
        spy_on_signed(client, signed)
        await client.send_message_to_globe(NUMBER, "hi")

    with pytest.raises(alisms.DeliveryUnknownError) as caught:
        run_fast(fast_kwargs(server), call)
    import traceback

    shown = "".join(traceback.format_exception(caught.value)) + repr(caught.value.last_error)
    (request,) = signed
    assert request.authorization not in shown
    assert request.authorization.rpartition("Signature=")[2] not in shown
    assert "testsecret" not in shown


# -- httpx-aiohttp's AiohttpTransport (through httpx) ----------------------------------------


def fast_client(endpoint: str, **kwargs: object) -> alisms.AsyncClient:
    from httpx_aiohttp import AiohttpTransport

    return alisms.AsyncClient(
        access_key_id="alisms-test-id",
        access_key_secret="alisms-test-secret",
        endpoint=endpoint,
        transport=AiohttpTransport(),
        **kwargs,  # type: ignore[arg-type]
    )


@needs_httpx_aiohttp
def test_httpx_aiohttp_sends_and_batches() -> None:
    service = FakeSMSService()

    async def main() -> tuple[alisms.SendResult, alisms.BatchSendResult]:
        with Sandbox(service) as sandbox:
            async with fast_client(sandbox.endpoint) as client:
                one = await client.send_message_to_globe(NUMBER, "fast 🚀")
                many = await client.batch_send_message_to_globe(["6581234567"] * 3, "fast")
        return one, many

    one, many = asyncio.run(main())
    assert one.segments == 1 and len(many.message_ids) == 3
    assert [m.text for m in service.messages] == ["fast 🚀", "fast", "fast", "fast"]


@needs_httpx_aiohttp
def test_httpx_aiohttp_never_sends_twice_after_a_dropped_answer() -> None:
    service = FakeSMSService()
    service.inject("drop_after_accept")

    async def main() -> BaseException:
        with Sandbox(service) as sandbox:
            async with fast_client(sandbox.endpoint) as client:
                with pytest.raises(alisms.DeliveryUnknownError) as caught:
                    await client.send_message_to_globe(NUMBER, "once")
        return caught.value

    unknown = asyncio.run(main())
    assert [m.text for m in service.messages] == ["once"]
    assert unknown.code == "SignatureNonceUsed"  # the identical resend was refused


@needs_httpx_aiohttp
def test_httpx_aiohttp_refused_connection_is_not_sent() -> None:
    async def main() -> alisms.TransportError:
        async with fast_client(f"http://127.0.0.1:{closed_port()}", retry=False) as client:
            with pytest.raises(alisms.TransportError) as caught:
                await client.send_message_to_globe(NUMBER, "nowhere")
        return caught.value

    assert asyncio.run(main()).may_have_been_sent is False


# -- the httpx clients alisms makes keep no cookies ------------------------------------------

_SEND_OK = {
    "ResponseCode": "OK",
    "ResponseDescription": "OK",
    "RequestId": "r-1",
    "MessageId": "1008030300000001",
    "To": NUMBER,
    "Segments": "1",
}
_SET_COOKIE = {"Set-Cookie": "acw_tc=abc123; Path=/"}


def _cookie_kwargs(server: LocalGateway, **extra: Any) -> dict[str, Any]:
    return {
        "access_key_id": "testid",
        "access_key_secret": "testsecret",
        "endpoint": server.url,
        "retry": False,
        "rate_limits": None,
        **extra,
    }


def test_the_sync_client_sends_no_cookie_back_but_a_given_client_keeps_its_jar(
    server: LocalGateway,
) -> None:
    with alisms.Client(**_cookie_kwargs(server)) as client:
        server.queue_response(200, _SEND_OK, headers=_SET_COOKIE)
        client.send_message_to_globe(NUMBER, "one")
        client.send_message_to_globe(NUMBER, "two")
        assert isinstance(client._http.cookies.jar, _transport.NoCookies)
    assert [r.header("cookie") for r in server.requests] == [None, None]
    server.clear()
    with httpx.Client() as http, alisms.Client(**_cookie_kwargs(server, http_client=http)) as mine:
        server.queue_response(200, _SEND_OK, headers=_SET_COOKIE)
        mine.send_message_to_globe(NUMBER, "one")
        mine.send_message_to_globe(NUMBER, "two")
    # The control: the same exchange through a client of the caller's returns the cookie.
    assert [r.header("cookie") for r in server.requests] == [None, "acw_tc=abc123"]


def test_the_async_client_sends_no_cookie_back(server: LocalGateway) -> None:
    async def main() -> None:
        async with alisms.AsyncClient(**_cookie_kwargs(server)) as client:
            server.queue_response(200, _SEND_OK, headers=_SET_COOKIE)
            await client.send_message_to_globe(NUMBER, "one")
            await client.send_message_to_globe(NUMBER, "two")

    asyncio.run(main())
    assert [r.header("cookie") for r in server.requests] == [None, None]
