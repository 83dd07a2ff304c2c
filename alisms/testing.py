"""A faithful in-process fake of the dysmsapi service, for tests and the sandbox.

:class:`FakeSMSService` checks what the real gateway checks (the V3
signature by any correct signer, with parameters in the body or the query
string, extra signed headers, SHA-256 or SM3; the 15-minute date window; nonce
reuse; known AccessKeys and STS tokens) and then the API's own rules (required
parameters, number format, Chinese mainland numbers, sender IDs, batch size,
JSON arrays, ``FailedList``, ``Segments``). It answers all six operations of
the API with the documented response and error shapes: the two Globe sends,
SendMessageWithTemplate (mainland numbers only), QueryMessage for the messages
it accepted (delivered, unless a test says otherwise with
:meth:`~FakeSMSService.set_status`), SmsConversion and ConversionData. It
records every accepted message and conversion report, can push delivery
reports to a URL (:meth:`~FakeSMSService.push_receipts`), and can inject
faults. Use it as an httpx transport (no network)::

    fake = FakeSMSService()
    with fake.client() as client:
        client.send_message_to_globe("85212345678", "hi")
    assert fake.messages[0].text == "hi"

or over real HTTP with ``alisms sandbox``. A pytest fixture, ``sms_fake``,
is registered by alisms's pytest plugin.
"""

from __future__ import annotations

import hmac
import json
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal, InvalidOperation
from email.utils import format_datetime
from typing import Any, Final, Literal
from urllib.parse import parse_qsl, urlsplit

import httpx

from alisms import signing
from alisms._client import AsyncClient, Client
from alisms._results import DeliveryStatus
from alisms._segments import count_segments

__all__ = [
    "DEFAULT_ACCESS_KEY_ID",
    "DEFAULT_ACCESS_KEY_SECRET",
    "AcceptedMessage",
    "ConversionRateReport",
    "ConversionReport",
    "FakeRequest",
    "FakeResponse",
    "FakeSMSService",
    "FakeTransport",
    "FaultKind",
    "ReceiptPushError",
]

DEFAULT_ACCESS_KEY_ID: Final = "alisms-test-id"
"""The AccessKey ID a :class:`FakeSMSService` knows unless told otherwise."""
DEFAULT_ACCESS_KEY_SECRET: Final = "alisms-test-secret"  # noqa: S105 - a published test value
"""The secret of :data:`DEFAULT_ACCESS_KEY_ID`."""

FaultKind = Literal["drop_after_accept", "unavailable", "throttle", "delay", "malformed"]
"""A fault the fake can inject: see :meth:`FakeSMSService.inject`."""

_API_VERSION: Final = "2018-05-01"
_DATE_WINDOW: Final = timedelta(minutes=15)
_NONCE_MEMORY: Final = timedelta(minutes=31)
_HOST_ID: Final = "dysmsapi.ap-southeast-1.aliyuncs.com"
_AUTH: Final = re.compile(
    r"(?P<alg>ACS3-[A-Z0-9-]+) Credential=(?P<id>[^,]+),"
    r"SignedHeaders=(?P<signed>[^,]*),Signature=(?P<sig>[0-9a-fA-F]+)"
)
_NUMBER: Final = re.compile(r"[0-9]{7,15}")
_MAINLAND: Final = re.compile(r"861[0-9]{10}")
_SENDER: Final = re.compile(r"[A-Za-z0-9]+")
_RATE: Final = re.compile(r"[0-9]+(\.[0-9]+)?")
_VARIABLE: Final = re.compile(r"\$\{([^}]*)\}")
_SERVICE_ZONE: Final = timezone(timedelta(hours=8))
"""The service writes its dates in China Standard Time (``+0800``)."""
_FIRST_MESSAGE_ID: Final = 1008030300000000


@dataclass(frozen=True)
class FakeRequest:
    """An HTTP request as the fake sees it: headers as (name, value) pairs."""

    method: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def header_values(self, name: str) -> list[str]:
        """Every value of header ``name`` (case-insensitive), in order."""
        lowered = name.lower()
        return [v for k, v in self.headers if k.lower() == lowered]

    def header(self, name: str) -> str | None:
        """The first value of header ``name``, or ``None``."""
        values = self.header_values(name)
        return values[0] if values else None


@dataclass(frozen=True)
class FakeResponse:
    """The fake's answer: status and JSON body, or an instruction to misbehave.

    ``drop`` means close the connection without answering; ``delay`` means
    wait that many seconds before answering.
    """

    status: int
    body: bytes
    drop: bool = False
    delay: float = 0.0
    headers: tuple[tuple[str, str], ...] = (("content-type", "application/json;charset=utf-8"),)


@dataclass(frozen=True)
class AcceptedMessage:
    """One message the fake accepted (a batch gives one per accepted number).

    A SendMessageWithTemplate message has ``action`` ``"SendMessageWithTemplate"``,
    the signature name in ``from_``, and ``template_code``, ``template_param``
    (the variables, decoded) and ``sms_up_extend_code`` as sent. Its ``text``
    is the template filled in when the fake knows the template
    (``FakeSMSService(templates=...)``); otherwise, since the fake cannot
    know the approved wording, the code then the variables as sent, such as
    ``[SMS_123] {"code":"1234"}``.
    """

    message_id: str
    to: str
    text: str
    from_: str | None
    type: str | None
    task_id: str | None
    validity_period: int | None
    channel_id: str | None
    segments: int
    encoding: str
    action: str
    access_key_id: str
    request_id: str
    accepted_at: datetime
    template_code: str | None = None
    template_param: Mapping[str, Any] | None = None
    sms_up_extend_code: str | None = None


@dataclass(frozen=True)
class ConversionReport:
    """One SmsConversion report the fake accepted.

    ``conversion_time`` is ``None`` when the report gave none (the service
    then takes its own now).
    """

    message_id: str
    delivered: bool
    conversion_time: datetime | None
    to: str | None
    access_key_id: str
    request_id: str


@dataclass(frozen=True)
class ConversionRateReport:
    """One ConversionData report the fake accepted: the rate exactly as sent."""

    rate: Decimal
    report_time: datetime | None
    access_key_id: str
    request_id: str


class ReceiptPushError(Exception):
    """A delivery-report push was not taken: no answer, or not HTTP 200 with a numeric ``code``.

    ``status`` is the HTTP status (``None`` when no answer came) and
    ``excerpt`` the start of the answer's body. The reports stay unpushed.
    """

    def __init__(self, message: str, *, status: int | None = None, excerpt: str = "") -> None:
        self.status = status
        self.excerpt = excerpt
        super().__init__(message)


@dataclass(frozen=True)
class _Delivery:
    """What became of an accepted message, as QueryMessage and the reports tell it."""

    status_code: str
    error_code: str | None
    error_description: str | None
    at: datetime | None


# The carrier's verdict for each state unless a test gives one: QueryMessage's
# documented example says DELIVERED, the delivery reports' example says success.
_VERDICTS: Final[dict[str, tuple[str, str, str]]] = {
    DeliveryStatus.DELIVERED.value: ("DELIVERED", "success", "success"),
    DeliveryStatus.FAILED.value: ("UNDELIV", "UNDELIV", "The carrier could not deliver it"),
    DeliveryStatus.EXPIRED.value: ("EXPIRED", "EXPIRED", "The validity period ran out"),
}


class _Refusal(Exception):
    def __init__(self, response: FakeResponse) -> None:
        self.response = response


@dataclass
class _Fault:
    kind: FaultKind
    seconds: float = 0.0


@dataclass
class FakeSMSService:
    """The fake service. Thread-safe; one instance may serve many clients at once.

    ``access_keys`` maps AccessKey IDs to secrets (default: one test pair);
    ``sts_tokens`` maps an AccessKey ID to the STS token it must present;
    ``rsa_public_keys`` maps an AccessKey ID to a PEM public key for
    ``ACS3-RSA-SHA256``; ``clock`` returns the fake's current UTC time.
    ``templates`` maps SendMessageWithTemplate's approved template codes to
    their text with ``${name}`` variables; when given, other codes and
    missing variables are refused as the service refuses them, and the text
    recorded is the template filled in. By default any code is accepted.

    ``messages`` lists every accepted message, ``conversions`` every
    SmsConversion report and ``conversion_rates`` every ConversionData report.
    """

    access_keys: Mapping[str, str] = field(
        default_factory=lambda: {DEFAULT_ACCESS_KEY_ID: DEFAULT_ACCESS_KEY_SECRET}
    )
    sts_tokens: Mapping[str, str] = field(default_factory=dict)
    rsa_public_keys: Mapping[str, str] = field(default_factory=dict)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    endpoint: str = "https://dysmsapi.ap-southeast-1.aliyuncs.com"
    messages: list[AcceptedMessage] = field(default_factory=list, init=False)
    on_accept: Callable[[AcceptedMessage], None] | None = field(default=None)
    templates: Mapping[str, str] | None = None
    conversions: list[ConversionReport] = field(default_factory=list, init=False)
    conversion_rates: list[ConversionRateReport] = field(default_factory=list, init=False)
    _by_id: dict[str, AcceptedMessage] = field(default_factory=dict, init=False, repr=False)
    _deliveries: dict[str, _Delivery] = field(default_factory=dict, init=False, repr=False)
    _pushed: set[str] = field(default_factory=set, init=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False, repr=False)
    _nonces: dict[str, datetime] = field(default_factory=dict, init=False, repr=False)
    _faults: deque[_Fault] = field(default_factory=deque, init=False, repr=False)
    _counter: int = field(default=0, init=False, repr=False)

    # -- configuration -------------------------------------------------------

    def inject(self, kind: FaultKind, *, times: int = 1, seconds: float = 0.0) -> None:
        """Make the next ``times`` requests misbehave.

        ``drop_after_accept`` accepts the request, then drops the connection
        without answering; ``unavailable`` answers 503 ``ServiceUnavailable``
        and ``throttle`` 400 ``Throttling.User``, both without accepting;
        ``delay`` waits ``seconds`` before answering normally; ``malformed``
        accepts, then answers an HTML error page.
        """
        with self._lock:
            self._faults.extend(_Fault(kind, seconds) for _ in range(times))

    def client(self, **kwargs: Any) -> Client:
        """A :class:`alisms.Client` wired to this fake (no network).

        Keyword arguments go to the client; unless given, the fake's first
        AccessKey, its endpoint, and no client-side rate limit (pass
        ``rate_limits=`` to test pacing).
        """
        kwargs.setdefault("access_key_id", next(iter(self.access_keys)))
        kwargs.setdefault("access_key_secret", self.access_keys[kwargs["access_key_id"]])
        kwargs.setdefault("endpoint", self.endpoint)
        kwargs.setdefault("rate_limits", None)
        return Client(transport=FakeTransport(self), **kwargs)

    def async_client(self, **kwargs: Any) -> AsyncClient:
        """An :class:`alisms.AsyncClient` wired to this fake (no network); see :meth:`client`."""
        kwargs.setdefault("access_key_id", next(iter(self.access_keys)))
        kwargs.setdefault("access_key_secret", self.access_keys[kwargs["access_key_id"]])
        kwargs.setdefault("endpoint", self.endpoint)
        kwargs.setdefault("rate_limits", None)
        return AsyncClient(transport=FakeTransport(self), **kwargs)

    # -- what became of the messages ---------------------------------------------

    def set_status(
        self,
        message_id: str,
        status: DeliveryStatus | str,
        *,
        error_code: str | None = None,
        error_description: str | None = None,
        at: datetime | None = None,
    ) -> None:
        """Say what became of an accepted message, for QueryMessage and the delivery reports.

        Every accepted message is ``DELIVERED`` unless set otherwise. ``status``
        is a :class:`alisms.DeliveryStatus` or a raw ``Status`` value (such as
        ``"9"``, to see how an application copes with one it does not know).
        ``error_code`` and ``error_description`` are the carrier's verdict
        (default: one fitting the state), ``at`` the carrier's report time
        (default: the fake's clock now). A message that is ``DELIVERING`` has
        no report to push yet.
        """
        if status is DeliveryStatus.UNKNOWN:
            raise ValueError("give the raw Status value (a string such as '9') for an odd state")
        code = status.value if isinstance(status, DeliveryStatus) else status
        if not isinstance(code, str) or not code:
            raise ValueError(f"status must be an alisms.DeliveryStatus or a string, not {status!r}")
        with self._lock:
            if message_id not in self._by_id:
                raise KeyError(f"the fake accepted no message {message_id!r}")
            self._deliveries[message_id] = _Delivery(
                code,
                error_code,
                error_description,
                None if code == DeliveryStatus.DELIVERING.value else (at or self.clock()),
            )

    def status_of(self, message_id: str) -> DeliveryStatus:
        """The state QueryMessage reports for an accepted message."""
        with self._lock:
            if message_id not in self._by_id:
                raise KeyError(f"the fake accepted no message {message_id!r}")
            return DeliveryStatus.from_code(self._delivery(message_id).status_code)

    def delivery_reports(self, message_ids: Iterable[str] | None = None) -> list[dict[str, str]]:
        """The delivery reports the platform would push, as JSON-ready objects.

        With ``message_ids``, the reports of those messages (pushed before or
        not); without, those of every accepted message not yet pushed. A
        message still ``DELIVERING`` has none.
        """
        if isinstance(message_ids, str):
            raise TypeError("give message_ids as a list of ids, not one string")
        with self._lock:
            if message_ids is None:
                chosen = [m for m in self.messages if m.message_id not in self._pushed]
            else:
                chosen = []
                for message_id in message_ids:
                    if message_id not in self._by_id:
                        raise KeyError(f"the fake accepted no message {message_id!r}")
                    chosen.append(self._by_id[message_id])
            return [
                self._report(m)
                for m in chosen
                if self._delivery(m.message_id).status_code != DeliveryStatus.DELIVERING.value
            ]

    def push_receipts(
        self,
        url: str,
        *,
        message_ids: Iterable[str] | None = None,
        timeout: float = 5.0,
    ) -> list[dict[str, str]]:
        """POST delivery reports to ``url`` as the platform does, and return what was pushed.

        The body is a JSON array of the reports of :meth:`delivery_reports`
        (``message_ids`` as there: give ids again to push a duplicate, as the
        platform may). The receiver must answer HTTP 200 with a JSON object
        whose ``code`` is a number, such as ``alisms.RECEIPT_REPLY``;
        otherwise :class:`ReceiptPushError` is raised and the reports stay
        unpushed (the platform would push them again later). Nothing is sent
        when there is no report. The request ignores proxy settings.
        """
        reports = self.delivery_reports(message_ids)
        if not reports:
            return []
        body = json.dumps(reports, ensure_ascii=False).encode("utf-8")
        try:
            with httpx.Client(trust_env=False, timeout=timeout) as http:
                answer = http.post(
                    url, content=body, headers={"content-type": "application/json;charset=utf-8"}
                )
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise ReceiptPushError(
                f"the push to {url} got no answer: {type(exc).__name__}: {exc}"
            ) from exc
        excerpt = answer.content[:200].decode("utf-8", "replace")
        try:
            reply = json.loads(answer.content)
        except (ValueError, RecursionError):
            reply = None
        code = reply.get("code") if isinstance(reply, dict) else None
        if answer.status_code != 200 or isinstance(code, bool) or not isinstance(code, int | float):
            raise ReceiptPushError(
                f"the push to {url} was answered HTTP {answer.status_code} with "
                f"{excerpt!r}; the platform wants HTTP 200 and a JSON object with a numeric "
                "'code', such as alisms.RECEIPT_REPLY",
                status=answer.status_code,
                excerpt=excerpt,
            )
        with self._lock:
            self._pushed.update(r["MessageId"] for r in reports)
        return reports

    def _delivery(self, message_id: str) -> _Delivery:
        """The message's delivery state; call with the lock held."""
        found = self._deliveries.get(message_id)
        if found is not None:
            return found
        message = self._by_id[message_id]
        return _Delivery(DeliveryStatus.DELIVERED.value, None, None, message.accepted_at)

    def _report(self, message: AcceptedMessage) -> dict[str, str]:
        """One delivery report in the documented push format; call with the lock held."""
        delivery = self._delivery(message.message_id)
        _, code, description = _VERDICTS.get(delivery.status_code, ("", "", ""))
        report = {
            "To": message.to,
            "Status": delivery.status_code,
            "MessageId": message.message_id,
            "SmsSize": str(message.segments),
            "SendDate": _service_date(message.accepted_at),
            "ReceiveDate": _service_date(delivery.at) if delivery.at is not None else "",
            "ErrorCode": delivery.error_code if delivery.error_code is not None else code,
            "ErrorDescription": (
                delivery.error_description
                if delivery.error_description is not None
                else description
            ),
        }
        if message.task_id is not None:
            report["TaskId"] = message.task_id
        return report

    # -- handling ------------------------------------------------------------

    def handle(self, request: FakeRequest) -> FakeResponse:
        """Answer one request as the service would."""
        with self._lock:
            self._counter += 1
            request_id = str(uuid.uuid4()).upper()
            fault = self._faults.popleft() if self._faults else None
        if fault is not None and fault.kind == "unavailable":
            return _gateway(
                503,
                "ServiceUnavailable",
                "The request has failed due to a temporary failure of the server.",
                request_id,
            )
        if fault is not None and fault.kind == "throttle":
            return _gateway(
                400, "Throttling.User", "Request was denied due to user flow control.", request_id
            )
        try:
            access_key_id, params, action = self._authenticate(request, request_id)
            response = self._dispatch(action, params, access_key_id, request_id)
        except _Refusal as refusal:
            response = refusal.response
        if fault is None:
            return response
        if fault.kind == "drop_after_accept":
            return FakeResponse(0, b"", drop=True)
        if fault.kind == "malformed":
            return FakeResponse(
                502,
                b"<html><body><h1>502 Bad Gateway</h1></body></html>",
                headers=(("content-type", "text/html"),),
            )
        return FakeResponse(
            response.status, response.body, delay=fault.seconds, headers=response.headers
        )

    def _authenticate(
        self, request: FakeRequest, request_id: str
    ) -> tuple[str, dict[str, str], str]:
        parts = urlsplit(request.target)
        query = parse_qsl(parts.query, keep_blank_values=True)
        auth = request.header("authorization")
        if auth is None:
            raise _Refusal(
                _gateway(
                    400,
                    "MissingAuthorization",
                    "Authorization is mandatory for this action.",
                    request_id,
                )
            )
        match = _AUTH.fullmatch(auth.strip())
        if match is None:
            raise _Refusal(
                _gateway(
                    400,
                    "IncompleteSignature",
                    "The request signature does not conform to Aliyun standards.",
                    request_id,
                )
            )
        algorithm_name, key_id = match["alg"], match["id"]
        try:
            algorithm = signing.check_algorithm(algorithm_name)
        except ValueError:
            raise _Refusal(
                _gateway(
                    400,
                    "InvalidSignatureMethod",
                    "Specified signature method is not valid.",
                    request_id,
                )
            ) from None
        signed_names = [n for n in match["signed"].split(";") if n]
        present = {k.lower() for k, _ in request.headers}
        must_sign = {"host", "x-acs-date", "x-acs-signature-nonce", "x-acs-content-sha256"}
        must_sign |= {n for n in present if n.startswith("x-acs-")}
        if request.body:
            must_sign.add("content-type")
        if not must_sign <= set(signed_names) or not set(signed_names) <= present:
            raise _Refusal(
                _gateway(
                    400,
                    "IncompleteSignature",
                    "The request signature does not conform to Aliyun standards.",
                    request_id,
                )
            )
        self._check_date(request.header("x-acs-date"), request_id)
        secret = self.access_keys.get(key_id)
        public_key = self.rsa_public_keys.get(key_id)
        if (secret is None and algorithm != "ACS3-RSA-SHA256") or (
            algorithm == "ACS3-RSA-SHA256" and public_key is None
        ):
            raise _Refusal(
                _gateway(
                    404,
                    "InvalidAccessKeyId.NotFound",
                    "Specified access key is not found.",
                    request_id,
                )
            )
        expected_token = self.sts_tokens.get(key_id)
        token = request.header("x-acs-security-token")
        if expected_token is not None and token is None:
            raise _Refusal(
                _gateway(
                    400,
                    "MissingSecurityToken",
                    "SecurityToken is mandatory for this action.",
                    request_id,
                )
            )
        if (
            expected_token is not None
            and token is not None
            and not hmac.compare_digest(token, expected_token)
        ):
            raise _Refusal(
                _gateway(
                    400,
                    "InvalidSecurityToken.MismatchWithAccessKey",
                    "Specified SecurityToken mismatch with the AccessKey.",
                    request_id,
                )
            )
        payload_hash = signing.hash_hex(request.body, algorithm)
        if request.header("x-acs-content-sha256") != payload_hash:
            raise _Refusal(
                _gateway(
                    400,
                    "ContentSHA256NotMatched",
                    "The content hash does not match the body.",
                    request_id,
                )
            )
        block = "".join(
            f"{name}:{','.join(sorted(v.strip() for v in request.header_values(name)))}\n"
            for name in sorted(signed_names)
        )
        canonical = signing.canonical_request(
            request.method,
            signing.canonical_uri(parts.path or "/"),
            signing.canonical_query_string(query),
            block,
            ";".join(sorted(signed_names)),
            payload_hash,
        )
        to_sign = signing.string_to_sign(algorithm, canonical)
        if not self._signature_ok(algorithm, secret, public_key, to_sign, match["sig"]):
            raise _Refusal(
                _gateway(
                    400,
                    "SignatureDoesNotMatch",
                    "Specified signature is not matched with our calculation.",
                    request_id,
                )
            )
        self._remember_nonce(request.header("x-acs-signature-nonce") or "", request_id)
        params = dict(query)
        if request.body:
            content_type = (request.header("content-type") or "").split(";")[0].strip()
            if content_type != "application/x-www-form-urlencoded":
                raise _Refusal(
                    _gateway(
                        400,
                        "InvalidParameter.ContentType",
                        "Only form bodies are accepted.",
                        request_id,
                    )
                )
            try:
                text = request.body.decode("utf-8")
                params.update(parse_qsl(text, keep_blank_values=True, errors="strict"))
            except UnicodeDecodeError:
                raise _Refusal(
                    _gateway(400, "InvalidParameter", "The body is not UTF-8.", request_id)
                ) from None
        if request.header("x-acs-version") != _API_VERSION:
            raise _Refusal(
                _gateway(
                    400, "InvalidVersion", "Specified parameter Version is not valid.", request_id
                )
            )
        return key_id, params, request.header("x-acs-action") or ""

    @staticmethod
    def _signature_ok(
        algorithm: signing.Algorithm,
        secret: str | None,
        public_key: str | None,
        to_sign: str,
        given: str,
    ) -> bool:
        if algorithm == "ACS3-RSA-SHA256":
            from cryptography.exceptions import InvalidSignature
            from cryptography.hazmat.primitives import hashes, serialization
            from cryptography.hazmat.primitives.asymmetric import padding, rsa

            key = serialization.load_pem_public_key((public_key or "").encode())
            if not isinstance(key, rsa.RSAPublicKey):
                return False
            try:
                key.verify(
                    bytes.fromhex(given), to_sign.encode(), padding.PKCS1v15(), hashes.SHA256()
                )
            except (InvalidSignature, ValueError):
                return False
            return True
        expected = signing.signature(algorithm, secret or "", to_sign)
        return hmac.compare_digest(expected, given.lower())

    def _check_date(self, value: str | None, request_id: str) -> None:
        try:
            moment = datetime.strptime(value or "", "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
        except ValueError:
            raise _Refusal(
                _gateway(
                    400,
                    "InvalidTimeStamp.Format",
                    "Specified time stamp or date value is not well formatted.",
                    request_id,
                )
            ) from None
        if abs(self.clock() - moment) > _DATE_WINDOW:
            raise _Refusal(
                _gateway(
                    400,
                    "InvalidTimeStamp.Expired",
                    "Specified time stamp or date value is expired.",
                    request_id,
                )
            )

    def _remember_nonce(self, nonce: str, request_id: str) -> None:
        now = self.clock()
        with self._lock:
            if not nonce or nonce in self._nonces:
                raise _Refusal(
                    _gateway(
                        400,
                        "SignatureNonceUsed",
                        "Specified signature nonce was used already.",
                        request_id,
                    )
                )
            self._nonces[nonce] = now
            if len(self._nonces) > 10_000:
                cutoff = now - _NONCE_MEMORY
                self._nonces = {n: t for n, t in self._nonces.items() if t >= cutoff}

    # -- the API -------------------------------------------------------------

    def _dispatch(
        self, action: str, params: dict[str, str], key_id: str, request_id: str
    ) -> FakeResponse:
        if action == "SendMessageToGlobe":
            return self._send(params, key_id, request_id)
        if action == "BatchSendMessageToGlobe":
            return self._batch(params, key_id, request_id)
        if action == "QueryMessage":
            return self._query(params, request_id)
        if action == "SendMessageWithTemplate":
            return self._template(params, key_id, request_id)
        if action == "SmsConversion":
            return self._conversion(params, key_id, request_id)
        if action == "ConversionData":
            return self._conversion_data(params, key_id, request_id)
        return _gateway(
            404,
            "InvalidApi.NotFound",
            "Specified api is not found, please check your url and method.",
            request_id,
        )

    def _common(self, params: dict[str, str], request_id: str, types: Iterable[str]) -> None:
        sender = params.get("From")
        if sender is not None and not _sender_ok(sender):
            raise _Refusal(_business("INVALID_SENDERID", "The sender ID is invalid.", request_id))
        kind = params.get("Type")
        if kind is not None and kind not in types:
            raise _Refusal(
                _business("INVALID_PARAMETERS", f"Type {kind} is not valid.", request_id)
            )
        task = params.get("TaskId")
        if task is not None and not 1 <= len(task) <= 255:
            raise _Refusal(_business("INVALID_PARAMETERS", "TaskId is too long.", request_id))
        validity = params.get("ValidityPeriod")
        if validity is not None and not (validity.isdigit() and int(validity) > 0):
            raise _Refusal(
                _business("INVALID_PARAMETERS", "ValidityPeriod is not valid.", request_id)
            )

    def _accept(
        self,
        action: str,
        to: str,
        text: str,
        params: dict[str, str],
        key_id: str,
        request_id: str,
        template_param: Mapping[str, Any] | None = None,
    ) -> AcceptedMessage:
        info = count_segments(text)
        validity = params.get("ValidityPeriod")
        with self._lock:
            message = AcceptedMessage(
                message_id=str(_FIRST_MESSAGE_ID + len(self.messages) + 1),
                to=to,
                text=text,
                from_=params.get("From"),
                type=params.get("Type"),
                task_id=params.get("TaskId"),
                validity_period=int(validity) if validity else None,
                channel_id=params.get("ChannelId"),
                segments=info.segments,
                encoding=info.encoding,
                action=action,
                access_key_id=key_id,
                request_id=request_id,
                accepted_at=self.clock(),
                template_code=params.get("TemplateCode"),
                template_param=template_param,
                sms_up_extend_code=params.get("SmsUpExtendCode"),
            )
            self.messages.append(message)
            self._by_id[message.message_id] = message
        if self.on_accept is not None:
            self.on_accept(message)
        return message

    def _send(self, params: dict[str, str], key_id: str, request_id: str) -> FakeResponse:
        for name in ("To", "Message"):
            if not params.get(name):
                raise _Refusal(
                    _gateway(
                        400, f"Missing{name}", f"{name} is mandatory for this action.", request_id
                    )
                )
        self._common(params, request_id, ("OTP", "NOTIFY", "MKT"))
        to = params["To"]
        _check_number(to, request_id)
        message = self._accept(
            "SendMessageToGlobe", to, params["Message"], params, key_id, request_id
        )
        body: dict[str, Any] = {
            "ResponseCode": "OK",
            "ResponseDescription": "The SMS Send Request was accepted",
            "RequestId": request_id,
            "MessageId": message.message_id,
            "To": to,
            "Segments": str(message.segments),
            "NumberDetail": {"Carrier": "FakeTel", "Region": "Sandbox", "Country": "Sandbox"},
        }
        if message.from_ is not None:
            body["From"] = message.from_
        return _json(200, body)

    def _batch(self, params: dict[str, str], key_id: str, request_id: str) -> FakeResponse:
        for name in ("To", "Message"):
            if not params.get(name):
                raise _Refusal(
                    _gateway(
                        400, f"Missing{name}", f"{name} is mandatory for this action.", request_id
                    )
                )
        numbers = _json_strings(params["To"], request_id)
        texts = _json_strings(params["Message"], request_id)
        if len(numbers) > 1000:
            raise _Refusal(
                _business("MOBILE_COUNT_OVER_LIMIT", "More than 1000 numbers.", request_id)
            )
        if len(texts) != len(numbers):
            raise _Refusal(
                _business("INVALID_PARAMETERS", "To and Message differ in length.", request_id)
            )
        self._common(params, request_id, ("NOTIFY", "MKT"))
        ids: list[str] = []
        failed: list[str] = []
        for number, text in zip(numbers, texts, strict=True):
            if _NUMBER.fullmatch(number) and not number.startswith("86") and text:
                ids.append(
                    self._accept(
                        "BatchSendMessageToGlobe", number, text, params, key_id, request_id
                    ).message_id
                )
            else:
                failed.append(number)
        if not ids:
            raise _Refusal(
                _business("MOBILE_NUMBER_ILLEGAL", "No valid number in the batch.", request_id)
            )
        body: dict[str, Any] = {
            "ResponseCode": "OK",
            "ResponseDescription": "The SMS Send Request was accepted",
            "RequestId": request_id,
            "MessageIdList": json.dumps(ids),
            "FailedList": json.dumps(failed),
            "SuccessCount": str(len(ids)),
        }
        if params.get("From") is not None:
            body["From"] = params["From"]
        return _json(200, body)

    def _required(self, params: dict[str, str], names: Iterable[str], request_id: str) -> None:
        for name in names:
            if not params.get(name):
                raise _Refusal(
                    _gateway(
                        400, f"Missing{name}", f"{name} is mandatory for this action.", request_id
                    )
                )

    def _known(self, message_id: str, request_id: str) -> AcceptedMessage:
        with self._lock:
            message = self._by_id.get(message_id)
        if message is None:
            raise _Refusal(
                _business("DATA_NOT_EXIST", "No message has this MessageId.", request_id)
            )
        return message

    def _query(self, params: dict[str, str], request_id: str) -> FakeResponse:
        self._required(params, ("MessageId",), request_id)
        message = self._known(params["MessageId"], request_id)
        with self._lock:
            delivery = self._delivery(message.message_id)
        body: dict[str, Any] = {
            "ResponseCode": "OK",
            "ResponseDescription": "OK",
            "RequestId": request_id,
            "MessageId": message.message_id,
            "To": message.to,
            "Status": delivery.status_code,
            "Message": message.text,
            "SendDate": _service_date(message.accepted_at),
            "NumberDetail": _number_detail(message.to),
        }
        verdict = _VERDICTS.get(delivery.status_code)
        error_code = delivery.error_code or (verdict[0] if verdict else None)
        if error_code is not None:
            body["ErrorCode"] = error_code
        description = delivery.error_description or (verdict[2] if verdict else None)
        if description is not None:
            body["ErrorDescription"] = description
        if delivery.at is not None:
            body["ReceiveDate"] = _service_date(delivery.at)
        return _json(200, body)

    def _template(self, params: dict[str, str], key_id: str, request_id: str) -> FakeResponse:
        self._required(params, ("To", "From", "TemplateCode"), request_id)
        to = params["To"]
        if not _NUMBER.fullmatch(to):
            raise _Refusal(
                _business("MOBILE_NUMBER_ILLEGAL", "The phone number is illegal.", request_id)
            )
        if not _MAINLAND.fullmatch(to):
            raise _Refusal(
                _business(
                    "NOT_SUPPORTED_COUNTRY",
                    "SendMessageWithTemplate reaches Chinese mainland mobile numbers only.",
                    request_id,
                )
            )
        if not params["From"].strip():
            raise _Refusal(
                _business("SMS_SIGN_NAME_ILLEGAL", "The signature name is invalid.", request_id)
            )
        variables: dict[str, Any] | None = None
        if "TemplateParam" in params:
            try:
                decoded = json.loads(params["TemplateParam"])
            except ValueError:
                decoded = None
            if not isinstance(decoded, dict):
                raise _Refusal(
                    _business(
                        "INVALID_JSON_PARAM", "TemplateParam is not a JSON object.", request_id
                    )
                )
            variables = decoded
        extend = params.get("SmsUpExtendCode")
        if extend is not None and not (extend.isascii() and extend.isdigit()):
            raise _Refusal(
                _business("INVALID_PARAMETERS", "SmsUpExtendCode is not digits.", request_id)
            )
        validity = params.get("ValidityPeriod")
        if validity is not None and not (validity.isdigit() and int(validity) > 0):
            raise _Refusal(
                _business("INVALID_PARAMETERS", "ValidityPeriod is not valid.", request_id)
            )
        code = params["TemplateCode"]
        text = self._render(code, variables or {}, params.get("TemplateParam"), request_id)
        message = self._accept(
            "SendMessageWithTemplate", to, text, params, key_id, request_id, variables
        )
        body: dict[str, Any] = {
            "ResponseCode": "OK",
            "ResponseDescription": "The SMS Send Request was accepted",
            "RequestId": request_id,
            "MessageId": message.message_id,
            "To": to,
            "Segments": str(message.segments),
            "NumberDetail": _number_detail(to),
        }
        return _json(200, body)

    def _render(
        self, code: str, variables: Mapping[str, Any], sent: str | None, request_id: str
    ) -> str:
        if self.templates is None:
            return f"[{code}] {sent}" if sent else f"[{code}]"
        template = self.templates.get(code)
        if template is None:
            raise _Refusal(
                _business("SMS_CONTENT_CODE_ILLEGAL", "The template is not approved.", request_id)
            )
        missing = sorted(set(_VARIABLE.findall(template)) - set(variables))
        if missing:
            raise _Refusal(
                _business(
                    "CONTENT_MISSING_PARAMETERS",
                    f"TemplateParam lacks {', '.join(missing)}.",
                    request_id,
                )
            )
        return _VARIABLE.sub(lambda m: str(variables[m[1]]), template)

    def _conversion(self, params: dict[str, str], key_id: str, request_id: str) -> FakeResponse:
        self._required(params, ("MessageId", "Delivered"), request_id)
        delivered = params["Delivered"].lower()
        if delivered not in ("true", "false"):
            raise _Refusal(
                _business("INVALID_PARAMETERS", "Delivered is not true or false.", request_id)
            )
        message = self._known(params["MessageId"], request_id)
        when = _millis(params.get("ConversionTime"), "ConversionTime", request_id)
        if when is not None and not (
            message.accepted_at.replace(microsecond=0)
            <= when
            <= self.clock() + timedelta(seconds=1)
        ):
            raise _Refusal(
                _business(
                    "INVALID_PARAMETERS",
                    "ConversionTime must fall between the send and now.",
                    request_id,
                )
            )
        to = params.get("To")
        if to is not None and to != message.to:
            raise _Refusal(
                _business("INVALID_PARAMETERS", "To is not the message's number.", request_id)
            )
        with self._lock:
            self.conversions.append(
                ConversionReport(
                    message_id=message.message_id,
                    delivered=delivered == "true",
                    conversion_time=when,
                    to=to,
                    access_key_id=key_id,
                    request_id=request_id,
                )
            )
        return _json(
            200, {"ResponseCode": "OK", "ResponseDescription": "OK", "RequestId": request_id}
        )

    def _conversion_data(
        self, params: dict[str, str], key_id: str, request_id: str
    ) -> FakeResponse:
        self._required(params, ("ConversionRate",), request_id)
        text = params["ConversionRate"]
        try:
            rate = Decimal(text) if _RATE.fullmatch(text) else None
        except InvalidOperation:
            rate = None
        if rate is None or not 0 <= rate <= 1:
            raise _Refusal(
                _business(
                    "INVALID_PARAMETERS", "ConversionRate is not a number from 0 to 1.", request_id
                )
            )
        when = _millis(params.get("ReportTime"), "ReportTime", request_id)
        with self._lock:
            self.conversion_rates.append(
                ConversionRateReport(
                    rate=rate, report_time=when, access_key_id=key_id, request_id=request_id
                )
            )
        return _json(
            200, {"ResponseCode": "OK", "ResponseDescription": "OK", "RequestId": request_id}
        )


def _service_date(moment: datetime) -> str:
    """A date as the service writes it: ``Fri, 02 Jan 2026 11:04:05 +0800``."""
    return format_datetime(moment.astimezone(_SERVICE_ZONE))


def _number_detail(number: str) -> dict[str, str]:
    if _MAINLAND.fullmatch(number):
        return {"Carrier": "FakeTel", "Region": "Sandbox", "Country": "China"}
    return {"Carrier": "FakeTel", "Region": "Sandbox", "Country": "Sandbox"}


def _millis(value: str | None, name: str, request_id: str) -> datetime | None:
    if value is None:
        return None
    if not (value.isascii() and value.isdigit() and len(value) <= 15):
        raise _Refusal(
            _business("INVALID_PARAMETERS", f"{name} is not epoch milliseconds.", request_id)
        )
    return datetime.fromtimestamp(int(value) / 1000, UTC)


def _sender_ok(sender: str) -> bool:
    if not _SENDER.fullmatch(sender):
        return False
    return len(sender) <= (15 if sender.isdigit() else 11)


def _check_number(number: str, request_id: str) -> None:
    if not _NUMBER.fullmatch(number):
        raise _Refusal(
            _business("MOBILE_NUMBER_ILLEGAL", "The phone number is illegal.", request_id)
        )
    if number.startswith("86"):
        raise _Refusal(
            _business(
                "NOT_SUPPORTED_COUNTRY",
                "Phone numbers of the Chinese mainland are not supported.",
                request_id,
            )
        )


def _json_strings(value: str, request_id: str) -> list[str]:
    try:
        decoded = json.loads(value)
    except ValueError:
        decoded = None
    if not isinstance(decoded, list) or not all(isinstance(v, str) for v in decoded):
        raise _Refusal(
            _business(
                "INVALID_JSON_PARAM", "The parameter is not a JSON array of strings.", request_id
            )
        )
    return decoded


def _json(status: int, body: Mapping[str, Any]) -> FakeResponse:
    return FakeResponse(status, json.dumps(body, ensure_ascii=False).encode("utf-8"))


def _gateway(status: int, code: str, message: str, request_id: str) -> FakeResponse:
    return _json(
        status,
        {
            "RequestId": request_id,
            "HostId": _HOST_ID,
            "Code": code,
            "Message": message,
            "Recommend": f"https://api.aliyun.com/troubleshoot?q={code}",
        },
    )


def _business(code: str, description: str, request_id: str) -> FakeResponse:
    return _json(
        200,
        {
            "ResponseCode": code,
            "ResponseDescription": description,
            "RequestId": request_id,
        },
    )


class FakeTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """An httpx transport, sync and async, that hands every request to a :class:`FakeSMSService`."""

    def __init__(self, service: FakeSMSService) -> None:
        self.service = service

    def _answer(self, request: httpx.Request, response: FakeResponse) -> httpx.Response:
        if response.drop:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a response.", request=request
            )
        return httpx.Response(
            response.status,
            headers=list(response.headers),
            content=response.body,
            request=request,
        )

    @staticmethod
    def _fake_request(request: httpx.Request, body: bytes) -> FakeRequest:
        return FakeRequest(
            method=request.method,
            target=request.url.raw_path.decode("ascii"),
            headers=tuple(
                (k.decode("latin-1"), v.decode("utf-8", "replace")) for k, v in request.headers.raw
            ),
            body=body,
        )

    @staticmethod
    def _wait(request: httpx.Request, response: FakeResponse) -> tuple[float, bool]:
        """How long to wait, and whether the client's read timeout fires first."""
        timeouts = request.extensions.get("timeout") or {}
        read = timeouts.get("read")
        if read is not None and response.delay > read:
            return float(read), True
        return response.delay, False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` synchronously."""
        response = self.service.handle(self._fake_request(request, request.read()))
        wait, times_out = self._wait(request, response)
        if wait:
            time.sleep(wait)
        if times_out:
            raise httpx.ReadTimeout("The read operation timed out", request=request)
        return self._answer(request, response)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        """Answer ``request`` without blocking the event loop."""
        import anyio

        response = self.service.handle(self._fake_request(request, await request.aread()))
        wait, times_out = self._wait(request, response)
        if wait:
            await anyio.sleep(wait)
        if times_out:
            raise httpx.ReadTimeout("The read operation timed out", request=request)
        return self._answer(request, response)
