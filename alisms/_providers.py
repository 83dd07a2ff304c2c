"""Providers of temporary credentials: RAM role (STS AssumeRole), OIDC/RRSA, ECS RAM role, URI.

Each caches what it fetched and refreshes it ahead of expiry (see
:class:`alisms._sts.Temporary`). Concurrent callers share one fetch: a
:class:`threading.Lock` serialises :meth:`get_credentials` and an
:class:`anyio.Lock` (made on first use) serialises
:meth:`get_credentials_async`; sync fetches use :class:`httpx.Client`, async
ones :class:`httpx.AsyncClient`, so the async path never blocks its event loop.

A failed refresh keeps serving the cached credentials while they remain valid
(retrying at most every :data:`RETRY_AFTER`), and raises
:class:`~alisms.CredentialsError` once they have expired.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from pathlib import Path
from typing import Final

import anyio
import httpx

from alisms import _sts
from alisms._core import USER_AGENT, new_nonce, utc_now
from alisms._credentials import Credentials, CredentialsProvider, StaticCredentials
from alisms._errors import CredentialsError

__all__ = [
    "EcsRamRoleCredentials",
    "OIDCRoleArnCredentials",
    "RamRoleArnCredentials",
    "URICredentials",
]

logger = logging.getLogger("alisms")

Clock = Callable[[], datetime]
RETRY_AFTER: Final = timedelta(seconds=10)
"""After a failed refresh, cached credentials are used this long before trying again."""

ENV_ROLE_ARN: Final = "ALIBABA_CLOUD_ROLE_ARN"
ENV_OIDC_PROVIDER_ARN: Final = "ALIBABA_CLOUD_OIDC_PROVIDER_ARN"
ENV_OIDC_TOKEN_FILE: Final = "ALIBABA_CLOUD_OIDC_TOKEN_FILE"  # noqa: S105 - a name
ENV_ROLE_SESSION_NAME: Final = "ALIBABA_CLOUD_ROLE_SESSION_NAME"
ENV_ECS_METADATA: Final = "ALIBABA_CLOUD_ECS_METADATA"
ENV_ECS_METADATA_DISABLED: Final = "ALIBABA_CLOUD_ECS_METADATA_DISABLED"
ENV_IMDSV1_DISABLED: Final = "ALIBABA_CLOUD_IMDSV1_DISABLED"
ENV_CREDENTIALS_URI: Final = "ALIBABA_CLOUD_CREDENTIALS_URI"

DEFAULT_METADATA_ENDPOINT: Final = "http://100.100.100.200"
_ROLE_PATH: Final = "/latest/meta-data/ram/security-credentials/"
_TOKEN_PATH: Final = "/latest/api/token"  # noqa: S105 - a path
_TOKEN_TTL_HEADER: Final = "X-aliyun-ecs-metadata-token-ttl-seconds"  # noqa: S105 - a name
_TOKEN_HEADER: Final = "X-aliyun-ecs-metadata-token"  # noqa: S105 - a name
_STS_TIMEOUT: Final = httpx.Timeout(10.0, connect=5.0)
_IMDS_TIMEOUT: Final = httpx.Timeout(1.0)
_URI_TIMEOUT: Final = httpx.Timeout(10.0, connect=5.0)


def _timeout(value: float | httpx.Timeout | None, default: httpx.Timeout) -> httpx.Timeout:
    if value is None:
        return default
    return value if isinstance(value, httpx.Timeout) else httpx.Timeout(value)


def _duration(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 900:
        raise CredentialsError(f"duration_seconds= takes at least 900 seconds, not {value!r}")
    return value


class _Refreshing:
    """The cache, the locks and the refresh decision shared by temporary-credential providers."""

    _source_name: str = "the provider"

    def __init__(self, clock: Clock | None) -> None:
        self._clock: Clock = clock or utc_now
        self._cached: _sts.Temporary | None = None
        self._failed_at: datetime | None = None
        self._thread_lock = threading.Lock()
        self._task_lock: anyio.Lock | None = None

    def _fetch(self) -> _sts.Temporary:
        raise NotImplementedError

    async def _fetch_async(self) -> _sts.Temporary:
        raise NotImplementedError

    def _ready(self, now: datetime) -> Credentials | None:
        cached = self._cached
        if cached is None or cached.expired(now):
            return None
        if not cached.stale(now):
            return cached.credentials
        if self._failed_at is not None and now < self._failed_at + RETRY_AFTER:
            return cached.credentials
        return None

    def _store(self, temporary: _sts.Temporary, now: datetime) -> Credentials:
        if temporary.expired(now):
            raise CredentialsError(
                f"{self._source_name} returned credentials that expire at "
                f"{temporary.expiration.isoformat()}, already past or too close",
                hint="Check this machine's clock",
            )
        self._cached = temporary
        self._failed_at = None
        return temporary.credentials

    def _fallback(self, error: CredentialsError, now: datetime) -> Credentials:
        cached = self._cached
        if cached is None:
            raise error
        if not cached.expired(now):
            self._failed_at = now
            logger.warning(
                "refreshing the credentials from %s failed (%s); using the current ones, "
                "valid until %s",
                self._source_name,
                error,
                cached.expiration.isoformat(),
            )
            return cached.credentials
        raise CredentialsError(
            f"the temporary credentials from {self._source_name} expired at "
            f"{cached.expiration.isoformat()} and refreshing them failed: {error.message}",
            code=error.code,
            request_id=error.request_id,
            http_status=error.http_status,
            hint=error.hint,
        ) from error

    def _refresh(self, now: datetime) -> Credentials:
        try:
            return self._store(self._fetch(), now)
        except CredentialsError as error:
            return self._fallback(error, now)

    def get_credentials(self) -> Credentials:
        """Return valid credentials, fetching or refreshing them first when needed."""
        ready = self._ready(self._clock())
        if ready is not None:
            return ready
        with self._thread_lock:
            now = self._clock()
            ready = self._ready(now)
            if ready is not None:
                return ready
            return self._refresh(now)

    async def get_credentials_async(self) -> Credentials:
        """Return valid credentials, fetching or refreshing them first, without blocking."""
        ready = self._ready(self._clock())
        if ready is not None:
            return ready
        if self._task_lock is None:
            self._task_lock = anyio.Lock()
        async with self._task_lock:
            now = self._clock()
            ready = self._ready(now)
            if ready is not None:
                return ready
            try:
                temporary = await self._fetch_async()
                return self._store(temporary, now)
            except CredentialsError as error:
                return self._fallback(error, now)

    def invalidate(self) -> None:
        """Forget the cached credentials, so the next call fetches new ones."""
        self._cached = None
        self._failed_at = None


def _unreachable(what: str, exc: httpx.HTTPError, hint: str | None = None) -> CredentialsError:
    return CredentialsError(f"could not reach {what}: {type(exc).__name__}", hint=hint)


class _StsRole(_Refreshing):
    """An STS call, sync and async; subclasses supply the action, parameters and signer."""

    _action: str

    def __init__(
        self,
        *,
        sts_endpoint: str | None,
        environ: Mapping[str, str] | None,
        timeout: float | httpx.Timeout | None,
        clock: Clock | None,
    ) -> None:
        super().__init__(clock)
        env = os.environ if environ is None else environ
        self._endpoint = _sts.sts_endpoint(sts_endpoint, env)
        self._timeout = _timeout(timeout, _STS_TIMEOUT)
        self._source_name = f"STS {self._action} at {self._endpoint.host}"

    def _request(
        self, params: Mapping[str, str], signer: Credentials | None, now: datetime
    ) -> tuple[dict[str, str], bytes]:
        return _sts.build_request(
            self._action,
            params,
            endpoint=self._endpoint,
            credentials=signer,
            date=now,
            nonce=new_nonce(),
        )

    def _call(
        self, params: Mapping[str, str], signer: Credentials | None, known: tuple[str, ...]
    ) -> _sts.Temporary:
        now = self._clock()
        headers, body = self._request(params, signer, now)
        try:
            with httpx.Client(timeout=self._timeout) as http:
                response = http.post(self._endpoint.url, headers=headers, content=body)
        except httpx.HTTPError as exc:
            raise _unreachable(f"STS at {self._endpoint.host}", exc) from None
        return _sts.parse_response(
            self._action,
            response.status_code,
            response.content,
            fetched_at=now,
            known_secrets=known,
        )

    async def _call_async(
        self, params: Mapping[str, str], signer: Credentials | None, known: tuple[str, ...]
    ) -> _sts.Temporary:
        now = self._clock()
        headers, body = self._request(params, signer, now)
        try:
            async with httpx.AsyncClient(timeout=self._timeout) as http:
                response = await http.post(self._endpoint.url, headers=headers, content=body)
        except httpx.HTTPError as exc:
            raise _unreachable(f"STS at {self._endpoint.host}", exc) from None
        return _sts.parse_response(
            self._action,
            response.status_code,
            response.content,
            fetched_at=now,
            known_secrets=known,
        )

    def _session_name(self, given: str | None) -> str:
        return given or f"alisms-{int(self._clock().timestamp())}"


class RamRoleArnCredentials(_StsRole):
    """Temporary credentials for a RAM role, from STS AssumeRole.

    ``source`` is the provider (or :class:`~alisms.Credentials`) whose
    AccessKey signs the AssumeRole call; the request is signed with alisms's
    own V3 signer. ``role_session_name`` defaults to ``alisms-<unix time>``,
    ``duration_seconds`` to 3600 (at least 900). ``policy`` narrows the
    role's permissions; ``external_id`` is passed when the role's trust
    policy requires one. ``sts_endpoint`` overrides the STS host (default:
    ``sts.aliyuncs.com``, or per ``ALIBABA_CLOUD_STS_REGION``).

    The credentials are cached and refreshed ahead of expiry; many threads or
    tasks asking at once share one STS call.
    """

    _action = "AssumeRole"

    def __init__(
        self,
        source: CredentialsProvider | Credentials,
        role_arn: str,
        *,
        role_session_name: str | None = None,
        duration_seconds: int = _sts.DEFAULT_DURATION,
        policy: str | None = None,
        external_id: str | None = None,
        sts_endpoint: str | None = None,
        environ: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | None = None,
        clock: Clock | None = None,
    ) -> None:
        if isinstance(source, Credentials):
            source = StaticCredentials(
                source.access_key_id, source.access_key_secret, source.security_token
            )
        if not isinstance(source, CredentialsProvider):
            raise CredentialsError(
                "source= needs a credentials provider (get_credentials() and "
                "get_credentials_async()) or alisms.Credentials"
            )
        if not isinstance(role_arn, str) or not role_arn.strip():
            raise CredentialsError("role_arn= is empty")
        super().__init__(sts_endpoint=sts_endpoint, environ=environ, timeout=timeout, clock=clock)
        self._source = source
        self._role_arn = role_arn.strip()
        self._role_session_name = role_session_name
        self._duration = _duration(duration_seconds)
        self._policy = policy
        self._external_id = external_id

    def _params(self) -> dict[str, str]:
        return _sts.assume_role_params(
            self._role_arn,
            self._session_name(self._role_session_name),
            self._duration,
            self._policy,
            self._external_id,
        )

    def _fetch(self) -> _sts.Temporary:
        signer = self._source.get_credentials()
        return self._call(self._params(), signer, signer.secrets())

    async def _fetch_async(self) -> _sts.Temporary:
        signer = await self._source.get_credentials_async()
        return await self._call_async(self._params(), signer, signer.secrets())

    def __repr__(self) -> str:
        return f"RamRoleArnCredentials(role_arn={self._role_arn!r}, source={self._source!r})"


class OIDCRoleArnCredentials(_StsRole):
    """Temporary credentials from STS AssumeRoleWithOIDC: RRSA on ACK (Kubernetes).

    With no arguments it reads ``ALIBABA_CLOUD_ROLE_ARN``,
    ``ALIBABA_CLOUD_OIDC_PROVIDER_ARN`` and ``ALIBABA_CLOUD_OIDC_TOKEN_FILE``
    (and ``ALIBABA_CLOUD_ROLE_SESSION_NAME``, ``ALIBABA_CLOUD_STS_REGION``,
    ``ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED``), as the RRSA webhook sets them.
    The token file is read again on every refresh, since the kubelet rotates
    it; its contents are treated as a secret. The call is anonymous (the
    OIDC token is the proof). Cached and refreshed like
    :class:`RamRoleArnCredentials`.
    """

    _action = "AssumeRoleWithOIDC"

    def __init__(
        self,
        role_arn: str | None = None,
        oidc_provider_arn: str | None = None,
        oidc_token_file: str | os.PathLike[str] | None = None,
        *,
        role_session_name: str | None = None,
        duration_seconds: int = _sts.DEFAULT_DURATION,
        policy: str | None = None,
        sts_endpoint: str | None = None,
        environ: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | None = None,
        clock: Clock | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        values = {
            ENV_ROLE_ARN: role_arn or env.get(ENV_ROLE_ARN, "").strip(),
            ENV_OIDC_PROVIDER_ARN: oidc_provider_arn or env.get(ENV_OIDC_PROVIDER_ARN, "").strip(),
            ENV_OIDC_TOKEN_FILE: str(oidc_token_file or env.get(ENV_OIDC_TOKEN_FILE, "").strip()),
        }
        missing = [name for name, value in values.items() if not value]
        if missing:
            raise CredentialsError(
                f"OIDC role credentials need {', '.join(missing)}",
                hint="Pass role_arn=, oidc_provider_arn= and oidc_token_file=, or set "
                f"{ENV_ROLE_ARN}, {ENV_OIDC_PROVIDER_ARN} and {ENV_OIDC_TOKEN_FILE}",
            )
        super().__init__(sts_endpoint=sts_endpoint, environ=env, timeout=timeout, clock=clock)
        self._role_arn = values[ENV_ROLE_ARN]
        self._provider_arn = values[ENV_OIDC_PROVIDER_ARN]
        self._token_file = Path(values[ENV_OIDC_TOKEN_FILE])
        self._role_session_name = role_session_name or env.get(ENV_ROLE_SESSION_NAME) or None
        self._duration = _duration(duration_seconds)
        self._policy = policy

    def _params(self, token: str) -> dict[str, str]:
        return _sts.oidc_params(
            self._role_arn,
            self._provider_arn,
            token,
            self._session_name(self._role_session_name),
            self._duration,
            self._policy,
        )

    def _token(self, text: str) -> str:
        token = text.strip()
        if not token:
            raise CredentialsError(f"the OIDC token file {str(self._token_file)!r} is empty")
        return token

    def _unreadable(self, exc: OSError) -> CredentialsError:
        return CredentialsError(
            f"cannot read the OIDC token file {str(self._token_file)!r}: "
            f"{exc.strerror or type(exc).__name__}"
        )

    def _fetch(self) -> _sts.Temporary:
        try:
            text = self._token_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise self._unreadable(exc if isinstance(exc, OSError) else OSError()) from None
        token = self._token(text)
        return self._call(self._params(token), None, (token,))

    async def _fetch_async(self) -> _sts.Temporary:
        try:
            text = await anyio.Path(self._token_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise self._unreadable(exc if isinstance(exc, OSError) else OSError()) from None
        token = self._token(text)
        return await self._call_async(self._params(token), None, (token,))

    def __repr__(self) -> str:
        return (
            f"OIDCRoleArnCredentials(role_arn={self._role_arn!r}, "
            f"oidc_provider_arn={self._provider_arn!r}, "
            f"oidc_token_file={str(self._token_file)!r})"
        )


class EcsRamRoleCredentials(_Refreshing):
    """Temporary credentials of the RAM role attached to an ECS instance, from its metadata service.

    ``role_name`` defaults to ``ALIBABA_CLOUD_ECS_METADATA``; without it the
    role is discovered from the metadata service. Each fetch asks for an
    IMDSv2 session token first (``PUT /latest/api/token``) and falls back to
    IMDSv1 when that fails, unless ``imdsv1_disabled`` (default:
    ``ALIBABA_CLOUD_IMDSV1_DISABLED``) is true. Creating it raises
    :class:`~alisms.CredentialsError` when ``ALIBABA_CLOUD_ECS_METADATA_DISABLED``
    is true. ``metadata_endpoint`` defaults to ``http://100.100.100.200``;
    ``timeout`` to one second, so a machine that is not on ECS finds out
    quickly. Cached and refreshed ahead of expiry like the STS providers.
    """

    def __init__(
        self,
        role_name: str | None = None,
        *,
        metadata_endpoint: str | None = None,
        imdsv1_disabled: bool | None = None,
        environ: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | None = None,
        clock: Clock | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        if _sts.truthy(env.get(ENV_ECS_METADATA_DISABLED)):
            raise CredentialsError(
                f"the ECS metadata service is disabled by {ENV_ECS_METADATA_DISABLED}=true"
            )
        super().__init__(clock)
        self._role_name = role_name or env.get(ENV_ECS_METADATA, "").strip() or None
        self._base = (metadata_endpoint or DEFAULT_METADATA_ENDPOINT).rstrip("/")
        self._v1_disabled = (
            _sts.truthy(env.get(ENV_IMDSV1_DISABLED))
            if imdsv1_disabled is None
            else imdsv1_disabled
        )
        self._timeout = _timeout(timeout, _IMDS_TIMEOUT)
        self._source_name = f"the ECS metadata service at {self._base}"

    def _token_failed(self, why: str) -> None:
        if self._v1_disabled:
            raise CredentialsError(
                f"the ECS metadata service gave no IMDSv2 token ({why}) and "
                f"{ENV_IMDSV1_DISABLED} forbids falling back to IMDSv1"
            )
        logger.debug("no IMDSv2 token (%s); falling back to IMDSv1", why)

    def _role_from(self, response: httpx.Response) -> str:
        names = response.text.split() if response.status_code == 200 else []
        if not names:
            raise CredentialsError(
                "the ECS metadata service lists no RAM role for this instance "
                f"(HTTP {response.status_code})",
                hint=f"Attach a RAM role to the instance, or set {ENV_ECS_METADATA}",
            )
        self._role_name = names[0]
        return names[0]

    def _credentials_from(self, response: httpx.Response, role: str) -> _sts.Temporary:
        if response.status_code != 200:
            raise CredentialsError(
                f"the ECS metadata service has no credentials for role {role!r} "
                f"(HTTP {response.status_code})"
            )
        return _sts.parse_imds(response.text, fetched_at=self._clock())

    def _unreachable(self, exc: httpx.HTTPError) -> CredentialsError:
        return _unreachable(
            self._source_name,
            exc,
            hint=f"Not on ECS? Set {ENV_ECS_METADATA_DISABLED}=true to skip it",
        )

    _TOKEN_REQUEST: Final = {_TOKEN_TTL_HEADER: "21600", "user-agent": USER_AGENT}

    def _fetch(self) -> _sts.Temporary:
        headers = {"user-agent": USER_AGENT}
        try:
            with httpx.Client(timeout=self._timeout, trust_env=False) as http:
                try:
                    answer = http.put(self._base + _TOKEN_PATH, headers=self._TOKEN_REQUEST)
                    if answer.status_code == 200 and answer.text.strip():
                        headers[_TOKEN_HEADER] = answer.text.strip()
                    else:
                        self._token_failed(f"HTTP {answer.status_code}")
                except httpx.HTTPError as exc:
                    self._token_failed(type(exc).__name__)
                role = self._role_name or self._role_from(
                    http.get(self._base + _ROLE_PATH, headers=headers)
                )
                response = http.get(self._base + _ROLE_PATH + role, headers=headers)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        return self._credentials_from(response, role)

    async def _fetch_async(self) -> _sts.Temporary:
        headers = {"user-agent": USER_AGENT}
        try:
            async with httpx.AsyncClient(timeout=self._timeout, trust_env=False) as http:
                try:
                    answer = await http.put(self._base + _TOKEN_PATH, headers=self._TOKEN_REQUEST)
                    if answer.status_code == 200 and answer.text.strip():
                        headers[_TOKEN_HEADER] = answer.text.strip()
                    else:
                        self._token_failed(f"HTTP {answer.status_code}")
                except httpx.HTTPError as exc:
                    self._token_failed(type(exc).__name__)
                role = self._role_name or self._role_from(
                    await http.get(self._base + _ROLE_PATH, headers=headers)
                )
                response = await http.get(self._base + _ROLE_PATH + role, headers=headers)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        return self._credentials_from(response, role)

    def __repr__(self) -> str:
        return (
            f"EcsRamRoleCredentials(role_name={self._role_name!r}, "
            f"metadata_endpoint={self._base!r})"
        )


class URICredentials(_Refreshing):
    """Temporary credentials from a credentials URI, such as a local sidecar.

    ``uri`` defaults to ``ALIBABA_CLOUD_CREDENTIALS_URI``; creating it raises
    :class:`~alisms.CredentialsError` when neither is set. Each fetch is a
    ``GET`` of the URI, which answers like the ECS metadata service:
    ``{"Code": "Success", "AccessKeyId": ..., "AccessKeySecret": ...,
    "SecurityToken": ..., "Expiration": "2026-01-01T00:00:00Z"}``; any other
    ``Code`` is an error. ``https://`` works for any host; plain ``http://``
    only for a loopback host (``localhost``, ``127.0.0.0/8``, ``::1``) unless
    ``allow_http`` is true, since the answer holds secrets. The URI's user
    information and query are treated as secrets: reprs and errors show only
    ``scheme://host:port/path``. ``timeout`` defaults to 10 seconds (5 to
    connect). Cached and refreshed ahead of expiry like the STS providers.
    """

    def __init__(
        self,
        uri: str | None = None,
        *,
        allow_http: bool = False,
        environ: Mapping[str, str] | None = None,
        timeout: float | httpx.Timeout | None = None,
        clock: Clock | None = None,
    ) -> None:
        env = os.environ if environ is None else environ
        given = uri if uri is not None else env.get(ENV_CREDENTIALS_URI, "")
        if not isinstance(given, str) or not given.strip():
            raise CredentialsError(f"no credentials URI: pass uri= or set {ENV_CREDENTIALS_URI}")
        super().__init__(clock)
        self._uri = _sts.credentials_uri(given, allow_http=allow_http)
        self._timeout = _timeout(timeout, _URI_TIMEOUT)
        self._source_name = f"the credentials URI {self._uri.display}"

    _HEADERS: Final = {"accept": "application/json", "user-agent": USER_AGENT}

    def _parse(self, response: httpx.Response, fetched_at: datetime) -> _sts.Temporary:
        return _sts.parse_uri_document(
            response.status_code,
            response.content,
            source=self._source_name,
            fetched_at=fetched_at,
            known_secrets=self._uri.secrets,
        )

    def _fetch(self) -> _sts.Temporary:
        now = self._clock()
        try:
            # A loopback sidecar is never reached through a proxy.
            with httpx.Client(timeout=self._timeout, trust_env=not self._uri.loopback) as http:
                response = http.get(self._uri.url, headers=self._HEADERS)
        except httpx.HTTPError as exc:
            raise _unreachable(self._source_name, exc) from None
        return self._parse(response, now)

    async def _fetch_async(self) -> _sts.Temporary:
        now = self._clock()
        try:
            async with httpx.AsyncClient(
                timeout=self._timeout, trust_env=not self._uri.loopback
            ) as http:
                response = await http.get(self._uri.url, headers=self._HEADERS)
        except httpx.HTTPError as exc:
            raise _unreachable(self._source_name, exc) from None
        return self._parse(response, now)

    def __repr__(self) -> str:
        return f"URICredentials(uri={self._uri.display!r})"
