"""The temporary-credential providers, the config-file providers and the default chain.

Everything runs against ``tests/fake_identity.py`` (a fake STS endpoint and ECS
metadata service on 127.0.0.1) and temporary files, with an injected clock.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import pytest
from fake_identity import FakeIdentity

import alisms
from alisms import _profiles, _sts
from alisms.testing import FakeSMSService, FakeTransport

SOURCE_ID = "source-fake-id"
SOURCE_SECRET = "source-Secret-Must-Not-Leak"
ROLE_ARN = "acs:ram::1234567890:role/sms-sender"
OIDC_ARN = "acs:ram::1234567890:oidc-provider/ack-rrsa"
OIDC_TOKEN = "eyJ-oidc-Token-Must-Not-Leak"


class Clock:
    """A settable UTC clock shared by a provider and the fake."""

    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def fake(clock: Clock) -> Iterator[FakeIdentity]:
    with FakeIdentity(
        source_keys={SOURCE_ID: SOURCE_SECRET}, oidc_token=OIDC_TOKEN, clock=clock
    ) as identity:
        yield identity


def ram_role(fake: FakeIdentity, clock: Clock, **kwargs: Any) -> alisms.RamRoleArnCredentials:
    return alisms.RamRoleArnCredentials(
        alisms.StaticCredentials(SOURCE_ID, SOURCE_SECRET),
        ROLE_ARN,
        sts_endpoint=fake.url,
        clock=clock,
        **kwargs,
    )


def all_secrets(fake: FakeIdentity) -> list[str]:
    issued = [value for _, secret, token in fake.issued for value in (secret, token)]
    return [SOURCE_SECRET, OIDC_TOKEN, *issued]


def assert_no_secret(text: str, fake: FakeIdentity) -> None:
    for secret in all_secrets(fake):
        assert secret not in text


# -- pure parts ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("endpoint", "environ", "url"),
    [
        (None, {}, "https://sts.aliyuncs.com/"),
        (
            None,
            {"ALIBABA_CLOUD_STS_REGION": "ap-southeast-1"},
            "https://sts.ap-southeast-1.aliyuncs.com/",
        ),
        (
            None,
            {
                "ALIBABA_CLOUD_STS_REGION": "cn-hangzhou",
                "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED": "true",
            },
            "https://sts-vpc.cn-hangzhou.aliyuncs.com/",
        ),
        ("sts.example.com", {"ALIBABA_CLOUD_STS_REGION": "x"}, "https://sts.example.com/"),
        ("http://127.0.0.1:8080", {}, "http://127.0.0.1:8080/"),
        ("http://localhost:1/", {}, "http://localhost:1/"),
        ("http://[::1]:8080", {}, "http://[::1]:8080/"),
    ],
)
def test_sts_endpoint(endpoint: str | None, environ: dict[str, str], url: str) -> None:
    assert _sts.sts_endpoint(endpoint, environ).url == url


@pytest.mark.parametrize("endpoint", ["http://sts.example.com", "ftp://x", "https://h/path"])
def test_sts_endpoint_refuses(endpoint: str) -> None:
    with pytest.raises(alisms.CredentialsError):
        _sts.sts_endpoint(endpoint, {})


def test_anonymous_request_has_no_authorization() -> None:
    headers, body = _sts.build_request(
        "AssumeRoleWithOIDC",
        _sts.oidc_params(ROLE_ARN, OIDC_ARN, OIDC_TOKEN, "s", 900),
        endpoint=_sts.StsEndpoint("https", "sts.aliyuncs.com"),
        credentials=None,
        date=datetime(2026, 1, 1, tzinfo=UTC),
        nonce="n",
    )
    assert "authorization" not in headers
    assert headers["x-acs-action"] == "AssumeRoleWithOIDC"
    assert headers["x-acs-version"] == "2015-04-01"
    assert headers["x-acs-date"] == "2026-01-01T00:00:00Z"
    assert b"OIDCToken=" in body and b"DurationSeconds=900" in body


def test_refresh_decision() -> None:
    start = datetime(2026, 1, 1, tzinfo=UTC)
    hour = _sts.Temporary(alisms.Credentials("id", "s"), start + timedelta(hours=1), start)
    assert not hour.stale(start + timedelta(minutes=47))
    assert hour.stale(start + timedelta(minutes=48))  # 1/5 of an hour left
    assert not hour.expired(start + timedelta(minutes=59))
    assert hour.expired(start + timedelta(minutes=59, seconds=31))
    six = _sts.Temporary(alisms.Credentials("id", "s"), start + timedelta(hours=6), start)
    assert not six.stale(start + timedelta(hours=5, minutes=44))
    assert six.stale(start + timedelta(hours=5, minutes=45))  # 15 minutes left
    short = _sts.Temporary(alisms.Credentials("id", "s"), start + timedelta(minutes=15), start)
    assert not short.stale(start + timedelta(minutes=11))
    assert short.stale(start + timedelta(minutes=12))
    hidden = _sts.Temporary(alisms.Credentials("id", "s3cr3t", "t0k3n"), start, start)
    assert "s3cr3t" not in repr(hidden) and "t0k3n" not in repr(hidden)


def test_parse_response_error_is_scrubbed() -> None:
    body = json.dumps(
        {"RequestId": "R1", "Code": "InvalidParameter.OIDCToken", "Message": f"bad {OIDC_TOKEN}"}
    ).encode()
    with pytest.raises(alisms.CredentialsError) as caught:
        _sts.parse_response(
            "AssumeRoleWithOIDC",
            400,
            body,
            fetched_at=datetime.now(UTC),
            known_secrets=[OIDC_TOKEN],
        )
    error = caught.value
    assert (error.code, error.request_id, error.http_status) == (
        "InvalidParameter.OIDCToken",
        "R1",
        400,
    )
    assert OIDC_TOKEN not in str(error) and "<redacted>" in str(error)


@pytest.mark.parametrize(
    "body",
    [
        b"<html>gateway</html>",
        b'{"RequestId": "R", "Credentials": {"AccessKeyId": "x"}}',
        b'{"Credentials": {"AccessKeyId": "a", "AccessKeySecret": "b", "Expiration": "soon"}}',
    ],
)
def test_parse_response_refuses_bad_answers(body: bytes) -> None:
    with pytest.raises(alisms.CredentialsError):
        _sts.parse_response("AssumeRole", 200, body, fetched_at=datetime.now(UTC))


CLI_CONFIG = {
    "current": "ak",
    "profiles": [
        {"name": "ak", "mode": "AK", "access_key_id": "cli-id", "access_key_secret": "cli-s"},
        {
            "name": "sts",
            "mode": "StsToken",
            "access_key_id": "STS.cli",
            "access_key_secret": "cli-s",
            "sts_token": "cli-token",
        },
        {
            "name": "role",
            "mode": "RamRoleArn",
            "access_key_id": SOURCE_ID,
            "access_key_secret": SOURCE_SECRET,
            "ram_role_arn": ROLE_ARN,
            "ram_session_name": "cli-session",
            "expired_seconds": 900,
        },
        {"name": "ecs", "mode": "EcsRamRole", "ram_role_name": "sms-role"},
        {"name": "sso", "mode": "CloudSSO"},
        {"name": "broken", "mode": "AK", "access_key_id": "x"},
    ],
}


def test_parse_cli_config() -> None:
    text = json.dumps(CLI_CONFIG)
    assert _profiles.parse_cli_config(text, None).name == "ak"
    sts = _profiles.parse_cli_config(text, "sts")
    assert (sts.kind, sts.values["security_token"]) == ("sts", "cli-token")
    role = _profiles.parse_cli_config(text, "role")
    assert role.kind == "ram_role_arn"
    assert role.values["duration_seconds"] == "900"
    assert role.values["role_session_name"] == "cli-session"
    assert _profiles.parse_cli_config(text, "ecs").values == {"role_name": "sms-role"}
    assert SOURCE_SECRET not in repr(role)
    for profile, fragment in [
        ("sso", "CloudSSO"),
        ("broken", "access_key_secret"),
        ("nope", "no profile"),
    ]:
        with pytest.raises(alisms.CredentialsError, match=fragment):
            _profiles.parse_cli_config(text, profile)
    with pytest.raises(alisms.CredentialsError, match="JSON"):
        _profiles.parse_cli_config("{", None)


INI = f"""
[default]
type = access_key
access_key_id = ini-id
access_key_secret = ini-secret

[role]
type = ram_role_arn
access_key_id = {SOURCE_ID}
access_key_secret = {SOURCE_SECRET}
role_arn = {ROLE_ARN}
role_session_name = ini-session

[ecs]
type = ecs_ram_role
role_name = sms-role

[oidc]
type = oidc_role_arn
role_arn = {ROLE_ARN}
oidc_provider_arn = {OIDC_ARN}
oidc_token_file_path = /var/run/token

[odd]
type = bearer
"""


def test_parse_credentials_ini() -> None:
    default = _profiles.parse_credentials_ini(INI, None)
    assert (default.kind, default.values["access_key_id"]) == ("access_key", "ini-id")
    role = _profiles.parse_credentials_ini(INI, "role")
    assert (role.kind, role.values["role_arn"]) == ("ram_role_arn", ROLE_ARN)
    assert _profiles.parse_credentials_ini(INI, "ecs").values == {"role_name": "sms-role"}
    oidc = _profiles.parse_credentials_ini(INI, "oidc")
    assert oidc.values["oidc_token_file"] == "/var/run/token"
    with pytest.raises(alisms.CredentialsError, match="bearer"):
        _profiles.parse_credentials_ini(INI, "odd")
    with pytest.raises(alisms.CredentialsError, match=r"no section \[nope\]"):
        _profiles.parse_credentials_ini(INI, "nope")


# -- RAM role (AssumeRole) -------------------------------------------------------------


def test_ram_role_fetches_caches_and_refreshes(fake: FakeIdentity, clock: Clock) -> None:
    provider = ram_role(fake, clock, role_session_name="session-1", policy='{"Version":"1"}')
    first = provider.get_credentials()
    assert (first.access_key_id, first.security_token) == ("STS.id-1", "CAIS-token-1-Must-Not-Leak")
    assert provider.get_credentials() is first
    [call] = fake.sts_calls("AssumeRole")
    assert call.headers["authorization"].startswith(f"ACS3-HMAC-SHA256 Credential={SOURCE_ID},")
    assert call.form == {
        "RoleArn": ROLE_ARN,
        "RoleSessionName": "session-1",
        "DurationSeconds": "3600",
        "Policy": '{"Version":"1"}',
    }
    clock.advance(minutes=47)
    assert provider.get_credentials() is first
    clock.advance(minutes=1)  # 12 minutes (1/5 of the lifetime) left: refresh
    second = provider.get_credentials()
    assert second.access_key_id == "STS.id-2"
    assert len(fake.sts_calls()) == 2


def test_ram_role_async(fake: FakeIdentity, clock: Clock) -> None:
    provider = ram_role(fake, clock)

    async def main() -> list[alisms.Credentials]:
        first = await provider.get_credentials_async()
        again = await provider.get_credentials_async()
        clock.advance(minutes=50)
        return [first, again, await provider.get_credentials_async()]

    first, again, refreshed = asyncio.run(main())
    assert first is again and refreshed.access_key_id == "STS.id-2"
    assert [c.form["RoleSessionName"].startswith("alisms-") for c in fake.sts_calls()] == [
        True,
        True,
    ]


def test_ram_role_accepts_credentials_and_refuses_bad_arguments(
    fake: FakeIdentity, clock: Clock
) -> None:
    provider = alisms.RamRoleArnCredentials(
        alisms.Credentials(SOURCE_ID, SOURCE_SECRET), ROLE_ARN, sts_endpoint=fake.url, clock=clock
    )
    assert provider.get_credentials().access_key_id == "STS.id-1"
    with pytest.raises(alisms.CredentialsError, match="role_arn"):
        alisms.RamRoleArnCredentials(alisms.Credentials(SOURCE_ID, SOURCE_SECRET), " ")
    with pytest.raises(alisms.CredentialsError, match="900"):
        alisms.RamRoleArnCredentials(
            alisms.Credentials(SOURCE_ID, SOURCE_SECRET), ROLE_ARN, duration_seconds=60
        )
    with pytest.raises(alisms.CredentialsError, match="source="):
        alisms.RamRoleArnCredentials("id:secret", ROLE_ARN)  # type: ignore[arg-type]


def test_wrong_source_secret_is_a_clear_error(fake: FakeIdentity, clock: Clock) -> None:
    provider = alisms.RamRoleArnCredentials(
        alisms.StaticCredentials(SOURCE_ID, "wrong-Secret-Must-Not-Leak"),
        ROLE_ARN,
        sts_endpoint=fake.url,
        clock=clock,
    )
    with pytest.raises(alisms.CredentialsError) as caught:
        provider.get_credentials()
    assert caught.value.code == "SignatureDoesNotMatch"
    assert "AssumeRole" in str(caught.value)
    assert "wrong-Secret-Must-Not-Leak" not in str(caught.value)


def test_many_threads_share_one_fetch(fake: FakeIdentity, clock: Clock) -> None:
    fake.delay = 0.2
    provider = ram_role(fake, clock)
    barrier = threading.Barrier(16)
    got: list[alisms.Credentials] = []

    def ask() -> None:
        barrier.wait()
        got.append(provider.get_credentials())

    threads = [threading.Thread(target=ask) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fake.sts_calls()) == 1
    assert len(got) == 16 and len({id(c) for c in got}) == 1


def test_many_tasks_share_one_fetch(fake: FakeIdentity, clock: Clock) -> None:
    fake.delay = 0.2
    provider = ram_role(fake, clock)

    async def main() -> list[alisms.Credentials]:
        return await asyncio.gather(*(provider.get_credentials_async() for _ in range(16)))

    got = asyncio.run(main())
    assert len(fake.sts_calls()) == 1
    assert len({id(c) for c in got}) == 1
    clock.advance(minutes=50)
    again = asyncio.run(main())  # a refresh under a new event loop, still one fetch
    assert len(fake.sts_calls()) == 2 and {c.access_key_id for c in again} == {"STS.id-2"}


def test_many_trio_tasks_share_one_fetch(fake: FakeIdentity, clock: Clock) -> None:
    fake.delay = 0.2
    provider = ram_role(fake, clock)
    got: list[alisms.Credentials] = []

    async def ask() -> None:
        got.append(await provider.get_credentials_async())

    async def main() -> None:
        async with anyio.create_task_group() as group:
            for _ in range(8):
                group.start_soon(ask)

    anyio.run(main, backend="trio")
    assert len(fake.sts_calls()) == 1 and len(got) == 8


def test_failed_refresh_keeps_valid_credentials_then_fails_clearly(
    fake: FakeIdentity, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    provider = ram_role(fake, clock)
    first = provider.get_credentials()
    clock.advance(minutes=50)
    fake.fail_next(503, {"RequestId": "R-5", "Code": "ServiceUnavailable", "Message": "busy"}, 99)
    with caplog.at_level(logging.WARNING, logger="alisms"):
        assert provider.get_credentials() is first
    assert "ServiceUnavailable" in caplog.text or "busy" in caplog.text
    assert len(fake.sts_calls()) == 2
    clock.advance(seconds=5)  # within the retry pause: no new call
    assert provider.get_credentials() is first
    assert len(fake.sts_calls()) == 2
    clock.advance(seconds=6)
    assert provider.get_credentials() is first
    assert len(fake.sts_calls()) == 3
    clock.advance(minutes=10)  # past the expiration (minus the margin)
    with pytest.raises(alisms.CredentialsError) as caught:
        provider.get_credentials()
    text = str(caught.value)
    assert "expired at 2026-03-01T13:00:00+00:00" in text and "busy" in text
    assert caught.value.code == "ServiceUnavailable"
    assert_no_secret(text + caplog.text, fake)
    fake.failures.clear()
    assert provider.get_credentials().access_key_id == "STS.id-2"


def test_failed_refresh_async(fake: FakeIdentity, clock: Clock) -> None:
    provider = ram_role(fake, clock)

    async def main() -> None:
        first = await provider.get_credentials_async()
        clock.advance(minutes=50)
        fake.fail_next(500, b"<html>oops</html>", 99)
        assert await provider.get_credentials_async() is first
        clock.advance(minutes=20)
        with pytest.raises(alisms.CredentialsError, match="not JSON"):
            await provider.get_credentials_async()

    asyncio.run(main())


def test_credentials_already_expired_are_refused(fake: FakeIdentity, clock: Clock) -> None:
    fake.lifetime = timedelta(seconds=10)
    with pytest.raises(alisms.CredentialsError, match="clock"):
        ram_role(fake, clock).get_credentials()


def test_unreachable_sts(clock: Clock) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    provider = alisms.RamRoleArnCredentials(
        alisms.Credentials(SOURCE_ID, SOURCE_SECRET),
        ROLE_ARN,
        sts_endpoint=f"http://127.0.0.1:{port}",
        clock=clock,
    )
    with pytest.raises(alisms.CredentialsError, match="could not reach STS"):
        provider.get_credentials()
    with pytest.raises(alisms.CredentialsError, match="could not reach STS"):
        asyncio.run(provider.get_credentials_async())


# -- OIDC ------------------------------------------------------------------------------


def oidc_environ(token_file: Path) -> dict[str, str]:
    return {
        "ALIBABA_CLOUD_ROLE_ARN": ROLE_ARN,
        "ALIBABA_CLOUD_OIDC_PROVIDER_ARN": OIDC_ARN,
        "ALIBABA_CLOUD_OIDC_TOKEN_FILE": str(token_file),
        "ALIBABA_CLOUD_ROLE_SESSION_NAME": "pod-session",
    }


def test_oidc_reads_the_token_file_on_each_refresh(
    fake: FakeIdentity, clock: Clock, tmp_path: Path
) -> None:
    token_file = tmp_path / "token"
    token_file.write_text(OIDC_TOKEN + "\n")
    provider = alisms.OIDCRoleArnCredentials(
        environ=oidc_environ(token_file), sts_endpoint=fake.url, clock=clock
    )
    assert provider.get_credentials().access_key_id == "STS.id-1"
    [call] = fake.sts_calls("AssumeRoleWithOIDC")
    assert "authorization" not in call.headers
    assert call.form == {
        "RoleArn": ROLE_ARN,
        "OIDCProviderArn": OIDC_ARN,
        "OIDCToken": OIDC_TOKEN,
        "RoleSessionName": "pod-session",
        "DurationSeconds": "3600",
    }
    rotated = OIDC_TOKEN + "-rotated"
    token_file.write_text(rotated)
    fake.oidc_token = rotated
    clock.advance(minutes=50)
    assert provider.get_credentials().access_key_id == "STS.id-2"

    async def refresh() -> alisms.Credentials:
        return await provider.get_credentials_async()

    rotated_again = OIDC_TOKEN + "-again"
    token_file.write_text(rotated_again)
    fake.oidc_token = rotated_again
    clock.advance(minutes=50)
    assert asyncio.run(refresh()).access_key_id == "STS.id-3"
    assert [c.form["OIDCToken"] for c in fake.sts_calls()] == [OIDC_TOKEN, rotated, rotated_again]
    assert OIDC_TOKEN not in repr(provider) and str(token_file) in repr(provider)


def test_oidc_refused_token_is_not_echoed(fake: FakeIdentity, clock: Clock, tmp_path: Path) -> None:
    token_file = tmp_path / "token"
    wrong = "eyJ-wrong-Token-Must-Not-Leak"
    token_file.write_text(wrong)
    provider = alisms.OIDCRoleArnCredentials(
        ROLE_ARN, OIDC_ARN, token_file, sts_endpoint=fake.url, clock=clock
    )
    with pytest.raises(alisms.CredentialsError) as caught:
        provider.get_credentials()
    assert caught.value.code == "InvalidParameter.OIDCToken"
    assert wrong not in str(caught.value) and "<redacted>" in str(caught.value)


def test_oidc_missing_settings_and_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(alisms.CredentialsError) as caught:
        alisms.OIDCRoleArnCredentials(environ={"ALIBABA_CLOUD_ROLE_ARN": ROLE_ARN})
    assert "ALIBABA_CLOUD_OIDC_PROVIDER_ARN" in str(caught.value)
    assert "ALIBABA_CLOUD_OIDC_TOKEN_FILE" in str(caught.value)
    provider = alisms.OIDCRoleArnCredentials(ROLE_ARN, OIDC_ARN, tmp_path / "absent")
    with pytest.raises(alisms.CredentialsError, match="cannot read the OIDC token file"):
        provider.get_credentials()
    with pytest.raises(alisms.CredentialsError, match="cannot read the OIDC token file"):
        asyncio.run(provider.get_credentials_async())
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(alisms.CredentialsError, match="empty"):
        alisms.OIDCRoleArnCredentials(ROLE_ARN, OIDC_ARN, tmp_path / "empty").get_credentials()


# -- ECS RAM role (IMDS) -----------------------------------------------------------------


def test_ecs_role_uses_an_imdsv2_token(fake: FakeIdentity, clock: Clock) -> None:
    fake.require_imds_token = True
    provider = alisms.EcsRamRoleCredentials(metadata_endpoint=fake.url, environ={}, clock=clock)
    credentials = provider.get_credentials()
    assert credentials.access_key_id == "STS.id-1" and credentials.security_token
    assert fake.count("PUT", "/latest/api/token") == 1
    assert fake.count("GET") == 2  # the role name, then its credentials
    assert "sms-role" in repr(provider)
    assert provider.get_credentials() is credentials
    fake.lifetime = timedelta(hours=6)
    clock.advance(minutes=50)
    assert asyncio.run(provider.get_credentials_async()).access_key_id == "STS.id-2"
    assert fake.count("GET") == 3  # the discovered role name is remembered


def test_ecs_role_falls_back_to_imdsv1(fake: FakeIdentity, clock: Clock) -> None:
    fake.imds_v2 = False
    provider = alisms.EcsRamRoleCredentials(
        "sms-role", metadata_endpoint=fake.url, environ={}, clock=clock
    )
    assert provider.get_credentials().access_key_id == "STS.id-1"
    gets = [r for r in fake.requests if r.method == "GET"]
    assert len(gets) == 1 and "x-aliyun-ecs-metadata-token" not in gets[0].headers


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_imdsv1_disabled(fake: FakeIdentity, clock: Clock, kind: str) -> None:
    fake.imds_v2 = False
    provider = alisms.EcsRamRoleCredentials(
        metadata_endpoint=fake.url,
        environ={"ALIBABA_CLOUD_IMDSV1_DISABLED": "true"},
        clock=clock,
    )
    with pytest.raises(alisms.CredentialsError, match="ALIBABA_CLOUD_IMDSV1_DISABLED"):
        if kind == "sync":
            provider.get_credentials()
        else:
            asyncio.run(provider.get_credentials_async())
    assert fake.count("GET") == 0


def test_ecs_role_from_the_environment_and_errors(fake: FakeIdentity, clock: Clock) -> None:
    provider = alisms.EcsRamRoleCredentials(
        metadata_endpoint=fake.url, environ={"ALIBABA_CLOUD_ECS_METADATA": "other"}, clock=clock
    )
    with pytest.raises(alisms.CredentialsError, match="'other'"):
        provider.get_credentials()
    fake.fail_next(200, {"Code": "Failed"})
    with pytest.raises(alisms.CredentialsError, match="Failed"):
        alisms.EcsRamRoleCredentials(
            "sms-role", metadata_endpoint=fake.url, environ={}, clock=clock
        ).get_credentials()
    with pytest.raises(alisms.CredentialsError, match="ALIBABA_CLOUD_ECS_METADATA_DISABLED"):
        alisms.EcsRamRoleCredentials(environ={"ALIBABA_CLOUD_ECS_METADATA_DISABLED": "true"})


def test_ecs_role_unreachable_names_the_switch(clock: Clock) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    provider = alisms.EcsRamRoleCredentials(
        metadata_endpoint=f"http://127.0.0.1:{port}", environ={}, clock=clock
    )
    with pytest.raises(alisms.CredentialsError) as caught:
        provider.get_credentials()
    assert "ALIBABA_CLOUD_ECS_METADATA_DISABLED" in str(caught.value)


# -- credentials URI ---------------------------------------------------------------------


def test_uri_fetches_caches_and_refreshes(fake: FakeIdentity, clock: Clock) -> None:
    provider = alisms.URICredentials(fake.uri, environ={}, clock=clock)
    credentials = provider.get_credentials()
    assert credentials == alisms.Credentials(*fake.issued[0])
    assert provider.get_credentials() is credentials
    [request] = fake.requests
    assert request.method == "GET" and request.path == "/credentials-uri"
    assert "alisms" in request.headers["user-agent"]
    clock.advance(minutes=40)  # within 12 minutes of the one-hour expiry: still cached
    assert provider.get_credentials() is credentials
    clock.advance(minutes=9)  # now within them: refreshed
    assert provider.get_credentials().access_key_id == "STS.id-2"
    clock.advance(hours=2)  # the second ones have expired too: the async path refreshes
    assert asyncio.run(provider.get_credentials_async()).access_key_id == "STS.id-3"
    assert fake.count("GET", "/credentials-uri") == 3
    assert repr(provider) == f"URICredentials(uri={fake.uri!r})"
    assert_no_secret(repr(provider), fake)


def test_uri_from_the_environment_hides_its_token(fake: FakeIdentity, clock: Clock) -> None:
    uri = (
        fake.uri.replace("http://", "http://user:Pass-Must-Not-Leak@") + "?token=Tok-Must-Not-Leak"
    )
    provider = alisms.URICredentials(environ={"ALIBABA_CLOUD_CREDENTIALS_URI": uri}, clock=clock)
    assert asyncio.run(provider.get_credentials_async()).access_key_id == "STS.id-1"
    assert fake.requests[0].path == "/credentials-uri?token=Tok-Must-Not-Leak"
    fake.fail_next(403, {"Code": "Forbidden", "Message": "bad token Tok-Must-Not-Leak"})
    provider.invalidate()
    with pytest.raises(alisms.CredentialsError) as caught:
        provider.get_credentials()
    text = str(caught.value) + repr(provider)
    assert "Forbidden: the credentials URI" in text and "(HTTP 403)" in text
    assert "bad token <redacted>" in text
    assert "Must-Not-Leak" not in text


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_uri_non_success_code(fake: FakeIdentity, clock: Clock, kind: str) -> None:
    provider = alisms.URICredentials(fake.uri, environ={}, clock=clock)
    secret = "refused-Secret-Must-Not-Leak"
    fake.fail_next(
        200,
        {"Code": "Failed", "Message": f"no role; had {secret}", "AccessKeySecret": secret},
    )
    with pytest.raises(alisms.CredentialsError) as caught:
        if kind == "sync":
            provider.get_credentials()
        else:
            asyncio.run(provider.get_credentials_async())
    assert caught.value.code == "Failed" and caught.value.http_status == 200
    assert str(caught.value).startswith("Failed: the credentials URI http://127.0.0.1:")
    assert "refused the credentials: no role; had <redacted> (HTTP 200)" in str(caught.value)
    assert secret not in str(caught.value)


@pytest.mark.parametrize(
    "body",
    [
        b'{"Code": "Success", "AccessKeySecret": "cut-Secret-Must-Not-Leak", "Acc',
        b"<html>Bad Gateway</html>",
        b'["Success"]',
        b"\xff\xfe",
    ],
)
def test_uri_malformed_answer(fake: FakeIdentity, clock: Clock, body: bytes) -> None:
    provider = alisms.URICredentials(fake.uri, environ={}, clock=clock)
    fake.fail_next(200, body)
    with pytest.raises(alisms.CredentialsError, match="not a JSON object") as caught:
        provider.get_credentials()
    assert "Must-Not-Leak" not in str(caught.value) and "Bad Gateway" not in str(caught.value)
    fake.fail_next(200, {"Code": "Success", "AccessKeyId": "id"})
    with pytest.raises(alisms.CredentialsError, match="unusable credentials"):
        provider.get_credentials()


def test_uri_failed_refresh_keeps_valid_credentials(fake: FakeIdentity, clock: Clock) -> None:
    provider = alisms.URICredentials(fake.uri, environ={}, clock=clock)
    first = provider.get_credentials()
    clock.advance(minutes=50)
    fake.fail_next(500, b"oops")
    assert provider.get_credentials() is first
    clock.advance(minutes=10)
    fake.fail_next(500, b"oops")
    with pytest.raises(alisms.CredentialsError, match="expired at"):
        provider.get_credentials()


@pytest.mark.parametrize(
    ("uri", "match"),
    [
        (None, "ALIBABA_CLOUD_CREDENTIALS_URI"),
        ("  ", "ALIBABA_CLOUD_CREDENTIALS_URI"),
        ("ftp://127.0.0.1/creds", "http:// or https://"),
        ("/relative/path", "http:// or https://"),
        ("http://127.0.0.1:99999/", "invalid port"),
        ("http://sidecar:8080/creds?t=Tok-Must-Not-Leak", "plain HTTP"),
        ("http://10.0.0.8/creds", "plain HTTP"),
    ],
)
def test_uri_refuses_bad_uris(uri: str | None, match: str) -> None:
    with pytest.raises(alisms.CredentialsError, match=match) as caught:
        alisms.URICredentials(uri, environ={})
    assert "Must-Not-Leak" not in str(caught.value)


def test_uri_schemes_and_hosts_accepted() -> None:
    for uri in ("https://creds.example.com/v1", "http://localhost:9000/", "http://[::1]:9000/c"):
        assert alisms.URICredentials(uri, environ={})
    allowed = alisms.URICredentials("http://sidecar:8080/creds", allow_http=True, environ={})
    assert repr(allowed) == "URICredentials(uri='http://sidecar:8080/creds')"


def test_uri_unreachable(clock: Clock) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    provider = alisms.URICredentials(f"http://127.0.0.1:{port}/c", environ={}, clock=clock)
    with pytest.raises(alisms.CredentialsError, match="could not reach the credentials URI"):
        provider.get_credentials()


# -- config files ------------------------------------------------------------------------


def write_cli_config(home: Path) -> Path:
    path = home / ".aliyun" / "config.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(CLI_CONFIG))
    return path


def write_ini(path: Path, text: str = INI) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def test_cli_profiles(
    fake: FakeIdentity, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_cli_config(tmp_path)
    current = alisms.CLIProfileCredentials(path=path)
    assert current.get_credentials() == alisms.Credentials("cli-id", "cli-s")
    sts = alisms.CLIProfileCredentials("sts", path=path)
    assert asyncio.run(sts.get_credentials_async()).security_token == "cli-token"
    monkeypatch.setenv("ALIBABA_CLOUD_PROFILE", "role")
    role = alisms.CLIProfileCredentials(path=path, sts_endpoint=fake.url, clock=clock)
    assert role.get_credentials().access_key_id == "STS.id-1"
    [call] = fake.sts_calls("AssumeRole")
    assert call.form["RoleSessionName"] == "cli-session"
    assert call.form["DurationSeconds"] == "900"
    ecs = alisms.CLIProfileCredentials(
        "ecs", path=path, metadata_endpoint=fake.url, environ={}, clock=clock
    )
    assert ecs.get_credentials().access_key_id == "STS.id-2"
    assert SOURCE_SECRET not in repr(role) and "RamRoleArnCredentials" in repr(role)
    with pytest.raises(alisms.CredentialsError, match="cannot read the aliyun CLI config"):
        alisms.CLIProfileCredentials(path=tmp_path / "absent.json").get_credentials()


def test_credentials_file(
    fake: FakeIdentity, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write_ini(tmp_path / "elsewhere.ini")
    monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_FILE", str(path))
    assert alisms.CredentialsFileCredentials().get_credentials().access_key_id == "ini-id"
    role = alisms.CredentialsFileCredentials("role", sts_endpoint=fake.url, clock=clock)
    assert asyncio.run(role.get_credentials_async()).access_key_id == "STS.id-1"
    assert fake.sts_calls()[0].form["RoleSessionName"] == "ini-session"
    monkeypatch.setenv("ALIBABA_CLOUD_PROFILE", "ecs")
    monkeypatch.delenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED")
    ecs = alisms.CredentialsFileCredentials(metadata_endpoint=fake.url, clock=clock)
    assert ecs.get_credentials().access_key_id == "STS.id-2"


# -- the default chain -------------------------------------------------------------------


def chain(fake: FakeIdentity, clock: Clock) -> alisms.DefaultCredentialsChain:
    return alisms.DefaultCredentialsChain(
        sts_endpoint=fake.url, metadata_endpoint=fake.url, clock=clock
    )


def test_chain_nothing_found_lists_what_was_tried(tmp_path: Path) -> None:
    chain = alisms.DefaultCredentialsChain()  # conftest: empty HOME, IMDS disabled
    assert chain.provider is None
    with pytest.raises(alisms.CredentialsError) as caught:
        chain.get_credentials()
    text = str(caught.value)
    for fragment in (
        "environment: ALIBABA_CLOUD_ACCESS_KEY_ID and ALIBABA_CLOUD_ACCESS_KEY_SECRET are not set",
        "OIDC role: ALIBABA_CLOUD_ROLE_ARN, ALIBABA_CLOUD_OIDC_PROVIDER_ARN and "
        "ALIBABA_CLOUD_OIDC_TOKEN_FILE are not all set",
        "aliyun CLI config:",
        "config.json does not exist",
        "credentials file:",
        "credentials.ini does not exist",
        "ECS RAM role: disabled by ALIBABA_CLOUD_ECS_METADATA_DISABLED=true",
        "credentials URI: ALIBABA_CLOUD_CREDENTIALS_URI is not set",
    ):
        assert fragment in text
    with pytest.raises(alisms.CredentialsError, match="ECS RAM role"):
        asyncio.run(chain.get_credentials_async())


def test_chain_order(
    fake: FakeIdentity, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = Path.home()
    monkeypatch.delenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED")
    fake.role_name = "sms-role"
    # 5. only the metadata service
    only_imds = chain(fake, clock)
    assert only_imds.get_credentials().access_key_id == "STS.id-1"
    assert isinstance(only_imds.provider, alisms.EcsRamRoleCredentials)
    # 4. the credentials file wins over the metadata service
    ini = write_ini(tmp_path / "credentials.ini")
    monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_FILE", str(ini))
    assert chain(fake, clock).get_credentials().access_key_id == "ini-id"
    # 3. the CLI config wins over the credentials file
    monkeypatch.setenv("HOME", str(tmp_path))
    write_cli_config(tmp_path)
    assert chain(fake, clock).get_credentials().access_key_id == "cli-id"
    monkeypatch.setenv("ALIBABA_CLOUD_CLI_PROFILE_DISABLED", "true")
    assert chain(fake, clock).get_credentials().access_key_id == "ini-id"
    # 2. OIDC wins over the files
    token_file = tmp_path / "token"
    token_file.write_text(OIDC_TOKEN)
    for name, value in oidc_environ(token_file).items():
        monkeypatch.setenv(name, value)
    oidc = chain(fake, clock)
    assert asyncio.run(oidc.get_credentials_async()).access_key_id == "STS.id-2"
    assert isinstance(oidc.provider, alisms.OIDCRoleArnCredentials)
    # 1. the environment wins over everything
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "env-id")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "env-Secret-Must-Not-Leak")
    env = chain(fake, clock)
    assert env.get_credentials().access_key_id == "env-id"
    assert "env-Secret-Must-Not-Leak" not in repr(env)
    assert "EnvironmentCredentials" in repr(env)
    assert home != tmp_path


def test_chain_goes_on_past_a_failing_source_and_remembers(
    fake: FakeIdentity, clock: Clock, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED")
    ini = write_ini(tmp_path / "credentials.ini", "[default]\ntype = bearer\n")
    monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_FILE", str(ini))
    found = chain(fake, clock)
    assert found.get_credentials().access_key_id == "STS.id-1"
    assert found.get_credentials().access_key_id == "STS.id-1"
    assert fake.count("GET", "/latest/meta-data/ram/security-credentials/sms-role") == 1
    fake.fail_next(404, b"Not Found")
    with pytest.raises(alisms.CredentialsError) as caught:
        chain(fake, clock).get_credentials()
    assert "credentials file: " in str(caught.value) and "'bearer'" in str(caught.value)
    assert "ECS RAM role: the ECS metadata service has no credentials" in str(caught.value)


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_chain_uses_the_credentials_uri_last(
    fake: FakeIdentity, clock: Clock, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_URI", fake.uri)
    found = chain(fake, clock)
    found.check()  # the URI counts as a possible source
    if kind == "sync":
        credentials = found.get_credentials()
    else:
        credentials = asyncio.run(found.get_credentials_async())
    assert credentials.access_key_id == "STS.id-1"
    assert isinstance(found.provider, alisms.URICredentials)
    assert [name for name, _ in found.steps()][-1] == "credentials URI"
    # an earlier source wins over it
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_ID", "env-id")
    monkeypatch.setenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET", "env-Secret-Must-Not-Leak")
    assert chain(fake, clock).get_credentials().access_key_id == "env-id"
    assert fake.count("GET", "/credentials-uri") == 1


def test_chain_with_a_refused_or_failing_uri(
    fake: FakeIdentity, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_URI", "http://sidecar:8080/creds")
    with pytest.raises(alisms.CredentialsError, match=r"credentials URI: .*plain HTTP"):
        chain(fake, clock).check()
    with pytest.raises(alisms.CredentialsError, match="no credentials found"):
        alisms.Client()  # the constructor checks the chain
    monkeypatch.setenv("ALIBABA_CLOUD_CREDENTIALS_URI", fake.uri)
    fake.fail_next(200, {"Code": "Failed"})
    with pytest.raises(alisms.CredentialsError) as caught:
        chain(fake, clock).get_credentials()
    assert "credentials URI: Failed: the credentials URI" in str(caught.value)


def test_chain_threads_share_one_resolution(
    fake: FakeIdentity, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED")
    fake.delay = 0.1
    provider = chain(fake, clock)
    barrier = threading.Barrier(8)

    def ask() -> None:
        barrier.wait()
        provider.get_credentials()

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(fake.issued) == 1


# -- through the client -------------------------------------------------------------------


def test_client_without_credentials_uses_the_chain(tmp_path: Path) -> None:
    write_ini(Path.home() / ".alibabacloud" / "credentials.ini")
    try:
        service = FakeSMSService(access_keys={"ini-id": "ini-secret"})
        with alisms.Client(
            transport=FakeTransport(service), endpoint=service.endpoint, rate_limits=None
        ) as client:
            assert "DefaultCredentialsChain" in repr(client)
            client.send_message_to_globe("85212345678", "from the credentials file")
        assert [m.to for m in service.messages] == ["85212345678"]
    finally:
        (Path.home() / ".alibabacloud" / "credentials.ini").unlink()


def test_client_without_credentials_may_wait_for_the_metadata_service(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ALIBABA_CLOUD_ECS_METADATA_DISABLED")
    client = alisms.Client()  # no I/O yet: the metadata service might answer
    assert "DefaultCredentialsChain(provider=None)" in repr(client)
    client.close()


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_end_to_end_with_a_ram_role(fake: FakeIdentity, clock: Clock, kind: str) -> None:
    fake.clock = lambda: datetime.now(UTC)
    provider = alisms.RamRoleArnCredentials(
        alisms.StaticCredentials(SOURCE_ID, SOURCE_SECRET), ROLE_ARN, sts_endpoint=fake.url
    )
    issued = ("STS.id-1", "secret-1-Must-Not-Leak", "CAIS-token-1-Must-Not-Leak")
    service = FakeSMSService(access_keys={issued[0]: issued[1]}, sts_tokens={issued[0]: issued[2]})
    options: dict[str, Any] = {
        "credentials": provider,
        "transport": FakeTransport(service),
        "endpoint": service.endpoint,
        "rate_limits": None,
    }
    if kind == "sync":
        with alisms.Client(**options) as client:
            client.send_message_to_globe("85212345678", "one")
            client.send_message_to_globe("85212345679", "two")
    else:

        async def main() -> None:
            async with alisms.AsyncClient(**options) as client:
                await client.send_message_to_globe("85212345678", "one")
                await client.send_message_to_globe("85212345679", "two")

        asyncio.run(main())
    assert len(service.messages) == 2
    assert len(fake.sts_calls("AssumeRole")) == 1
    assert fake.issued == [issued]
    assert_no_secret(repr(provider), fake)
