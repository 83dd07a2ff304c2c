"""The public surface of the package: names, docstrings, sync/async parity, privacy."""

from __future__ import annotations

import inspect
import pkgutil
import re
import subprocess
import sys
import textwrap

import pytest

import alisms

EXPECTED_ALL = {
    "CLIProfileCredentials",
    "CredentialsFileCredentials",
    "DefaultCredentialsChain",
    "EcsRamRoleCredentials",
    "OIDCRoleArnCredentials",
    "RamRoleArnCredentials",
    "URICredentials",
    "RECEIPT_REPLY",
    "APIError",
    "AlismsError",
    "AsyncBulkRun",
    "AsyncClient",
    "AuthenticationError",
    "BulkMessage",
    "BulkOutcome",
    "BulkRun",
    "BulkSummary",
    "BatchSendResult",
    "Client",
    "ConfigurationError",
    "ConversionResult",
    "Credentials",
    "CredentialsError",
    "CredentialsProvider",
    "DeliveryReport",
    "DeliveryStatus",
    "DeliveryUnknownError",
    "QueryMessageResult",
    "ReceiptError",
    "Retry",
    "SegmentInfo",
    "count_segments",
    "EnvironmentCredentials",
    "InvalidRequestError",
    "MalformedResponseError",
    "MessageRejectedError",
    "MessageType",
    "NumberDetail",
    "PermissionDeniedError",
    "SendResult",
    "ServerError",
    "StaticCredentials",
    "ThrottlingError",
    "TransportError",
    "ValidationError",
    "__version__",
    "parse_delivery_reports",
    "signing",
}

# Client method -> AsyncClient method, where the names differ.
ASYNC_NAME = {"close": "aclose"}
# Not coroutines: send_many returns a run to use with ``async with`` and ``async for``.
RETURNS_ASYNC_CONTEXT = {"send_many"}


def public_members(cls: type) -> dict[str, object]:
    return {name: value for name, value in vars(cls).items() if not name.startswith("_")}


def test_all_is_exactly_the_expected_set() -> None:
    assert set(alisms.__all__) == EXPECTED_ALL
    assert len(alisms.__all__) == len(EXPECTED_ALL), "a name is listed twice"


@pytest.mark.parametrize("name", sorted(EXPECTED_ALL))
def test_every_public_name_exists_and_is_documented(name: str) -> None:
    value = getattr(alisms, name)
    if name == "__version__":
        assert isinstance(value, str)
        assert re.fullmatch(r"\d+\.\d+\.\d+\S*", value)
        return
    if name == "RECEIPT_REPLY":
        # A constant: its documentation is in the module, beside it.
        assert isinstance(value, bytes)
        assert "RECEIPT_REPLY" in (alisms.parse_delivery_reports.__doc__ or "")
        return
    assert value.__doc__, f"alisms.{name} has no docstring"
    assert value.__doc__.strip()
    if inspect.isclass(value):
        # A class's own docstring, not one inherited from a base.
        assert "__doc__" in vars(value) and vars(value)["__doc__"], name


def test_no_public_name_is_missing_from_all() -> None:
    # Submodules become attributes once imported anywhere; only the other names count.
    public = {
        n for n in dir(alisms) if not n.startswith("_") and not inspect.ismodule(getattr(alisms, n))
    }
    assert public <= EXPECTED_ALL


def test_every_exception_derives_from_alisms_error() -> None:
    exceptions = [
        getattr(alisms, n)
        for n in EXPECTED_ALL
        if inspect.isclass(getattr(alisms, n)) and issubclass(getattr(alisms, n), BaseException)
    ]
    assert len(exceptions) == 15
    for exc in exceptions:
        assert issubclass(exc, alisms.AlismsError)


@pytest.mark.parametrize("cls", [alisms.Client, alisms.AsyncClient])
def test_every_public_method_of_the_clients_is_documented(cls: type) -> None:
    members = public_members(cls) | public_members(cls.__mro__[1])
    assert members
    for name, member in members.items():
        function = member.fget if isinstance(member, property) else member
        assert function.__doc__ and function.__doc__.strip(), f"{cls.__name__}.{name}"
    assert cls.__doc__ and cls.__doc__.strip()


def test_clients_have_the_same_public_methods() -> None:
    sync = set(public_members(alisms.Client))
    async_ = set(public_members(alisms.AsyncClient))
    assert {ASYNC_NAME.get(n, n) for n in sync} == async_
    assert hasattr(alisms.Client, "__enter__") and hasattr(alisms.Client, "__exit__")
    assert hasattr(alisms.AsyncClient, "__aenter__") and hasattr(alisms.AsyncClient, "__aexit__")
    assert alisms.Client.endpoint is alisms.AsyncClient.endpoint  # shared property


# Constructor parameters whose annotation is an httpx class with a sync and an async twin.
HTTPX_TWINS = ("http_client", "transport")
# What AsyncClient also takes for the aiohttp fast path.
AIOHTTP_TWINS = {"http_client": "aiohttp.ClientSession", "transport": "Literal['aiohttp']"}


def without_httpx_annotations(signature: inspect.Signature) -> inspect.Signature:
    return signature.replace(
        parameters=[
            p.replace(annotation=inspect.Parameter.empty) if p.name in HTTPX_TWINS else p
            for p in signature.parameters.values()
        ]
    )


def test_constructors_have_the_same_signature() -> None:
    sync = inspect.signature(alisms.Client.__init__)
    async_ = inspect.signature(alisms.AsyncClient.__init__)
    assert without_httpx_annotations(sync) == without_httpx_annotations(async_)
    assert str(sync.parameters["http_client"].annotation) == "httpx.Client | None"
    for name in HTTPX_TWINS:
        if name in sync.parameters:
            # The async annotation is the sync one with each httpx class's Async twin,
            # and the fast path's aiohttp alternative.
            sync_annotation = str(sync.parameters[name].annotation)
            async_annotation = str(async_.parameters[name].annotation)
            twin = sync_annotation.replace("httpx.", "httpx.Async")
            assert async_annotation == twin.replace(" | None", f" | {AIOHTTP_TWINS[name]} | None")
    assert all(
        p.kind is inspect.Parameter.KEYWORD_ONLY
        for name, p in sync.parameters.items()
        if name != "self"
    )


@pytest.mark.parametrize("name", sorted(public_members(alisms.Client)))
def test_methods_have_the_same_signature(name: str) -> None:
    sync = public_members(alisms.Client)[name]
    async_ = public_members(alisms.AsyncClient)[ASYNC_NAME.get(name, name)]
    if isinstance(sync, property):
        assert isinstance(async_, property)
        return
    sync_sig = inspect.signature(sync)  # type: ignore[arg-type]
    async_sig = inspect.signature(async_)  # type: ignore[arg-type]
    if name == "send_many":
        # The async run also takes an async iterable, and runs more at once by default.
        assert list(sync_sig.parameters) == list(async_sig.parameters)
        assert sync_sig.parameters["concurrency"].default == 16
        assert async_sig.parameters["concurrency"].default == 64
        assert "AsyncIterable" in str(async_sig.parameters["messages"].annotation)
        assert sync_sig.return_annotation == "BulkRun"
        assert async_sig.return_annotation == "AsyncBulkRun"
        return
    assert sync_sig == async_sig


@pytest.mark.parametrize("name", sorted(public_members(alisms.AsyncClient)))
def test_async_methods_are_coroutine_functions(name: str) -> None:
    member = public_members(alisms.AsyncClient)[name]
    if isinstance(member, property):
        return
    if name in RETURNS_ASYNC_CONTEXT:
        assert not inspect.iscoroutinefunction(member)
        assert hasattr(alisms.AsyncBulkRun, "__aenter__")
        assert hasattr(alisms.AsyncBulkRun, "__anext__")
        return
    assert inspect.iscoroutinefunction(member), name
    assert not inspect.iscoroutinefunction(public_members(alisms.Client).get(name))


def test_async_context_manager_methods_are_coroutines() -> None:
    assert inspect.iscoroutinefunction(alisms.AsyncClient.__aenter__)
    assert inspect.iscoroutinefunction(alisms.AsyncClient.__aexit__)


def test_import_does_not_load_cryptography() -> None:
    script = textwrap.dedent(
        """
        import sys
        from datetime import datetime, timezone

        import alisms

        client = alisms.Client(access_key_id="id", access_key_secret="secret")
        client.close()
        alisms.signing.sign_request(
            access_key_id="id", access_key_secret="secret", method="POST", host="h",
            date=datetime.now(timezone.utc), nonce="n", body=b"a=b",
            content_type="application/x-www-form-urlencoded",
        )
        loaded = sorted(m for m in sys.modules if m.split(".")[0] == "cryptography")
        print(loaded)
        raise SystemExit(1 if loaded else 0)
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_receipt_parser_and_segment_counter_are_imported_on_first_use() -> None:
    # A sending program never needs them: import alisms does not pay for them.
    script = textwrap.dedent(
        """
        import sys

        import alisms

        assert "alisms._receipts" not in sys.modules
        assert "alisms._segments" not in sys.modules
        names = {"RECEIPT_REPLY", "DeliveryReport", "parse_delivery_reports"}
        names |= {"SegmentInfo", "count_segments"}
        assert names <= set(dir(alisms))
        assert alisms.count_segments("hi") == alisms.SegmentInfo("GSM-7", 2, 2, 1)
        assert alisms.parse_delivery_reports(b"[]") == []
        assert alisms.DeliveryReport.__module__ == "alisms._receipts"
        from alisms import RECEIPT_REPLY

        assert RECEIPT_REPLY.startswith(b"{")
        assert "alisms._receipts" in sys.modules and "alisms._segments" in sys.modules
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


# The public modules: the signer, and the in-process fake service for users' tests.
PUBLIC_MODULES = ["signing", "testing"]


def test_every_other_module_is_private() -> None:
    modules = list(pkgutil.iter_modules(alisms.__path__))
    assert modules
    assert not any(m.ispkg for m in modules), "alisms has a subpackage"
    public = sorted(m.name for m in modules if not m.name.startswith("_"))
    assert public == PUBLIC_MODULES
