"""The accounts capability as the routes see it: a researcher's profile and API tokens, logging in and out, and
platform administration, each service bound once per warm Lambda (built in `chalicelib.wiring`)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from chalicelib.auth.tokens import TokenPolicy, issue_session_token
from chalicelib.errors import AppError, ConflictError
from chalicelib.services.accounts import admin, api_tokens, login, researchers
from chalicelib.services.accounts.identity import LoginError
from chalicelib.services.accounts.model import CredentialKind
from chalicelib.services.common.model import UNSET
from chalicelib.services.workspaces.workspaces import quota_of

if TYPE_CHECKING:
    from chalicelib.auth.principal import Principal
    from chalicelib.services.accounts.api_tokens import NewApiToken
    from chalicelib.services.accounts.identity import IdentityProvider
    from chalicelib.services.accounts.login import LoginSettings, LoginStart
    from chalicelib.services.accounts.model import Credential, Locale, Researcher
    from chalicelib.services.accounts.ports import CredentialRepository, PlatformRepository, ResearcherRepository
    from chalicelib.services.common.model import AuditEntry, Page, PageRequest, Unset
    from chalicelib.services.studies.model import Study, StudyAccess
    from chalicelib.services.studies.ports import ReferenceRepository, StudyRepository
    from chalicelib.services.workspaces.lifecycle import Quota, Workspace, WorkspaceSettings, WorkspaceStatus
    from chalicelib.services.workspaces.ports import WorkspaceRepository


@dataclass(eq=False)
class AccountsService:
    """The caller's own profile and API tokens."""

    researchers: ResearcherRepository
    references: ReferenceRepository
    credentials: CredentialRepository

    def update_profile(
        self,
        caller: Researcher,
        *,
        name: str | Unset = UNSET,
        research_field: str | Unset | None = UNSET,
        phone: str | Unset | None = UNSET,
        locale: Locale | Unset = UNSET,
    ) -> Researcher:
        return researchers.update_profile(
            caller,
            self.researchers,
            self.references,
            name=name,
            research_field=research_field,
            phone=phone,
            locale=locale,
        )

    def list_tokens(self, caller: Researcher, page: PageRequest) -> Page[Credential]:
        return api_tokens.list_tokens(caller, self.credentials, page)

    def create_token(
        self, caller: Researcher, *, name: str, expires_at: datetime | None, made_with: Credential | None
    ) -> NewApiToken:
        return api_tokens.create_token(caller, self.credentials, name=name, expires_at=expires_at, made_with=made_with)

    def revoke_token(self, caller: Researcher, *, token_id: str) -> None:
        api_tokens.revoke_token(caller, self.credentials, token_id=token_id)


@dataclass(frozen=True, slots=True)
class Session:
    """A session token and how many seconds it lasts."""

    token: str
    expires_in: int


@dataclass(eq=False)
class LoginService:
    """Logging in with the identity provider, trading the login code for a session, logging out."""

    # The provider is made on the first login (its discovery document is fetched then; a stage without one
    # refuses only the login, not the service).
    provider: Callable[[], IdentityProvider]
    credentials: CredentialRepository
    researchers: ResearcherRepository
    references: ReferenceRepository
    settings: LoginSettings
    tokens: TokenPolicy

    def begin(self, *, next_path: str | None) -> LoginStart:
        return login.begin_login(self.provider(), self.credentials, self.settings, next_path=next_path)

    def finish(
        self, *, state: str | None, code: str | None, binding: str | None, issuer: str | None, error: str | None
    ) -> str:
        """Where the callback sends the browser: the frontend with a login code, or the console's login page
        with the reason the login failed (a race the login met counts as a failure too, so the browser always
        gets a page)."""
        try:
            return login.complete_login(
                self.provider(),
                self.credentials,
                self.researchers,
                self.references,
                self.settings,
                state=state,
                code=code,
                binding=binding,
                issuer=issuer,
                error=error,
            )
        except LoginError as exc:  # logged by the service, with its reason
            return login.failure_url(self.settings, exc.reason)
        except AppError as exc:
            failure = LoginError(detail=exc.detail, context={"why": type(exc).__name__})
            login.log_refusal(failure, "callback")
            return login.failure_url(self.settings, failure.reason)

    def session(self, *, login_code: str) -> Session:
        researcher = login.redeem_login_code(self.credentials, self.researchers, login_code=login_code)
        return Session(issue_session_token(self.tokens, researcher.id), int(self.tokens.ttl.total_seconds()))

    def logout(self, principal: Principal) -> None:
        if principal.kind is not CredentialKind.REVOKED_SESSION:
            raise ConflictError(detail="API tokens do not log out; revoke them at DELETE /me/tokens/{token_id}.")
        login.end_session(self.credentials, token_id=principal.token_id, expires_at=principal.expires_at)


@dataclass(eq=False)
class AdminService:
    """Platform administration: every researcher, study, workspace and audit entry (platform admins only)."""

    researchers: ResearcherRepository
    platform: PlatformRepository
    studies: StudyRepository
    workspaces: WorkspaceRepository
    workspace_settings: WorkspaceSettings

    def list_researchers(self, caller: Researcher, page: PageRequest) -> Page[Researcher]:
        return admin.list_researchers(caller, self.researchers, page)

    def update_researcher(
        self, caller: Researcher, *, researcher_id: str, is_admin: bool | Unset, disabled: bool | Unset
    ) -> Researcher:
        return admin.update_researcher(
            caller, self.researchers, researcher_id=researcher_id, is_admin=is_admin, disabled=disabled
        )

    def list_studies(self, caller: Researcher, page: PageRequest) -> Page[Study]:
        return admin.list_studies(caller, self.platform, page)

    def read_audit(self, caller: Researcher, page: PageRequest) -> Page[AuditEntry]:
        return admin.read_audit(caller, self.platform, page)

    def set_quota(
        self,
        caller: Researcher,
        access: StudyAccess,
        *,
        max_workspaces: int | Unset | None,
        max_vcpus: int | Unset | None,
    ) -> Quota:
        """The study's quota once overridden (None: back to the stage's default)."""
        study = admin.set_quota(caller, access, self.studies, max_workspaces=max_workspaces, max_vcpus=max_vcpus)
        return quota_of(study, self.workspace_settings)

    def list_workspaces(self, caller: Researcher, page: PageRequest, status: WorkspaceStatus | None) -> Page[Workspace]:
        return admin.list_workspaces(caller, self.workspaces, page, status)
