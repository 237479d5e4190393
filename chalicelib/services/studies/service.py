"""The studies capability as the routes see it: studies, members, invitations and the reference lists, each
service bound once per warm Lambda to the repositories and settings it needs (built in `chalicelib.wiring`)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from chalicelib.services.common.model import UNSET
from chalicelib.services.studies import invitations, members, reference, studies

if TYPE_CHECKING:
    from chalicelib.services.accounts.model import Researcher
    from chalicelib.services.accounts.ports import ResearcherRepository
    from chalicelib.services.common.model import AuditEntry, Page, PageRequest, Unset
    from chalicelib.services.mail.ports import MailQueue
    from chalicelib.services.studies.invitations import InvitationSettings, Outbox
    from chalicelib.services.studies.model import (
        Invitation,
        Member,
        Membership,
        ReferenceItem,
        Role,
        Study,
        StudyAccess,
    )
    from chalicelib.services.studies.ports import ReferenceRepository, StudyRepository
    from chalicelib.services.studies.studies import MemberStudy


@dataclass(eq=False)
class StudiesService:
    """A study, its members and its invitations; `outbox` and `invitation_settings` also serve the link repair."""

    studies: StudyRepository
    researchers: ResearcherRepository
    references: ReferenceRepository
    outbox: Outbox
    mail: MailQueue
    invitation_settings: InvitationSettings

    def list_studies(self, caller: Researcher, page: PageRequest) -> Page[MemberStudy]:
        return studies.list_studies(caller, self.studies, page)

    def create(self, caller: Researcher, *, name: str, description: str, research_field: str | None) -> MemberStudy:
        return studies.create_study(
            caller, self.studies, self.references, name=name, description=description, research_field=research_field
        )

    def get(self, access: StudyAccess) -> MemberStudy:
        return studies.get_study(access, self.studies)

    def update(
        self,
        access: StudyAccess,
        *,
        name: str | Unset = UNSET,
        description: str | Unset = UNSET,
        research_field: str | Unset | None = UNSET,
        expected_version: int | None = None,
    ) -> MemberStudy:
        return studies.update_study(
            access,
            self.studies,
            self.references,
            name=name,
            description=description,
            research_field=research_field,
            expected_version=expected_version,
        )

    def delete(self, access: StudyAccess) -> None:
        studies.delete_study(access, self.studies)

    def transfer(self, access: StudyAccess, *, new_owner_id: str) -> MemberStudy:
        return studies.transfer_study(access, self.studies, new_owner_id=new_owner_id)

    def rotate_upload_code(self, access: StudyAccess) -> Study:
        return studies.rotate_upload_code(access, self.studies)

    def audit_log(self, access: StudyAccess, page: PageRequest) -> Page[AuditEntry]:
        return studies.audit_log(access, self.studies, page)

    def list_members(self, access: StudyAccess, page: PageRequest) -> Page[Member]:
        return members.list_members(access, self.studies, self.researchers, page)

    def change_role(self, access: StudyAccess, *, researcher_id: str, role: Role) -> Member:
        return members.change_role(access, self.studies, self.mail, researcher_id=researcher_id, role=role)

    def remove_member(self, access: StudyAccess, *, researcher_id: str) -> None:
        members.remove_member(access, self.studies, self.mail, researcher_id=researcher_id)

    def invite(
        self, access: StudyAccess, *, email: str, role: Role, name: str, message: str
    ) -> tuple[Invitation, bool]:
        return invitations.invite(
            access,
            self.studies,
            self.researchers,
            self.outbox,
            self.invitation_settings,
            email=email,
            role=role,
            name=name,
            message=message,
        )

    def list_invitations(self, access: StudyAccess, page: PageRequest) -> Page[Invitation]:
        return invitations.list_for_study(access, self.outbox, page)

    def resend(self, access: StudyAccess, *, invitation_id: str) -> Invitation:
        return invitations.resend(
            access, self.studies, self.outbox, self.invitation_settings, invitation_id=invitation_id
        )

    def revoke(self, access: StudyAccess, *, invitation_id: str) -> None:
        invitations.revoke(access, self.studies, self.outbox, invitation_id=invitation_id)

    def accept(self, caller: Researcher, *, token: str) -> Membership:
        return invitations.accept(caller, self.studies, self.outbox, token=token)

    def decline(self, caller: Researcher, *, token: str) -> None:
        invitations.decline(caller, self.outbox, token=token)

    def invitations_for(self, caller: Researcher, page: PageRequest) -> Page[Invitation]:
        return invitations.pending_for(caller, self.outbox, page)


@dataclass(eq=False)
class ReferenceService:
    """The seeded reference lists: universities and research fields."""

    references: ReferenceRepository

    def universities(self, page: PageRequest) -> Page[ReferenceItem]:
        return reference.list_items(self.references, reference.UNIVERSITIES, page)

    def research_fields(self, page: PageRequest) -> Page[ReferenceItem]:
        return reference.list_items(self.references, reference.RESEARCH_FIELDS, page)
