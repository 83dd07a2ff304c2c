"""The I/O-free parts of temporary credentials: STS requests and answers, expiry.

STS (``Sts`` 2015-04-01) is an RPC-style API: the parameters go in a form
body, like the SMS calls, and AssumeRole is signed with alisms's own V3 signer
over the source credentials. AssumeRoleWithOIDC is anonymous: the OIDC token
is the proof, so it carries no ``Authorization`` header. Nothing here touches
the network, the clock or the file system; the providers in
:mod:`alisms._providers` do that.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from alisms import signing
from alisms._core import FORM_CONTENT_TYPE, USER_AGENT, form_encode, scrub
from alisms._credentials import Credentials
from alisms._errors import CredentialsError

STS_VERSION: Final = "2015-04-01"
DEFAULT_STS_HOST: Final = "sts.aliyuncs.com"
ENV_STS_REGION: Final = "ALIBABA_CLOUD_STS_REGION"
ENV_VPC_ENDPOINT_ENABLED: Final = "ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED"
DEFAULT_DURATION: Final = 3600
REFRESH_AHEAD: Final = timedelta(minutes=15)
EXPIRY_MARGIN: Final = timedelta(seconds=30)
"""Credentials this close to their expiration are treated as expired."""
_EXCERPT: Final = 200


@dataclass(frozen=True, repr=False)
class Temporary:
    """Credentials with the moment they expire and the moment they were fetched."""

    credentials: Credentials
    expiration: datetime
    fetched_at: datetime

    def expired(self, now: datetime) -> bool:
        """Whether these credentials must no longer be used."""
        return now >= self.expiration - EXPIRY_MARGIN

    def stale(self, now: datetime) -> bool:
        """Whether it is time to refresh: within 15 minutes or 1/5 of the lifetime of expiry."""
        ahead = min(REFRESH_AHEAD, (self.expiration - self.fetched_at) / 5)
        return now >= self.expiration - ahead

    def __repr__(self) -> str:
        return f"Temporary({self.credentials!r}, expiration={self.expiration.isoformat()!r})"


@dataclass(frozen=True)
class StsEndpoint:
    """Where STS requests go: ``scheme://host[:port]``."""

    scheme: str
    host: str

    @property
    def url(self) -> str:
        """The base URL."""
        return f"{self.scheme}://{self.host}/"


def truthy(value: str | None) -> bool:
    """Whether an environment variable's value means yes."""
    return (value or "").strip().lower() in {"true", "1", "yes", "on"}


def _is_loopback(host: str | None) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host or "").is_loopback
    except ValueError:
        return False


def sts_endpoint(endpoint: str | None, environ: Mapping[str, str]) -> StsEndpoint:
    """The STS endpoint: ``endpoint`` when given, else from the STS region variables.

    ``ALIBABA_CLOUD_STS_REGION`` picks ``sts.<region>.aliyuncs.com`` (or
    ``sts-vpc.<region>.aliyuncs.com`` when ``ALIBABA_CLOUD_VPC_ENDPOINT_ENABLED``
    is true); the default is ``sts.aliyuncs.com``. Plain ``http://`` is
    accepted for loopback addresses only.
    """
    if endpoint is None:
        region = environ.get(ENV_STS_REGION, "").strip()
        if not region:
            return StsEndpoint("https", DEFAULT_STS_HOST)
        prefix = "sts-vpc" if truthy(environ.get(ENV_VPC_ENDPOINT_ENABLED)) else "sts"
        return StsEndpoint("https", f"{prefix}.{region}.aliyuncs.com")
    text = endpoint.strip()
    parts = urlsplit(text if "://" in text else f"https://{text}")
    if parts.scheme not in {"https", "http"} or not parts.netloc or parts.path not in {"", "/"}:
        raise CredentialsError(f"sts_endpoint= takes a host name or a base URL, not {endpoint!r}")
    if parts.scheme == "http" and not _is_loopback(parts.hostname):
        raise CredentialsError(
            f"sts_endpoint={endpoint!r} is plain HTTP; STS returns secrets, so use https://"
        )
    return StsEndpoint(parts.scheme, parts.netloc)


def build_request(
    action: str,
    params: Mapping[str, str],
    *,
    endpoint: StsEndpoint,
    credentials: Credentials | None,
    date: datetime,
    nonce: str,
) -> tuple[dict[str, str], bytes]:
    """Return the headers and form body of an STS call; signed when ``credentials`` are given."""
    body = form_encode(params)
    headers = {
        "x-acs-action": action,
        "x-acs-version": STS_VERSION,
        "accept": "application/json",
        "user-agent": USER_AGENT,
    }
    if credentials is None:
        headers.update(
            {
                "host": endpoint.host,
                "x-acs-date": signing.format_date(date),
                "x-acs-signature-nonce": nonce,
                "x-acs-content-sha256": signing.hash_hex(body),
                "content-type": FORM_CONTENT_TYPE,
            }
        )
        return headers, body
    try:
        signed = signing.sign_request(
            access_key_id=credentials.access_key_id,
            access_key_secret=credentials.access_key_secret,
            security_token=credentials.security_token,
            method="POST",
            host=endpoint.host,
            date=date,
            nonce=nonce,
            headers=headers,
            body=body,
            content_type=FORM_CONTENT_TYPE,
        )
    except ValueError as exc:
        raise CredentialsError(f"cannot sign the STS {action} call: {exc}") from None
    return dict(signed.headers), body


def assume_role_params(
    role_arn: str,
    session_name: str,
    duration: int,
    policy: str | None = None,
    external_id: str | None = None,
) -> dict[str, str]:
    """The parameters of STS AssumeRole."""
    params = {
        "RoleArn": role_arn,
        "RoleSessionName": session_name,
        "DurationSeconds": str(duration),
    }
    if policy:
        params["Policy"] = policy
    if external_id:
        params["ExternalId"] = external_id
    return params


def oidc_params(
    role_arn: str,
    provider_arn: str,
    token: str,
    session_name: str,
    duration: int,
    policy: str | None = None,
) -> dict[str, str]:
    """The parameters of STS AssumeRoleWithOIDC."""
    params = {
        "RoleArn": role_arn,
        "OIDCProviderArn": provider_arn,
        "OIDCToken": token,
        "RoleSessionName": session_name,
        "DurationSeconds": str(duration),
    }
    if policy:
        params["Policy"] = policy
    return params


def parse_expiration(value: object) -> datetime:
    """Parse an ISO 8601 UTC expiration such as ``2026-01-01T00:00:00Z``."""
    if not isinstance(value, str):
        raise ValueError("no Expiration")
    moment = datetime.fromisoformat(value.strip())
    if moment.tzinfo is None:
        raise ValueError("Expiration has no time zone")
    return moment


def credentials_from(data: Mapping[str, Any], *, source: str, fetched_at: datetime) -> Temporary:
    """Build :class:`Temporary` from a mapping with AccessKeyId, AccessKeySecret, Expiration."""
    try:
        expiration = parse_expiration(data.get("Expiration"))
        credentials = Credentials(
            data.get("AccessKeyId"),  # type: ignore[arg-type]
            data.get("AccessKeySecret"),  # type: ignore[arg-type]
            data.get("SecurityToken"),
        )
    except (ValueError, CredentialsError) as exc:
        reason = exc.message if isinstance(exc, CredentialsError) else str(exc)
        raise CredentialsError(f"{source} answered with unusable credentials: {reason}") from None
    return Temporary(credentials, expiration, fetched_at)


def parse_response(
    action: str,
    status: int,
    body: bytes,
    *,
    fetched_at: datetime,
    known_secrets: Iterable[str] = (),
) -> Temporary:
    """Turn an STS answer into :class:`Temporary`, or raise :class:`CredentialsError`.

    Gateway errors keep their code and request id; any server text is
    scrubbed of ``known_secrets`` (the source secret, tokens).
    """
    known = tuple(s for s in known_secrets if s)
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        data = None
    if not isinstance(data, dict):
        excerpt = scrub(body[:_EXCERPT].decode("utf-8", "replace"), known)
        raise CredentialsError(
            f"STS {action} answered HTTP {status} with a body that is not JSON: {excerpt!r}",
            http_status=status,
        )
    request_id = data.get("RequestId") if isinstance(data.get("RequestId"), str) else None
    creds = data.get("Credentials")
    if status == 200 and isinstance(creds, dict):
        temporary = credentials_from(creds, source=f"STS {action}", fetched_at=fetched_at)
        return temporary
    code = data.get("Code") if isinstance(data.get("Code"), str) else None
    message = data.get("Message") if isinstance(data.get("Message"), str) else None
    text = scrub(message or "no Credentials in the answer", known)
    raise CredentialsError(
        f"STS {action} failed: {text}",
        code=code,
        request_id=request_id,
        http_status=status,
        hint=_hint(code),
    )


def _hint(code: str | None) -> str | None:
    if code is None:
        return None
    if code.startswith("NoPermission") or code.startswith("Forbidden"):
        return (
            "Check that the role's trust policy lets this principal assume it, "
            "and the source identity may call sts:AssumeRole"
        )
    if "OIDC" in code or "Token" in code:
        return "Check the OIDC provider ARN, the role ARN and the token file"
    return None


def parse_imds(text: str, *, fetched_at: datetime) -> Temporary:
    """Turn the metadata service's role credentials document into :class:`Temporary`."""
    try:
        data = json.loads(text)
    except ValueError:
        data = None
    if not isinstance(data, dict):
        raise CredentialsError("the ECS metadata service answered with a document that is not JSON")
    if data.get("Code") != "Success":
        code = data.get("Code")
        raise CredentialsError(
            f"the ECS metadata service refused the role credentials (Code {code!r})"
        )
    return credentials_from(data, source="the ECS metadata service", fetched_at=fetched_at)


@dataclass(frozen=True)
class CredentialsURI:
    """A credentials URI, checked: the URL to GET, a display form and its secret parts."""

    url: str
    display: str
    loopback: bool
    secrets: tuple[str, ...]


def credentials_uri(uri: str, *, allow_http: bool) -> CredentialsURI:
    """Check a credentials URI: ``https://``, or ``http://`` to a loopback host or when allowed.

    The display form drops any user information, query and fragment, which may
    carry a token; those parts are returned as secrets to scrub from errors.
    """
    text = uri.strip() if isinstance(uri, str) else ""
    parts = urlsplit(text)
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise CredentialsError(
            "the credentials URI must be an http:// or https:// URL with a host name"
        )
    try:
        port = parts.port
    except ValueError:
        raise CredentialsError("the credentials URI has an invalid port") from None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    display = f"{parts.scheme}://{host}{'' if port is None else f':{port}'}{parts.path}"
    loopback = _is_loopback(parts.hostname)
    if parts.scheme == "http" and not loopback and not allow_http:
        raise CredentialsError(
            f"the credentials URI {display} is plain HTTP to a host that is not loopback; "
            "it returns secrets, so use https://",
            hint="If the network path is trusted (a sidecar in the same pod), pass "
            "credentials=alisms.URICredentials(allow_http=True)",
        )
    query = [value for _, value in parse_qsl(parts.query, keep_blank_values=False)]
    secrets_ = tuple(s for s in (parts.password, parts.query, *query, parts.fragment) if s)
    return CredentialsURI(text, display, loopback, secrets_)


def parse_uri_document(
    status: int,
    body: bytes,
    *,
    source: str,
    fetched_at: datetime,
    known_secrets: Iterable[str] = (),
) -> Temporary:
    """Turn a credentials URI's answer into :class:`Temporary`, or raise :class:`CredentialsError`.

    The answer has the ECS metadata document's shape: ``Code`` ``"Success"``,
    ``AccessKeyId``, ``AccessKeySecret``, ``SecurityToken``, ``Expiration``.
    A body that is not a JSON object is never shown (a truncated document may
    hold a secret); a refusal shows its ``Code`` and ``Message``, scrubbed of
    ``known_secrets`` and of any secret values in the document itself.
    """
    try:
        data = json.loads(body.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        data = None
    if not isinstance(data, dict):
        raise CredentialsError(
            f"{source} answered HTTP {status} with a body that is not a JSON object "
            f"({len(body)} bytes, not shown)",
            http_status=status,
        )
    code = data.get("Code")
    if status != 200 or code != "Success":
        found = (data.get("AccessKeySecret"), data.get("SecurityToken"))
        known = (*known_secrets, *(s for s in found if isinstance(s, str)))
        message = data.get("Message")
        detail = f": {message}" if isinstance(message, str) and message.strip() else ""
        if not isinstance(code, str) or not code:
            detail += " (no Code in the answer)"
        raise CredentialsError(
            f"{source} refused the credentials{scrub(detail, known)[:_EXCERPT]}",
            code=scrub(code, known)[:_EXCERPT] if isinstance(code, str) and code else None,
            http_status=status,
        )
    return credentials_from(data, source=source, fetched_at=fetched_at)
