"""Standard Webhooks signatures, checked against the specification's own test vectors.

The vectors (secret, message id, timestamp, payload and the signature they make) are those of the
reference libraries in github.com/standard-webhooks/standard-webhooks (`libraries/*/tests`).
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import pytest

from chalicelib.auth.webhooks import MAX_SIGNATURES, SignedDelivery, parse_secrets, sign, signature, verify
from chalicelib.config import ConfigurationError
from chalicelib.errors import AuthenticationError

SPEC_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
SPEC_ID = "msg_p5jXN8AQM9LWM0D4loKWxJek"
SPEC_TIMESTAMP = 1614265330
SPEC_PAYLOAD = b'{"test": 2432232314}'
SPEC_SIGNATURE = "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
# A well-formed signature that matches nothing (the vectors' "invalid signature").
FOREIGN = "v1,Ceo5qEr07ixe2NLpvHk3FH9bwy/WavXrAFQ/9tdO6mc="
OTHER_SECRET = "whsec_" + base64.b64encode(b"another secret of thirty-two by").decode()

KEYS = parse_secrets(SPEC_SECRET)
AT = datetime.fromtimestamp(SPEC_TIMESTAMP, tz=UTC)


def spec_headers(**changes: str) -> dict[str, str]:
    headers = {"webhook-id": SPEC_ID, "webhook-timestamp": str(SPEC_TIMESTAMP), "webhook-signature": SPEC_SIGNATURE}
    headers.update(changes)
    return headers


def test_signing_gives_the_specifications_signature() -> None:
    assert signature(KEYS[0], SPEC_ID, SPEC_TIMESTAMP, SPEC_PAYLOAD) == SPEC_SIGNATURE
    assert sign(KEYS, SPEC_ID, SPEC_TIMESTAMP, SPEC_PAYLOAD) == spec_headers()


def test_the_specifications_delivery_verifies_at_its_time() -> None:
    assert verify(KEYS, spec_headers(), SPEC_PAYLOAD, AT) == SignedDelivery(SPEC_ID, AT)


def test_a_secret_works_with_and_without_its_prefix() -> None:
    assert parse_secrets(SPEC_SECRET.removeprefix("whsec_")) == KEYS
    verify(parse_secrets(SPEC_SECRET.removeprefix("whsec_")), spec_headers(), SPEC_PAYLOAD, AT)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_a_missing_header_is_refused(missing: str) -> None:
    headers = spec_headers()
    del headers[missing]

    with pytest.raises(AuthenticationError, match="needs the webhook-id"):
        verify(KEYS, headers, SPEC_PAYLOAD, AT)


@pytest.mark.parametrize("value", ["hello", "1614265330.5", "-1614265330", " 1614265330", "9" * 13])
def test_a_timestamp_that_is_not_unix_seconds_is_refused(value: str) -> None:
    with pytest.raises(AuthenticationError, match="Unix time"):
        verify(KEYS, spec_headers(**{"webhook-timestamp": value}), SPEC_PAYLOAD, AT)


@pytest.mark.parametrize(
    "value",
    [
        f"0{SPEC_TIMESTAMP}",  # a leading zero: another spelling of the signed number
        f"+{SPEC_TIMESTAMP}",
        f"{SPEC_TIMESTAMP}\n",  # `$` would match before a final newline
        f"{SPEC_TIMESTAMP} ",
        "1.614265330e9",
        "1e9",
        "\u0661\u0666\u0661\u0664\u0662\u0666\u0665\u0663\u0663\u0660",  # Arabic-Indic digits of the time
        "\uff11\uff16\uff11\uff14\uff12\uff16\uff15\uff13\uff13\uff10",  # fullwidth digits
        "0",
    ],
)
def test_a_timestamp_in_any_spelling_but_plain_digits_is_refused_though_its_number_was_signed(value: str) -> None:
    # The signature is over the number, so each of these carries a signature that matches it.
    with pytest.raises(AuthenticationError, match="Unix time"):
        verify(KEYS, spec_headers(**{"webhook-timestamp": value}), SPEC_PAYLOAD, AT)


def test_an_id_with_a_final_newline_is_refused() -> None:
    with pytest.raises(AuthenticationError, match="webhook-id"):
        verify(KEYS, spec_headers(**{"webhook-id": SPEC_ID + "\n"}), SPEC_PAYLOAD, AT)


@pytest.mark.parametrize("value", ["", "has space", "x" * 129, "tab\tin"])
def test_an_unusable_id_is_refused(value: str) -> None:
    with pytest.raises(AuthenticationError):
        verify(KEYS, spec_headers(**{"webhook-id": value}), SPEC_PAYLOAD, AT)


@pytest.mark.parametrize(
    "offset",
    [timedelta(minutes=5, seconds=1), -timedelta(minutes=5, seconds=1), timedelta(days=365), -timedelta(days=9000)],
    ids=["just-too-old", "just-too-new", "a-year-late", "long-ago"],
)
def test_a_timestamp_outside_five_minutes_is_refused(offset: timedelta) -> None:
    with pytest.raises(AuthenticationError, match="away from the broker's clock"):
        verify(KEYS, spec_headers(), SPEC_PAYLOAD, AT + offset)


@pytest.mark.parametrize("offset", [timedelta(minutes=5), -timedelta(minutes=5)], ids=["5-min-late", "5-min-early"])
def test_a_timestamp_within_five_minutes_is_accepted(offset: timedelta) -> None:
    verify(KEYS, spec_headers(), SPEC_PAYLOAD, AT + offset)


def test_the_vectors_invalid_signature_is_refused() -> None:
    with pytest.raises(AuthenticationError, match="No webhook-signature matches"):
        verify(KEYS, spec_headers(**{"webhook-signature": FOREIGN}), SPEC_PAYLOAD, AT)


def test_a_tampered_body_is_refused() -> None:
    with pytest.raises(AuthenticationError):
        verify(KEYS, spec_headers(), b'{"test": 2432232315}', AT)


@pytest.mark.parametrize("header", ["webhook-id", "webhook-timestamp"])
def test_a_signature_moved_to_another_id_or_time_is_refused(header: str) -> None:
    changed = {"webhook-id": "msg_other", "webhook-timestamp": str(SPEC_TIMESTAMP + 1)}[header]

    with pytest.raises(AuthenticationError, match="No webhook-signature matches"):
        verify(KEYS, spec_headers(**{header: changed}), SPEC_PAYLOAD, AT)


def test_a_wrong_secret_is_refused() -> None:
    with pytest.raises(AuthenticationError):
        verify(parse_secrets(OTHER_SECRET), spec_headers(), SPEC_PAYLOAD, AT)


def test_several_signatures_pass_when_one_matches_as_in_the_vectors() -> None:
    several = " ".join([FOREIGN, "v2," + SPEC_SIGNATURE[3:], SPEC_SIGNATURE, FOREIGN])

    verify(KEYS, spec_headers(**{"webhook-signature": several}), SPEC_PAYLOAD, AT)


def test_only_v1_signatures_count() -> None:
    with pytest.raises(AuthenticationError):
        verify(KEYS, spec_headers(**{"webhook-signature": "v2," + SPEC_SIGNATURE[3:]}), SPEC_PAYLOAD, AT)


@pytest.mark.parametrize("entry", ["v1,not base64!", "v1", "v1,", ",", "g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="])
def test_broken_signature_entries_are_skipped_not_fatal(entry: str) -> None:
    with pytest.raises(AuthenticationError, match="No webhook-signature matches"):
        verify(KEYS, spec_headers(**{"webhook-signature": entry}), SPEC_PAYLOAD, AT)
    verify(KEYS, spec_headers(**{"webhook-signature": f"{entry} {SPEC_SIGNATURE}"}), SPEC_PAYLOAD, AT)


def test_only_the_first_few_signatures_are_looked_at() -> None:
    padded = " ".join([FOREIGN] * MAX_SIGNATURES + [SPEC_SIGNATURE])

    with pytest.raises(AuthenticationError):
        verify(KEYS, spec_headers(**{"webhook-signature": padded}), SPEC_PAYLOAD, AT)


def test_during_a_rotation_a_signature_under_either_secret_passes() -> None:
    # GIVEN the broker holds the old and the new secret
    both = parse_secrets(f"{SPEC_SECRET} {OTHER_SECRET}")
    new_only = parse_secrets(OTHER_SECRET)

    # THEN the old sender, the new sender and a sender signing with both are accepted
    verify(both, spec_headers(), SPEC_PAYLOAD, AT)
    verify(both, sign(new_only, SPEC_ID, SPEC_TIMESTAMP, SPEC_PAYLOAD), SPEC_PAYLOAD, AT)
    verify(both, sign(both, SPEC_ID, SPEC_TIMESTAMP, SPEC_PAYLOAD), SPEC_PAYLOAD, AT)
    # AND once the old secret is dropped, its signature no longer is
    with pytest.raises(AuthenticationError):
        verify(new_only, spec_headers(), SPEC_PAYLOAD, AT)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "no webhook secret"),
        ("   ", "no webhook secret"),
        ("whsec_not*base64", "not whsec_ followed by base64"),
        ("whsec_" + base64.b64encode(b"too short").decode(), "shorter than 24 bytes"),
        (f"{SPEC_SECRET} whsec_%%%", "not whsec_ followed by base64"),
    ],
)
def test_an_unusable_secret_is_a_configuration_error(value: str, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        parse_secrets(value)
