"""The ACS V3 request signature, as pure functions.

Everything here is deterministic: no network, no clock and no randomness. The
date and the nonce are arguments, so every stage of a signature can be
reproduced and inspected. The stages follow the published algorithm::

    CanonicalRequest = METHOD \\n CanonicalURI \\n CanonicalQueryString \\n
                       CanonicalHeaders \\n SignedHeaders \\n HashedRequestPayload
    StringToSign     = Algorithm \\n HexEncode(Hash(CanonicalRequest))
    Signature        = HexEncode(Sign(secret, StringToSign))
    Authorization    = Algorithm Credential=<id>,SignedHeaders=<names>,Signature=<hex>

Three algorithms are supported:

* ``ACS3-HMAC-SHA256`` (the default): SHA-256 hashes, HMAC-SHA256 signature.
* ``ACS3-HMAC-SM3``: SM3 hashes, HMAC-SM3 signature.
* ``ACS3-RSA-SHA256``: SHA-256 hashes, RSA PKCS#1 v1.5 signature over SHA-256
  with a PEM private key in place of the AccessKey secret.

``cryptography`` is imported only when SM3 or RSA is used.

The headers that are signed are ``host``, ``content-type`` when there is a
body, and every ``x-acs-*`` header; any other header may be sent but is not
signed.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Final, Literal, TypeAlias

__all__ = [
    "ALGORITHMS",
    "DEFAULT_ALGORITHM",
    "EMPTY_PAYLOAD_SHA256",
    "Algorithm",
    "SignedRequest",
    "authorization",
    "canonical_headers",
    "canonical_query_string",
    "canonical_request",
    "canonical_uri",
    "check_algorithm",
    "format_date",
    "hash_hex",
    "percent_encode",
    "sign_request",
    "signature",
    "string_to_sign",
]

Algorithm: TypeAlias = Literal["ACS3-HMAC-SHA256", "ACS3-HMAC-SM3", "ACS3-RSA-SHA256"]
"""The name of a V3 signature algorithm, as it appears on the wire."""

ALGORITHMS: Final[tuple[Algorithm, ...]] = (
    "ACS3-HMAC-SHA256",
    "ACS3-HMAC-SM3",
    "ACS3-RSA-SHA256",
)
"""Every algorithm this module implements."""

DEFAULT_ALGORITHM: Final[Algorithm] = "ACS3-HMAC-SHA256"
"""The algorithm used when none is named."""

EMPTY_PAYLOAD_SHA256: Final[str] = hashlib.sha256(b"").hexdigest()
"""SHA-256 of an empty body, the payload hash of a request without a body."""

_UNRESERVED: Final[frozenset[int]] = frozenset(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
)
_ENCODED_BYTE: Final[tuple[str, ...]] = tuple(
    chr(b) if b in _UNRESERVED else f"%{b:02X}" for b in range(256)
)


def check_algorithm(name: str) -> Algorithm:
    """Return ``name`` as an :data:`Algorithm`, or raise ``ValueError`` naming the choices."""
    for algorithm in ALGORITHMS:
        if name == algorithm:
            return algorithm
    raise ValueError(f"unknown signature algorithm {name!r}; use one of: {', '.join(ALGORITHMS)}")


def percent_encode(value: str) -> str:
    """Percent-encode ``value`` as RFC 3986 and the V3 specification require.

    The unreserved characters ``A-Z a-z 0-9 - _ . ~`` stay as they are; every
    other character is encoded as its UTF-8 bytes in ``%XX`` form with upper-case
    hex. A space becomes ``%20`` (never ``+``), ``*`` becomes ``%2A`` and ``/``
    becomes ``%2F``.
    """
    if value.isascii() and value.isalnum():
        return value
    return "".join([_ENCODED_BYTE[b] for b in value.encode("utf-8")])


def canonical_uri(path: str = "/") -> str:
    """Return the canonical URI of ``path``: each ``/``-separated segment percent-encoded.

    RPC-style APIs such as dysmsapi always use ``/``.
    """
    if not path or path == "/":
        # "/" is two empty segments, and an empty segment encodes to itself.
        return "/"
    return "/".join(percent_encode(segment) for segment in path.split("/"))


def canonical_query_string(query: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> str:
    """Return the canonical query string of ``query``.

    The pairs are sorted by name and then value (before encoding, as the
    vendor SDKs sort), names and values percent-encoded separately, written
    ``name=value`` (an empty value gives ``name=``) and joined with ``&``. No
    parameters give an empty string.
    """
    pairs = query.items() if isinstance(query, Mapping) else query
    return "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(pairs))


def _is_signed_header(name: str) -> bool:
    return name in ("host", "content-type") or name.startswith("x-acs-")


def canonical_headers(
    headers: Mapping[str, str] | Iterable[tuple[str, str]],
) -> tuple[str, str]:
    """Return ``(canonical_headers, signed_headers)`` for the signable ``headers``.

    Only ``host``, ``content-type`` and ``x-acs-*`` headers are signed; others
    are ignored. Names are lower-cased, values trimmed; a name given more than
    once has its values sorted and joined with ``,``. ``canonical_headers`` is
    one ``name:value\\n`` line per header in name order; ``signed_headers`` is
    the names joined with ``;``.
    """
    pairs = headers.items() if isinstance(headers, Mapping) else headers
    merged: dict[str, list[str]] = {}
    for name, value in pairs:
        lowered = name.strip().lower()
        if _is_signed_header(lowered):
            merged.setdefault(lowered, []).append(value.strip())
    names = sorted(merged)
    block = "".join(f"{n}:{','.join(sorted(merged[n]))}\n" for n in names)
    return block, ";".join(names)


@functools.cache
def _crypto_hashes() -> Any:
    """Cryptography's ``hashes`` module, imported on first use only.

    ``import alisms.signing`` must not load cryptography (SHA-256 needs only
    hashlib), and an ``import`` statement inside a function runs on every call.
    """
    from cryptography.hazmat.primitives import hashes

    return hashes


@functools.cache
def _crypto_hmac() -> Any:
    """Cryptography's ``hmac`` module (for HMAC-SM3), imported on first use only."""
    from cryptography.hazmat.primitives import hmac as crypto_hmac

    return crypto_hmac


def _sm3(data: bytes) -> bytes:
    hashes = _crypto_hashes()
    digest = hashes.Hash(hashes.SM3())
    digest.update(data)
    result: bytes = digest.finalize()
    return result


def hash_hex(data: bytes, algorithm: Algorithm = DEFAULT_ALGORITHM) -> str:
    """Return the lower-case hex digest of ``data`` under ``algorithm``'s hash.

    SM3 for ``ACS3-HMAC-SM3``, SHA-256 otherwise. Used for the request payload
    (the ``x-acs-content-sha256`` header, whatever the algorithm) and for the
    canonical request.
    """
    if algorithm == "ACS3-HMAC-SM3":
        return _sm3(data).hex()
    return hashlib.sha256(data).hexdigest()


def canonical_request(
    method: str,
    uri: str,
    query_string: str,
    headers_block: str,
    signed_headers: str,
    hashed_payload: str,
) -> str:
    """Join the six parts of the canonical request with newlines.

    ``uri``, ``query_string``, ``headers_block`` and ``signed_headers`` must
    already be canonical (see :func:`canonical_uri`,
    :func:`canonical_query_string` and :func:`canonical_headers`).
    """
    return "\n".join(
        (method.upper(), uri, query_string, headers_block, signed_headers, hashed_payload)
    )


def string_to_sign(algorithm: Algorithm, canonical: str) -> str:
    """Return the string to sign: the algorithm's name and the canonical request's hash."""
    return f"{algorithm}\n{hash_hex(canonical.encode('utf-8'), algorithm)}"


def signature(algorithm: Algorithm, secret: str, to_sign: str) -> str:
    """Sign ``to_sign`` with ``secret`` and return the lower-case hex signature.

    For the HMAC algorithms ``secret`` is the AccessKey secret. For
    ``ACS3-RSA-SHA256`` it is a PEM private key (PKCS#8 or PKCS#1, unencrypted).
    """
    message = to_sign.encode("utf-8")
    if algorithm == "ACS3-HMAC-SHA256":
        return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()
    if algorithm == "ACS3-HMAC-SM3":
        mac = _crypto_hmac().HMAC(secret.encode("utf-8"), _crypto_hashes().SM3())
        mac.update(message)
        sm3_mac: bytes = mac.finalize()
        return sm3_mac.hex()
    if algorithm == "ACS3-RSA-SHA256":
        return _rsa_sha256(secret, message).hex()
    raise ValueError(f"unknown signature algorithm {algorithm!r}")


@functools.lru_cache(maxsize=8)
def _rsa_key(pem: str) -> Any:
    """Parse a PEM private key once: parsing costs tens of milliseconds, signing one.

    The cache holds what the credentials already hold (the PEM) in parsed form,
    in this process's memory only.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    try:
        key = serialization.load_pem_private_key(pem.encode("utf-8"), password=None)
    except Exception:  # cryptography raises several kinds for unusable keys
        # Deliberately no chaining and no detail: the exception could carry the key.
        raise ValueError(
            "ACS3-RSA-SHA256 needs an unencrypted PEM RSA private key as the secret"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise ValueError("ACS3-RSA-SHA256 needs an RSA private key")
    return key


def _rsa_sha256(pem: str, message: bytes) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    key = _rsa_key(pem)
    try:
        signed: bytes = key.sign(message, padding.PKCS1v15(), hashes.SHA256())
    except Exception:
        raise ValueError("ACS3-RSA-SHA256 could not sign with this key") from None
    return signed


def authorization(
    algorithm: Algorithm, access_key_id: str, signed_headers: str, signature_hex: str
) -> str:
    """Return the ``Authorization`` header value (no spaces after the commas)."""
    return (
        f"{algorithm} Credential={access_key_id},"
        f"SignedHeaders={signed_headers},Signature={signature_hex}"
    )


# The last UTC second formatted by format_date and its text. Requests signed in
# the same second share the string; one tuple, replaced whole, so threads at
# worst recompute it.
_last_date: tuple[tuple[int, ...], str] = ((), "")


def format_date(moment: datetime) -> str:
    """Format ``moment`` as the ``x-acs-date`` value: ISO 8601 UTC, ``YYYY-MM-DDTHH:MM:SSZ``.

    A naive datetime is refused: the gateway compares the date with its own
    UTC clock, so an ambiguous local time would be a bug.
    """
    global _last_date
    key: tuple[int, ...] = ()
    if moment.tzinfo is UTC:
        # Already UTC: the text depends on these six fields only, so a moment in
        # the same second as the last one formatted gives the cached text.
        key = (moment.year, moment.month, moment.day, moment.hour, moment.minute, moment.second)
        last_key, last_text = _last_date
        if key == last_key:
            return last_text
    offset = moment.utcoffset()
    if moment.tzinfo is None or offset is None:
        raise ValueError("the signing date must be timezone-aware (use datetime.now(UTC))")
    try:
        utc = moment if not offset else moment.astimezone(UTC)
    except OverflowError:
        raise ValueError(f"{moment!r} is out of range in UTC") from None
    text = (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}Z"
    )
    if key:
        _last_date = (key, text)
    return text


_REDACTED: Final = "<redacted>"
_MANAGED_HEADERS: Final = frozenset(
    {
        "host",
        "authorization",
        "content-type",
        "x-acs-date",
        "x-acs-signature-nonce",
        "x-acs-content-sha256",
        "x-acs-security-token",
    }
)


class SignedRequest:
    """A signed request and every intermediate value of its signature.

    ``headers`` are the headers to send, ``Authorization`` included; ``body``
    the exact bytes to send. The repr and ``str()`` show the stages an auditor
    needs (canonical request, string to sign) with the STS token redacted, and
    never the secret, the signature or the ``Authorization`` value; read those
    attributes directly when you mean to.

    Immutable, and deliberately not a tuple or a dataclass: it cannot be
    iterated, unpacked, ``json.dumps``-ed or passed to ``dataclasses.asdict``,
    so the signature and the ``Authorization`` value only leave it through an
    attribute read that names them.
    """

    __slots__ = ("_values",)
    _values: tuple[Any, ...]

    def __init__(
        self,
        *,
        algorithm: Algorithm,
        method: str,
        host: str,
        path: str,
        query: tuple[tuple[str, str], ...],
        body: bytes,
        hashed_payload: str,
        canonical_query_string: str,
        canonical_headers: str,
        signed_headers: str,
        canonical_request: str,
        string_to_sign: str,
        signature: str,
        authorization: str,
        headers: Mapping[str, str],
        security_token: str | None = None,
    ) -> None:
        _set_values(
            self,
            (
                algorithm,
                method,
                host,
                path,
                query,
                body,
                hashed_payload,
                canonical_query_string,
                canonical_headers,
                signed_headers,
                canonical_request,
                string_to_sign,
                signature,
                authorization,
                headers,
                security_token,
            ),
        )

    @property
    def algorithm(self) -> Algorithm:
        """The signature algorithm, e.g. ``ACS3-HMAC-SHA256``."""
        value: Algorithm = self._values[0]
        return value

    @property
    def method(self) -> str:
        """The HTTP method, upper-case."""
        value: str = self._values[1]
        return value

    @property
    def host(self) -> str:
        """The ``host`` header value signed and sent."""
        value: str = self._values[2]
        return value

    @property
    def path(self) -> str:
        """The request path (``/`` for RPC-style APIs)."""
        value: str = self._values[3]
        return value

    @property
    def query(self) -> tuple[tuple[str, str], ...]:
        """The query parameters as ``(name, value)`` pairs, in the order given."""
        value: tuple[tuple[str, str], ...] = self._values[4]
        return value

    @property
    def body(self) -> bytes:
        """The exact body bytes to send (empty for none)."""
        value: bytes = self._values[5]
        return value

    @property
    def hashed_payload(self) -> str:
        """The hex hash of the body (the ``x-acs-content-sha256`` value)."""
        value: str = self._values[6]
        return value

    @property
    def canonical_query_string(self) -> str:
        """The canonical query string (stage 1 of the canonical request)."""
        value: str = self._values[7]
        return value

    @property
    def canonical_headers(self) -> str:
        """The canonical headers block, one ``name:value\\n`` line per signed header."""
        value: str = self._values[8]
        return value

    @property
    def signed_headers(self) -> str:
        """The signed header names, sorted and joined with ``;``."""
        value: str = self._values[9]
        return value

    @property
    def canonical_request(self) -> str:
        """The canonical request (contains the STS token when there is one)."""
        value: str = self._values[10]
        return value

    @property
    def string_to_sign(self) -> str:
        """The string to sign: the algorithm and the canonical request's hash."""
        value: str = self._values[11]
        return value

    @property
    def signature(self) -> str:
        """The signature, hex-encoded. Sensitive: it authorises this exact request."""
        value: str = self._values[12]
        return value

    @property
    def authorization(self) -> str:
        """The ``Authorization`` header value. Sensitive: never log it."""
        value: str = self._values[13]
        return value

    @property
    def headers(self) -> Mapping[str, str]:
        """The headers to send, lower-case names, ``authorization`` included."""
        value: Mapping[str, str] = self._values[14]
        return value

    @property
    def security_token(self) -> str | None:
        """The STS token signed as ``x-acs-security-token``, or None. Sensitive."""
        value: str | None = self._values[15]
        return value

    def redacted_canonical_request(self) -> str:
        """The canonical request with the STS token (if any) replaced by ``<redacted>``."""
        if not self.security_token:
            return self.canonical_request
        return self.canonical_request.replace(self.security_token, _REDACTED)

    def redacted_headers(self) -> dict[str, str]:
        """The headers to send, ``Authorization`` and the STS token shown as ``<redacted>``."""
        secret_names = ("authorization", "x-acs-security-token")
        return {k: (_REDACTED if k.lower() in secret_names else v) for k, v in self.headers.items()}

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"SignedRequest is immutable; cannot set {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"SignedRequest is immutable; cannot delete {name!r}")

    def __eq__(self, other: object) -> bool:
        if type(other) is not SignedRequest:
            return NotImplemented
        return self._values == other._values

    __hash__ = None  # type: ignore[assignment]  # headers is a dict: unhashable, like the values

    def __copy__(self) -> SignedRequest:
        return self  # immutable

    def __deepcopy__(self, memo: dict[int, Any]) -> SignedRequest:
        import copy

        copied: SignedRequest = _new_object(SignedRequest)
        _set_values(copied, copy.deepcopy(self._values, memo))
        return copied

    def __reduce__(self) -> Any:
        raise TypeError("a SignedRequest is not picklable: it holds the Authorization value")

    def __repr__(self) -> str:
        return (
            f"SignedRequest(algorithm={self.algorithm!r}, method={self.method!r}, "
            f"host={self.host!r}, path={self.path!r}, signed_headers={self.signed_headers!r}, "
            f"hashed_payload={self.hashed_payload!r}, "
            f"canonical_request={self.redacted_canonical_request()!r}, "
            f"string_to_sign={self.string_to_sign!r})"
        )

    def __str__(self) -> str:
        return self.__repr__()


# Stores the values tuple of a new SignedRequest past its __setattr__ (the slot's
# own descriptor); sign_request builds one with this and object.__new__, which
# saves the keyword-argument __init__ on every API call.
_set_values: Final = SignedRequest.__dict__["_values"].__set__
_new_object: Final = object.__new__


def _pairs(items: Mapping[str, str] | Iterable[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    """``items`` as a tuple of ``(name, value)`` pairs, whether a mapping or pairs."""
    # A dict or a tuple is recognised before the Mapping ABC check, which costs
    # more than the rest of this function together.
    if type(items) is dict:
        return tuple(items.items())
    if type(items) is tuple:
        return items
    return tuple(items.items() if isinstance(items, Mapping) else items)


def sign_request(
    *,
    access_key_id: str,
    access_key_secret: str,
    method: str,
    host: str,
    date: datetime | str,
    nonce: str,
    path: str = "/",
    query: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    headers: Mapping[str, str] | Iterable[tuple[str, str]] = (),
    body: bytes = b"",
    content_type: str | None = None,
    security_token: str | None = None,
    algorithm: Algorithm = DEFAULT_ALGORITHM,
) -> SignedRequest:
    """Sign one request and return every stage of the signature.

    ``headers`` are extra headers to send; those named ``x-acs-*`` (such as
    ``x-acs-action`` and ``x-acs-version``) are signed, others (such as
    ``user-agent``) are sent unsigned. This function adds ``host``,
    ``x-acs-date`` (from ``date``: a timezone-aware datetime or an already
    formatted string), ``x-acs-signature-nonce``, ``x-acs-content-sha256``,
    ``content-type`` (when ``body`` is not empty; ``content_type`` is
    required then), ``x-acs-security-token`` (when ``security_token`` is
    given) and ``Authorization``.

    For ``ACS3-RSA-SHA256``, ``access_key_secret`` is the PEM private key.
    """
    if not nonce:
        raise ValueError("the signature nonce must not be empty")
    if body and not content_type:
        raise ValueError("a request with a body needs a content_type")
    if security_token is not None:
        security_token = security_token.strip() or None
    if method != "POST":
        method = method.upper()
    query_pairs = query if type(query) is tuple else _pairs(query)
    fast = algorithm == "ACS3-HMAC-SHA256"
    # hash_hex(body, algorithm), without the call for the default algorithm.
    hashed_payload = hashlib.sha256(body).hexdigest() if fast else hash_hex(body, algorithm)
    sent: dict[str, str] = {"host": host}
    for name, value in headers.items() if type(headers) is dict else _pairs(headers):
        lowered = _EXTRA_HEADER_NAMES.get(name)
        if lowered is None:
            lowered = name.strip().lower()
            if lowered in _MANAGED_HEADERS:
                raise ValueError(
                    f"the {lowered} header is set by sign_request; pass it as an argument"
                )
            if len(_EXTRA_HEADER_NAMES) >= _CACHE_MAX:
                _EXTRA_HEADER_NAMES.clear()
            _EXTRA_HEADER_NAMES[name] = lowered
        sent[lowered] = value
    sent["x-acs-date"] = date if isinstance(date, str) else format_date(date)
    sent["x-acs-signature-nonce"] = nonce
    sent["x-acs-content-sha256"] = hashed_payload
    if body and content_type:
        sent["content-type"] = content_type
    if security_token:
        sent["x-acs-security-token"] = security_token
    # The names in ``sent`` are unique and lower-case already, so this is
    # canonical_headers() without its merging of repeated names.
    names, signed = _signed_names(tuple(sent))
    headers_block = "".join([f"{n}:{sent[n].strip()}\n" for n in names])
    query_string = canonical_query_string(query_pairs) if query_pairs else ""
    uri = "/" if path == "/" else canonical_uri(path)  # the call, for RPC-style APIs' "/"
    if fast:
        # Fast path for the default algorithm. It computes exactly what the
        # reference steps in the else branch compute (canonical_request(),
        # string_to_sign(), signature(), authorization(); test_signing.py
        # checks both give the same stages), written out inline to save the
        # calls and the per-algorithm dispatch on every API call.
        canonical = f"{method}\n{uri}\n{query_string}\n{headers_block}\n{signed}\n{hashed_payload}"
        to_sign = f"ACS3-HMAC-SHA256\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"
        mac = _KEYED_SHA256.get(access_key_secret)
        if mac is None:
            mac = _keyed_sha256(access_key_secret)
        mac = mac.copy()
        mac.update(to_sign.encode("utf-8"))
        signature_hex = mac.hexdigest()
        auth = (
            f"ACS3-HMAC-SHA256 Credential={access_key_id},"
            f"SignedHeaders={signed},Signature={signature_hex}"
        )
    else:
        canonical = canonical_request(
            method, uri, query_string, headers_block, signed, hashed_payload
        )
        to_sign = string_to_sign(algorithm, canonical)
        signature_hex = signature(algorithm, access_key_secret, to_sign)
        auth = authorization(algorithm, access_key_id, signed, signature_hex)
    sent["authorization"] = auth
    # SignedRequest(...) with these values in field order, without the keyword
    # arguments of its __init__.
    result: SignedRequest = _new_object(SignedRequest)
    _set_values(
        result,
        (
            algorithm,
            method,
            host,
            path or "/",
            query_pairs,
            body,
            hashed_payload,
            query_string,
            headers_block,
            signed,
            canonical,
            to_sign,
            signature_hex,
            auth,
            sent,
            security_token,
        ),
    )
    return result


# Two caches for sign_request, for work that depends only on header *names*
# (nearly every call sends the same names). Each is bounded by _CACHE_MAX
# entries (emptied when full) so odd callers cannot grow it, and each holds
# only what the computation would give again.
_CACHE_MAX: Final = 256

# An extra header name as given -> its stripped, lower-case form. Never holds a
# name that sign_request manages: those are refused on every call.
_EXTRA_HEADER_NAMES: dict[str, str] = {}

# The names a request sends -> its signed names, sorted, and them joined with ";".
_SIGNED_NAMES: dict[tuple[str, ...], tuple[tuple[str, ...], str]] = {}


# An AccessKey secret -> an HMAC-SHA256 object keyed with it and fed nothing,
# copied for each signature: keying HMAC again on every call costs a third of
# the HMAC. Like the parsed RSA keys, a secret stays here after its client is
# closed, until the cache fills: it holds at most _KEYED_MAX secrets and is
# emptied when full, so rotated STS secrets do not pile up. Nothing here is
# ever logged or shown (an hmac object's repr holds no key).
_KEYED_MAX: Final = 16
_KEYED_SHA256: dict[str, hmac.HMAC] = {}


def _keyed_sha256(secret: str) -> hmac.HMAC:
    """Return the cached HMAC-SHA256 object keyed with ``secret`` (never updated: copy it)."""
    mac = hmac.new(secret.encode("utf-8"), digestmod=hashlib.sha256)
    if len(_KEYED_SHA256) >= _KEYED_MAX:
        _KEYED_SHA256.clear()
    _KEYED_SHA256[secret] = mac
    return mac


def _signed_names(sent_names: tuple[str, ...]) -> tuple[tuple[str, ...], str]:
    """Return the signed names among ``sent_names`` (sorted) and them joined with ``;``."""
    cached = _SIGNED_NAMES.get(sent_names)
    if cached is None:
        names = tuple(sorted(n for n in sent_names if _is_signed_header(n)))
        cached = (names, ";".join(names))
        if len(_SIGNED_NAMES) >= _CACHE_MAX:
            _SIGNED_NAMES.clear()
        _SIGNED_NAMES[sent_names] = cached
    return cached
