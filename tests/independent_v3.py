"""A second, independent ACS V3 signer and verifier, for tests only.

Written from the published algorithm, not from ``alisms.signing``, and it must
never import ``alisms``: its job is to disagree with the library when the
library is wrong. The vector generator (``tests/vectors/generate.py``), the
signing tests and the local test server use it.

Deliberate differences in approach from the library (same results expected):

* percent-encoding is ``urllib.parse.quote`` with only the unreserved set safe;
* the canonical URI is one ``quote`` call that keeps ``/``;
* query pairs are sorted by their raw (unencoded) name, then value, and only
  then encoded, which is the order of steps the official SDKs use;
* every hash and MAC goes through bytes and ``.hex()`` at the end.

:func:`verify` is what a server would do: parse ``Authorization``, check the
payload hash, recompute over exactly the headers the client listed in
``SignedHeaders`` and compare in constant time. Clock skew and nonce reuse are
the caller's business.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import quote

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives import hmac as crypto_hmac
from cryptography.hazmat.primitives.asymmetric import padding, rsa

__all__ = [
    "ALGORITHMS",
    "Stages",
    "VerifyResult",
    "canonical_headers",
    "canonical_query",
    "canonical_uri",
    "compute",
    "encode",
    "payload_hash",
    "sign",
    "verify",
]

SHA256 = "ACS3-HMAC-SHA256"
SM3 = "ACS3-HMAC-SM3"
RSA = "ACS3-RSA-SHA256"
ALGORITHMS = (SHA256, SM3, RSA)

Pairs = Mapping[str, str] | Iterable[tuple[str, str]]

# Headers a server insists on seeing in SignedHeaders (besides every x-acs-* sent).
_MUST_SIGN = ("host", "x-acs-date", "x-acs-signature-nonce")


def _as_pairs(items: Pairs) -> list[tuple[str, str]]:
    if isinstance(items, Mapping):
        return [(str(k), str(v)) for k, v in items.items()]
    return [(str(k), str(v)) for k, v in items]


def encode(text: str) -> str:
    """RFC 3986 percent-encoding of the UTF-8 bytes; only ``A-Za-z0-9-_.~`` kept."""
    return quote(text, safe="-_.~", encoding="utf-8", errors="strict")


def canonical_uri(path: str) -> str:
    """Percent-encode ``path`` segment by segment (``/`` kept); empty means ``/``."""
    return quote(path, safe="/-_.~", encoding="utf-8", errors="strict") if path else "/"


def canonical_query(query: Pairs) -> str:
    """Sort by raw name then raw value, then encode each side and join with ``&``."""
    ordered = sorted(_as_pairs(query))
    return "&".join(encode(name) + "=" + encode(value) for name, value in ordered)


def _digest(data: bytes, algorithm: str) -> bytes:
    if algorithm == SM3:
        h = hashes.Hash(hashes.SM3())
        h.update(data)
        return h.finalize()
    if algorithm in (SHA256, RSA):
        return hashlib.sha256(data).digest()
    raise ValueError(f"unsupported algorithm {algorithm!r}")


def payload_hash(body: bytes, algorithm: str = SHA256) -> str:
    """Hex hash of ``body``: SM3 for ACS3-HMAC-SM3, SHA-256 for the other two."""
    return _digest(body, algorithm).hex()


def _header_table(headers: Pairs) -> dict[str, list[str]]:
    table: dict[str, list[str]] = {}
    for name, value in _as_pairs(headers):
        table.setdefault(name.strip().lower(), []).append(value)
    return table


def _signable(name: str) -> bool:
    return name.startswith("x-acs-") or name in ("host", "content-type")


def canonical_headers(
    headers: Pairs, signed_header_names: Iterable[str] | None = None
) -> tuple[str, str]:
    """Return ``(block, signed_headers)``.

    With ``signed_header_names`` None: host, content-type and every x-acs-*
    present. Otherwise exactly those names (each must be present). Repeated
    names have their trimmed values sorted and joined with ``,``.
    """
    table = _header_table(headers)
    if signed_header_names is None:
        names = sorted(n for n in table if _signable(n))
    else:
        names = sorted({n.strip().lower() for n in signed_header_names})
        absent = [n for n in names if n not in table]
        if absent:
            raise ValueError(f"signed header(s) not present: {', '.join(absent)}")
    lines = []
    for name in names:
        values = sorted(v.strip() for v in table[name])
        lines.append(name + ":" + ",".join(values) + "\n")
    return "".join(lines), ";".join(names)


def _mac(algorithm: str, secret: str, message: bytes) -> bytes:
    key = secret.encode("utf-8")
    if algorithm == SHA256:
        return hmac.digest(key, message, "sha256")
    if algorithm == SM3:
        mac = crypto_hmac.HMAC(key, hashes.SM3())
        mac.update(message)
        return mac.finalize()
    if algorithm == RSA:
        private = serialization.load_pem_private_key(key, password=None)
        if not isinstance(private, rsa.RSAPrivateKey):
            raise ValueError("ACS3-RSA-SHA256 needs an RSA private key")
        return private.sign(message, padding.PKCS1v15(), hashes.SHA256())
    raise ValueError(f"unsupported algorithm {algorithm!r}")


@dataclass(frozen=True)
class Stages:
    """Every intermediate value of one signature."""

    hashed_payload: str
    canonical_request: str
    string_to_sign: str
    signed_headers: str
    signature: str
    authorization: str


def compute(
    *,
    method: str,
    path: str,
    query: Pairs,
    headers: Pairs,
    access_key_id: str,
    secret: str,
    algorithm: str = SHA256,
    body: bytes = b"",
    hashed_payload: str | None = None,
    signed_header_names: Iterable[str] | None = None,
) -> Stages:
    """Compute all stages. ``hashed_payload`` overrides the hash of ``body``."""
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unsupported algorithm {algorithm!r}")
    hashed = payload_hash(body, algorithm) if hashed_payload is None else hashed_payload
    block, signed = canonical_headers(headers, signed_header_names)
    canonical = "\n".join(
        [method.upper(), canonical_uri(path), canonical_query(query), block, signed, hashed]
    )
    to_sign = algorithm + "\n" + _digest(canonical.encode("utf-8"), algorithm).hex()
    sig = _mac(algorithm, secret, to_sign.encode("utf-8")).hex()
    auth = f"{algorithm} Credential={access_key_id},SignedHeaders={signed},Signature={sig}"
    return Stages(hashed, canonical, to_sign, signed, sig, auth)


def sign(
    *,
    method: str,
    path: str,
    query: Pairs,
    headers: Pairs,
    body: bytes,
    access_key_id: str,
    secret: str,
    algorithm: str = SHA256,
    signed_header_names: Iterable[str] | None = None,
    hashed_payload: str | None = None,
) -> str:
    """Return the ``Authorization`` value for the request as given.

    ``headers`` must already hold every header to sign (host, x-acs-date,
    x-acs-signature-nonce, x-acs-content-sha256, ...); nothing is added.
    """
    return compute(
        method=method,
        path=path,
        query=query,
        headers=headers,
        body=body,
        access_key_id=access_key_id,
        secret=secret,
        algorithm=algorithm,
        signed_header_names=signed_header_names,
        hashed_payload=hashed_payload,
    ).authorization


@dataclass(frozen=True)
class VerifyResult:
    """Outcome of :func:`verify`; ``reason`` says why it failed (``"ok"`` otherwise)."""

    ok: bool
    access_key_id: str | None
    reason: str
    canonical_request: str
    string_to_sign: str


def _fail(reason: str, access_key_id: str | None = None) -> VerifyResult:
    return VerifyResult(False, access_key_id, reason, "", "")


def _parse_authorization(value: str) -> tuple[str, dict[str, str]] | str:
    """Return ``(algorithm, fields)`` or an error string."""
    algorithm, space, rest = value.strip().partition(" ")
    if not space:
        return "malformed Authorization header"
    fields: dict[str, str] = {}
    for part in rest.split(","):
        key, eq, val = part.strip().partition("=")
        if not eq or key in fields:
            return "malformed Authorization header"
        fields[key] = val
    if set(fields) != {"Credential", "SignedHeaders", "Signature"}:
        return "Authorization must have exactly Credential, SignedHeaders and Signature"
    return algorithm, fields


def verify(
    *,
    method: str,
    path: str,
    query: Pairs,
    headers: Pairs,
    body: bytes,
    secret_for: Callable[[str], str | None],
    public_key_pem_for: Callable[[str], str | None] | None = None,
) -> VerifyResult:
    """Check a received request's V3 signature as a server would."""
    header_pairs = _as_pairs(headers)
    table = _header_table(header_pairs)
    auth_values = table.get("authorization", [])
    if len(auth_values) != 1:
        return _fail(
            "missing Authorization header" if not auth_values else "repeated Authorization"
        )
    parsed = _parse_authorization(auth_values[0])
    if isinstance(parsed, str):
        return _fail(parsed)
    algorithm, fields = parsed
    key_id = fields["Credential"]
    if algorithm not in ALGORITHMS:
        return _fail(f"unsupported algorithm {algorithm!r}", key_id)
    if not key_id:
        return _fail("empty Credential")

    signed_text = fields["SignedHeaders"]
    signed = signed_text.split(";") if signed_text else []
    if signed != sorted(set(signed)) or any(n != n.lower() or not n for n in signed):
        return _fail("SignedHeaders must be lower-case, sorted and without repeats", key_id)
    if "authorization" in signed:
        return _fail("authorization cannot be a signed header", key_id)
    absent = [n for n in signed if n not in table]
    if absent:
        return _fail(f"signed header(s) not sent: {', '.join(absent)}", key_id)
    required = set(_MUST_SIGN) | {n for n in table if n.startswith("x-acs-")}
    if body and "content-type" in table:
        required.add("content-type")
    unsigned = sorted(required - set(signed))
    if unsigned:
        return _fail(f"header(s) must be signed: {', '.join(unsigned)}", key_id)

    expected_hash = payload_hash(body, algorithm)
    sent_hash = table.get("x-acs-content-sha256", [""])
    if len(sent_hash) != 1 or sent_hash[0].strip() != expected_hash:
        return _fail("x-acs-content-sha256 does not match the body", key_id)

    try:
        claimed = bytes.fromhex(fields["Signature"])
    except ValueError:
        return _fail("Signature is not hex", key_id)
    if fields["Signature"] != claimed.hex():
        return _fail("Signature must be lower-case hex", key_id)

    block, _ = canonical_headers(header_pairs, signed)
    parts = [method.upper(), canonical_uri(path), canonical_query(query), block, signed_text]
    canonical = "\n".join([*parts, expected_hash])
    to_sign = algorithm + "\n" + _digest(canonical.encode("utf-8"), algorithm).hex()
    message = to_sign.encode("utf-8")

    if algorithm == RSA:
        pem = public_key_pem_for(key_id) if public_key_pem_for is not None else None
        if pem is None:
            return _fail(f"no public key for {key_id!r}", key_id)
        try:
            public = serialization.load_pem_public_key(pem.encode("utf-8"))
        except (ValueError, UnsupportedAlgorithm):
            return _fail("unusable public key", key_id)
        if not isinstance(public, rsa.RSAPublicKey):
            return _fail("public key is not RSA", key_id)
        try:
            public.verify(claimed, message, padding.PKCS1v15(), hashes.SHA256())
        except InvalidSignature:
            return VerifyResult(False, key_id, "signature mismatch", canonical, to_sign)
        return VerifyResult(True, key_id, "ok", canonical, to_sign)

    secret = secret_for(key_id)
    if secret is None:
        return _fail(f"unknown access key id {key_id!r}", key_id)
    if not hmac.compare_digest(_mac(algorithm, secret, message), claimed):
        return VerifyResult(False, key_id, "signature mismatch", canonical, to_sign)
    return VerifyResult(True, key_id, "ok", canonical, to_sign)
