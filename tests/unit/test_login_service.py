"""The login service on the fakes: state, nonce and PKCE around the provider, researchers keyed on (iss, sub),
one-time login codes, and logging out."""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field, replace
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest

from chalicelib.config import Settings
from chalicelib.services.accounts.identity import Identity, LoginError
from chalicelib.services.accounts.login import (
    LoginSettings,
    begin_login,
    complete_login,
    end_session,
    redeem_login_code,
    safe_next,
    sign_in,
    state_binding,
)
from chalicelib.services.accounts.model import Credential, CredentialKind, Researcher
from chalicelib.services.common.model import new_id, utcnow
from tests.support.fakes import FakeBroker, InMemoryReference, InMemoryResearchers

FRONTEND = "https://vre.example"
SETTINGS = LoginSettings.from_settings(Settings(frontend_url=FRONTEND))
ISSUER = "https://connect.surfconext.example"


@dataclass(frozen=True)
class Authorization:
    state: str
    nonce: str
    code_challenge: str


@dataclass
class FakeProvider:
    """Says `identity` logged in for any code; records what the login service asked of it."""

    issuer: str = ISSUER
    identity: Identity = field(
        default_factory=lambda: Identity(
            ISSUER, "subject-1", email="Ada@UvA.nl", name="Ada Lovelace", schac_home_organization="uva.nl"
        )
    )
    authorizations: list[Authorization] = field(default_factory=list)
    exchanges: list[dict[str, str]] = field(default_factory=list)

    def authorization_url(self, *, state: str, nonce: str, code_challenge: str) -> str:
        self.authorizations.append(Authorization(state, nonce, code_challenge))
        return f"{ISSUER}/authorize?state={state}&code_challenge={code_challenge}&code_challenge_method=S256"

    def exchange(self, *, code: str, code_verifier: str, nonce: str) -> Identity:
        self.exchanges.append({"code": code, "code_verifier": code_verifier, "nonce": nonce})
        return self.identity


@pytest.fixture
def broker() -> FakeBroker:
    return FakeBroker()


@pytest.fixture
def provider() -> FakeProvider:
    return FakeProvider()


def sha256_hex(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def s256(verifier: str) -> str:
    """RFC 7636 4.2, written out again: BASE64URL(SHA256(verifier)) without padding."""
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode("ascii")).digest()).decode().rstrip("=")


def start(broker: FakeBroker, provider: FakeProvider, next_path: str | None = None) -> str:
    """Begin a login; returns the state the provider was given."""
    begin_login(provider, broker.credentials, SETTINGS, next_path=next_path, now=broker.clock)
    return provider.authorizations[-1].state


def finish(broker: FakeBroker, provider: FakeProvider, state: str, code: str = "auth-code") -> str:
    return complete_login(
        provider,
        broker.credentials,
        broker.researchers,
        broker.references,
        SETTINGS,
        state=state,
        code=code,
        binding=state_binding(state),
        now=broker.clock,
    )


def login_code_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["login_code"][0]


def log_in(broker: FakeBroker, provider: FakeProvider, identity: Identity | None = None) -> Researcher:
    """The whole flow for `identity`: begin, callback, redeem."""
    if identity is not None:
        provider.identity = identity
    url = finish(broker, provider, start(broker, provider))
    return redeem_login_code(broker.credentials, broker.researchers, login_code=login_code_of(url), now=broker.clock)


def stored(broker: FakeBroker, kind: CredentialKind) -> list[Credential]:
    return [c for c in broker.credentials.stored() if c.kind is kind]


# begin_login ---------------------------------------------------------------------------------


def test_begin_login_stores_the_pending_login_under_the_hashed_state(
    broker: FakeBroker, provider: FakeProvider
) -> None:
    url = begin_login(provider, broker.credentials, SETTINGS, next_path="/studies/abc?x=1", now=broker.clock).url

    [asked] = provider.authorizations
    assert url.startswith(f"{ISSUER}/authorize?")
    assert f"state={asked.state}" in url
    [pending] = broker.credentials.stored()
    assert pending.key == f"pending_login#{sha256_hex(asked.state)}"
    assert pending.kind is CredentialKind.PENDING_LOGIN
    assert pending.data["nonce"] == asked.nonce
    assert pending.data["next"] == "/studies/abc?x=1"
    assert pending.created_at == broker.clock.last
    assert pending.expires_at == broker.clock.last + SETTINGS.pending_ttl
    assert asked.state not in repr(pending)


def test_begin_login_sends_the_s256_challenge_of_the_stored_verifier(
    broker: FakeBroker, provider: FakeProvider
) -> None:
    start(broker, provider)

    [pending] = broker.credentials.stored()
    verifier = pending.data["verifier"]
    assert 43 <= len(verifier) <= 128
    assert set(verifier) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
    assert provider.authorizations[0].code_challenge == s256(verifier)
    assert provider.authorizations[0].code_challenge != verifier


def test_s256_matches_the_rfc_7636_example() -> None:
    assert s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_every_login_gets_its_own_state_nonce_and_verifier(broker: FakeBroker, provider: FakeProvider) -> None:
    start(broker, provider)
    start(broker, provider)

    first, second = provider.authorizations
    assert first.state != second.state
    assert first.nonce != second.nonce
    assert first.code_challenge != second.code_challenge


def test_begin_login_without_next_returns_to_the_frontends_root(broker: FakeBroker, provider: FakeProvider) -> None:
    start(broker, provider, None)

    assert broker.credentials.stored()[0].data["next"] == "/"


@pytest.mark.parametrize("path", ["/", "/studies/abc?x=1", "/studies/abc#members", "/me/tokens?page=2&sort=-name"])
def test_next_inside_the_frontend_is_accepted(path: str) -> None:
    assert safe_next(path) == path


@pytest.mark.parametrize(
    "path",
    [
        "//evil.example",
        "//evil.example/studies",
        "https://evil.example",
        "https://evil.example/studies",
        "/\\evil.example",
        "/\\/evil.example",
        "\\\\evil.example",
        "javascript:alert(1)",
        "studies",
        "/studies\n",
        "/studies\r\nSet-Cookie: x=1",
        "/stu\tdies",
        "/studies\x00",
        "/studies\x7f",
        " /studies",
        "/" + "a" * 999,
    ],
    ids=repr,
)
def test_next_pointing_anywhere_else_is_refused(broker: FakeBroker, provider: FakeProvider, path: str) -> None:
    with pytest.raises(LoginError):
        begin_login(provider, broker.credentials, SETTINGS, next_path=path, now=broker.clock)

    assert broker.credentials.stored() == []
    assert provider.authorizations == []


# complete_login ------------------------------------------------------------------------------


def test_callback_hands_the_frontend_a_login_code_at_next(broker: FakeBroker, provider: FakeProvider) -> None:
    state = start(broker, provider, "/studies/abc?x=1")

    url = finish(broker, provider, state)

    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}" == FRONTEND
    assert parts.path == "/studies/abc"
    query = parse_qs(parts.query)
    assert query["x"] == ["1"]
    [code] = query["login_code"]
    [stored_code] = stored(broker, CredentialKind.LOGIN_CODE)
    assert stored_code.key == f"login_code#{sha256_hex(code)}"
    assert stored_code.expires_at == stored_code.created_at + timedelta(seconds=60)
    assert code not in repr(broker.credentials.stored())


@pytest.mark.parametrize(
    ("next_path", "path", "fragment"),
    [(None, "/", ""), ("/studies", "/studies", ""), ("/studies/abc#members", "/studies/abc", "members")],
)
def test_the_login_code_is_in_the_query_whatever_next_is(
    broker: FakeBroker, provider: FakeProvider, next_path: str | None, path: str, fragment: str
) -> None:
    url = finish(broker, provider, start(broker, provider, next_path))

    parts = urlsplit(url)
    assert (parts.path, parts.fragment) == (path, fragment)
    assert list(parse_qs(parts.query)) == ["login_code"]


def test_callback_hands_the_verifier_and_nonce_to_the_provider(broker: FakeBroker, provider: FakeProvider) -> None:
    state = start(broker, provider)
    [pending] = broker.credentials.stored()

    finish(broker, provider, state, code="the-code")

    assert provider.exchanges == [
        {"code": "the-code", "code_verifier": pending.data["verifier"], "nonce": pending.data["nonce"]}
    ]
    assert stored(broker, CredentialKind.PENDING_LOGIN) == []


@pytest.mark.parametrize("wrong", ["", "not-the-state", "pending_login#x"])
def test_callback_with_a_wrong_state_is_refused_and_writes_nothing(
    broker: FakeBroker, provider: FakeProvider, wrong: str
) -> None:
    start(broker, provider)
    before = broker.credentials.stored()

    with pytest.raises(LoginError):
        finish(broker, provider, wrong)

    assert broker.credentials.stored() == before
    assert provider.exchanges == []
    assert broker.researchers.by_identity(f"{ISSUER}|subject-1") is None


def test_callback_with_the_hash_of_the_state_is_refused(broker: FakeBroker, provider: FakeProvider) -> None:
    state = start(broker, provider)

    with pytest.raises(LoginError):
        finish(broker, provider, sha256_hex(state))
    assert provider.exchanges == []


def test_callback_after_the_pending_login_expired_is_refused(broker: FakeBroker, provider: FakeProvider) -> None:
    state = start(broker, provider)
    broker.clock.last += SETTINGS.pending_ttl

    with pytest.raises(LoginError):
        finish(broker, provider, state)
    assert provider.exchanges == []
    assert broker.credentials.stored() == []
    assert broker.researchers.by_identity(f"{ISSUER}|subject-1") is None


def test_the_state_works_once(broker: FakeBroker, provider: FakeProvider) -> None:
    state = start(broker, provider)
    finish(broker, provider, state)

    with pytest.raises(LoginError):
        finish(broker, provider, state)
    assert len(provider.exchanges) == 1
    assert len(stored(broker, CredentialKind.LOGIN_CODE)) == 1


def test_first_login_creates_the_researcher_keyed_on_issuer_and_subject(
    broker: FakeBroker, provider: FakeProvider
) -> None:
    researcher = log_in(broker, provider)

    assert researcher.identity == f"{ISSUER}|subject-1"
    assert researcher.email == "ada@uva.nl"
    assert researcher.name == "Ada Lovelace"
    assert researcher.university_id == "uva"
    assert (researcher.is_admin, researcher.disabled) == (False, False)
    assert broker.researchers.by_identity(f"{ISSUER}|subject-1") == researcher


def test_next_login_refreshes_email_name_and_university(broker: FakeBroker, provider: FakeProvider) -> None:
    first = log_in(broker, provider)

    again = log_in(
        broker,
        provider,
        Identity(ISSUER, "subject-1", email="a.lovelace@VU.nl", name="Ada King", schac_home_organization="VU.NL"),
    )

    assert again.id == first.id
    assert (again.email, again.name, again.university_id) == ("a.lovelace@vu.nl", "Ada King", "vu")
    assert again.updated_at > first.updated_at
    assert broker.researchers.get(first.id) == again


def test_login_with_an_unknown_organisation_keeps_the_university(broker: FakeBroker, provider: FakeProvider) -> None:
    first = log_in(broker, provider)

    again = log_in(broker, provider, replace(provider.identity, schac_home_organization="elsewhere.example"))

    assert again.university_id == first.university_id == "uva"


def test_unchanged_claims_do_not_write(broker: FakeBroker, provider: FakeProvider) -> None:
    first = log_in(broker, provider)

    again = log_in(broker, provider)

    assert again == first


def test_the_same_email_from_two_identities_is_two_researchers(broker: FakeBroker, provider: FakeProvider) -> None:
    first = log_in(broker, provider)

    second = log_in(broker, provider, replace(provider.identity, subject="subject-2"))
    other_issuer = log_in(broker, provider, replace(provider.identity, issuer="https://other-idp.example"))

    assert len({first.id, second.id, other_issuer.id}) == 3
    assert first.email == second.email == other_issuer.email


def test_the_same_subject_keeps_its_account_whatever_the_email(broker: FakeBroker, provider: FakeProvider) -> None:
    first = log_in(broker, provider)

    again = log_in(broker, provider, replace(provider.identity, email="someone.else@uva.nl"))

    assert again.id == first.id
    assert again.email == "someone.else@uva.nl"


def test_a_disabled_researcher_cannot_log_in(broker: FakeBroker, provider: FakeProvider) -> None:
    researcher = log_in(broker, provider)
    broker.researchers.save(replace(researcher, disabled=True))
    state = start(broker, provider)

    with pytest.raises(LoginError):
        finish(broker, provider, state)
    assert stored(broker, CredentialKind.LOGIN_CODE) == []


@pytest.mark.parametrize("email", [None, ""])
def test_an_identity_without_email_cannot_log_in(broker: FakeBroker, provider: FakeProvider, email: str | None) -> None:
    provider.identity = replace(provider.identity, email=email)
    state = start(broker, provider)

    with pytest.raises(LoginError):
        finish(broker, provider, state)
    assert broker.researchers.by_identity(f"{ISSUER}|subject-1") is None
    assert stored(broker, CredentialKind.LOGIN_CODE) == []


@pytest.mark.parametrize("name", [None, "", "   "])
def test_a_missing_name_falls_back_to_the_email(broker: FakeBroker, provider: FakeProvider, name: str | None) -> None:
    researcher = log_in(broker, provider, replace(provider.identity, name=name))

    assert researcher.name == "ada@uva.nl"


# redeem_login_code ---------------------------------------------------------------------------


def callback_code(broker: FakeBroker, provider: FakeProvider) -> str:
    return login_code_of(finish(broker, provider, start(broker, provider)))


def redeem(broker: FakeBroker, code: str) -> Researcher:
    return redeem_login_code(broker.credentials, broker.researchers, login_code=code, now=broker.clock)


def test_a_login_code_works_once(broker: FakeBroker, provider: FakeProvider) -> None:
    code = callback_code(broker, provider)

    researcher = redeem(broker, code)

    assert researcher.identity == f"{ISSUER}|subject-1"
    with pytest.raises(LoginError):
        redeem(broker, code)
    assert stored(broker, CredentialKind.LOGIN_CODE) == []


def test_an_expired_login_code_is_refused(broker: FakeBroker, provider: FakeProvider) -> None:
    code = callback_code(broker, provider)
    [stored_code] = stored(broker, CredentialKind.LOGIN_CODE)
    broker.clock.last = stored_code.created_at + timedelta(seconds=59)  # the clock reads 60 s

    with pytest.raises(LoginError):
        redeem(broker, code)


def test_a_login_code_just_within_its_lifetime_works(broker: FakeBroker, provider: FakeProvider) -> None:
    code = callback_code(broker, provider)
    [stored_code] = stored(broker, CredentialKind.LOGIN_CODE)
    broker.clock.last = stored_code.created_at + timedelta(seconds=58)  # the clock reads 59 s

    assert redeem(broker, code).identity == f"{ISSUER}|subject-1"


@pytest.mark.parametrize("code", ["", "unknown", "login_code#abc"])
def test_an_unknown_login_code_is_refused(broker: FakeBroker, provider: FakeProvider, code: str) -> None:
    callback_code(broker, provider)

    with pytest.raises(LoginError):
        redeem(broker, code)
    assert len(stored(broker, CredentialKind.LOGIN_CODE)) == 1


def test_the_hash_of_a_login_code_is_not_a_login_code(broker: FakeBroker, provider: FakeProvider) -> None:
    code = callback_code(broker, provider)

    with pytest.raises(LoginError):
        redeem(broker, sha256_hex(code))


def test_a_login_code_of_a_researcher_disabled_since_is_refused(broker: FakeBroker, provider: FakeProvider) -> None:
    code = callback_code(broker, provider)
    researcher = broker.researchers.by_identity(f"{ISSUER}|subject-1")
    assert researcher is not None
    broker.researchers.save(replace(researcher, disabled=True))

    with pytest.raises(LoginError):
        redeem(broker, code)


# end_session ---------------------------------------------------------------------------------


def test_end_session_records_the_revocation_until_the_token_expires(broker: FakeBroker) -> None:
    expires = broker.clock.last + timedelta(hours=1)

    end_session(broker.credentials, token_id="jti-1", expires_at=expires, now=broker.clock)

    revoked = broker.credentials.get("revoked_session#jti-1")
    assert revoked is not None
    assert revoked.kind is CredentialKind.REVOKED_SESSION
    assert revoked.expires_at == expires + timedelta(seconds=30)  # the token's exp plus its verification leeway
    assert revoked.owner_id is None


def test_end_session_is_idempotent(broker: FakeBroker) -> None:
    expires = broker.clock.last + timedelta(hours=1)
    end_session(broker.credentials, token_id="jti-1", expires_at=expires, now=broker.clock)
    first = broker.credentials.stored()

    end_session(broker.credentials, token_id="jti-1", expires_at=expires, now=broker.clock)

    assert broker.credentials.stored() == first


def test_end_session_without_an_expiry_keeps_the_revocation_a_day(broker: FakeBroker) -> None:
    end_session(broker.credentials, token_id="jti-2", expires_at=None, now=broker.clock)

    revoked = broker.credentials.get("revoked_session#jti-2")
    assert revoked is not None
    assert revoked.expires_at == revoked.created_at + timedelta(days=1)


def test_two_first_logins_of_one_identity_racing_make_one_researcher() -> None:
    class RacingResearchers(InMemoryResearchers):
        """The other login's researcher lands between our lookup and our add."""

        def __init__(self) -> None:
            super().__init__()
            self.raced = False

        def by_identity(self, identity: str) -> Researcher | None:
            if not self.raced:
                self.raced = True
                moment = utcnow()
                self.add(Researcher(new_id(), "fien@rug.nl", "Fien", moment, moment, identity=identity))
                return None
            return super().by_identity(identity)

    researchers = RacingResearchers()
    references = InMemoryReference()
    identity = Identity("https://idp.test", "fien", "fien@rug.nl", True, "Fien")

    signed_in = sign_in(researchers, references, identity)

    assert researchers.all_by_email("fien@rug.nl") == [signed_in]
