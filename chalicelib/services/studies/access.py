"""Who may do what in a study: the roles table of API.md as code.

A caller who is not a member (and not a platform admin) learns nothing: the study is
"not found". A member whose role is too low is told "not allowed", and if they tried to
change something the attempt goes into the study's audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from chalicelib.errors import AuthenticationError, NotFoundError, PermissionDeniedError
from chalicelib.services.accounts.model import Researcher
from chalicelib.services.common.model import AuditEntry, AuditOutcome, utcnow
from chalicelib.services.studies.model import Membership, Role, Study, StudyAccess
from chalicelib.services.studies.ports import StudyRepository


class Permission(Enum):
    """What a request wants to do with a study."""

    READ = "read"  # the study, its members, workspaces, uploads
    OPERATE = "operate"  # its own workspaces, upload data
    MANAGE = "manage"  # edit, invite, change roles, upload code
    AUDIT = "audit"  # read the audit log
    OWN = "own"  # delete, transfer

    @property
    def least_role(self) -> Role:
        return _LEAST_ROLE[self]

    @property
    def platform_admin_may(self) -> bool:
        """Platform admins read everything, but change only what they are members of."""
        return self in (Permission.READ, Permission.AUDIT)


_LEAST_ROLE = {
    Permission.READ: Role.VIEWER,
    Permission.OPERATE: Role.CONTRIBUTOR,
    Permission.MANAGE: Role.ADMIN,
    Permission.AUDIT: Role.ADMIN,
    Permission.OWN: Role.OWNER,
}


def granting_roles(role: Role) -> tuple[Role, ...]:
    """The roles whose holders may give `role` to someone (by invitation): admin and up, and never owner."""
    if role is Role.OWNER:
        return ()
    return tuple(r for r in Role if r.at_least(Permission.MANAGE.least_role))


INVITER_LOST_ROLE = (
    "The person who invited you can no longer give the {role} role in this study (they left, were removed or "
    "lost the admin role), so this invitation cannot be accepted; ask a study admin to invite you again."
)


@dataclass(frozen=True, slots=True)
class Granted:
    """A check that passed: the caller, the study and the caller's role (None for a platform admin reading)."""

    caller: Researcher
    study: Study
    membership: Membership | None

    @property
    def role(self) -> Role | None:
        return self.membership.role if self.membership else None


def active_caller(researcher: Researcher | None) -> Researcher:
    """The caller, or 401 when the token's researcher is gone or disabled."""
    if researcher is None or researcher.disabled:
        raise AuthenticationError(detail="This account no longer exists or is disabled.")
    return researcher


def ensure_visible(access: StudyAccess) -> None:
    """404 unless the study exists and the caller is a member of it or a platform admin."""
    caller = active_caller(access.researcher)
    if access.study is None or (access.membership is None and not caller.is_admin):
        raise NotFoundError(detail="No such study.")


def require(
    access: StudyAccess,
    permission: Permission,
    *,
    studies: StudyRepository | None = None,
    action: str = "",
    target: str = "",
    now: Callable[[], datetime] = utcnow,
) -> Granted:
    """Check `permission`; with `studies` and `action`, a refused member's attempt is audited."""
    caller = active_caller(access.researcher)
    study = access.study
    membership = access.membership
    if study is None:
        raise NotFoundError(detail="No such study.")
    if membership is None and not caller.is_admin:
        raise NotFoundError(detail="No such study.")
    if membership is not None and membership.role.at_least(permission.least_role):
        return Granted(caller, study, membership)
    if caller.is_admin and permission.platform_admin_may:
        # Whatever their role in the study, if any: a platform admin reads everything.
        return Granted(caller, study, membership)
    if studies is not None and action:
        studies.record(
            AuditEntry(
                study_id=study.id,
                actor_id=caller.id,
                action=action,
                target=target or f"study:{study.id}",
                outcome=AuditOutcome.DENIED,
                at=now(),
                detail=f"needs {permission.least_role.value}",
            )
        )
    raise PermissionDeniedError(detail=f"This needs the {permission.least_role.value} role in the study.")
