"""Every Python example in README.md runs, against the sandbox on 127.0.0.1."""

from __future__ import annotations

import re
from pathlib import Path

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
    with Sandbox(service) as sandbox:
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "readme-id")
        monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "readme-secret")
        monkeypatch.delenv("ALIBABA_CLOUD_SECURITY_TOKEN", raising=False)
        monkeypatch.setenv("ALISMS_ENDPOINT", sandbox.endpoint)
        exec(compile(source, str(README), "exec"), {"__name__": "__readme__"})
    printed = capsys.readouterr().out
    assert printed.strip(), "every README example prints what it shows"
    sends = list(service.messages)
    if "send_message_to_globe" in source or "batch_send" in source:
        assert sends, "the example's messages reached the sandbox"
        for message in sends:
            assert message.text in source
    assert "readme-secret" not in printed


def test_readme_has_examples() -> None:
    assert len(BLOCKS) >= 3
