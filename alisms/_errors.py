"""The exception tree: everything alisms raises derives from :class:`AlismsError`.

::

    AlismsError
    ├── ValidationError (also ValueError)   bad input, refused before sending
    ├── ConfigurationError (also ValueError)  bad client settings
    │   └── CredentialsError                no or unusable credentials
    ├── TransportError                      no usable HTTP exchange
    ├── MalformedResponseError              the body is not the expected JSON
    ├── DeliveryUnknownError                a send may or may not have been accepted
    ├── ReceiptError (also ValueError)      a delivery-report push is not the documented JSON
    └── APIError                            the service refused the request
        ├── AuthenticationError             signature, AccessKey, STS token, clock
        ├── PermissionDeniedError           RAM policy, account state, risk control
        ├── ThrottlingError                 flow control: slow down and retry later
        ├── ServerError                     the service failed: retry later
        ├── InvalidRequestError             the gateway refused a parameter
        └── MessageRejectedError            a business ResponseCode other than OK

Every :class:`APIError` carries the API's own ``code`` unchanged, its
``message``, the ``request_id`` and the ``http_status``, and its text says what
to do next.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

__all__ = [
    "APIError",
    "AlismsError",
    "AuthenticationError",
    "ConfigurationError",
    "CredentialsError",
    "DeliveryUnknownError",
    "InvalidRequestError",
    "MalformedResponseError",
    "MessageRejectedError",
    "PermissionDeniedError",
    "ReceiptError",
    "ServerError",
    "ThrottlingError",
    "TransportError",
    "ValidationError",
    "bare_code",
    "error_class_for",
]


class AlismsError(Exception):
    """The root of every error alisms raises.

    ``code``, ``message``, ``request_id`` and ``http_status`` are ``None``
    where they do not apply. ``str()`` gives the message followed by what to
    do next.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        request_id: str | None = None,
        http_status: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.message = message
        self.code = code
        self.request_id = request_id
        self.http_status = http_status
        self.hint = hint
        super().__init__(message)

    def __str__(self) -> str:
        parts = []
        if self.code:
            parts.append(f"{self.code}: ")
        parts.append(self.message)
        details = []
        if self.http_status is not None:
            details.append(f"HTTP {self.http_status}")
        if self.request_id:
            details.append(f"request id {self.request_id}")
        if details:
            parts.append(f" ({', '.join(details)})")
        if self.hint:
            parts.append(f". {self.hint}")
        return "".join(parts)

    def __repr__(self) -> str:
        return (
            f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
            f"request_id={self.request_id!r}, http_status={self.http_status!r})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        # Rebuild from the attributes, not the constructor's arguments, so every
        # subclass survives pickle and copy (multiprocessing, executors).
        return (_rebuild, (type(self), self.args, dict(self.__dict__)))


def _rebuild(cls: type[AlismsError], args: tuple[Any, ...], state: dict[str, Any]) -> AlismsError:
    error = cls.__new__(cls)
    Exception.__init__(error, *args)
    error.__dict__.update(state)
    return error


class ValidationError(AlismsError, ValueError):
    """An argument is invalid; nothing was sent.

    ``field`` names the parameter (for example ``"to"`` or ``"from_"``).
    """

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


class ConfigurationError(AlismsError, ValueError):
    """The client's settings are invalid (endpoint, region, algorithm, timeout)."""


class CredentialsError(ConfigurationError):
    """No credentials were found, or the ones found cannot be used."""


class TransportError(AlismsError):
    """No usable HTTP exchange took place (connection refused, DNS, TLS, timeout).

    ``may_have_been_sent`` is ``False`` when the request surely never left
    (the connection was never made) and ``True`` when it may have reached the
    service, in which case the message may have been accepted and billed: do
    not resend it blindly.
    """

    def __init__(self, message: str, *, may_have_been_sent: bool, hint: str | None = None) -> None:
        self.may_have_been_sent = may_have_been_sent
        super().__init__(message, hint=hint)


class MalformedResponseError(AlismsError):
    """The service answered, but not with the JSON the operation documents.

    ``excerpt`` holds the start of the body. The outcome of a send that ends
    here is unknown: the message may have been accepted.
    """

    def __init__(
        self,
        message: str,
        *,
        http_status: int,
        excerpt: str,
        request_id: str | None = None,
    ) -> None:
        self.excerpt = excerpt
        super().__init__(
            f"{message}; body starts {excerpt!r}",
            http_status=http_status,
            request_id=request_id,
            hint="The outcome is unknown: check the message status before sending it again",
        )


class DeliveryUnknownError(AlismsError):
    """A send may have been accepted (and billed), and there is no way to tell from here.

    Raised when no usable answer came and retrying could not settle it: the
    identical resend was refused as already seen (``SignatureNonceUsed``), or
    the tries or the deadline ran out. Do not send the message again blindly:
    look for it first (QueryMessage with a message id, the delivery receipts
    with your ``task_id``, or the SMS console), or accept a possible duplicate
    knowingly. ``nonce`` and ``date`` identify the signed request,
    ``request_ids`` every request id the service gave, ``attempts`` how many
    were sent, and ``last_error`` (also ``__cause__``) the last failure.
    """

    def __init__(
        self,
        reason: str,
        *,
        nonce: str,
        date: str,
        attempts: int,
        request_ids: tuple[str, ...] = (),
        last_error: AlismsError | None = None,
    ) -> None:
        self.nonce = nonce
        self.date = date
        self.attempts = attempts
        self.request_ids = request_ids
        self.last_error = last_error
        super().__init__(
            f"delivery unknown after {attempts} attempt(s): {reason} (nonce {nonce}, date {date})",
            code=last_error.code if last_error is not None else None,
            request_id=request_ids[-1] if request_ids else None,
            http_status=last_error.http_status if last_error is not None else None,
            hint=(
                "Do not resend blindly: check whether the message arrived (QueryMessage, "
                "delivery receipts, the console) before sending it again"
            ),
        )


class ReceiptError(AlismsError, ValueError):
    """A delivery-report push is not the documented JSON array of reports.

    Raised by :func:`alisms.parse_delivery_reports`, which reads all or
    nothing: no report of a push is returned when one of them is malformed.
    ``index`` is the position of the offending report in the array (``None``
    when the body as a whole is wrong) and ``field`` the offending field, if
    one is to blame. The text says what is wrong and where, never a value
    that could be personal data, such as a phone number.
    """

    def __init__(self, message: str, *, index: int | None = None, field: str | None = None) -> None:
        self.index = index
        self.field = field
        where = "" if index is None else f"report [{index}]: "
        super().__init__(f"{where}{message}")

    def __repr__(self) -> str:
        return f"ReceiptError(index={self.index!r}, field={self.field!r}, message={self.message!r})"


class APIError(AlismsError):
    """The service refused the request.

    ``code`` is the API's own code (``Code`` from the gateway, or the business
    ``ResponseCode``), unchanged; ``host_id``, ``recommend`` and
    ``access_denied_detail`` (RAM's explanation of a denial) are the gateway's
    diagnostics when it sends them; ``retry_after`` is the wait in seconds
    the service asked for, if it did.
    """

    code: str

    def __init__(
        self,
        message: str,
        *,
        code: str,
        request_id: str | None = None,
        http_status: int | None = None,
        host_id: str | None = None,
        recommend: str | None = None,
        hint: str | None = None,
        access_denied_detail: Mapping[str, Any] | None = None,
        retry_after: float | None = None,
    ) -> None:
        self.retry_after = retry_after
        self.host_id = host_id
        self.recommend = recommend
        self.access_denied_detail = access_denied_detail
        super().__init__(
            message,
            code=code,
            request_id=request_id,
            http_status=http_status,
            hint=hint if hint is not None else _hint_for(code, type(self)),
        )


class AuthenticationError(APIError):
    """The credentials or the signature were refused (AccessKey, secret, STS token, clock)."""


class PermissionDeniedError(APIError):
    """The credentials are valid but not allowed to do this (RAM policy, account state)."""


class ThrottlingError(APIError):
    """The request was refused by flow control; it was not accepted. Slow down and retry."""


class ServerError(APIError):
    """The service failed or is unavailable; the request was not accepted. Retry later."""


class InvalidRequestError(APIError):
    """The gateway refused a parameter or the request's form (missing or invalid value)."""


class MessageRejectedError(APIError):
    """The operation answered with a business ``ResponseCode`` other than ``OK``.

    For a send this means the message was not accepted (for example
    ``MOBILE_NUMBER_ILLEGAL`` or ``INVALID_SENDERID``).
    """


_AUTH_PREFIXES: Final = (
    "Signature",
    "IncompleteSignature",
    "InvalidAccessKeyId",
    "InvalidSecurityToken",
    "MissingSecurityToken",
    "InvalidTimeStamp",
    "InvalidSignatureMethod",
    "Forbidden.AccessKeyDisabled",
    "InvalidAccessKeySecret",
)
_PERMISSION_CODES: Final = frozenset(
    {
        "Forbidden",
        "NoPermission",
        "RAM_PERMISSION_DENY",
        "RAM_CHECK_FAILED",
        "FORBIDDEN_ACTION",
        "OUT_OF_SERVICE",
        "ACCOUNT_NOT_EXISTS",
        "ACCOUNT_ILLEGAL",
        "ACCOUNT_ABNORMAL",
        "PRODUCT_NOT_SUBSCRIBED",
        "PRODUCT_UN_SUBSCRIPT",
        "InvalidProtocol.NeedSsl",
    }
)
_THROTTLING_CODES: Final = frozenset(
    {
        "QPS_LIMIT_CONTROL",
        "BUSINESS_LIMIT_CONTROL_MINUTE",
        "BUSINESS_LIMIT_HOUR",
        "BUSINESS_LIMIT_DAY",
        "BUSINESS_LIMIT_CONTROL_PHONE",
    }
)
_SERVER_CODES: Final = frozenset(
    {
        "InternalError",
        "UnknownError",
        "ServiceUnavailable",
        "SYSTEM_ERROR",
        "UNKNOWN",
        "GATEWAY_ERROR",
        "ONLINE_BILLING_FAILED",
        "BILLING_DEDUCTION_ERROR",
        "DATA_NOT_EXIST",
    }
)


def bare_code(code: str) -> str:
    """Return ``code`` without the older ``isv.``/``isp.`` prefix (``isv.X`` means ``X``)."""
    return code[4:] if code.startswith(("isv.", "isp.")) else code


def error_class_for(code: str, *, http_status: int | None, business: bool) -> type[APIError]:
    """Return the :class:`APIError` subclass for an API ``code``.

    ``business`` is true for a ``ResponseCode`` in an operation's body, false
    for a gateway ``Code``. The family is decided by the code first (the same
    code means the same thing wherever it appears) and by the HTTP status
    only for gateway codes this table does not know.
    """
    code = bare_code(code)
    if code.startswith(_AUTH_PREFIXES):
        return AuthenticationError
    if code in _PERMISSION_CODES or code.startswith("Forbidden"):
        return PermissionDeniedError
    if code in _THROTTLING_CODES or code.startswith("Throttling"):
        return ThrottlingError
    if code in _SERVER_CODES:
        return ServerError
    if business:
        return MessageRejectedError
    if http_status is not None and http_status >= 500:
        return ServerError
    if http_status == 403:
        return PermissionDeniedError
    return InvalidRequestError


_CODE_HINTS: Final = {
    "SignatureDoesNotMatch": (
        "Check that the AccessKey secret belongs to the AccessKey ID, and that nothing "
        "between alisms and the service rewrites the request (a proxy changing the host, "
        "headers or body)"
    ),
    "IncompleteSignature": "The signature was malformed; this is a bug, please report it",
    "SignatureNonceUsed": (
        "The same signature nonce was sent twice; if this followed a resend, the first "
        "attempt may have been accepted"
    ),
    "InvalidTimeStamp.Expired": (
        "The local clock differs from the service's by more than 15 minutes: sync it with NTP"
    ),
    "InvalidAccessKeyId.NotFound": "Check the AccessKey ID: the service does not know it",
    "InvalidAccessKeyId.Inactive": "The AccessKey is disabled: enable it or use another one",
    "InvalidSecurityToken.Expired": "The STS token has expired: obtain new temporary credentials",
    "MOBILE_NUMBER_ILLEGAL": (
        "Check the number: dialing code then number, digits only, outside the Chinese mainland"
    ),
    "INVALID_SENDERID": (
        "Use a sender ID approved for the destination country in the SMS console, "
        "spelled exactly as approved"
    ),
    "AMOUNT_NOT_ENOUGH": "Top up the account balance or buy a resource plan",
    "NOT_SUPPORTED_COUNTRY": "The destination country is not supported for this account",
    "MOBILE_COUNT_OVER_LIMIT": "Send at most 1,000 numbers per batch",
    "PRODUCT_NOT_SUBSCRIBED": "Activate Short Message Service for this account",
    "COUNTRY_RESTRICTED": "Chinese mainland numbers need SendMessageWithTemplate",
}

_FAMILY_HINTS: Final[dict[type[APIError], str]] = {
    AuthenticationError: "Check the credentials, the signature algorithm and the local clock",
    PermissionDeniedError: (
        "Grant the RAM identity the dysms action (for example dysms:SendMessageToGlobe) "
        "or check the account's state in the console"
    ),
    ThrottlingError: "The request was not accepted: slow down and retry later",
    ServerError: "The request was not accepted: retry later",
    InvalidRequestError: "Correct the request; sending it again unchanged will fail again",
    MessageRejectedError: "The message was not accepted; see the code's meaning in the SMS docs",
}


def _hint_for(code: str, family: type[APIError]) -> str | None:
    return _CODE_HINTS.get(bare_code(code)) or _FAMILY_HINTS.get(family)
