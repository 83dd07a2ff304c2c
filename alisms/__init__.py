"""alisms: Alibaba Cloud international SMS (dysmsapi 2018-05-01) without the vendor SDK.

Sync and async clients over httpx, an auditable ACS V3 signer
(:mod:`alisms.signing`), typed results and one exception tree rooted at
:class:`AlismsError`.

>>> import alisms
>>> with alisms.Client() as client:  # doctest: +SKIP
...     result = client.send_message_to_globe("85212345678", "Your code is 1234")
"""

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
    ServerError,
    ThrottlingError,
    TransportError,
    ValidationError,
)
from alisms._results import BatchSendResult, MessageType, NumberDetail, SendResult
from alisms._retry import Retry
from alisms._segments import SegmentInfo, count_segments
from alisms._version import __version__

__all__ = [
    "APIError",
    "AlismsError",
    "AsyncClient",
    "AuthenticationError",
    "BatchSendResult",
    "Client",
    "ConfigurationError",
    "Credentials",
    "CredentialsError",
    "CredentialsProvider",
    "DeliveryUnknownError",
    "EnvironmentCredentials",
    "InvalidRequestError",
    "MalformedResponseError",
    "MessageRejectedError",
    "MessageType",
    "NumberDetail",
    "PermissionDeniedError",
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
    "signing",
]
