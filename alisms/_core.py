"""The I/O-free core shared by :class:`alisms.Client` and :class:`alisms.AsyncClient`.

It turns an :class:`~alisms._operations.Operation` into a signed request, and
an HTTP answer into a result or an :class:`~alisms.AlismsError`. It reads no
clock and draws no randomness of its own: the facades pass the date and nonce.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, TypeVar

import httpx

from alisms import signing
from alisms._config import Endpoint
from alisms._credentials import Credentials
from alisms._errors import APIError, CredentialsError, MalformedResponseError, error_class_for
from alisms._operations import API_VERSION, BadField, Operation
from alisms._record import Record
from alisms._retry import parse_retry_after
from alisms._version import __version__

__all__ = [
    "FORM_CONTENT_TYPE",
    "USER_AGENT",
    "Core",
    "form_encode",
    "new_nonce",
    "scrub",
    "utc_now",
]

T = TypeVar("T")

logger = logging.getLogger("alisms")

FORM_CONTENT_TYPE: Final = "application/x-www-form-urlencoded"
USER_AGENT: Final = (
    f"alisms/{__version__} python/{'.'.join(map(str, sys.version_info[:3]))} "
    f"httpx/{httpx.__version__}"
)
_EXCERPT: Final = 200
_REDACTED: Final = "<redacted>"


def utc_now() -> datetime:
    """The current UTC time: the facades' clock, replaceable in tests."""
    return datetime.now(UTC)


def new_nonce() -> str:
    """A fresh random nonce: 32 hex characters from the OS's CSPRNG."""
    return os.urandom(16).hex()  # what secrets.token_hex(16) does, without its module


def form_encode(params: Mapping[str, str]) -> bytes:
    """Encode ``params`` as an ``application/x-www-form-urlencoded`` body.

    Names and values are percent-encoded with the signer's RFC 3986 rules
    (space as ``%20``) and written in name order, so a body is reproducible.
    """
    enc = signing.percent_encode
    return "&".join([f"{enc(k)}={enc(v)}" for k, v in sorted(params.items())]).encode("ascii")


def scrub(text: str, secrets_: Iterable[str]) -> str:
    """Replace every known secret value in ``text`` with ``<redacted>``."""
    for value in secrets_:
        if value:
            text = text.replace(value, _REDACTED)
    return text


class Core(Record):
    """What a client knows that is not I/O: where to send and how to sign."""

    __slots__ = ("algorithm", "endpoint")
    _fields = ("endpoint", "algorithm")

    endpoint: Endpoint
    algorithm: signing.Algorithm

    def __init__(
        self, endpoint: Endpoint, algorithm: signing.Algorithm = signing.DEFAULT_ALGORITHM
    ) -> None:
        object.__setattr__(self, "endpoint", endpoint)
        object.__setattr__(self, "algorithm", algorithm)

    def sign(
        self,
        operation: Operation[Any],
        credentials: Credentials,
        *,
        date: datetime,
        nonce: str,
    ) -> signing.SignedRequest:
        """Sign ``operation`` with ``credentials``; parameters go in a form body."""
        try:
            signed = signing.sign_request(
                access_key_id=credentials.access_key_id,
                access_key_secret=credentials.access_key_secret,
                security_token=credentials.security_token,
                method="POST",
                host=self.endpoint.host,
                date=date,
                nonce=nonce,
                headers={
                    "x-acs-action": operation.action,
                    "x-acs-version": API_VERSION,
                    "accept": "application/json",
                    "user-agent": USER_AGENT,
                },
                body=form_encode(operation.params),
                content_type=FORM_CONTENT_TYPE,
                algorithm=self.algorithm,
            )
        except ValueError as exc:
            # The signer refuses an unusable key (an RSA secret that is not a PEM key);
            # its message never holds the key itself.
            raise CredentialsError(f"cannot sign with these credentials: {exc}") from None
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "signed %s: canonical request:\n%s\nstring to sign:\n%s",
                operation.action,
                signed.redacted_canonical_request(),
                signed.string_to_sign,
            )
        return signed

    def parse(
        self,
        operation: Operation[T],
        status: int,
        headers: Mapping[str, str],
        body: bytes,
        credentials: Credentials,
        *,
        sent_date: str | None = None,
    ) -> T:
        """Turn the answer to ``operation`` into its result, or raise.

        Raises :class:`~alisms.APIError` (by family) for a gateway error or a
        ``ResponseCode`` other than ``OK``, and
        :class:`~alisms.MalformedResponseError` for a body that is not the
        documented JSON. Known secrets are scrubbed from any server text.
        ``sent_date`` (the request's ``x-acs-date``) lets a clock-skew error
        say how far off the local clock is.
        """
        try:
            known = credentials.secrets()
            data = _decode(status, headers, body, known)
            request_id = _text(data.get("RequestId"), known)
            gateway_code = data.get("Code")
            code = data.get("ResponseCode")
            retry_after = parse_retry_after(headers) if status != 200 or code != "OK" else None
            if isinstance(gateway_code, str) and gateway_code and not isinstance(code, str):
                error = _gateway_error(status, gateway_code, data, request_id, known, retry_after)
                if gateway_code == "InvalidTimeStamp.Expired":
                    error.hint = _skew_hint(sent_date, headers.get("date")) or error.hint
                raise error
            if isinstance(code, str) and code and code != "OK":
                description = _text(data.get("ResponseDescription"), known) or "no description"
                raise error_class_for(code, http_status=status, business=True)(
                    description,
                    code=code,
                    request_id=request_id,
                    http_status=status,
                    retry_after=retry_after,
                )
            if code != "OK" or status >= 400:
                what = (
                    "ResponseCode OK"
                    if code == "OK"
                    else "neither an error code nor a ResponseCode"
                )
                raise MalformedResponseError(
                    f"{operation.action} answered HTTP {status} with {what}",
                    http_status=status,
                    excerpt=_excerpt(body, known),
                    request_id=request_id,
                )
            try:
                result = operation.parse(data, body)
            except BadField as exc:
                fault = scrub(str(exc), known)
                raise MalformedResponseError(
                    f"{operation.action} answered OK with a malformed field: {fault}",
                    http_status=status,
                    excerpt=_excerpt(body, known),
                    request_id=request_id,
                ) from None
            if logger.isEnabledFor(logging.DEBUG):
                logger.debug("%s accepted, request id %s", operation.action, request_id)
            return result
        except MalformedResponseError as error:
            if not operation.billed:
                # The "outcome unknown" advice is for sends; this call sent nothing.
                error.hint = f"{operation.action} sends no message: it is safe to call it again"
            raise


def _text(value: object, known: tuple[str, ...]) -> str | None:
    return scrub(value, known) if isinstance(value, str) else None


def _excerpt(body: bytes, known: tuple[str, ...]) -> str:
    return scrub(body[: _EXCERPT * 4].decode("utf-8", "replace"), known)[:_EXCERPT]


def _decode(
    status: int, headers: Mapping[str, str], body: bytes, known: tuple[str, ...]
) -> dict[str, Any]:
    # json.loads(body) with a shortcut for the UTF-8 the service sends: on bytes,
    # json.loads first sniffs for UTF-16, UTF-32 and a BOM. A body that decodes
    # as UTF-8 and parses is the same document; anything else (a BOM, another
    # encoding, bad JSON) goes to json.loads itself, so the result and the
    # outcome are those of json.loads(body).
    try:
        data = json.loads(body.decode("utf-8"))
    except (ValueError, RecursionError):
        try:
            data = json.loads(body)
        except (ValueError, RecursionError):
            data = None
    if isinstance(data, dict):
        return data
    xml = _xml_error(body) if body.lstrip().startswith(b"<") else None
    if xml is not None:
        return xml
    what = "an empty body" if not body else "a body that is not a JSON object"
    raise MalformedResponseError(
        f"the service answered HTTP {status} with {what}",
        http_status=status,
        excerpt=_excerpt(body, known),
        request_id=headers.get("x-acs-request-id"),
    )


def _xml_error(body: bytes) -> dict[str, Any] | None:
    """Read the gateway's XML error shape, ``<Error><Code>…</Code>…</Error>``."""
    from xml.etree import ElementTree

    try:
        root = ElementTree.fromstring(body)  # noqa: S314 - the gateway's answer; expat limits entity expansion
    except (ElementTree.ParseError, LookupError, ValueError, RecursionError):
        return None
    if root.tag != "Error" or root.find("Code") is None:
        return None
    return {child.tag: (child.text or "") for child in root}


def _gateway_error(
    status: int,
    code: str,
    data: Mapping[str, Any],
    request_id: str | None,
    known: tuple[str, ...],
    retry_after: float | None,
) -> APIError:
    message = _text(data.get("Message"), known) or "no message"
    return error_class_for(code, http_status=status, business=False)(
        message,
        code=code,
        request_id=request_id,
        http_status=status,
        host_id=_text(data.get("HostId"), known),
        recommend=_text(data.get("Recommend"), known),
        access_denied_detail=_detail(data),
        retry_after=retry_after,
    )


def _skew_hint(sent_date: str | None, server_date: str | None) -> str | None:
    """Say how far the local clock is from the server's, from the response's Date header."""
    if not sent_date or not server_date:
        return None
    from email.utils import parsedate_to_datetime  # only on this rare path: import cost

    try:
        sent = datetime.strptime(sent_date, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        server = parsedate_to_datetime(server_date)
    except (ValueError, TypeError, IndexError):
        return None
    if server.tzinfo is None:
        return None
    skew = (sent - server).total_seconds()
    direction = "ahead of" if skew > 0 else "behind"
    return (
        f"The local clock is about {abs(skew) / 60:.0f} minutes {direction} the service's "
        f"(signed at {sent_date}, the service's Date was {server_date}); the window is "
        "15 minutes: sync the clock with NTP"
    )


def _detail(data: Mapping[str, Any]) -> dict[str, Any] | None:
    detail = data.get("AccessDeniedDetail", data.get("accessDeniedDetail"))
    return dict(detail) if isinstance(detail, Mapping) else None
