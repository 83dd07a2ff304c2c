"""Tests of alisms.signing: data vectors, an independent implementation, properties."""

from __future__ import annotations

import copy
import dataclasses
import importlib.util
import json
import pickle
import re
import subprocess
import sys
import traceback
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import independent_v3 as v3
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from hypothesis import given, settings
from hypothesis import strategies as st

import alisms.signing
from alisms.signing import (
    ALGORITHMS,
    EMPTY_PAYLOAD_SHA256,
    SignedRequest,
    authorization,
    canonical_headers,
    canonical_query_string,
    canonical_request,
    canonical_uri,
    check_algorithm,
    format_date,
    hash_hex,
    percent_encode,
    sign_request,
    signature,
    string_to_sign,
)

VECTORS = Path(__file__).parent / "vectors"
STAGE_FILES = (
    "hashed-payload.txt",
    "canonical-request.txt",
    "string-to-sign.txt",
    "signature.txt",
    "authorization.txt",
)
CASE_DIRS = sorted(p for p in VECTORS.iterdir() if (p / "input.json").is_file())
REQUEST_DIRS = [
    p for p in CASE_DIRS if json.loads((p / "input.json").read_text())["kind"] == "request"
]
EXPECTED_CASES = {
    "ref-v1-fixed-parameters",
    "ref-v1b-header-table",
    "ref-v2-sdk-duplicate-headers",
    "globe-form-unicode",
    "globe-form-emoji",
    "globe-form-reserved-chars",
    "globe-query-empty-body",
    "globe-form-sts-token",
    "globe-form-sm3",
    "globe-form-rsa",
    "globe-form-host-port",
}

FAST = settings(max_examples=60, deadline=None)


def _load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("vector_generate", VECTORS / "generate.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generator = _load_generator()


@dataclass(frozen=True)
class Vector:
    folder: Path
    case: dict[str, Any]
    expected: dict[str, str]
    secret: str
    body: bytes

    @property
    def name(self) -> str:
        return self.folder.name

    def pairs(self, key: str) -> list[tuple[str, str]]:
        return [(k, v) for k, v in self.case.get(key, [])]

    def secret_for(self, key_id: str) -> str | None:
        return self.secret if key_id == self.case["access_key_id"] else None

    def public_key_for(self, key_id: str) -> str | None:
        if "secret_file" not in self.case or key_id != self.case["access_key_id"]:
            return None
        return _public_pem(self.secret)


def _public_pem(private_pem: str) -> str:
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def load(folder: Path) -> Vector:
    case = json.loads((folder / "input.json").read_text(encoding="utf-8"))
    expected = {name: (folder / name).read_bytes().decode("utf-8") for name in STAGE_FILES}
    return Vector(
        folder=folder,
        case=case,
        expected=expected,
        secret=generator.load_secret(folder, case),
        body=case.get("body", "").encode("utf-8"),
    )


def vector(name: str) -> Vector:
    return load(VECTORS / name)


def sign_vector(vec: Vector, *, date_as_string: bool = False) -> SignedRequest:
    case = vec.case
    assert case["kind"] == "request"
    date = case["date"]
    return sign_request(
        access_key_id=case["access_key_id"],
        access_key_secret=vec.secret,
        method=case["method"],
        host=case["host"],
        date=date
        if date_as_string
        else datetime.strptime(date, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC),
        nonce=case["nonce"],
        path=case.get("path", "/"),
        query=vec.pairs("query"),
        headers=vec.pairs("headers"),
        body=vec.body,
        content_type=case.get("content_type"),
        security_token=case.get("security_token"),
        algorithm=check_algorithm(case["algorithm"]),
    )


def stages_of(signed: SignedRequest) -> dict[str, str]:
    return {
        "hashed-payload.txt": signed.hashed_payload,
        "canonical-request.txt": signed.canonical_request,
        "string-to-sign.txt": signed.string_to_sign,
        "signature.txt": signed.signature,
        "authorization.txt": signed.authorization,
    }


def stages_by_steps(vec: Vector) -> dict[str, str]:
    """Run a ``kind: canonical`` case through the step functions."""
    case = vec.case
    algorithm = check_algorithm(case["algorithm"])
    block, signed = canonical_headers(vec.pairs("headers"))
    canonical = canonical_request(
        case["method"],
        canonical_uri(case["path"]),
        canonical_query_string(vec.pairs("query")),
        block,
        signed,
        case["hashed_payload"],
    )
    to_sign = string_to_sign(algorithm, canonical)
    sig = signature(algorithm, vec.secret, to_sign)
    return {
        "hashed-payload.txt": case["hashed_payload"],
        "canonical-request.txt": canonical,
        "string-to-sign.txt": to_sign,
        "signature.txt": sig,
        "authorization.txt": authorization(algorithm, case["access_key_id"], signed, sig),
    }


# --- the vector files ------------------------------------------------------------------


def test_every_expected_vector_is_present_and_complete() -> None:
    assert {p.name for p in CASE_DIRS} == EXPECTED_CASES
    assert len(REQUEST_DIRS) == len(EXPECTED_CASES) - 1  # all but the SDK canonical case
    for folder in CASE_DIRS:
        for name in STAGE_FILES:
            data = (folder / name).read_bytes()
            assert data, f"{folder.name}/{name} is empty"
            assert not data.endswith((b"\n", b"\r")), f"{folder.name}/{name} ends with a newline"


@pytest.mark.parametrize("folder", CASE_DIRS, ids=lambda p: p.name)
def test_vector_alisms(folder: Path) -> None:
    vec = load(folder)
    if vec.case["kind"] == "canonical":
        assert stages_by_steps(vec) == vec.expected
        return
    signed = sign_vector(vec)
    assert stages_of(signed) == vec.expected
    assert signed.headers["authorization"] == vec.expected["authorization.txt"]
    assert signed.headers["x-acs-content-sha256"] == vec.expected["hashed-payload.txt"]
    assert signed.headers["x-acs-date"] == vec.case["date"]
    assert signed.headers["x-acs-signature-nonce"] == vec.case["nonce"]
    assert signed.headers["host"] == vec.case["host"]
    assert signed.body == vec.body
    assert stages_of(sign_vector(vec, date_as_string=True)) == vec.expected


@pytest.mark.parametrize("folder", CASE_DIRS, ids=lambda p: p.name)
def test_vector_independent(folder: Path) -> None:
    vec = load(folder)
    assert generator.expected_stages(folder, vec.case) == vec.expected


@pytest.mark.parametrize("folder", REQUEST_DIRS, ids=lambda p: p.name)
def test_vector_independent_verifies_alisms_request(folder: Path) -> None:
    vec = load(folder)
    signed = sign_vector(vec)
    result = v3.verify(
        method=signed.method,
        path=signed.path,
        query=signed.query,
        headers=signed.headers,
        body=signed.body,
        secret_for=vec.secret_for,
        public_key_pem_for=vec.public_key_for,
    )
    assert result.reason == "ok"
    assert result.ok
    assert result.access_key_id == vec.case["access_key_id"]
    assert result.canonical_request == vec.expected["canonical-request.txt"]
    assert result.string_to_sign == vec.expected["string-to-sign.txt"]


@pytest.mark.parametrize(
    "folder", [p for p in CASE_DIRS if "form" in json.loads((p / "input.json").read_text())]
)
def test_form_body_is_the_rfc3986_encoding_of_form(folder: Path) -> None:
    vec = load(folder)
    pairs = [tuple(p.split("=", 1)) for p in vec.case["body"].split("&")]
    assert [(unquote(k), unquote(v)) for k, v in pairs] == sorted(vec.pairs("form"))
    assert [k for k, _ in pairs] == sorted(k for k, _ in pairs)
    assert re.fullmatch(r"[A-Za-z0-9\-_.~%=&]*", vec.case["body"])


def test_reference_values_are_pinned() -> None:
    # Guard against a regenerated reference file: these are the published values.
    v1 = vector("ref-v1-fixed-parameters").expected
    assert v1["signature.txt"] == (
        "06563a9e1b43f5dfe96b81484da74bceab24a1d853912eee15083a6f0f3283c0"
    )
    assert v1["string-to-sign.txt"].endswith(
        "7ea06492da5221eba5297e897ce16e55f964061054b7695beedaac1145b1e259"
    )
    assert vector("ref-v1b-header-table").expected["signature.txt"].startswith("e521358f")
    assert vector("ref-v2-sdk-duplicate-headers").expected["signature.txt"].startswith("d16b30a7")
    assert (
        "x-acs-test:http,https\n"
        in (vector("ref-v2-sdk-duplicate-headers").expected["canonical-request.txt"])
    )


# --- published encoding and primitive vectors ---------------------------------------------


@pytest.mark.parametrize(
    ("raw", "encoded"),
    [
        (" ~/*-+", "%20~%2F%2A-%2B"),
        ("a/b/c/ test", "a%2Fb%2Fc%2F%20test"),
        ("é", "%C3%A9"),
        ('"', "%22"),
        ("abcXYZ019", "abcXYZ019"),
        ("", ""),
    ],
)
def test_percent_encode_vectors(raw: str, encoded: str) -> None:
    assert percent_encode(raw) == encoded
    assert v3.encode(raw) == encoded


@pytest.mark.parametrize(
    ("path", "expected"), [("/path/ test", "/path/%20test"), ("/", "/"), ("", "/")]
)
def test_canonical_uri_vectors(path: str, expected: str) -> None:
    assert canonical_uri(path) == expected
    assert v3.canonical_uri(path) == expected


def test_hash_vectors() -> None:
    sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    sm3 = "55e12e91650d2fec56ec74e1d3e4ddbfce2ef3a65890c2a19ecf88a307e76a23"
    assert hash_hex(b"test") == sha
    assert hash_hex(b"test", "ACS3-RSA-SHA256") == sha
    assert hash_hex(b"test", "ACS3-HMAC-SM3") == sm3
    assert v3.payload_hash(b"test", "ACS3-HMAC-SM3") == sm3
    assert hash_hex(b"") == EMPTY_PAYLOAD_SHA256 == v3.payload_hash(b"")


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("", "71e9db0344cd62427ccb824234214e14a0a54fe80adfb46bd12453270961dd5b"),
        ("source", "b9ff646822f41ef647c1416fa2b8408923828abc0464af6706e18db3e8553da8"),
    ],
)
def test_hmac_sm3_vectors(message: str, expected: str) -> None:
    assert signature("ACS3-HMAC-SM3", "secret", message) == expected


# --- dates and algorithm names ----------------------------------------------------------------


class _NoOffset(tzinfo):
    def utcoffset(self, dt: datetime | None) -> timedelta | None:
        return None


def test_format_date() -> None:
    assert format_date(datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)) == "2025-01-02T03:04:05Z"
    # Microseconds are dropped, not rounded.
    assert format_date(datetime(2025, 1, 2, 3, 4, 5, 999_999, tzinfo=UTC)) == (
        "2025-01-02T03:04:05Z"
    )
    plus8 = datetime(2025, 1, 1, 7, 30, tzinfo=timezone(timedelta(hours=8)))
    assert format_date(plus8) == "2024-12-31T23:30:00Z"
    minus5 = datetime(2024, 12, 31, 20, 30, tzinfo=timezone(timedelta(hours=-5)))
    assert format_date(minus5) == "2025-01-01T01:30:00Z"


@pytest.mark.parametrize("moment", [datetime(2025, 1, 1), datetime(2025, 1, 1, tzinfo=_NoOffset())])
def test_format_date_refuses_naive(moment: datetime) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        format_date(moment)
    with pytest.raises(ValueError, match="timezone-aware"):
        sign_request(
            access_key_id="testid",
            access_key_secret="testsecret",
            method="POST",
            host="h",
            date=moment,
            nonce="n",
        )


@pytest.mark.parametrize("name", ALGORITHMS)
def test_check_algorithm_accepts(name: str) -> None:
    assert check_algorithm(name) == name


@pytest.mark.parametrize(
    "name", ["", "acs3-hmac-sha256", "ACS3-HMAC-SHA1", "HMAC-SHA256", " ACS3-HMAC-SHA256"]
)
def test_check_algorithm_refuses(name: str) -> None:
    with pytest.raises(ValueError, match="unknown signature algorithm") as info:
        check_algorithm(name)
    for known in ALGORITHMS:
        assert known in str(info.value)


def test_signature_refuses_unknown_algorithm() -> None:
    with pytest.raises(ValueError, match="unknown signature algorithm"):
        signature("ACS3-HMAC-SHA1", "testsecret", "x")  # type: ignore[arg-type]


# --- RSA key errors never show the key ---------------------------------------------------


def _rsa_test_key() -> str:
    return (VECTORS / "globe-form-rsa" / "test-key.pem").read_text()


def _bad_keys() -> dict[str, str]:
    rsa_pem = _rsa_test_key()
    rsa_key = serialization.load_pem_private_key(rsa_pem.encode(), password=None)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    return {
        "plain-secret": "testsecret-not-a-pem-key",
        "garbage-pem": "-----BEGIN PRIVATE KEY-----\nTUlJQm9ndXNLZXlNYXRlcmlhbEZvclRlc3Rz\n"
        "-----END PRIVATE KEY-----\n",
        "truncated-rsa": "\n".join(rsa_pem.splitlines()[:10]) + "\n-----END PRIVATE KEY-----\n",
        "public-key": _public_pem(rsa_pem),
        "encrypted-rsa": rsa_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"test-passphrase"),
        ).decode(),
        "ec-key": ec_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode(),
    }


def _key_material(pem: str) -> list[str]:
    """Pieces of ``pem`` that must never appear in an error."""
    body = [line for line in pem.splitlines() if line and not line.startswith("-----")]
    return body or [pem]


@pytest.mark.parametrize("kind", sorted(_bad_keys()))
def test_bad_rsa_key_error_does_not_contain_the_key(kind: str) -> None:
    pem = _bad_keys()[kind]
    with pytest.raises(ValueError, match="ACS3-RSA-SHA256") as info:
        signature("ACS3-RSA-SHA256", pem, "ACS3-RSA-SHA256\nabc")
    shown = "".join(traceback.format_exception(info.value)) + repr(info.value)
    for piece in _key_material(pem):
        assert piece not in shown
    # No chained exception may carry the key either.
    assert info.value.__cause__ is None
    assert info.value.__context__ is None or info.value.__suppress_context__
    with pytest.raises(ValueError, match="ACS3-RSA-SHA256"):
        sign_request(
            access_key_id="testid",
            access_key_secret=pem,
            method="POST",
            host="h",
            date="2025-01-01T00:00:00Z",
            nonce="n",
            algorithm="ACS3-RSA-SHA256",
        )


# --- what SignedRequest shows ------------------------------------------------------------


@pytest.mark.parametrize("name", ["globe-form-sts-token", "globe-form-rsa", "globe-form-sm3"])
def test_signed_request_repr_hides_secrets(name: str) -> None:
    vec = vector(name)
    signed = sign_vector(vec)
    token = vec.case.get("security_token")
    for shown in (repr(signed), str(signed), f"{signed}", repr([signed])):
        for piece in _key_material(vec.secret):
            assert piece not in shown
        assert signed.signature not in shown
        assert signed.authorization not in shown
        if token:
            assert token not in shown
            assert "x-acs-security-token:<redacted>" in shown
        # What an auditor needs is there.
        assert repr(signed.string_to_sign) in shown
        assert repr(signed.redacted_canonical_request()) in shown
    # The attributes stay exact: redaction is for display only.
    assert signed.canonical_request == vec.expected["canonical-request.txt"]
    if token:
        assert f"x-acs-security-token:{token}\n" in signed.canonical_request
        redacted = signed.redacted_headers()
        assert redacted["x-acs-security-token"] == "<redacted>"
        assert redacted["authorization"] == "<redacted>"
        assert signed.headers["x-acs-security-token"] == token
        assert redacted["x-acs-action"] == "SendMessageToGlobe"


def test_signed_request_repr_hides_token_with_surrounding_whitespace() -> None:
    signed = sign_request(
        access_key_id="testid",
        access_key_secret="testsecret",
        method="POST",
        host="h",
        date="2025-01-01T00:00:00Z",
        nonce="n",
        security_token=" fake-sts-token-value ",
    )
    assert "fake-sts-token-value" not in repr(signed)


# --- import cost ---------------------------------------------------------------------------

_IMPORT_PROBE = """
import json, sys
import alisms.signing as s

def loaded():
    return sorted(m for m in sys.modules if m.split(".")[0] == "cryptography")

after_import = loaded()
s.sign_request(access_key_id="testid", access_key_secret="testsecret", method="POST",
               host="h", date="2025-01-01T00:00:00Z", nonce="n", body=b"x",
               content_type="text/plain")
after_sha256 = loaded()
s.hash_hex(b"x", "ACS3-HMAC-SM3")
after_sm3 = loaded()
print(json.dumps([s.__file__, after_import, after_sha256, after_sm3]))
"""


def test_import_does_not_load_cryptography(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _IMPORT_PROBE],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
    )
    module_file, after_import, after_sha256, after_sm3 = json.loads(done.stdout)
    assert module_file == alisms.signing.__file__  # the probe saw the code under test
    assert after_import == []
    assert after_sha256 == []
    # The probe can see cryptography when it is loaded.
    assert "cryptography" in after_sm3


# --- the independent verifier (used by the local test server) ----------------------------


def _signed_host_port() -> tuple[Vector, SignedRequest]:
    vec = vector("globe-form-host-port")
    return vec, sign_vector(vec)


def _verify(vec: Vector, signed: SignedRequest, **changes: Any) -> v3.VerifyResult:
    request: dict[str, Any] = {
        "method": signed.method,
        "path": signed.path,
        "query": signed.query,
        "headers": dict(signed.headers),
        "body": signed.body,
    }
    request.update(changes)
    return v3.verify(**request, secret_for=vec.secret_for, public_key_pem_for=vec.public_key_for)


def test_verify_accepts_title_case_header_names() -> None:
    vec, signed = _signed_host_port()
    headers = [("-".join(w.title() for w in k.split("-")), v) for k, v in signed.headers.items()]
    assert any(name == "X-Acs-Date" for name, _ in headers)
    assert _verify(vec, signed, headers=headers).ok


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"body": b"From=x"}, "x-acs-content-sha256"),
        ({"query": (("To", "1"),)}, "signature mismatch"),
        ({"method": "PUT"}, "signature mismatch"),
        ({"path": "/other"}, "signature mismatch"),
    ],
)
def test_verify_rejects_tampering(change: dict[str, Any], reason: str) -> None:
    vec, signed = _signed_host_port()
    result = _verify(vec, signed, **change)
    assert not result.ok
    assert reason in result.reason


def _with(signed: SignedRequest, **headers: str | None) -> dict[str, str]:
    out = dict(signed.headers)
    for name, value in headers.items():
        key = name.replace("_", "-")
        if value is None:
            out.pop(key, None)
        else:
            out[key] = value
    return out


def test_verify_rejects_bad_authorization_headers() -> None:
    vec, signed = _signed_host_port()
    auth = signed.authorization
    cases = {
        "missing Authorization": _with(signed, authorization=None),
        "unsupported algorithm": _with(signed, authorization=auth.replace("ACS3-HMAC-SHA256", "X")),
        "unknown access key id": _with(signed, authorization=auth.replace("=testid,", "=other,")),
        "signature mismatch": _with(
            signed, authorization=auth[:-1] + ("0" if auth[-1] != "0" else "1")
        ),
        "lower-case hex": _with(signed, authorization=auth[:-64] + auth[-64:].upper()),
        "malformed": _with(signed, authorization="ACS3-HMAC-SHA256"),
        "exactly Credential": _with(signed, authorization=auth.replace("Signature=", "Sig=")),
        "x-acs-content-sha256": _with(signed, x_acs_content_sha256=None),
        "must be signed: x-acs-extra": _with(signed, x_acs_extra="sneaked in"),
        "not sent": _with(signed, x_acs_action=None),
        "sorted": _with(
            signed, authorization=auth.replace("content-type;host", "host;content-type")
        ),
    }
    for reason, headers in cases.items():
        result = _verify(vec, signed, headers=headers)
        assert not result.ok, reason
        assert reason in result.reason, (reason, result.reason)
    twice = [*signed.headers.items(), ("Authorization", auth)]
    assert _verify(vec, signed, headers=twice).reason == "repeated Authorization"
    assert _verify(vec, signed).ok


def test_verify_requires_host_date_and_nonce_to_be_signed() -> None:
    vec, signed = _signed_host_port()
    for name in ("host", "x-acs-date", "x-acs-signature-nonce", "content-type"):
        names = [n for n in signed.signed_headers.split(";") if n != name]
        headers = dict(signed.headers)
        headers["authorization"] = v3.sign(
            method=signed.method,
            path=signed.path,
            query=signed.query,
            headers=headers,
            body=signed.body,
            access_key_id="testid",
            secret="testsecret",
            signed_header_names=names,
        )
        result = _verify(vec, signed, headers=headers)
        assert not result.ok
        assert f"must be signed: {name}" in result.reason


def test_verify_follows_the_clients_signed_headers() -> None:
    # A client may sign more than the minimum (the vendor's Python SDK signs user-agent).
    vec, signed = _signed_host_port()
    names = [*signed.signed_headers.split(";"), "user-agent"]
    headers = dict(signed.headers)
    headers["authorization"] = v3.sign(
        method=signed.method,
        path=signed.path,
        query=signed.query,
        headers=headers,
        body=signed.body,
        access_key_id="testid",
        secret="testsecret",
        signed_header_names=names,
    )
    assert ";user-agent;" in headers["authorization"]
    with pytest.raises(ValueError, match="not present: x-missing"):
        v3.sign(
            method=signed.method,
            path=signed.path,
            query=signed.query,
            headers=headers,
            body=signed.body,
            access_key_id="testid",
            secret="testsecret",
            signed_header_names=[*names, "x-missing"],
        )
    assert _verify(vec, signed, headers=headers).ok
    headers["user-agent"] = "changed/2.0"
    assert _verify(vec, signed, headers=headers).reason == "signature mismatch"


def test_verify_rsa_needs_the_matching_public_key() -> None:
    vec = vector("globe-form-rsa")
    signed = sign_vector(vec)
    request = {
        "method": signed.method,
        "path": signed.path,
        "query": signed.query,
        "headers": signed.headers,
        "body": signed.body,
        "secret_for": lambda _: None,
    }
    assert v3.verify(**request, public_key_pem_for=vec.public_key_for).ok
    assert not v3.verify(**request).ok
    other_rsa = rsa.generate_private_key(public_exponent=65537, key_size=1024)
    not_rsa = ec.generate_private_key(ec.SECP256R1())
    for key, reason in ((other_rsa, "signature mismatch"), (not_rsa, "public key is not RSA")):
        pem = key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        result = v3.verify(**request, public_key_pem_for=lambda _, pem=pem: pem.decode())
        assert not result.ok
        assert result.reason == reason


# --- properties -------------------------------------------------------------------------------

UNRESERVED = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~"
ENCODED = re.compile(r"(?:[A-Za-z0-9\-_.~]|%[0-9A-F]{2})*")

# Printable text without whitespace at either end: what a header value can hold after trimming.
header_values = st.text(
    st.characters(blacklist_categories=("Cs", "Cc", "Zl", "Zp")), max_size=20
).map(str.strip)
signable_names = st.one_of(
    st.sampled_from(["host", "content-type"]),
    st.from_regex(r"x-acs-[a-z0-9-]{1,12}", fullmatch=True),
)
other_names = st.from_regex(r"[a-z][a-z0-9-]{0,15}", fullmatch=True).filter(
    lambda n: n not in ("host", "content-type") and not n.startswith("x-acs-")
)


@FAST
@given(st.text())
def test_percent_encode_output_is_unreserved_or_uppercase_escapes(text: str) -> None:
    assert ENCODED.fullmatch(percent_encode(text))


@FAST
@given(st.text())
def test_percent_encode_round_trips(text: str) -> None:
    assert unquote(percent_encode(text), errors="strict") == text
    assert percent_encode(text) == v3.encode(text)


@FAST
@given(st.text(alphabet=UNRESERVED))
def test_percent_encode_keeps_unreserved(text: str) -> None:
    assert percent_encode(text) == text


@FAST
@given(st.text())
def test_canonical_uri_agrees(path: str) -> None:
    assert canonical_uri("/" + path) == v3.canonical_uri("/" + path)


@FAST
@given(st.data())
def test_canonical_query_string_is_order_independent_and_sorted(data: st.DataObject) -> None:
    pairs = data.draw(st.lists(st.tuples(st.text(max_size=8), st.text(max_size=8)), max_size=8))
    shuffled = data.draw(st.permutations(pairs))
    out = canonical_query_string(pairs)
    assert canonical_query_string(shuffled) == out
    if not pairs:
        assert out == ""
        return
    parts = [tuple(p.split("=", 1)) for p in out.split("&")]
    decoded = [(unquote(k), unquote(v)) for k, v in parts]
    assert decoded == sorted(pairs)  # sorted by raw name then value, as the SDKs sort


@FAST
@given(st.dictionaries(st.text(min_size=1), st.text()))
def test_canonical_query_string_agrees_with_independent(query: dict[str, str]) -> None:
    assert canonical_query_string(query) == v3.canonical_query(query)


def test_canonical_query_string_sorts_raw_names_like_the_sdks() -> None:
    assert canonical_query_string([("a`", "2"), ("a_", "1")]) == "a_=1&a%60=2"


@FAST
@given(
    st.dictionaries(signable_names, header_values, max_size=6),
    st.dictionaries(other_names, header_values, max_size=4),
    st.data(),
)
def test_canonical_headers_properties(
    signable: dict[str, str], others: dict[str, str], data: st.DataObject
) -> None:
    block, signed = canonical_headers(signable)
    names = sorted(signable)
    assert signed == ";".join(names)
    assert block == "".join(f"{n}:{signable[n]}\n" for n in names)
    # Non-signable headers are ignored.
    assert canonical_headers({**signable, **others}) == (block, signed)
    # Names are case-insensitive.
    recased = {
        "".join(c.upper() if data.draw(st.booleans()) else c for c in n): v
        for n, v in signable.items()
    }
    assert canonical_headers(recased) == (block, signed)
    # Values are trimmed.
    pad = st.text(alphabet=" \t", max_size=3)
    padded = [(n, data.draw(pad) + v + data.draw(pad)) for n, v in signable.items()]
    assert canonical_headers(padded) == (block, signed)
    assert (block, signed) == v3.canonical_headers(padded)


def test_canonical_headers_merges_repeated_names() -> None:
    headers = [("X-Acs-Test", " https "), ("x-acs-test", "http"), ("x-acs-TEST", "ftp")]
    expected = ("x-acs-test:ftp,http,https\n", "x-acs-test")
    assert canonical_headers(headers) == expected
    assert v3.canonical_headers(headers) == expected


@FAST
@given(
    st.lists(
        st.tuples(st.sampled_from(["x-acs-a", "X-Acs-A", "x-acs-b", "host"]), header_values),
        max_size=6,
    ),
    st.randoms(use_true_random=False),
)
def test_canonical_headers_repeated_names_agree(headers: list[tuple[str, str]], rnd: Any) -> None:
    shuffled = list(headers)
    rnd.shuffle(shuffled)
    assert canonical_headers(shuffled) == canonical_headers(headers)
    assert canonical_headers(headers) == v3.canonical_headers(headers)


def test_empty_body_sends_no_content_type() -> None:
    signed = sign_request(
        access_key_id="testid",
        access_key_secret="testsecret",
        method="POST",
        host="h",
        date="2025-01-01T00:00:00Z",
        nonce="n",
        content_type="application/x-www-form-urlencoded",
    )
    assert "content-type" not in signed.headers
    assert "content-type" not in signed.signed_headers.split(";")
    assert signed.hashed_payload == EMPTY_PAYLOAD_SHA256


def test_body_needs_content_type_and_nonce_must_not_be_empty() -> None:
    common: dict[str, Any] = {
        "access_key_id": "testid",
        "access_key_secret": "testsecret",
        "method": "POST",
        "host": "h",
        "date": "2025-01-01T00:00:00Z",
    }
    with pytest.raises(ValueError, match="content_type"):
        sign_request(**common, nonce="n", body=b"x")
    with pytest.raises(ValueError, match="nonce"):
        sign_request(**common, nonce="")


RESERVED_HEADERS = {
    "x-acs-date",
    "x-acs-signature-nonce",
    "x-acs-content-sha256",
    "x-acs-security-token",
}


@settings(max_examples=80, deadline=None)
@given(
    method=st.sampled_from(["GET", "POST", "post"]),
    body=st.one_of(st.text().map(str.encode), st.binary(max_size=40)),
    query=st.dictionaries(
        st.from_regex(r"[A-Za-z][A-Za-z0-9.]{0,10}", fullmatch=True), st.text(), max_size=5
    ),
    extra=st.dictionaries(
        st.from_regex(r"x-acs-[a-z0-9-]{1,12}", fullmatch=True).filter(
            lambda n: n not in RESERVED_HEADERS
        ),
        header_values,
        max_size=4,
    ),
    unsigned=st.dictionaries(other_names, header_values, max_size=2),
    token=st.one_of(st.none(), header_values.filter(bool)),
    algorithm=st.sampled_from(["ACS3-HMAC-SHA256", "ACS3-HMAC-SM3"]),
)
def test_sign_request_agrees_with_independent(
    method: str,
    body: bytes,
    query: dict[str, str],
    extra: dict[str, str],
    unsigned: dict[str, str],
    token: str | None,
    algorithm: str,
) -> None:
    signed = sign_request(
        access_key_id="testid",
        access_key_secret="testsecret",
        method=method,
        host="127.0.0.1:8080",
        date="2025-06-01T08:30:00Z",
        nonce="0123456789abcdef",
        query=query,
        headers={**extra, **unsigned},
        body=body,
        content_type="application/octet-stream" if body else None,
        security_token=token,
        algorithm=check_algorithm(algorithm),
    )
    headers = [("host", "127.0.0.1:8080"), *extra.items(), *unsigned.items()]
    headers += [
        ("x-acs-date", "2025-06-01T08:30:00Z"),
        ("x-acs-signature-nonce", "0123456789abcdef"),
        ("x-acs-content-sha256", v3.payload_hash(body, algorithm)),
    ]
    if body:
        headers.append(("content-type", "application/octet-stream"))
    if token:
        headers.append(("x-acs-security-token", token))
    expected = v3.compute(
        method=method,
        path="/",
        query=query,
        headers=headers,
        body=body,
        access_key_id="testid",
        secret="testsecret",
        algorithm=algorithm,
    )
    assert signed.hashed_payload == expected.hashed_payload
    assert signed.canonical_request == expected.canonical_request
    assert signed.string_to_sign == expected.string_to_sign
    assert signed.signed_headers == expected.signed_headers
    assert signed.authorization == expected.authorization
    result = v3.verify(
        method=signed.method,
        path=signed.path,
        query=signed.query,
        headers=signed.headers,
        body=signed.body,
        secret_for={"testid": "testsecret"}.get,
    )
    assert result.ok, result.reason


@pytest.mark.parametrize("name", ["host", "Host", "authorization", "x-acs-date", "content-type"])
def test_sign_request_refuses_extra_headers_it_manages(name: str) -> None:
    with pytest.raises(ValueError, match="set by sign_request"):
        sign_request(
            access_key_id="testid",
            access_key_secret="testsecret",
            method="POST",
            host="dysmsapi.ap-southeast-1.aliyuncs.com",
            date="2026-01-02T03:04:05Z",
            nonce="n1",
            headers={name: "x"},
        )


# --- the fast paths inside sign_request give what the reference steps give -------------


@pytest.mark.parametrize("folder", REQUEST_DIRS, ids=lambda p: p.name)
@pytest.mark.parametrize("algorithm", ["ACS3-HMAC-SHA256", "ACS3-HMAC-SM3"])
def test_sign_request_stages_equal_the_step_functions(folder: Path, algorithm: str) -> None:
    vec = load(folder)
    # Signed with the algorithm forced, so the SHA-256 fast path and the
    # reference path both run on every vector's headers, query and body.
    signed = sign_vector(dataclasses.replace(vec, case=dict(vec.case, algorithm=algorithm)))
    checked = check_algorithm(algorithm)
    canonical = canonical_request(
        signed.method,
        canonical_uri(signed.path),
        signed.canonical_query_string,
        signed.canonical_headers,
        signed.signed_headers,
        signed.hashed_payload,
    )
    assert (signed.canonical_headers, signed.signed_headers) == canonical_headers(
        (k, v) for k, v in signed.headers.items() if k != "authorization"
    )
    assert signed.hashed_payload == hash_hex(signed.body, checked)
    assert signed.canonical_request == canonical
    assert signed.string_to_sign == string_to_sign(checked, canonical)
    assert signed.signature == signature(checked, vec.secret, signed.string_to_sign)
    assert signed.authorization == authorization(
        checked, vec.case["access_key_id"], signed.signed_headers, signed.signature
    )


def test_format_date_cache_keeps_each_second_and_zone_apart() -> None:
    base = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert format_date(base) == "2025-01-02T03:04:05Z"
    assert format_date(base.replace(microsecond=999_999)) == "2025-01-02T03:04:05Z"
    assert format_date(base + timedelta(seconds=1)) == "2025-01-02T03:04:06Z"
    assert format_date(base.replace(year=2026)) == "2026-01-02T03:04:05Z"
    # Same wall-clock fields in another zone are another moment.
    plus8 = base.replace(tzinfo=timezone(timedelta(hours=8)))
    assert format_date(plus8) == "2025-01-01T19:04:05Z"
    assert format_date(base) == "2025-01-02T03:04:05Z"


def test_canonical_uri_of_the_root() -> None:
    assert canonical_uri("/") == "/" == canonical_uri("")
    assert canonical_uri("//") == "//"


def test_sign_request_refuses_a_managed_header_every_time() -> None:
    for _ in range(3):
        with pytest.raises(ValueError, match="set by sign_request"):
            sign_request(
                access_key_id="testid",
                access_key_secret="testsecret",
                method="POST",
                host="h",
                date="2026-01-02T03:04:05Z",
                nonce="n1",
                headers={" X-Acs-Date ": "x"},
            )


def test_sign_request_header_name_caches_do_not_leak_between_calls() -> None:
    def sign(headers: dict[str, str]) -> SignedRequest:
        return sign_request(
            access_key_id="testid",
            access_key_secret="testsecret",
            method="POST",
            host="h",
            date="2026-01-02T03:04:05Z",
            nonce="n1",
            headers=headers,
        )

    first = sign({" X-Acs-Action ": "A", "User-Agent": "ua"})
    second = sign({"x-acs-version": "V"})
    assert (
        first.signed_headers
        == "host;x-acs-action;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce"
    )
    assert first.headers["x-acs-action"] == "A" and first.headers["user-agent"] == "ua"
    assert second.signed_headers == (
        "host;x-acs-content-sha256;x-acs-date;x-acs-signature-nonce;x-acs-version"
    )
    assert "x-acs-action" not in second.headers


def test_signed_request_is_immutable() -> None:
    signed = sign_vector(vector("globe-form-sts-token"))
    with pytest.raises(AttributeError):
        signed.signature = "x"  # type: ignore[misc]
    with pytest.raises(AttributeError):
        signed.extra = "x"  # type: ignore[attr-defined]
    assert signed == sign_vector(vector("globe-form-sts-token"))
    assert signed != sign_vector(vector("globe-form-emoji")) and signed != ()
    with pytest.raises(AttributeError):
        del signed.signature


def test_signed_request_gives_its_secrets_out_only_by_name() -> None:
    # Not a tuple and not a dataclass: nothing serialises or unpacks it whole,
    # so the signature and the Authorization value never leave by accident.
    signed = sign_vector(vector("globe-form-sts-token"))
    with pytest.raises(TypeError):
        iter(signed)  # type: ignore[call-overload]
    with pytest.raises(TypeError):
        json.dumps(signed)
    with pytest.raises(TypeError, match="not picklable"):
        pickle.dumps(signed)
    assert not dataclasses.is_dataclass(signed)
    assert copy.copy(signed) is signed
    deep = copy.deepcopy(signed)
    assert deep == signed and deep.headers is not signed.headers


def test_signed_request_keyword_constructor_equals_sign_request() -> None:
    signed = sign_vector(vector("globe-form-sts-token"))
    fields = [name for name, value in vars(SignedRequest).items() if isinstance(value, property)]
    assert len(fields) == 16
    rebuilt = SignedRequest(**{name: getattr(signed, name) for name in fields})
    assert rebuilt == signed and repr(rebuilt) == repr(signed)


def test_the_keyed_hmac_cache_never_mixes_secrets_and_stays_bounded() -> None:
    from alisms import signing as signing_module

    secrets = [f"secret-{i}" for i in range(40)] + ["secret-0", "secret-39", "秘密"]
    for secret in secrets:
        signed = sign_request(
            access_key_id="testid",
            access_key_secret=secret,
            method="POST",
            host="h",
            date="2026-01-02T03:04:05Z",
            nonce="n1",
            body=b"To=85212345678",
            content_type="application/x-www-form-urlencoded",
        )
        # The reference step keys a new HMAC every time.
        assert signed.signature == signature("ACS3-HMAC-SHA256", secret, signed.string_to_sign)
        assert len(signing_module._KEYED_SHA256) <= signing_module._KEYED_MAX
    # A cached object is only ever copied: it still signs as if new.
    mac = signing_module._KEYED_SHA256["秘密"]
    assert mac.copy().hexdigest() == signature("ACS3-HMAC-SHA256", "秘密", "")
