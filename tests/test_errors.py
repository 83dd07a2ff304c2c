"""Unit tests for alisms._errors: the exception tree, error_class_for, str() and repr()."""

from __future__ import annotations

import copy
import pickle

import pytest

import alisms
from alisms import (
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
from alisms._errors import error_class_for

# -- the tree -------------------------------------------------------------------

PARENT = {
    ValidationError: AlismsError,
    ConfigurationError: AlismsError,
    CredentialsError: ConfigurationError,
    TransportError: AlismsError,
    MalformedResponseError: AlismsError,
    DeliveryUnknownError: AlismsError,
    ReceiptError: AlismsError,
    APIError: AlismsError,
    AuthenticationError: APIError,
    PermissionDeniedError: APIError,
    ThrottlingError: APIError,
    ServerError: APIError,
    InvalidRequestError: APIError,
    MessageRejectedError: APIError,
}
API_FAMILIES = [cls for cls, parent in PARENT.items() if parent is APIError]


def exported_exceptions() -> set[type[BaseException]]:
    return {
        obj
        for obj in (getattr(alisms, name) for name in alisms.__all__)
        if isinstance(obj, type) and issubclass(obj, BaseException)
    }


def test_every_exported_exception_is_in_the_tree() -> None:
    assert exported_exceptions() == {AlismsError, *PARENT}
    assert set(alisms._errors.__all__) == {c.__name__ for c in exported_exceptions()} | {
        "bare_code",
        "error_class_for",
    }


@pytest.mark.parametrize("cls", list(PARENT), ids=lambda c: c.__name__)
def test_every_class_derives_from_alisms_error_through_its_parent(cls: type[AlismsError]) -> None:
    assert issubclass(cls, AlismsError)
    assert cls.__bases__[0] is PARENT[cls]


@pytest.mark.parametrize(
    "cls", [ValidationError, ConfigurationError, CredentialsError, ReceiptError]
)
def test_bad_input_and_bad_settings_are_value_errors(cls: type[AlismsError]) -> None:
    assert issubclass(cls, ValueError)


@pytest.mark.parametrize(
    "cls",
    [TransportError, MalformedResponseError, APIError, *API_FAMILIES],
    ids=lambda c: c.__name__,
)
def test_errors_from_the_service_are_not_value_errors(cls: type[AlismsError]) -> None:
    assert not issubclass(cls, ValueError)


def test_a_validation_error_is_caught_as_value_error() -> None:
    with pytest.raises(ValueError, match=r"^to: not a number$") as caught:
        raise ValidationError("to", "not a number")
    err = caught.value
    assert isinstance(err, ValidationError)
    assert err.field == "to"
    assert err.code is None
    assert err.http_status is None


# -- error_class_for: the documented codes ---------------------------------------

# The gateway's common codes with their documented HTTP status.
GATEWAY_CODES = [
    ("SignatureDoesNotMatch", 400, AuthenticationError),
    ("SignatureDoesNotMatch", 403, AuthenticationError),
    ("IncompleteSignature", 400, AuthenticationError),
    ("SignatureNonceUsed", 400, AuthenticationError),
    ("InvalidTimeStamp.Expired", 400, AuthenticationError),
    ("InvalidTimeStamp.Format", 400, AuthenticationError),
    ("InvalidAccessKeyId.NotFound", 404, AuthenticationError),
    ("InvalidAccessKeyId.NotFound", 400, AuthenticationError),
    ("InvalidAccessKeyId.Inactive", 400, AuthenticationError),
    ("Forbidden.AccessKeyDisabled", 403, AuthenticationError),
    ("InvalidSecurityToken.Expired", 400, AuthenticationError),
    ("InvalidSecurityToken.Malformed", 400, AuthenticationError),
    ("InvalidSecurityToken.MismatchWithAccessKey", 400, AuthenticationError),
    ("MissingSecurityToken", 400, AuthenticationError),
    ("InvalidSignatureMethod", 400, AuthenticationError),
    ("UnsupportedHTTPMethod", 400, InvalidRequestError),
    ("MissingParameter", 400, InvalidRequestError),
    ("MissingTo", 400, InvalidRequestError),
    ("InvalidParameter", 400, InvalidRequestError),
    ("InvalidParameter.Format", 400, InvalidRequestError),
    ("InvalidParameter.Accept", 400, InvalidRequestError),
    ("InvalidApi.NotFound", 404, InvalidRequestError),
    ("InvalidAction.NotFound", 404, InvalidRequestError),
    ("InvalidProduct.NotFound", 404, InvalidRequestError),
    ("InvalidRegion.NotFound", 404, InvalidRequestError),
    ("ContentLengthDoesNotMatch", 400, InvalidRequestError),
    ("ContentMD5NotMatched", 400, InvalidRequestError),
    ("InvalidProtocol.NeedSsl", 400, PermissionDeniedError),
    ("InvalidProtocol.NeedSsl", 404, PermissionDeniedError),
    ("Forbidden.RAM", 403, PermissionDeniedError),
    ("Forbidden", 403, PermissionDeniedError),
    ("NoPermission", 403, PermissionDeniedError),
    ("Forbidden.RiskControl", 403, PermissionDeniedError),
    ("Throttling", 400, ThrottlingError),
    ("Throttling.User", 400, ThrottlingError),
    ("Throttling.Api", 400, ThrottlingError),
    ("InternalError", 500, ServerError),
    ("UnknownError", 500, ServerError),
    ("ServiceUnavailable", 503, ServerError),
]

# The international ResponseCodes, current names and the older isv./isp. list.
BUSINESS_CODES = [
    ("INVALID_SENDERID", MessageRejectedError),
    ("FORBIDDEN_ACTION", PermissionDeniedError),
    ("OUT_OF_SERVICE", PermissionDeniedError),
    ("ACCOUNT_NOT_EXISTS", PermissionDeniedError),
    ("SMS_CONTENT_CODE_ILLEGAL", MessageRejectedError),
    ("SMS_SIGN_NAME_ILLEGAL", MessageRejectedError),
    ("MOBILE_NUMBER_ILLEGAL", MessageRejectedError),
    ("MOBILE_COUNT_OVER_LIMIT", MessageRejectedError),
    ("CONTENT_MISSING_PARAMETERS", MessageRejectedError),
    ("INVALID_PARAMETERS", MessageRejectedError),
    ("INVALID_JSON_PARAM", MessageRejectedError),
    ("PARAM_LENGTH_LIMIT", MessageRejectedError),
    ("AMOUNT_NOT_ENOUGH", MessageRejectedError),
    ("SYSTEM_ERROR", ServerError),
    ("DATA_NOT_EXIST", ServerError),
    ("QPS_LIMIT_CONTROL", ThrottlingError),
    ("ONLINE_BILLING_FAILED", ServerError),
    ("QUERY_DATE_ILLEGAL", MessageRejectedError),
    ("RAM_PERMISSION_DENY", PermissionDeniedError),
    ("PRODUCT_NOT_SUBSCRIBED", PermissionDeniedError),
    ("SMS_SECURITY_INTERCEPTED", MessageRejectedError),
    ("SMS_CONTENT_ILLEGAL", MessageRejectedError),
    ("ACCOUNT_ILLEGAL", PermissionDeniedError),
    ("BLACK_KEY_CONTROL_LIMIT", MessageRejectedError),
    ("NOT_SUPPORTED_COUNTRY", MessageRejectedError),
    ("isp.SYSTEM_ERROR", ServerError),
    ("isp.UNKNOWN", ServerError),
    ("isp.GATEWAY_ERROR", ServerError),
    ("isv.SENDERID_ERROR", MessageRejectedError),
    ("isv.ACCOUNT_ABNORMAL", PermissionDeniedError),
    ("BUSINESS_LIMIT_CONTROL_MINUTE", ThrottlingError),
    ("isv.BUSINESS_LIMIT_HOUR", ThrottlingError),
    ("isv.BUSINESS_LIMIT_DAY", ThrottlingError),
    ("BUSINESS_LIMIT_CONTROL_PHONE", ThrottlingError),
    ("isv.BLACK_KEY_CONTROL_LIMIT", MessageRejectedError),
    ("isv.BILLING_DEDUCTION_ERROR", ServerError),
    ("isv.RAM_CHECK_FAILED", PermissionDeniedError),
    ("isv.PRODUCT_UN_SUBSCRIPT", PermissionDeniedError),
    ("isv.COUNTRY_RESTRICTED", MessageRejectedError),
]


@pytest.mark.parametrize(("code", "status", "expected"), GATEWAY_CODES)
def test_gateway_codes(code: str, status: int, expected: type[APIError]) -> None:
    assert error_class_for(code, http_status=status, business=False) is expected


@pytest.mark.parametrize(("code", "expected"), BUSINESS_CODES)
@pytest.mark.parametrize("status", [200, 400])
def test_business_codes(code: str, status: int, expected: type[APIError]) -> None:
    assert error_class_for(code, http_status=status, business=True) is expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [(c, cls) for c, _, cls in GATEWAY_CODES if cls is not InvalidRequestError]
    + [(c, cls) for c, cls in BUSINESS_CODES if cls is not MessageRejectedError],
)
def test_a_known_code_means_the_same_wherever_it_appears(
    code: str, expected: type[APIError]
) -> None:
    for status in (200, 400, 403, 404, 500, 503, None):
        for business in (True, False):
            assert error_class_for(code, http_status=status, business=business) is expected


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (400, InvalidRequestError),
        (404, InvalidRequestError),
        (409, InvalidRequestError),
        (None, InvalidRequestError),
        (403, PermissionDeniedError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (504, ServerError),
    ],
)
def test_an_unknown_gateway_code_is_classed_by_http_status(
    status: int | None, expected: type[APIError]
) -> None:
    assert error_class_for("SomethingNew.Entirely", http_status=status, business=False) is expected


@pytest.mark.parametrize("status", [200, 400, 403, 500, None])
def test_an_unknown_business_code_is_a_rejected_message(status: int | None) -> None:
    assert error_class_for("SOMETHING_NEW", http_status=status, business=True) is (
        MessageRejectedError
    )


def test_a_business_code_means_the_same_with_or_without_its_prefix() -> None:
    wrong = []
    for code, expected in BUSINESS_CODES:
        bare = code.removeprefix("isv.").removeprefix("isp.")
        for form in (bare, f"isv.{bare}", f"isp.{bare}"):
            got = error_class_for(form, http_status=200, business=True)
            if got is not expected:
                wrong.append(f"{form} -> {got.__name__}, not {expected.__name__}")
    assert not wrong, "\n".join(wrong)


# -- what an APIError says ---------------------------------------------------------

HINTS = [
    ("SignatureDoesNotMatch", AuthenticationError, "AccessKey secret"),
    ("SignatureNonceUsed", AuthenticationError, "first attempt may have been accepted"),
    ("InvalidTimeStamp.Expired", AuthenticationError, "NTP"),
    ("InvalidAccessKeyId.NotFound", AuthenticationError, "AccessKey ID"),
    ("InvalidAccessKeyId.Inactive", AuthenticationError, "disabled"),
    ("InvalidSecurityToken.Expired", AuthenticationError, "temporary credentials"),
    ("MissingSecurityToken", AuthenticationError, "credentials"),
    ("Forbidden.RAM", PermissionDeniedError, "dysms:SendMessageToGlobe"),
    ("Throttling.User", ThrottlingError, "slow down and retry later"),
    ("QPS_LIMIT_CONTROL", ThrottlingError, "slow down and retry later"),
    ("ServiceUnavailable", ServerError, "retry later"),
    ("InvalidParameter", InvalidRequestError, "Correct the request"),
    ("MOBILE_NUMBER_ILLEGAL", MessageRejectedError, "Check the number"),
    ("INVALID_SENDERID", MessageRejectedError, "sender ID approved"),
    ("AMOUNT_NOT_ENOUGH", MessageRejectedError, "Top up"),
    ("NOT_SUPPORTED_COUNTRY", MessageRejectedError, "not supported"),
    ("MOBILE_COUNT_OVER_LIMIT", MessageRejectedError, "1,000"),
    ("PRODUCT_NOT_SUBSCRIBED", PermissionDeniedError, "Activate"),
    ("isv.COUNTRY_RESTRICTED", MessageRejectedError, "SendMessageWithTemplate"),
    ("SMS_CONTENT_ILLEGAL", MessageRejectedError, "not accepted"),
]


@pytest.mark.parametrize(("code", "cls", "advice"), HINTS)
def test_str_has_code_message_request_id_status_and_what_to_do(
    code: str, cls: type[APIError], advice: str
) -> None:
    err = cls(
        "Something went wrong.",
        code=code,
        request_id="F655A8D5-B967-440B-8683-DAD6FF8DE990",
        http_status=400,
        host_id="dysmsapi.ap-southeast-1.aliyuncs.com",
        recommend="https://error-center.aliyun.com/status/search?Keyword=X",
    )
    text = str(err)
    assert text.startswith(f"{code}: Something went wrong.")
    assert "(HTTP 400, request id F655A8D5-B967-440B-8683-DAD6FF8DE990)" in text
    assert err.hint
    assert advice in err.hint
    assert text.endswith(f". {err.hint}")
    assert err.message == "Something went wrong."
    assert err.args == ("Something went wrong.",)
    assert err.host_id == "dysmsapi.ap-southeast-1.aliyuncs.com"
    assert err.recommend == "https://error-center.aliyun.com/status/search?Keyword=X"


@pytest.mark.parametrize("cls", API_FAMILIES, ids=lambda c: c.__name__)
def test_every_family_has_a_hint_for_codes_it_does_not_know(cls: type[APIError]) -> None:
    err = cls("m", code="NEVER_SEEN_BEFORE")
    assert err.hint
    assert str(err) == f"NEVER_SEEN_BEFORE: m. {err.hint}"
    assert err.host_id is None
    assert err.recommend is None


def test_families_have_different_hints() -> None:
    hints = [cls("m", code="NEVER_SEEN_BEFORE").hint for cls in API_FAMILIES]
    assert len(set(hints)) == len(hints)


def test_an_explicit_hint_replaces_the_default() -> None:
    err = ThrottlingError("m", code="Throttling.User", http_status=400, hint="Wait 3 s")
    assert err.hint == "Wait 3 s"
    assert str(err) == "Throttling.User: m (HTTP 400). Wait 3 s"


def test_str_leaves_out_what_is_not_known() -> None:
    assert str(AlismsError("plain")) == "plain"
    assert str(AlismsError("plain", hint="Do this")) == "plain. Do this"
    assert str(AlismsError("m", request_id="R")) == "m (request id R)"
    assert str(AlismsError("m", http_status=502)) == "m (HTTP 502)"


def test_the_code_is_kept_unchanged() -> None:
    for code in ("isv.BUSINESS_LIMIT_HOUR", "Throttling.User", "mobile_number_illegal", " X "):
        assert MessageRejectedError("m", code=code).code == code


def test_repr_shows_class_code_message_request_id_and_status() -> None:
    err = ThrottlingError(
        "Request was denied due to user flow control.",
        code="Throttling.User",
        request_id="R-1",
        http_status=400,
        host_id="h",
    )
    assert repr(err) == (
        "ThrottlingError(code='Throttling.User', "
        "message='Request was denied due to user flow control.', "
        "request_id='R-1', http_status=400)"
    )
    assert repr(AlismsError("x")) == (
        "AlismsError(code=None, message='x', request_id=None, http_status=None)"
    )


# -- the other errors ---------------------------------------------------------------


def test_malformed_response_error_shows_status_excerpt_and_that_the_outcome_is_unknown() -> None:
    err = MalformedResponseError(
        "the service answered HTTP 502 with a body that is not a JSON object",
        http_status=502,
        excerpt="<html>\r\n<title>502 Bad Gateway</title>",
        request_id="R-2",
    )
    text = str(err)
    assert err.excerpt == "<html>\r\n<title>502 Bad Gateway</title>"
    assert "HTTP 502" in text
    assert repr(err.excerpt) in text
    assert "request id R-2" in text
    assert err.hint
    assert "outcome is unknown" in err.hint
    assert text.endswith(err.hint)
    assert err.code is None
    assert err.http_status == 502
    assert repr(err).startswith("MalformedResponseError(code=None, ")


@pytest.mark.parametrize("sent", [True, False])
def test_transport_error_says_whether_the_request_may_have_been_sent(sent: bool) -> None:
    err = TransportError("no answer from https://x/", may_have_been_sent=sent, hint="Check first")
    assert err.may_have_been_sent is sent
    assert str(err) == "no answer from https://x/. Check first"
    assert err.code is None
    assert err.http_status is None


def test_configuration_and_credentials_errors_carry_a_hint() -> None:
    err = CredentialsError("no credentials", hint="Set ALIBABA_CLOUD_ACCESS_KEY_ID")
    assert isinstance(err, ConfigurationError)
    assert isinstance(err, ValueError)
    assert str(err) == "no credentials. Set ALIBABA_CLOUD_ACCESS_KEY_ID"


def test_errors_raised_by_the_library_carry_hints() -> None:
    with pytest.raises(CredentialsError) as caught:
        alisms.EnvironmentCredentials(environ={})
    assert "ALIBABA_CLOUD_ACCESS_KEY_ID" in str(caught.value)
    assert caught.value.hint
    with pytest.raises(ConfigurationError) as config:
        alisms.Client(access_key_id="testid", access_key_secret="testsecret", region="mars-1")
    assert "mars-1" in str(config.value)
    assert config.value.hint


# -- copying and pickling (multiprocessing, task queues) -----------------------------

PICKLABLE = [
    AlismsError("m", code="C", request_id="R", http_status=400, hint="h"),
    ConfigurationError("bad endpoint", hint="use https"),
    CredentialsError("no credentials", hint="set them"),
]
UNPICKLABLE = [
    ValidationError("to", "not a number"),
    TransportError("no answer", may_have_been_sent=True, hint="check first"),
    MalformedResponseError("bad body", http_status=502, excerpt="<html>", request_id="R"),
    APIError("refused", code="X"),
    ThrottlingError("slow", code="Throttling.User", request_id="R", http_status=400, host_id="h"),
    MessageRejectedError("bad number", code="MOBILE_NUMBER_ILLEGAL", http_status=200),
]


def round_trip(err: AlismsError) -> None:
    for clone in (pickle.loads(pickle.dumps(err)), copy.copy(err)):
        assert type(clone) is type(err)
        assert str(clone) == str(err)
        assert repr(clone) == repr(err)
        assert vars(clone) == vars(err)


@pytest.mark.parametrize("err", PICKLABLE, ids=lambda e: type(e).__name__)
def test_errors_with_the_base_constructor_survive_pickle_and_copy(err: AlismsError) -> None:
    round_trip(err)


@pytest.mark.parametrize("err", UNPICKLABLE, ids=lambda e: type(e).__name__)
def test_errors_survive_pickle_and_copy(err: AlismsError) -> None:
    round_trip(err)
