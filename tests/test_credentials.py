"""Unit tests of alisms/_credentials.py: Credentials and its providers."""

from __future__ import annotations

import asyncio
import dataclasses
import re
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import alisms
from alisms import Credentials, CredentialsProvider, EnvironmentCredentials, StaticCredentials
from alisms._credentials import (
    ENV_ACCESS_KEY_ID,
    ENV_ACCESS_KEY_SECRET,
    ENV_SECURITY_TOKEN,
    _header_safe,
)

KEY_ID = "example-fake-key-id"
SECRET = "s3cr3t-Value-That-Must-Not-Leak"
TOKEN = "CAIS+sts/Token=Value-That-Must-Not-Leak"


def test_environment_variable_names() -> None:
    assert ENV_ACCESS_KEY_ID == "ALIBABA_CLOUD_ACCESS_KEY_ID"
    assert ENV_ACCESS_KEY_SECRET == "ALIBABA_CLOUD_ACCESS_KEY_SECRET"
    assert ENV_SECURITY_TOKEN == "ALIBABA_CLOUD_SECURITY_TOKEN"


# -- Credentials -------------------------------------------------------------------


def test_credentials_fields() -> None:
    plain = Credentials(KEY_ID, SECRET)
    assert (plain.access_key_id, plain.access_key_secret, plain.security_token) == (
        KEY_ID,
        SECRET,
        None,
    )
    sts = Credentials(KEY_ID, SECRET, TOKEN)
    assert sts.security_token == TOKEN
    assert sts == Credentials(KEY_ID, SECRET, TOKEN)
    assert sts != plain


def test_credentials_are_frozen() -> None:
    credentials = Credentials(KEY_ID, SECRET)
    with pytest.raises(dataclasses.FrozenInstanceError):
        credentials.access_key_secret = "other"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        (("", SECRET), "AccessKey ID is empty"),
        (("   ", SECRET), "AccessKey ID is empty"),
        ((None, SECRET), "AccessKey ID is empty"),
        ((123, SECRET), "AccessKey ID is empty"),
        ((KEY_ID, ""), "secret"),
        ((KEY_ID, None), "secret"),
        ((KEY_ID, b"bytes"), "secret"),
        ((KEY_ID, SECRET, 123), "security token must be a string"),
        ((KEY_ID, SECRET, b"token"), "security token must be a string"),
        (("key id", SECRET), "space, comma or semicolon"),
        (("key,id", SECRET), "space, comma or semicolon"),
        (("key;id", SECRET), "space, comma or semicolon"),
        (("key\tid", SECRET), "space, comma or semicolon"),
        (("key\nid", SECRET), "space, comma or semicolon"),
    ],
)
def test_credentials_refuse_unusable_parts(arguments: tuple[Any, ...], fragment: str) -> None:
    with pytest.raises(alisms.CredentialsError) as caught:
        Credentials(*arguments)
    assert fragment in str(caught.value)
    assert isinstance(caught.value, alisms.ConfigurationError)
    assert isinstance(caught.value, ValueError)


def test_empty_secret_error_names_the_key_but_not_a_secret() -> None:
    with pytest.raises(alisms.CredentialsError) as caught:
        Credentials(KEY_ID, "")
    assert KEY_ID in str(caught.value)


@pytest.mark.parametrize("token", [None, TOKEN, ""])
def test_credentials_repr_and_str_are_redacted(token: str | None) -> None:
    credentials = Credentials(KEY_ID, SECRET, token)
    for shown in (repr(credentials), str(credentials), f"{credentials}", f"{credentials!r}"):
        assert SECRET not in shown
        assert TOKEN not in shown
        assert KEY_ID in shown
        assert "access_key_secret=<redacted>" in shown
        assert ("security_token=<redacted>" in shown) is bool(token)


def test_secrets_lists_what_must_never_be_shown() -> None:
    assert Credentials(KEY_ID, SECRET).secrets() == (SECRET,)
    assert Credentials(KEY_ID, SECRET, TOKEN).secrets() == (SECRET, TOKEN)
    assert Credentials(KEY_ID, SECRET, "").secrets() == (SECRET,)


# -- StaticCredentials -----------------------------------------------------------------


def test_static_credentials_sync_and_async() -> None:
    provider = StaticCredentials(KEY_ID, SECRET, TOKEN)
    expected = Credentials(KEY_ID, SECRET, TOKEN)
    assert provider.get_credentials() == expected
    assert asyncio.run(provider.get_credentials_async()) == expected
    assert provider.get_credentials() is provider.get_credentials()


def test_static_credentials_validate_at_once() -> None:
    with pytest.raises(alisms.CredentialsError):
        StaticCredentials("", SECRET)
    with pytest.raises(alisms.CredentialsError):
        StaticCredentials(KEY_ID, "")


def test_static_credentials_repr_is_redacted() -> None:
    shown = repr(StaticCredentials(KEY_ID, SECRET, TOKEN))
    assert shown.startswith("StaticCredentials(")
    assert KEY_ID in shown
    assert SECRET not in shown
    assert TOKEN not in shown


# -- EnvironmentCredentials ------------------------------------------------------------


def test_environment_credentials_from_a_mapping(monkeypatch: pytest.MonkeyPatch) -> None:
    # os.environ holds other values: the explicit mapping alone must be read.
    monkeypatch.setenv(ENV_ACCESS_KEY_ID, "os-id")
    monkeypatch.setenv(ENV_ACCESS_KEY_SECRET, "os-secret")
    monkeypatch.setenv(ENV_SECURITY_TOKEN, "os-token")
    provider = EnvironmentCredentials({ENV_ACCESS_KEY_ID: KEY_ID, ENV_ACCESS_KEY_SECRET: SECRET})
    assert provider.get_credentials() == Credentials(KEY_ID, SECRET)
    assert asyncio.run(provider.get_credentials_async()) == Credentials(KEY_ID, SECRET)


def test_environment_credentials_with_token() -> None:
    environ = {ENV_ACCESS_KEY_ID: KEY_ID, ENV_ACCESS_KEY_SECRET: SECRET, ENV_SECURITY_TOKEN: TOKEN}
    assert EnvironmentCredentials(environ).get_credentials() == Credentials(KEY_ID, SECRET, TOKEN)


def test_environment_credentials_trim_values() -> None:
    environ = {
        ENV_ACCESS_KEY_ID: f"  {KEY_ID}\n",
        ENV_ACCESS_KEY_SECRET: f"{SECRET} ",
        ENV_SECURITY_TOKEN: "   ",
    }
    assert EnvironmentCredentials(environ).get_credentials() == Credentials(KEY_ID, SECRET)


def test_environment_credentials_are_read_once() -> None:
    environ = {ENV_ACCESS_KEY_ID: KEY_ID, ENV_ACCESS_KEY_SECRET: SECRET}
    provider = EnvironmentCredentials(environ)
    environ[ENV_ACCESS_KEY_SECRET] = "changed"
    assert provider.get_credentials().access_key_secret == SECRET


def test_environment_credentials_read_os_environ_by_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(ENV_ACCESS_KEY_ID, KEY_ID)
    monkeypatch.setenv(ENV_ACCESS_KEY_SECRET, SECRET)
    assert EnvironmentCredentials().get_credentials() == Credentials(KEY_ID, SECRET)


@pytest.mark.parametrize(
    ("environ", "missing"),
    [
        ({}, [ENV_ACCESS_KEY_ID, ENV_ACCESS_KEY_SECRET]),
        (
            {ENV_ACCESS_KEY_ID: "", ENV_ACCESS_KEY_SECRET: " "},
            [ENV_ACCESS_KEY_ID, ENV_ACCESS_KEY_SECRET],
        ),
        ({ENV_ACCESS_KEY_ID: KEY_ID}, [ENV_ACCESS_KEY_SECRET]),
        ({ENV_ACCESS_KEY_SECRET: SECRET}, [ENV_ACCESS_KEY_ID]),
        ({ENV_SECURITY_TOKEN: TOKEN}, [ENV_ACCESS_KEY_ID, ENV_ACCESS_KEY_SECRET]),
    ],
)
def test_environment_credentials_missing(environ: dict[str, str], missing: list[str]) -> None:
    with pytest.raises(alisms.CredentialsError) as caught:
        EnvironmentCredentials(environ)
    error = caught.value
    assert error.message == f"no credentials: {' and '.join(missing)} " + (
        "is not set" if len(missing) == 1 else "are not set"
    )
    # The hint names both variables whichever is missing, and what else to do.
    assert ENV_ACCESS_KEY_ID in str(error)
    assert ENV_ACCESS_KEY_SECRET in str(error)
    assert "access_key_id=" in str(error)
    for value in (SECRET, TOKEN):
        assert value not in str(error)


def test_environment_credentials_repr_is_redacted() -> None:
    environ = {ENV_ACCESS_KEY_ID: KEY_ID, ENV_ACCESS_KEY_SECRET: SECRET, ENV_SECURITY_TOKEN: TOKEN}
    shown = repr(EnvironmentCredentials(environ))
    assert shown.startswith("EnvironmentCredentials(")
    assert KEY_ID in shown
    assert SECRET not in shown
    assert TOKEN not in shown


# -- the provider protocol ----------------------------------------------------------


class OnlySync:
    def get_credentials(self) -> Credentials:
        return Credentials(KEY_ID, SECRET)


class Both(OnlySync):
    async def get_credentials_async(self) -> Credentials:
        return Credentials(KEY_ID, SECRET)


def test_provider_protocol() -> None:
    environ = {ENV_ACCESS_KEY_ID: KEY_ID, ENV_ACCESS_KEY_SECRET: SECRET}
    assert isinstance(StaticCredentials(KEY_ID, SECRET), CredentialsProvider)
    assert isinstance(EnvironmentCredentials(environ), CredentialsProvider)
    assert isinstance(Both(), CredentialsProvider)
    assert not isinstance(OnlySync(), CredentialsProvider)
    assert not isinstance(Credentials(KEY_ID, SECRET), CredentialsProvider)


@settings(max_examples=500, deadline=None)
@given(
    text=st.text(
        alphabet=st.one_of(st.sampled_from("aZ09!~ \x7f\x1f\t\u00e9\ud800"), st.characters())
    )
)
def test_the_header_check_matches_the_pattern_it_replaces(text: str) -> None:
    assert _header_safe(text) is bool(re.fullmatch(r"[\x21-\x7e]+", text))
