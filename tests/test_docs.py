"""The documentation site cannot drift from the code.

Every ```python block on every page of docs/ is compiled, and every block not
marked ``<!-- compile-only: reason -->`` on the line before its fence is run:
against the sandbox on 127.0.0.1 (credentials and endpoint in the environment,
as a reader sets them up) or, where the block builds one, the in-process fake.
Example tests in a block (``def test_...``) are called with a fresh
``sms_fake``, as pytest would. The signing walk-through's values are recomputed
with ``alisms.signing`` and with the client's own request building.

These tests need neither mkdocs nor the network: ``make docs`` builds the site.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from alisms import _cli, _operations, signing
from alisms._config import Endpoint
from alisms._core import Core
from alisms._credentials import Credentials
from alisms._sandbox import Sandbox
from alisms.testing import FakeSMSService

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"

# Pages whose examples another test module runs from the page itself.
EXECUTED_ELSEWHERE = {"receipts.md": "tests/test_receipts.py"}

DOCS_KEY_ID = "docs-id"
DOCS_KEY_SECRET = "docs-secret"

_FENCE = re.compile(
    r"^(?:<!--[ \t]*(?P<mark>[^\n]*?)[ \t]*-->\n)?"
    r"```(?P<lang>[^\n`]*)\n(?P<source>.*?)^```[ \t]*$",
    re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True)
class Block:
    page: str
    line: int
    lang: str
    mark: str | None
    source: str

    @property
    def id(self) -> str:
        return f"{self.page}:{self.line}"

    @property
    def compile_only(self) -> bool:
        return self.mark is not None and self.mark.startswith("compile-only")


def _blocks(path: Path) -> list[Block]:
    text = path.read_text(encoding="utf-8")
    found = []
    for match in _FENCE.finditer(text):
        line = text.count("\n", 0, match.start("lang")) + 1
        found.append(
            Block(
                page=path.name,
                line=line,
                lang=match.group("lang").strip(),
                mark=match.group("mark"),
                source=match.group("source"),
            )
        )
    return found


PAGES = sorted(DOCS.glob("*.md"))
BLOCKS = [block for page in PAGES for block in _blocks(page)]
PYTHON = [block for block in BLOCKS if block.lang == "python"]
RUNNABLE = [
    block for block in PYTHON if not block.compile_only and block.page not in EXECUTED_ELSEWHERE
]


def _page(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


# -- every example ---------------------------------------------------------------------


def test_the_site_has_examples() -> None:
    assert len(RUNNABLE) >= 25
    for page in ("index.md", "usage.md", "configuration.md", "errors.md", "bulk.md"):
        assert any(block.page == page for block in RUNNABLE), page


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_python_blocks_are_marked_python(block: Block) -> None:
    # A block fenced as "py" or "python3" would escape the checks below.
    assert block.lang not in {"py", "python3", "pycon", "pyi"}, f"{block.id}: fence it as python"


@pytest.mark.parametrize("block", PYTHON, ids=[b.id for b in PYTHON])
def test_python_block_compiles(block: Block) -> None:
    compile(block.source, block.id, "exec")
    if block.mark is not None:
        kind, _, reason = block.mark.partition(":")
        assert kind == "compile-only", f"{block.id}: unknown mark {block.mark!r}"
        assert reason.strip(), f"{block.id}: say why the block cannot run here"


def test_pages_run_elsewhere_are_run_there() -> None:
    for page, module in EXECUTED_ELSEWHERE.items():
        assert f"docs/{page}" in (ROOT / module).read_text(encoding="utf-8")


def _call_example_test(test: Any) -> None:
    fixtures = {"sms_fake": FakeSMSService}
    params = inspect.signature(test).parameters
    kwargs = {name: fixtures[name]() for name in params}
    if inspect.iscoroutinefunction(test):
        asyncio.run(test(**kwargs))
    else:
        test(**kwargs)


def _drive_aiohttp_app(make_app: Any) -> None:
    from aiohttp.test_utils import TestClient, TestServer

    async def main() -> None:
        async with TestClient(TestServer(make_app())) as client:
            answer = await client.post("/otp/6581234567")
            assert answer.status == 200, await answer.text()
            assert (await answer.json())["message_id"]
            refused = await client.post("/otp/123")
            assert refused.status == 422

    asyncio.run(main())


@pytest.mark.parametrize("block", RUNNABLE, ids=[b.id for b in RUNNABLE])
def test_python_block_runs(
    block: Block, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    service = FakeSMSService(access_keys={DOCS_KEY_ID: DOCS_KEY_SECRET})
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    with Sandbox(service) as sandbox:
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", DOCS_KEY_ID)
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", DOCS_KEY_SECRET)
        monkeypatch.setenv("ALISMS_ENDPOINT", sandbox.endpoint)
        exec(compile(block.source, block.id, "exec"), namespace)
        tests = [f for name, f in namespace.items() if name.startswith("test_") and callable(f)]
        for test in tests:
            _call_example_test(test)
        if "make_app" in namespace:
            _drive_aiohttp_app(namespace["make_app"])
    printed = capsys.readouterr().out
    assert DOCS_KEY_SECRET not in printed
    sends = re.search(
        r"\.(send_message_to_globe|batch_send_message_to_globe|send_many)\(",
        block.source,
    )
    if sends and "FakeSMSService" not in block.source:
        assert service.messages, f"{block.id} sent nothing to the sandbox"
        for message in service.messages:
            assert message.text in block.source, f"{block.id}: {message.text!r}"
    if not tests and "make_app" not in namespace:
        assert printed.strip(), f"{block.id}: a runnable example shows its result"


# -- the signing walk-through ----------------------------------------------------------

SIGNING_DATE = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
SIGNING_NONCE = "0123456789abcdef0123456789abcdef"
SIGNING_HOST = "dysmsapi.ap-southeast-1.aliyuncs.com"


def _stages() -> dict[str, str]:
    stages = {}
    for block in _blocks(DOCS / "signing.md"):
        if block.mark and block.mark.startswith("stage:"):
            stages[block.mark.removeprefix("stage:").strip()] = block.source.removesuffix("\n")
    return stages


def _walk_through() -> signing.SignedRequest:
    """The request of docs/signing.md, built exactly as a Client builds it."""
    operation = _operations.send_message_to_globe(
        "+85212345678", "Your code is 123456", type="OTP", from_="Alisms"
    )
    return Core(Endpoint("https", SIGNING_HOST)).sign(
        operation,
        Credentials("testid", "testsecret"),
        date=SIGNING_DATE,
        nonce=SIGNING_NONCE,
    )


def test_signing_page_shows_every_stage_the_code_computes() -> None:
    signed = _walk_through()
    assert _stages() == {
        "body": signed.body.decode("ascii"),
        "hashed-payload": signed.hashed_payload,
        "canonical-request": signed.canonical_request,
        "string-to-sign": signed.string_to_sign,
        "signature": signed.signature,
        "authorization": signed.authorization,
    }


def test_signing_page_stages_follow_from_one_another() -> None:
    # Recompute each stage from the previous one with the public functions.
    stages = _stages()
    body = stages["body"].encode("ascii")
    assert signing.hash_hex(body) == stages["hashed-payload"]
    assert (
        signing.string_to_sign("ACS3-HMAC-SHA256", stages["canonical-request"])
        == (stages["string-to-sign"])
    )
    assert (
        signing.signature("ACS3-HMAC-SHA256", "testsecret", stages["string-to-sign"])
        == (stages["signature"])
    )
    signed = signing.sign_request(
        access_key_id="testid",
        access_key_secret="testsecret",
        method="POST",
        host=SIGNING_HOST,
        date=SIGNING_DATE,
        nonce=SIGNING_NONCE,
        headers={"x-acs-action": "SendMessageToGlobe", "x-acs-version": "2018-05-01"},
        body=body,
        content_type="application/x-www-form-urlencoded",
    )
    assert signed.canonical_request == stages["canonical-request"]
    assert signed.authorization == stages["authorization"]


def test_signing_page_states_its_inputs() -> None:
    page = _page("signing.md")
    for value in ("`testid`", "`testsecret`", "`2026-01-02T03:04:05Z`", f"`{SIGNING_NONCE}`"):
        assert value in page
    assert f"host `{SIGNING_HOST}`" in page


def test_standard_library_snippet_prints_the_signature(
    capsys: pytest.CaptureFixture[str],
) -> None:
    (snippet,) = [
        b for b in _blocks(DOCS / "signing.md") if b.lang == "python" and "alisms" not in b.source
    ]
    imports = set(re.findall(r"^import (\w+)$", snippet.source, re.MULTILINE))
    assert imports == {"hashlib", "hmac"}
    assert "from " not in snippet.source
    code_lines = [line for line in snippet.source.splitlines() if line.strip()]
    assert len(code_lines) <= 14
    exec(compile(snippet.source, snippet.id, "exec"), {"__name__": "__docs__"})
    assert capsys.readouterr().out.strip() == _stages()["signature"]


def test_sign_explain_prints_the_page_stages(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "testid")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "testsecret")
    out = io.StringIO()
    with contextlib.redirect_stderr(io.StringIO()):
        code = _cli.main(
            [
                "sign",
                "--explain",
                "--to",
                "85212345678",
                "--message",
                "Your code is 123456",
                "--type",
                "OTP",
                "--from",
                "Alisms",
                "--date",
                "2026-01-02T03:04:05Z",
                "--nonce",
                SIGNING_NONCE,
            ],
            out=out,
        )
    assert code == 0
    printed = out.getvalue()
    for name, value in _stages().items():
        if name != "authorization":  # printed with the signature left out
            assert value in printed, name


# -- the rest of the site ----------------------------------------------------------------


def test_every_page_is_in_the_nav() -> None:
    config = (ROOT / "mkdocs.yml").read_text(encoding="utf-8")
    listed = re.findall(r"^  - [^:\n]+: (\S+\.md)$", config, re.MULTILINE)
    assert len(listed) == len(set(listed))
    assert {page.name for page in PAGES} <= set(listed)


def test_cli_page_names_real_commands() -> None:
    commands = set()
    for block in _blocks(DOCS / "cli.md"):
        if block.lang == "sh":
            for line in block.source.splitlines():
                words = line.split()
                if "alisms" in words and words.index("alisms") + 1 < len(words):
                    commands.add(words[words.index("alisms") + 1])
    assert commands >= {"send", "batch", "query", "sign", "segments", "sandbox"}
    assert commands <= set(_cli._COMMANDS)


def test_migration_page_maps_the_vendor_calls() -> None:
    page = _page("migration.md")
    for vendor in (
        "Dysmsapi20180501Client(open_api_models.Config(",
        "send_message_to_globe_with_options(",
        "dysmsapi_models.SendMessageToGlobeRequest(",
        "util_models.RuntimeOptions()",
        ".body.response_code",
        "batch_send_message_to_globe(dysmsapi_models.BatchSendMessageToGlobeRequest(",
        "query_message(dysmsapi_models.QueryMessageRequest(",
    ):
        assert vendor in page, vendor
