"""Credentials from configuration files: the aliyun CLI's config.json and credentials.ini.

Parsing is pure (:func:`parse_cli_config`, :func:`parse_credentials_ini` turn
text into a :class:`Profile`); :func:`build` turns a profile into a provider.
The file providers read their file on first use, not when created.
"""

from __future__ import annotations

import configparser
import json
import os
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Final

import anyio
import httpx

from alisms import _providers
from alisms._credentials import Credentials, CredentialsProvider, StaticCredentials
from alisms._errors import CredentialsError

__all__ = ["CLIProfileCredentials", "CredentialsFileCredentials"]

ENV_PROFILE: Final = "ALIBABA_CLOUD_PROFILE"
ENV_CREDENTIALS_FILE: Final = "ALIBABA_CLOUD_CREDENTIALS_FILE"
ENV_CLI_PROFILE_DISABLED: Final = "ALIBABA_CLOUD_CLI_PROFILE_DISABLED"

Clock = Callable[[], datetime]


def cli_config_path() -> Path:
    """``~/.aliyun/config.json``."""
    return Path.home() / ".aliyun" / "config.json"


def credentials_file_path(environ: Mapping[str, str]) -> Path:
    """``$ALIBABA_CLOUD_CREDENTIALS_FILE``, else ``~/.alibabacloud/credentials.ini``."""
    given = environ.get(ENV_CREDENTIALS_FILE, "").strip()
    return Path(given).expanduser() if given else Path.home() / ".alibabacloud" / "credentials.ini"


@dataclass(frozen=True)
class Profile:
    """One profile: its ``kind`` and the settings it needs. The repr hides the values."""

    kind: str
    """``access_key``, ``sts``, ``ram_role_arn``, ``ecs_ram_role`` or ``oidc_role_arn``."""
    name: str
    where: str
    values: Mapping[str, str] = field(repr=False)


_CLI_MODES: Final[Mapping[str, tuple[str, Mapping[str, str]]]] = {
    # mode: (kind, {our name: the CLI's key})
    "AK": (
        "access_key",
        {"access_key_id": "access_key_id", "access_key_secret": "access_key_secret"},
    ),
    "StsToken": (
        "sts",
        {
            "access_key_id": "access_key_id",
            "access_key_secret": "access_key_secret",
            "security_token": "sts_token",
        },
    ),
    "RamRoleArn": (
        "ram_role_arn",
        {
            "access_key_id": "access_key_id",
            "access_key_secret": "access_key_secret",
            "role_arn": "ram_role_arn",
            "role_session_name": "ram_session_name",
            "duration_seconds": "expired_seconds",
            "external_id": "external_id",
        },
    ),
    "EcsRamRole": ("ecs_ram_role", {"role_name": "ram_role_name"}),
    "OIDC": (
        "oidc_role_arn",
        {
            "role_arn": "ram_role_arn",
            "oidc_provider_arn": "oidc_provider_arn",
            "oidc_token_file": "oidc_token_file",
            "role_session_name": "role_session_name",
            "duration_seconds": "expired_seconds",
        },
    ),
}

_INI_TYPES: Final[Mapping[str, tuple[str, Mapping[str, str]]]] = {
    "access_key": (
        "access_key",
        {"access_key_id": "access_key_id", "access_key_secret": "access_key_secret"},
    ),
    "sts": (
        "sts",
        {
            "access_key_id": "access_key_id",
            "access_key_secret": "access_key_secret",
            "security_token": "security_token",
        },
    ),
    "ram_role_arn": (
        "ram_role_arn",
        {
            "access_key_id": "access_key_id",
            "access_key_secret": "access_key_secret",
            "role_arn": "role_arn",
            "role_session_name": "role_session_name",
            "policy": "policy",
        },
    ),
    "ecs_ram_role": ("ecs_ram_role", {"role_name": "role_name"}),
    "oidc_role_arn": (
        "oidc_role_arn",
        {
            "role_arn": "role_arn",
            "oidc_provider_arn": "oidc_provider_arn",
            "oidc_token_file": "oidc_token_file_path",
            "role_session_name": "role_session_name",
        },
    ),
}

_REQUIRED: Final[Mapping[str, tuple[str, ...]]] = {
    "access_key": ("access_key_id", "access_key_secret"),
    "sts": ("access_key_id", "access_key_secret", "security_token"),
    "ram_role_arn": ("access_key_id", "access_key_secret", "role_arn"),
    "ecs_ram_role": (),
    "oidc_role_arn": ("role_arn", "oidc_provider_arn", "oidc_token_file"),
}


def _profile(
    kind: str, mapping: Mapping[str, str], raw: Mapping[str, Any], name: str, where: str
) -> Profile:
    values: dict[str, str] = {}
    for ours, theirs in mapping.items():
        value = raw.get(theirs)
        if isinstance(value, int) and not isinstance(value, bool):
            value = str(value)
        if isinstance(value, str) and value.strip():
            values[ours] = value.strip()
    missing = [mapping[k] for k in _REQUIRED[kind] if k not in values]
    if missing:
        raise CredentialsError(f"profile {name!r} in {where} has no {', '.join(missing)}")
    return Profile(kind, name, where, values)


def parse_cli_config(text: str, profile: str | None, *, where: str = "config.json") -> Profile:
    """Pick ``profile`` (default: the file's ``current``) from the aliyun CLI's config.json."""
    try:
        data = json.loads(text)
    except ValueError:
        raise CredentialsError(f"{where} is not valid JSON") from None
    if not isinstance(data, dict) or not isinstance(data.get("profiles"), list):
        raise CredentialsError(f"{where} has no profiles list")
    name = profile or data.get("current") or "default"
    if not isinstance(name, str):
        raise CredentialsError(f"{where} names no current profile")
    for raw in data["profiles"]:
        if isinstance(raw, dict) and raw.get("name") == name:
            break
    else:
        raise CredentialsError(f"{where} has no profile {name!r}")
    mode = raw.get("mode")
    if not isinstance(mode, str) or mode not in _CLI_MODES:
        raise CredentialsError(
            f"profile {name!r} in {where} uses mode {mode!r}; alisms supports "
            f"{', '.join(_CLI_MODES)}"
        )
    kind, mapping = _CLI_MODES[mode]
    return _profile(kind, mapping, raw, name, where)


def parse_credentials_ini(
    text: str, profile: str | None, *, where: str = "credentials.ini"
) -> Profile:
    """Pick section ``profile`` (default: ``default``) from a credentials.ini file."""
    parser = configparser.ConfigParser(interpolation=None, default_section="\x00none")
    try:
        parser.read_string(text, source=where)
    except configparser.Error as exc:
        raise CredentialsError(f"{where} is not a valid INI file ({type(exc).__name__})") from None
    name = profile or "default"
    if not parser.has_section(name):
        raise CredentialsError(f"{where} has no section [{name}]")
    raw = dict(parser.items(name))
    kind_name = raw.get("type") or "access_key"
    if kind_name not in _INI_TYPES:
        raise CredentialsError(
            f"section [{name}] in {where} has type {kind_name!r}; alisms supports "
            f"{', '.join(_INI_TYPES)}"
        )
    kind, mapping = _INI_TYPES[kind_name]
    return _profile(kind, mapping, raw, name, where)


@dataclass(frozen=True)
class Options:
    """What the providers built from a profile are given."""

    sts_endpoint: str | None = None
    metadata_endpoint: str | None = None
    environ: Mapping[str, str] | None = None
    timeout: float | httpx.Timeout | None = None
    clock: Clock | None = None


def build(profile: Profile, options: Options) -> CredentialsProvider:
    """The provider a profile describes."""
    v = profile.values
    try:
        duration = int(v.get("duration_seconds", "3600"))
    except ValueError:
        raise CredentialsError(
            f"profile {profile.name!r} in {profile.where} has a non-numeric duration"
        ) from None
    if profile.kind in {"access_key", "sts"}:
        return StaticCredentials(
            v["access_key_id"], v["access_key_secret"], v.get("security_token")
        )
    if profile.kind == "ram_role_arn":
        return _providers.RamRoleArnCredentials(
            Credentials(v["access_key_id"], v["access_key_secret"]),
            v["role_arn"],
            role_session_name=v.get("role_session_name"),
            duration_seconds=max(duration, 900),
            policy=v.get("policy"),
            external_id=v.get("external_id"),
            sts_endpoint=options.sts_endpoint,
            environ=options.environ,
            timeout=options.timeout,
            clock=options.clock,
        )
    if profile.kind == "ecs_ram_role":
        return _providers.EcsRamRoleCredentials(
            v.get("role_name"),
            metadata_endpoint=options.metadata_endpoint,
            environ=options.environ,
            timeout=options.timeout,
            clock=options.clock,
        )
    return _providers.OIDCRoleArnCredentials(
        v["role_arn"],
        v["oidc_provider_arn"],
        v["oidc_token_file"],
        role_session_name=v.get("role_session_name"),
        duration_seconds=max(duration, 900),
        sts_endpoint=options.sts_endpoint,
        environ=options.environ,
        timeout=options.timeout,
        clock=options.clock,
    )


class _FileProfile:
    """Reads its file on first use and then delegates to the provider the profile describes."""

    _label: str

    def __init__(
        self,
        path: Path,
        profile: str | None,
        environ: Mapping[str, str] | None,
        options: Options,
    ) -> None:
        env = os.environ if environ is None else environ
        self._path = path
        self._profile = profile or env.get(ENV_PROFILE, "").strip() or None
        self._options = options
        self._provider: CredentialsProvider | None = None
        self._lock = threading.Lock()

    def _parse(self, text: str) -> Profile:
        raise NotImplementedError

    def _unreadable(self, exc: OSError) -> CredentialsError:
        return CredentialsError(
            f"cannot read {self._label} {str(self._path)!r}: {exc.strerror or type(exc).__name__}"
        )

    def _load(self, text: str) -> CredentialsProvider:
        provider = build(self._parse(text), self._options)
        if self._provider is None:
            self._provider = provider
        return self._provider

    def get_credentials(self) -> Credentials:
        """Return the profile's credentials, reading the file on the first call."""
        provider = self._provider
        if provider is None:
            with self._lock:
                provider = self._provider
                if provider is None:
                    try:
                        text = self._path.read_text(encoding="utf-8")
                    except (OSError, UnicodeDecodeError) as exc:
                        raise self._unreadable(
                            exc if isinstance(exc, OSError) else OSError()
                        ) from None
                    provider = self._load(text)
        return provider.get_credentials()

    async def get_credentials_async(self) -> Credentials:
        """Return the profile's credentials; the first call reads the file without blocking."""
        provider = self._provider
        if provider is None:
            try:
                text = await anyio.Path(self._path).read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise self._unreadable(exc if isinstance(exc, OSError) else OSError()) from None
            provider = self._load(text)
        return await provider.get_credentials_async()

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(profile={self._profile!r}, path={str(self._path)!r}, "
            f"provider={self._provider!r})"
        )


class CLIProfileCredentials(_FileProfile):
    """Credentials from a profile of the aliyun CLI's ``~/.aliyun/config.json``.

    ``profile`` defaults to ``ALIBABA_CLOUD_PROFILE``, else the file's
    ``current``. Modes ``AK``, ``StsToken``, ``RamRoleArn``, ``EcsRamRole``
    and ``OIDC`` are supported; the role modes become
    :class:`RamRoleArnCredentials`, :class:`EcsRamRoleCredentials` and
    :class:`OIDCRoleArnCredentials` (given ``sts_endpoint``,
    ``metadata_endpoint``, ``timeout`` and ``clock``). The file is read on the
    first call, not when the provider is created.
    """

    _label = "the aliyun CLI config"

    def __init__(
        self,
        profile: str | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        sts_endpoint: str | None = None,
        metadata_endpoint: str | None = None,
        environ: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | None = None,
        clock: Clock | None = None,
    ) -> None:
        options = Options(sts_endpoint, metadata_endpoint, environ, timeout, clock)
        super().__init__(Path(path) if path else cli_config_path(), profile, environ, options)

    def _parse(self, text: str) -> Profile:
        return parse_cli_config(text, self._profile, where=str(self._path))


class CredentialsFileCredentials(_FileProfile):
    """Credentials from a section of ``~/.alibabacloud/credentials.ini``.

    ``path`` defaults to ``ALIBABA_CLOUD_CREDENTIALS_FILE``, else
    ``~/.alibabacloud/credentials.ini``; ``profile`` (the section) to
    ``ALIBABA_CLOUD_PROFILE``, else ``default``. Section types
    ``access_key``, ``sts``, ``ram_role_arn``, ``ecs_ram_role`` and
    ``oidc_role_arn`` are supported. The file is read on the first call.
    """

    _label = "the credentials file"

    def __init__(
        self,
        profile: str | None = None,
        *,
        path: str | os.PathLike[str] | None = None,
        sts_endpoint: str | None = None,
        metadata_endpoint: str | None = None,
        environ: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | None = None,
        clock: Clock | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        options = Options(sts_endpoint, metadata_endpoint, environ, timeout, clock)
        where = Path(path) if path else credentials_file_path(env)
        super().__init__(where, profile, environ, options)

    def _parse(self, text: str) -> Profile:
        return parse_credentials_ini(text, self._profile, where=str(self._path))
