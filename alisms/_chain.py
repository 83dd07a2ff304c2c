"""The default credential chain, in the order of the official Credentials SDKs.

1. the environment variables (AccessKey pair, optional STS token);
2. OIDC / RRSA (``ALIBABA_CLOUD_ROLE_ARN``, ``ALIBABA_CLOUD_OIDC_PROVIDER_ARN``,
   ``ALIBABA_CLOUD_OIDC_TOKEN_FILE``);
3. the aliyun CLI's ``~/.aliyun/config.json``;
4. the credentials file ``~/.alibabacloud/credentials.ini``;
5. the ECS RAM role through the instance metadata service;
6. the credentials URI (``ALIBABA_CLOUD_CREDENTIALS_URI``).

Nothing is resolved when the chain is created; the first call tries each
source in turn and remembers the first that returns credentials.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Final

import anyio
import anyio.to_thread
import httpx

from alisms import _profiles, _providers, _sts
from alisms._credentials import (
    ENV_ACCESS_KEY_ID,
    ENV_ACCESS_KEY_SECRET,
    ENV_SECURITY_TOKEN,
    Credentials,
    CredentialsProvider,
    EnvironmentCredentials,
)
from alisms._errors import CredentialsError

__all__ = ["DefaultCredentialsChain"]

Clock = Callable[[], datetime]
Step = tuple[str, CredentialsProvider | str]
"""A source's name and its provider, or why it does not apply."""

_HINT: Final = (
    f"Pass access_key_id= and access_key_secret= (or credentials=), or set "
    f"{ENV_ACCESS_KEY_ID} and {ENV_ACCESS_KEY_SECRET} (and {ENV_SECURITY_TOKEN} for STS "
    "credentials); the other sources are described in docs/credentials.md"
)


class DefaultCredentialsChain:
    """The default credential chain: the first source that has credentials wins.

    In order: the environment variables, OIDC/RRSA, the aliyun CLI's
    ``~/.aliyun/config.json``, ``~/.alibabacloud/credentials.ini``, the ECS
    RAM role (skipped when ``ALIBABA_CLOUD_ECS_METADATA_DISABLED`` is true) and
    the credentials URI (only when ``ALIBABA_CLOUD_CREDENTIALS_URI`` is set).
    Nothing is read when the chain is created; the first
    :meth:`get_credentials` (or :meth:`get_credentials_async`) tries each
    source and remembers the one that worked. When none does,
    :class:`~alisms.CredentialsError` lists every source tried and why it
    failed.

    ``sts_endpoint``, ``metadata_endpoint``, ``timeout`` and ``clock`` are
    passed to the providers the chain builds; ``environ`` replaces
    :data:`os.environ`.
    """

    def __init__(
        self,
        *,
        sts_endpoint: str | None = None,
        metadata_endpoint: str | None = None,
        environ: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._environ = environ
        self._options = _profiles.Options(sts_endpoint, metadata_endpoint, environ, timeout, clock)
        self._provider: CredentialsProvider | None = None
        self._thread_lock = threading.Lock()
        self._task_lock: anyio.Lock | None = None

    @property
    def provider(self) -> CredentialsProvider | None:
        """The provider that supplied credentials, once one has."""
        return self._provider

    def _env(self) -> Mapping[str, str]:
        return os.environ if self._environ is None else self._environ

    def steps(self) -> list[Step]:
        """Each source, built when its settings are present (no network I/O)."""
        env = self._env()
        o = self._options
        steps: list[Step] = []
        try:
            steps.append(("environment", EnvironmentCredentials(env)))
        except CredentialsError as error:
            steps.append(("environment", error.message.removeprefix("no credentials: ")))
        oidc = (
            _providers.ENV_ROLE_ARN,
            _providers.ENV_OIDC_PROVIDER_ARN,
            _providers.ENV_OIDC_TOKEN_FILE,
        )
        if all(env.get(name, "").strip() for name in oidc):
            steps.append(
                (
                    "OIDC role",
                    _providers.OIDCRoleArnCredentials(
                        sts_endpoint=o.sts_endpoint, environ=env, timeout=o.timeout, clock=o.clock
                    ),
                )
            )
        else:
            steps.append(("OIDC role", f"{', '.join(oidc[:2])} and {oidc[2]} are not all set"))
        cli = _profiles.cli_config_path()
        if _sts.truthy(env.get(_profiles.ENV_CLI_PROFILE_DISABLED)):
            steps.append(
                ("aliyun CLI config", f"disabled by {_profiles.ENV_CLI_PROFILE_DISABLED}=true")
            )
        elif not cli.is_file():
            steps.append(("aliyun CLI config", f"{cli} does not exist"))
        else:
            steps.append(
                (
                    "aliyun CLI config",
                    _profiles.CLIProfileCredentials(
                        path=cli,
                        sts_endpoint=o.sts_endpoint,
                        metadata_endpoint=o.metadata_endpoint,
                        environ=env,
                        timeout=o.timeout,
                        clock=o.clock,
                    ),
                )
            )
        ini = _profiles.credentials_file_path(env)
        if not ini.is_file():
            steps.append(("credentials file", f"{ini} does not exist"))
        else:
            steps.append(
                (
                    "credentials file",
                    _profiles.CredentialsFileCredentials(
                        path=ini,
                        sts_endpoint=o.sts_endpoint,
                        metadata_endpoint=o.metadata_endpoint,
                        environ=env,
                        timeout=o.timeout,
                        clock=o.clock,
                    ),
                )
            )
        try:
            ecs: CredentialsProvider | str = _providers.EcsRamRoleCredentials(
                metadata_endpoint=o.metadata_endpoint,
                environ=env,
                timeout=o.timeout,
                clock=o.clock,
            )
        except CredentialsError:
            ecs = f"disabled by {_providers.ENV_ECS_METADATA_DISABLED}=true"
        steps.append(("ECS RAM role", ecs))
        uri_name = _providers.ENV_CREDENTIALS_URI
        if not env.get(uri_name, "").strip():
            steps.append(("credentials URI", f"{uri_name} is not set"))
        else:
            try:
                uri: CredentialsProvider | str = _providers.URICredentials(
                    environ=env, timeout=o.timeout, clock=o.clock
                )
            except CredentialsError as error:
                uri = error.message
            steps.append(("credentials URI", uri))
        return steps

    def check(self) -> None:
        """Raise :class:`~alisms.CredentialsError` now if no source can possibly work.

        Reads only the environment and whether the files exist; a source that
        needs the network (the metadata service, a credentials URI that is set
        and acceptable) counts as possible.
        """
        steps = self.steps()
        if all(isinstance(found, str) for _, found in steps):
            raise self._nothing(steps, {})

    @staticmethod
    def _nothing(steps: list[Step], failures: Mapping[str, str]) -> CredentialsError:
        tried = "; ".join(
            f"{name}: {found if isinstance(found, str) else failures.get(name, 'failed')}"
            for name, found in steps
        )
        return CredentialsError(f"no credentials found. Tried {tried}", hint=_HINT)

    def get_credentials(self) -> Credentials:
        """Return credentials from the first source that has them."""
        provider = self._provider
        if provider is not None:
            return provider.get_credentials()
        with self._thread_lock:
            if self._provider is not None:
                return self._provider.get_credentials()
            steps = self.steps()
            failures: dict[str, str] = {}
            for name, found in steps:
                if isinstance(found, str):
                    continue
                try:
                    credentials = found.get_credentials()
                except CredentialsError as error:
                    failures[name] = str(error)
                    continue
                self._provider = found
                return credentials
            raise self._nothing(steps, failures)

    async def get_credentials_async(self) -> Credentials:
        """Return credentials from the first source that has them, without blocking."""
        provider = self._provider
        if provider is not None:
            return await provider.get_credentials_async()
        if self._task_lock is None:
            self._task_lock = anyio.Lock()
        async with self._task_lock:
            if self._provider is not None:
                return await self._provider.get_credentials_async()
            steps = await anyio.to_thread.run_sync(self.steps)
            failures: dict[str, str] = {}
            for name, found in steps:
                if isinstance(found, str):
                    continue
                try:
                    credentials = await found.get_credentials_async()
                except CredentialsError as error:
                    failures[name] = str(error)
                    continue
                self._provider = found
                return credentials
            raise self._nothing(steps, failures)

    def __repr__(self) -> str:
        return f"DefaultCredentialsChain(provider={self._provider!r})"
