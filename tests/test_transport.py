"""alisms/_transport.py: which failures prove a request never left, and the fast aiohttp path."""

from __future__ import annotations

import asyncio
import socket

import httpx
import pytest
from httpx_aiohttp import AiohttpTransport

import alisms
from alisms._sandbox import Sandbox
from alisms._transport import surely_not_sent
from alisms.testing import FakeSMSService


def foreign_error(module: str, name: str, *bases: type) -> BaseException:
    """An exception whose class claims to live in ``module`` (as aiohttp's do)."""
    cls = type(name, bases or (Exception,), {"__module__": module})
    return cls("boom")


def wrapped(httpx_error: type[httpx.HTTPError], cause: BaseException | None) -> httpx.HTTPError:
    error = httpx_error("failed")
    error.__cause__ = cause
    return error


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


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def fast_client(endpoint: str, **kwargs: object) -> alisms.AsyncClient:
    return alisms.AsyncClient(
        access_key_id="alisms-test-id",
        access_key_secret="alisms-test-secret",
        endpoint=endpoint,
        transport=AiohttpTransport(),
        **kwargs,  # type: ignore[arg-type]
    )


def test_fast_path_sends_and_batches() -> None:
    service = FakeSMSService()

    async def main() -> tuple[alisms.SendResult, alisms.BatchSendResult]:
        with Sandbox(service) as sandbox:
            async with fast_client(sandbox.endpoint) as client:
                one = await client.send_message_to_globe("85212345678", "fast 🚀")
                many = await client.batch_send_message_to_globe(["6581234567"] * 3, "fast")
        return one, many

    one, many = asyncio.run(main())
    assert one.segments == 1 and len(many.message_ids) == 3
    assert [m.text for m in service.messages] == ["fast 🚀", "fast", "fast", "fast"]


def test_fast_path_never_sends_twice_after_a_dropped_answer() -> None:
    service = FakeSMSService()
    service.inject("drop_after_accept")

    async def main() -> BaseException:
        with Sandbox(service) as sandbox:
            async with fast_client(sandbox.endpoint) as client:
                with pytest.raises(alisms.DeliveryUnknownError) as caught:
                    await client.send_message_to_globe("85212345678", "once")
        return caught.value

    unknown = asyncio.run(main())
    assert [m.text for m in service.messages] == ["once"]
    assert unknown.code == "SignatureNonceUsed"  # the identical resend was refused


def test_fast_path_refused_connection_is_not_sent() -> None:
    async def main() -> alisms.TransportError:
        async with fast_client(f"http://127.0.0.1:{closed_port()}", retry=False) as client:
            with pytest.raises(alisms.TransportError) as caught:
                await client.send_message_to_globe("85212345678", "nowhere")
        return caught.value

    assert asyncio.run(main()).may_have_been_sent is False
