"""Shared fixtures: the local gateway, test keys, and a runner for sync and async clients."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from local_server import LocalGateway

import alisms

ALISMS_ENVIRONMENT = (
    "ALIBABA_CLOUD_ACCESS_KEY_ID",
    "ALIBABA_CLOUD_ACCESS_KEY_SECRET",
    "ALIBABA_CLOUD_SECURITY_TOKEN",
    "ALISMS_ENDPOINT",
)


@dataclass(frozen=True)
class TestKeys:
    """The credentials the local gateway knows. No value is a substring of another."""

    __test__ = False  # not a test class, despite the name

    access_key_id: str = "testid"
    access_key_secret: str = "testsecret"
    sts_access_key_id: str = "STS.stsid"
    sts_access_key_secret: str = "Sts-Secret-9f8e7d"
    sts_security_token: str = "CAIS+fake/sts=token-0123456789abcdefXYZ"


TEST_KEYS = TestKeys()


@pytest.fixture(scope="session")
def _empty_home(tmp_path_factory: pytest.TempPathFactory) -> str:
    return str(tmp_path_factory.mktemp("home"))


@pytest.fixture(autouse=True)
def _no_alisms_environment(monkeypatch: pytest.MonkeyPatch, _empty_home: str) -> None:
    """No test sees the developer's Alibaba Cloud credentials or ALISMS_ENDPOINT.

    Nor their credential files (HOME is an empty directory), and the default
    chain never asks the real ECS metadata service.
    """
    for name in list(os.environ):
        if name in ALISMS_ENVIRONMENT or name.startswith("ALIBABA_CLOUD_"):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", _empty_home)
    monkeypatch.setenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED", "true")


@pytest.fixture
def keys() -> TestKeys:
    """The AccessKey pair and STS credentials the ``server`` fixture accepts."""
    return TEST_KEYS


@pytest.fixture
def server() -> Iterator[LocalGateway]:
    """A local gateway on 127.0.0.1 knowing ``keys`` (testid/testsecret and an STS pair)."""
    with LocalGateway() as gateway:
        gateway.add_access_key(TEST_KEYS.access_key_id, TEST_KEYS.access_key_secret)
        gateway.add_access_key(
            TEST_KEYS.sts_access_key_id,
            TEST_KEYS.sts_access_key_secret,
            security_token=TEST_KEYS.sts_security_token,
        )
        yield gateway


@pytest.fixture
def server_client_kwargs(server: LocalGateway) -> dict[str, Any]:
    """Constructor arguments for a client that talks to ``server`` as testid, retries off.

    Retries are off so that each test sees one exchange; tests/test_retry.py covers them.
    """
    return {
        "access_key_id": TEST_KEYS.access_key_id,
        "access_key_secret": TEST_KEYS.access_key_secret,
        "endpoint": server.url,
        "retry": False,
        "rate_limits": None,
    }


class ClientRunner:
    """Runs the same calls through :class:`alisms.Client` or :class:`alisms.AsyncClient`.

    The async flavour builds its client inside ``asyncio.run`` and closes it
    there, so each call leaves nothing open.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind

    def __repr__(self) -> str:
        return self.kind

    def call(self, client_kwargs: dict[str, Any], method: str, /, *args: Any, **kwargs: Any) -> Any:
        """Build a client with ``client_kwargs``, call ``method`` once, close the client."""
        return self.call_many(client_kwargs, [(method, args, kwargs)])[0]

    def call_many(
        self,
        client_kwargs: dict[str, Any],
        calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]],
        *,
        transport: httpx.MockTransport | None = None,
        fast_http: bool = False,
    ) -> list[Any]:
        """Make several calls, in order, on one client; stop at the first exception.

        With ``transport``, the client sends through an httpx client on that
        transport (``http_client=``), so nothing touches a socket. With
        ``fast_http``, it sends through a given httpx client that skips loading
        the CA bundle (30 ms a client; plain HTTP to 127.0.0.1 never uses it).
        """
        http_options: dict[str, Any] | None = None
        if transport is not None:
            http_options = {"transport": transport}
        elif fast_http:
            http_options = {"verify": False}
        if self.kind == "sync":
            with contextlib.ExitStack() as stack:
                if http_options is not None:
                    http = stack.enter_context(httpx.Client(**http_options))
                    client_kwargs = {**client_kwargs, "http_client": http}
                client = stack.enter_context(alisms.Client(**client_kwargs))
                return [getattr(client, name)(*a, **kw) for name, a, kw in calls]

        async def run() -> list[Any]:
            async with contextlib.AsyncExitStack() as stack:
                kwargs = client_kwargs
                if http_options is not None:
                    http = await stack.enter_async_context(httpx.AsyncClient(**http_options))
                    kwargs = {**client_kwargs, "http_client": http}
                client = await stack.enter_async_context(alisms.AsyncClient(**kwargs))
                return [await getattr(client, name)(*a, **kw) for name, a, kw in calls]

        return asyncio.run(run())


@pytest.fixture(params=["sync", "async"])
def client_runner(request: pytest.FixtureRequest) -> ClientRunner:
    """Each test using it runs twice: through Client, then through AsyncClient."""
    return ClientRunner(request.param)
