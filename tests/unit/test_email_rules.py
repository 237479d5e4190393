# ruff: noqa: RUF001 - fullwidth letters are what these tests are about
"""Issue 13: the verified-email flag a login sets, the ops CLI's grant by email, and the one normal form."""

from __future__ import annotations

from datetime import datetime

import pytest

from chalicelib.config import load_settings
from chalicelib.errors import ConflictError, PermissionDeniedError
from chalicelib.services.accounts.admin import set_platform_admin
from chalicelib.services.accounts.emails import normalise_email, plain_address, same_email
from chalicelib.services.accounts.identity import Identity
from chalicelib.services.accounts.login import sign_in
from chalicelib.services.accounts.model import Researcher
from chalicelib.services.accounts.researchers import ensure_researcher
from chalicelib.services.common.model import new_id
from tests.support.fakes import FakeBroker

ISSUER = "https://connect.surfconext.example"


@pytest.fixture
def broker() -> FakeBroker:
    return FakeBroker()


def _login(broker: FakeBroker, verified: bool | None, *, trusted: frozenset[str] = frozenset()) -> Researcher:
    identity = Identity(ISSUER, "subject-1", email="Ada@UvA.nl", email_verified=verified, name="Ada")
    return sign_in(broker.researchers, broker.references, identity, trusted_email_issuers=trusted, now=broker.clock)


@pytest.mark.parametrize(("claim", "verified"), [(True, True), (False, False), (None, False)])
def test_a_login_stores_whether_the_provider_verified_the_email(
    broker: FakeBroker, claim: bool | None, verified: bool
) -> None:
    assert _login(broker, claim).email_verified is verified


def test_every_login_refreshes_the_flag_both_ways(broker: FakeBroker) -> None:
    first = _login(broker, True)
    second = _login(broker, None)
    third = _login(broker, True)

    assert (first.email_verified, second.email_verified, third.email_verified) == (True, False, True)
    assert broker.researchers.get(first.id) == third


def test_a_trusted_issuer_counts_as_verified_without_the_claim(broker: FakeBroker) -> None:
    assert _login(broker, None, trusted=frozenset({ISSUER})).email_verified is True


def test_trusted_email_issuers_setting_splits_on_spaces_and_commas() -> None:
    settings = load_settings({"OIDC_TRUSTED_EMAIL_ISSUERS": f"{ISSUER}/, https://b.example  https://c.example"})

    assert settings.trusted_email_issuers == frozenset({ISSUER, "https://b.example", "https://c.example"})
    assert load_settings({}).trusted_email_issuers == frozenset()


def test_the_local_token_command_makes_verified_researchers(broker: FakeBroker) -> None:
    assert ensure_researcher(broker.researchers, email="you@example.org", name="You").email_verified is True


def test_grant_admin_by_email_refuses_an_unverified_email(broker: FakeBroker) -> None:
    ada = broker.researcher("ada", email_verified=False)

    with pytest.raises(PermissionDeniedError, match="has not verified the email"):
        set_platform_admin(broker.researchers, email=ada.email, is_admin=True, now=broker.clock)

    assert broker.researchers.get(ada.id).is_admin is False  # type: ignore[union-attr]


def test_grant_admin_by_researcher_id_needs_no_email(broker: FakeBroker) -> None:
    ada = broker.researcher("ada", email_verified=False)

    granted = set_platform_admin(broker.researchers, researcher_id=ada.id, is_admin=True, now=broker.clock)
    revoked = set_platform_admin(broker.researchers, researcher_id=ada.id, is_admin=False, now=broker.clock)

    assert (granted.is_admin, revoked.is_admin) == (True, False)


def test_an_unverified_account_sharing_the_email_neither_blocks_nor_takes_the_grant(broker: FakeBroker) -> None:
    moment: datetime = broker.clock()
    real = broker.researchers.add(
        Researcher(new_id(), "shared@uu.nl", "Real", moment, moment, identity="https://a|1", email_verified=True)
    )
    broker.researchers.add(Researcher(new_id(), "shared@uu.nl", "Claimer", moment, moment, identity="https://b|2"))

    granted = set_platform_admin(broker.researchers, email="SHARED@uu.nl", is_admin=True, now=broker.clock)

    assert granted.id == real.id


def test_two_verified_accounts_sharing_an_email_need_the_researcher_id(broker: FakeBroker) -> None:
    moment: datetime = broker.clock()
    for subject in ("1", "2"):
        broker.researchers.add(
            Researcher(
                new_id(), "twice@uu.nl", "T", moment, moment, identity=f"https://a|{subject}", email_verified=True
            )
        )

    with pytest.raises(ConflictError, match="--researcher-id"):
        set_platform_admin(broker.researchers, email="twice@uu.nl", is_admin=True)


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("ＡＬＩＣＥ@Example.ORG", "alice@example.org"),
        ("Straße@Uni.example", "strasse@uni.example"),
        ("\u3000Bob@Ｕｎｉ.example\u3000", "bob@uni.example"),
        ("ǅemal@uni.example", "džemal@uni.example"),
    ],
)
def test_normal_form_is_nfkc_casefolded(given: str, normal: str) -> None:
    assert normalise_email(given) == normal


def test_straße_and_strasse_are_one_address() -> None:
    assert same_email("STRASSE@uni.example", "straße@UNI.example")
    assert not same_email("strase@uni.example", "straße@uni.example")


@pytest.mark.parametrize("command", ["grant-admin", "revoke-admin"])
def test_the_admin_commands_take_an_email_or_a_researcher_id_but_not_both(command: str) -> None:
    from vre_app.cli import build_parser

    parser = build_parser()
    by_id = parser.parse_args([command, "--researcher-id", "abc123"])
    by_email = parser.parse_args([command, "--email", "ＡＬＩＣＥ@Example.ORG"])

    assert (by_id.researcher_id, by_id.email) == ("abc123", None)
    assert by_email.email == "ＡＬＩＣＥ@Example.ORG"
    for wrong in ([command], [command, "--email", "a@b.example", "--researcher-id", "abc123"]):
        with pytest.raises(SystemExit):
            parser.parse_args(wrong)


@pytest.mark.parametrize(
    "address",
    ["lab@hospital.example", "Dr.Lab+scans@sub.hospital-1.example", "o'brien@uni.ie", "x_y-z@a.b.example"],
)
def test_a_plain_address_is_one(address: str) -> None:
    assert plain_address(address)


@pytest.mark.parametrize(
    "address",
    [
        "",
        "lab",
        "lab@",
        "@hospital.example",
        "lab@hospital",
        "<lab@hospital.example>",
        "Lab <lab@hospital.example>",
        "lab@hospital.example, all@example.org",
        "lab,all@example.org",
        "lab@hospital.example\r\nBcc: all@example.org",
        "lab@hospital.example\n",
        " lab@hospital.example",
        '"lab"@hospital.example',
        "(c)lab@hospital.example",
        "lab@hospital.example(c)",
        ".lab@hospital.example",
        "lab.@hospital.example",
        "lab@hospital..example",
        "lab@hospital.example.",
        "lab@[127.0.0.1]",
        "jürgen@uni.example",
        "ｌａｂ@hospital.example",
        "x" * 250 + "@example.org",
    ],
)
def test_anything_else_is_not_a_plain_address(address: str) -> None:
    assert not plain_address(address)
