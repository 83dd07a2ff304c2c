"""Credentials and the providers that supply them.

A provider is any object with ``get_credentials()`` and an awaitable
``get_credentials_async()`` returning :class:`Credentials`; the clients call it
before signing each request, so a provider that refreshes temporary
credentials plugs in unchanged.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, Protocol, runtime_checkable

from alisms._errors import CredentialsError

__all__ = [
    "ENV_ACCESS_KEY_ID",
    "ENV_ACCESS_KEY_SECRET",
    "ENV_SECURITY_TOKEN",
    "Credentials",
    "CredentialsProvider",
    "EnvironmentCredentials",
    "StaticCredentials",
]


def _header_safe(text: str) -> bool:
    """Whether ``text`` is printable ASCII without spaces (``[!-~]+``): safe in a header."""
    return bool(text) and text.isascii() and text.isprintable() and " " not in text


ENV_ACCESS_KEY_ID: Final = "ALIBABA_CLOUD_ACCESS_KEY_ID"
ENV_ACCESS_KEY_SECRET: Final = "ALIBABA_CLOUD_ACCESS_KEY_SECRET"  # noqa: S105 - a name
ENV_SECURITY_TOKEN: Final = "ALIBABA_CLOUD_SECURITY_TOKEN"  # noqa: S105 - a name


@dataclass(frozen=True, repr=False)
class Credentials:
    """An AccessKey pair, with the STS token for temporary credentials.

    The repr shows the AccessKey ID only; the secret and the token never
    appear in it.
    """

    access_key_id: str
    access_key_secret: str
    security_token: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.access_key_id, str) or not self.access_key_id.strip():
            raise CredentialsError("the AccessKey ID is empty")
        if not isinstance(self.access_key_secret, str) or not self.access_key_secret:
            raise CredentialsError(f"the AccessKey secret for {self.access_key_id!r} is empty")
        if self.security_token is not None and not isinstance(self.security_token, str):
            raise CredentialsError("the security token must be a string")
        if not _header_safe(self.access_key_id) or any(c in self.access_key_id for c in ",;"):
            raise CredentialsError(
                "the AccessKey ID must be printable ASCII with no space, comma or semicolon"
            )
        if self.security_token and not _header_safe(self.security_token.strip()):
            raise CredentialsError(
                "the security token must be printable ASCII with no spaces or line breaks"
            )

    def __repr__(self) -> str:
        token = ", security_token=<redacted>" if self.security_token else ""
        return (
            f"Credentials(access_key_id={self.access_key_id!r}, "
            f"access_key_secret=<redacted>{token})"
        )

    __str__ = __repr__

    def secrets(self) -> tuple[str, ...]:
        """The values that must never be shown: the secret and the token."""
        return tuple(s for s in (self.access_key_secret, self.security_token) if s)


@runtime_checkable
class CredentialsProvider(Protocol):
    """Anything that supplies credentials, synchronously and asynchronously.

    Implementations that fetch or refresh credentials should cache them and
    must be safe to call from many threads (sync) or tasks (async) at once.
    """

    def get_credentials(self) -> Credentials:
        """Return the credentials to sign the next request with."""
        ...

    async def get_credentials_async(self) -> Credentials:
        """Return the credentials to sign the next request with, without blocking."""
        ...


class StaticCredentials:
    """A provider for a fixed AccessKey pair (and STS token)."""

    def __init__(
        self,
        access_key_id: str,
        access_key_secret: str,
        security_token: str | None = None,
    ) -> None:
        self._credentials = Credentials(access_key_id, access_key_secret, security_token)

    def get_credentials(self) -> Credentials:
        """Return the fixed credentials."""
        return self._credentials

    async def get_credentials_async(self) -> Credentials:
        """Return the fixed credentials."""
        return self._credentials

    def __repr__(self) -> str:
        return f"StaticCredentials({self._credentials!r})"


class EnvironmentCredentials:
    """A provider reading the standard Alibaba Cloud environment variables.

    ``ALIBABA_CLOUD_ACCESS_KEY_ID`` and ``ALIBABA_CLOUD_ACCESS_KEY_SECRET``,
    with ``ALIBABA_CLOUD_SECURITY_TOKEN`` for STS credentials. The variables
    are read once, when the provider is created; :class:`CredentialsError`
    names them when they are missing.
    """

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        key_id = env.get(ENV_ACCESS_KEY_ID, "").strip()
        secret = env.get(ENV_ACCESS_KEY_SECRET, "").strip()
        token = env.get(ENV_SECURITY_TOKEN, "").strip() or None
        missing = [
            name
            for name, value in ((ENV_ACCESS_KEY_ID, key_id), (ENV_ACCESS_KEY_SECRET, secret))
            if not value
        ]
        if missing:
            raise CredentialsError(
                f"no credentials: {' and '.join(missing)} "
                f"{'is' if len(missing) == 1 else 'are'} not set",
                hint=(
                    f"Pass access_key_id= and access_key_secret= (or credentials=), or set "
                    f"{ENV_ACCESS_KEY_ID} and {ENV_ACCESS_KEY_SECRET} "
                    f"(and {ENV_SECURITY_TOKEN} for STS credentials)"
                ),
            )
        self._credentials = Credentials(key_id, secret, token)

    def get_credentials(self) -> Credentials:
        """Return the credentials read from the environment."""
        return self._credentials

    async def get_credentials_async(self) -> Credentials:
        """Return the credentials read from the environment."""
        return self._credentials

    def __repr__(self) -> str:
        return f"EnvironmentCredentials({self._credentials!r})"
