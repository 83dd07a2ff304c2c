"""Every Python example in README.md runs, against the sandbox on 127.0.0.1."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from alisms._sandbox import Sandbox
from alisms.testing import FakeSMSService

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)


def test_readme_starts_with_the_two_setup_commands() -> None:
    text = README.read_text(encoding="utf-8")
    first_block = re.search(r"```sh\n(.*?)```", text, re.DOTALL)
    assert first_block is not None
    commands = [line.split("#")[0].strip() for line in first_block.group(1).splitlines()]
    assert commands[:2] == ["make demo", "make test"]
    assert text.index("make demo") < text.index("```python")


@pytest.mark.parametrize("source", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_runs(
    source: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    service = FakeSMSService(access_keys={"readme-id": "readme-secret"})
    namespace: dict[str, Any] = {"__name__": "__readme__"}
    with Sandbox(service) as sandbox:
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "readme-id")
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "readme-secret")
        monkeypatch.delenv("ALIBABA_CLOUD_SECURITY_TOKEN", raising=False)
        monkeypatch.setenv("ALISMS_ENDPOINT", sandbox.endpoint)
        exec(compile(source, str(README), "exec"), namespace)
    tests = [f for name, f in namespace.items() if name.startswith("test_") and callable(f)]
    if tests:
        # A block of example tests: run each with a fresh sms_fake, as pytest would.
        for test in tests:
            fake = FakeSMSService()
            test(fake)
            assert fake.messages, f"{test.__name__} sent nothing"
        return
    printed = capsys.readouterr().out
    assert printed.strip(), "every README example prints what it shows"
    if "send_message_to_globe" in source or "batch_send" in source:
        assert service.messages, "the example's messages reached the sandbox"
        for message in service.messages:
            assert message.text in source
    assert "readme-secret" not in printed


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 3
