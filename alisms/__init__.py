"""alisms: Alibaba Cloud international SMS (dysmsapi 2018-05-01) without the vendor SDK.

Sync and async clients over httpx for all six operations of the API, an
auditable ACS V3 signer (:mod:`alisms.signing`), typed results, a parser for
delivery receipts (:func:`parse_delivery_reports`) and one exception tree
rooted at :class:`AlismsError`.

>>> import alisms
>>> with alisms.Client() as client:  # doctest: +SKIP
...     result = client.send_message_to_globe("85212345678", "Your code is 1234")
"""

from importlib import import_module as _import_module
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

from alisms import signing
from alisms._client import AsyncClient, Client
from alisms._credentials import (
    Credentials,
    CredentialsProvider,
    EnvironmentCredentials,
    StaticCredentials,
)
from alisms._errors import (
    AlismsError,
    APIError,
    AuthenticationError,
    ConfigurationError,
    CredentialsError,
    DeliveryUnknownError,
    InvalidRequestError,
    MalformedResponseError,
    MessageRejectedError,
    PermissionDeniedError,
    ReceiptError,
    ServerError,
    ThrottlingError,
    TransportError,
    ValidationError,
)
from alisms._results import (
    BatchSendResult,
    ConversionResult,
    DeliveryStatus,
    MessageType,
    NumberDetail,
    QueryMessageResult,
    SendResult,
)
from alisms._retry import Retry
from alisms._version import __version__

if _TYPE_CHECKING:
    from alisms._bulk import AsyncBulkRun, BulkMessage, BulkOutcome, BulkRun, BulkSummary
    from alisms._chain import DefaultCredentialsChain
    from alisms._profiles import CLIProfileCredentials, CredentialsFileCredentials
    from alisms._providers import (
        EcsRamRoleCredentials,
        OIDCRoleArnCredentials,
        RamRoleArnCredentials,
        URICredentials,
    )
    from alisms._receipts import RECEIPT_REPLY, DeliveryReport, parse_delivery_reports
    from alisms._segments import SegmentInfo, count_segments

# Imported on first use (PEP 562): most programs never need them, and they
# bring anyio, configparser and concurrent.futures with them. The receipt
# parser and the segment counter only cost their own import, but a program
# that sends has no use for either.
_LAZY = {
    "AsyncBulkRun": "alisms._bulk",
    "BulkMessage": "alisms._bulk",
    "BulkOutcome": "alisms._bulk",
    "BulkRun": "alisms._bulk",
    "BulkSummary": "alisms._bulk",
    "DefaultCredentialsChain": "alisms._chain",
    "CLIProfileCredentials": "alisms._profiles",
    "CredentialsFileCredentials": "alisms._profiles",
    "EcsRamRoleCredentials": "alisms._providers",
    "OIDCRoleArnCredentials": "alisms._providers",
    "RamRoleArnCredentials": "alisms._providers",
    "URICredentials": "alisms._providers",
    "RECEIPT_REPLY": "alisms._receipts",
    "DeliveryReport": "alisms._receipts",
    "parse_delivery_reports": "alisms._receipts",
    "SegmentInfo": "alisms._segments",
    "count_segments": "alisms._segments",
}


def __getattr__(name: str) -> _Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'alisms' has no attribute {name!r}")
    value = getattr(_import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))


__all__ = [
    "RamRoleArnCredentials",
    "OIDCRoleArnCredentials",
    "EcsRamRoleCredentials",
    "URICredentials",
    "CredentialsFileCredentials",
    "CLIProfileCredentials",
    "DefaultCredentialsChain",
    "RECEIPT_REPLY",
    "APIError",
    "AlismsError",
    "AsyncBulkRun",
    "AsyncClient",
    "AuthenticationError",
    "BatchSendResult",
    "BulkMessage",
    "BulkOutcome",
    "BulkRun",
    "BulkSummary",
    "Client",
    "ConfigurationError",
    "ConversionResult",
    "Credentials",
    "CredentialsError",
    "CredentialsProvider",
    "DeliveryReport",
    "DeliveryStatus",
    "DeliveryUnknownError",
    "EnvironmentCredentials",
    "InvalidRequestError",
    "MalformedResponseError",
    "MessageRejectedError",
    "MessageType",
    "NumberDetail",
    "PermissionDeniedError",
    "QueryMessageResult",
    "ReceiptError",
    "Retry",
    "SegmentInfo",
    "SendResult",
    "ServerError",
    "StaticCredentials",
    "ThrottlingError",
    "TransportError",
    "ValidationError",
    "__version__",
    "count_segments",
    "parse_delivery_reports",
    "signing",
]
