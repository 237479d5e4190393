"""In-memory stand-ins for the repositories in each `chalicelib.services.<capability>.ports`.

They keep what DynamoDB would keep and refuse what it would refuse: optimistic versions
(a write whose version differs from the stored one is a `ConflictError`, a new object must
not exist yet), all-or-nothing transactions, and pages that stop at `limit` and go on from an
opaque start. Objects are copied in and out, so a caller holding one cannot change the store.
`tests/contract/test_repositories.py` runs the same checks on these and on the DynamoDB ones.

`FakeBroker` wires them together with a ticking clock for the services' unit tests.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar, Protocol, TypeVar

from chalicelib.errors import ConflictError
from chalicelib.services.accounts.model import Credential, Researcher
from chalicelib.services.accounts.ports import CredentialRepository, ResearcherRepository
from chalicelib.services.common.model import AuditEntry, AuditOutcome, Page, PageRequest, new_id
from chalicelib.services.dropoff.model import Upload, UploadStatus
from chalicelib.services.dropoff.ports import UploadRepository
from chalicelib.services.messages import MailMessage, Message, encode
from chalicelib.services.studies.model import (
    Member,
    Membership,
    ReferenceItem,
    Role,
    Study,
    StudyAccess,
    new_upload_code,
)
from chalicelib.services.studies.ports import AccessRepository, ReferenceRepository, StudyRepository
from chalicelib.services.studies.reference import RESEARCH_FIELDS, UNIVERSITIES
from vre_app.seed import load_items

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

D = TypeVar("D", bound="DataclassInstance")


class _Versioned(Protocol):
    __dataclass_fields__: ClassVar[dict[str, Any]]
    version: int | None


V = TypeVar("V", bound=_Versioned)


def _check_version(stored: _Versioned | None, given: int | None, conflict: str) -> None:
    """DynamoDB's condition: the stored version (None when absent) equals the one the writer read."""
    if (stored.version if stored is not None else None) != given:
        raise ConflictError(detail=conflict)


def _next_version(item: V) -> V:
    return replace(item, version=(item.version or 0) + 1)


def _page(
    items: Iterable[D], sort_key: Callable[[D], str], page: PageRequest, *, newest_first: bool = False
) -> Page[D]:
    """Copies of one page of `items` in `sort_key` order, resuming after the key a previous page ended on."""
    ordered = sorted(items, key=sort_key, reverse=newest_first)
    if page.start is not None:
        after = page.start["after"]
        ordered = [i for i in ordered if (sort_key(i) < after if newest_first else sort_key(i) > after)]
    chosen = ordered[: page.limit]
    more = len(ordered) > page.limit
    return Page([replace(i) for i in chosen], {"after": sort_key(chosen[-1])} if more else None)


class InMemoryResearchers:
    """`ResearcherRepository` in a dict; `audit` keeps the entries saved with changes."""

    def __init__(self) -> None:
        self._items: dict[str, Researcher] = {}
        self.audit: list[AuditEntry] = []

    def get(self, researcher_id: str) -> Researcher | None:
        found = self._items.get(researcher_id)
        return None if found is None else replace(found)

    def get_many(self, researcher_ids: Sequence[str]) -> dict[str, Researcher]:
        return {i: replace(self._items[i]) for i in researcher_ids if i in self._items}

    def by_email(self, email: str) -> Researcher | None:
        return self._first(lambda r: r.email == email)

    def all_by_email(self, email: str) -> list[Researcher]:
        return [replace(r) for r in sorted(self._items.values(), key=lambda r: r.id) if r.email == email]

    def by_identity(self, identity: str) -> Researcher | None:
        return self._first(lambda r: r.identity == identity)

    def every(self, page: PageRequest) -> Page[Researcher]:
        return _page(self._items.values(), lambda r: f"{r.email}#{r.id}", page)

    def add(self, researcher: Researcher) -> Researcher:
        if researcher.id in self._items:
            raise ConflictError(detail="A researcher with this id already exists.")
        if researcher.identity is not None and self.by_identity(researcher.identity) is not None:
            raise ConflictError(detail="A researcher with this identity already exists.")
        return self._put(replace(researcher, version=None))

    def save(self, researcher: Researcher, audit: AuditEntry | None = None) -> Researcher:
        _check_version(
            self._items.get(researcher.id),
            researcher.version,
            "Your profile changed in the meantime; reload and try again.",
        )
        self.audit += [audit] if audit else []
        return self._put(researcher)

    def _put(self, researcher: Researcher) -> Researcher:
        stored = _next_version(researcher)
        self._items[stored.id] = stored
        return replace(stored)

    def _first(self, match: Callable[[Researcher], bool]) -> Researcher | None:
        for researcher in self._items.values():
            if match(researcher):
                return replace(researcher)
        return None


def _copy_item(item: ReferenceItem) -> ReferenceItem:
    return replace(item, attributes=dict(item.attributes))


class InMemoryReference:
    """`ReferenceRepository` in a dict per kind, listed in id order."""

    def __init__(self) -> None:
        self._kinds: dict[str, dict[str, ReferenceItem]] = {}

    def list(self, kind: str, page: PageRequest) -> Page[ReferenceItem]:
        found = _page(self._kinds.get(kind, {}).values(), lambda i: i.id, page)
        return Page([_copy_item(i) for i in found.items], found.next_start)

    def get(self, kind: str, item_id: str) -> ReferenceItem | None:
        found = self._kinds.get(kind, {}).get(item_id)
        return None if found is None else _copy_item(found)

    def put(self, kind: str, item: ReferenceItem) -> None:
        self._kinds.setdefault(kind, {})[item.id] = _copy_item(item)


_STALE = "The study changed in the meantime; reload and try again."
_STALE_MEMBER = "The membership changed in the meantime; reload and try again."


def _audit_key(entry: AuditEntry) -> str:
    return f"{entry.at.isoformat()}#{entry.entry_id}"


class InMemoryStudies:
    """`StudyRepository` over dicts; it reads researchers from the `InMemoryResearchers` it is given."""

    def __init__(self, researchers: InMemoryResearchers | None = None) -> None:
        self.researchers = researchers if researchers is not None else InMemoryResearchers()
        self._studies: dict[str, Study] = {}
        # Live workspaces per study, kept by `InMemoryWorkspaces` (DynamoDB keeps it in the ledger).
        self.live_workspaces: dict[str, int] = {}
        self._memberships: dict[tuple[str, str], Membership] = {}
        self._audit: dict[str, AuditEntry] = {}
        self.counters: dict[str, int] = {}

    def get(self, study_id: str) -> Study | None:
        found = self._studies.get(study_id)
        return None if found is None else replace(found)

    def get_many(self, study_ids: Sequence[str]) -> dict[str, Study]:
        return {i: replace(self._studies[i]) for i in study_ids if i in self._studies}

    def by_upload_code(self, upload_code: str) -> Study | None:
        for study in self._studies.values():
            if study.upload_code == upload_code:
                return replace(study)
        return None

    def membership(self, study_id: str, researcher_id: str) -> Membership | None:
        found = self._memberships.get((study_id, researcher_id))
        return None if found is None else replace(found)

    def member(self, study_id: str, researcher_id: str) -> Member | None:
        found = self.membership(study_id, researcher_id)
        return None if found is None else Member(found, self.researchers.get(researcher_id))

    def member_count(self, study_id: str) -> int:
        return sum(1 for s, _ in self._memberships if s == study_id)

    def memberships_of(self, researcher_id: str, page: PageRequest) -> Page[Membership]:
        mine = (m for m in self._memberships.values() if m.researcher_id == researcher_id)
        return _page(mine, lambda m: m.study_id, page)

    def members(self, study_id: str, page: PageRequest) -> Page[Membership]:
        theirs = (m for m in self._memberships.values() if m.study_id == study_id)
        return _page(theirs, lambda m: m.researcher_id, page)

    def create(self, study: Study, owner: Membership, audit: AuditEntry) -> None:
        _check_version(self._studies.get(study.id), study.version, "A study with this id already exists.")
        _check_version(self._memberships.get(_key(owner)), owner.version, "A study with this id already exists.")
        self._studies[study.id] = _next_version(study)
        self._memberships[_key(owner)] = _next_version(owner)
        self._put_audit(audit)

    def add_member(self, membership: Membership, audit: AuditEntry) -> Membership:
        if _key(membership) in self._memberships:
            raise ConflictError(detail="This researcher is already a member of the study.")
        stored = _next_version(replace(membership, version=None))
        self._memberships[_key(stored)] = stored
        self._put_audit(audit)
        return replace(stored)

    def update(self, study: Study, audit: AuditEntry) -> Study:
        _check_version(self._studies.get(study.id), study.version, _STALE)
        stored = _next_version(study)
        self._studies[study.id] = stored
        self._put_audit(audit)
        return replace(stored)

    def delete(self, study: Study, audit: AuditEntry) -> None:
        if self.live_workspaces.get(study.id, 0) > 0:
            raise ConflictError(detail="The study still has workspaces; delete them first.")
        _check_version(self._studies.get(study.id), study.version, _STALE)
        self._studies.pop(study.id, None)
        self._put_audit(audit)
        for key in [k for k in self._memberships if k[0] == study.id]:
            del self._memberships[key]

    def set_role(self, membership: Membership, audit: AuditEntry) -> Membership:
        _check_version(self._memberships.get(_key(membership)), membership.version, _STALE_MEMBER)
        stored = _next_version(membership)
        self._memberships[_key(stored)] = stored
        self._put_audit(audit)
        return replace(stored)

    def remove_member(self, membership: Membership, audit: AuditEntry) -> None:
        _check_version(self._memberships.get(_key(membership)), membership.version, _STALE_MEMBER)
        self._memberships.pop(_key(membership), None)
        self._put_audit(audit)

    def transfer(self, study: Study, old_owner: Membership, new_owner: Membership, audit: AuditEntry) -> Study:
        # Every condition is checked before anything is written: all or nothing.
        _check_version(self._studies.get(study.id), study.version, _STALE)
        for membership in (old_owner, new_owner):
            _check_version(self._memberships.get(_key(membership)), membership.version, _STALE)
        stored = _next_version(study)
        self._studies[study.id] = stored
        for membership in (old_owner, new_owner):
            self._memberships[_key(membership)] = _next_version(membership)
        self._put_audit(audit)
        return replace(stored)

    def record(self, audit: AuditEntry) -> None:
        self._put_audit(audit)

    def record_counted(self, audit: AuditEntry, counter: str, *, limit: int, until: datetime) -> bool:
        if self.counters.get(counter, 0) >= limit:
            return False
        self.counters[counter] = self.counters.get(counter, 0) + 1
        self._put_audit(audit)
        return True

    def audit_log(self, study_id: str, page: PageRequest) -> Page[AuditEntry]:
        entries = (e for e in self._audit.values() if e.study_id == study_id)
        return _page(entries, _audit_key, page, newest_first=True)

    def _put_audit(self, audit: AuditEntry) -> None:
        self._audit[f"{audit.study_id}#{_audit_key(audit)}"] = replace(audit)


def _copy_upload(upload: Upload) -> Upload:
    return replace(upload, storage=dict(upload.storage), part_checksums=dict(upload.part_checksums))


def _upload_key(upload: Upload) -> str:
    """The DynamoDB study index's sort key: creation time, ties broken by tusd id."""
    return f"{upload.created_at.isoformat()}#{upload.tusd_id}"


class InMemoryUploads:
    """`UploadRepository` in a dict; audit entries go to the `InMemoryStudies` it is given, as in one transaction."""

    def __init__(self, studies: InMemoryStudies | None = None) -> None:
        self.studies = studies if studies is not None else InMemoryStudies()
        self._items: dict[str, Upload] = {}

    def get(self, tusd_id: str) -> Upload | None:
        found = self._items.get(tusd_id)
        return None if found is None else _copy_upload(found)

    def add(self, upload: Upload, audit: AuditEntry) -> Upload | None:
        if upload.tusd_id in self._items:
            return None
        stored = _next_version(_copy_upload(replace(upload, version=None)))
        self._items[upload.tusd_id] = stored
        self.studies.record(audit)
        return _copy_upload(stored)

    def update(self, upload: Upload, audit: AuditEntry) -> Upload:
        _check_version(self._items.get(upload.tusd_id), upload.version, "The upload changed in the meantime.")
        stored = _next_version(_copy_upload(upload))
        self._items[upload.tusd_id] = stored
        self.studies.record(audit)
        return _copy_upload(stored)

    def save(self, upload: Upload) -> Upload:
        _check_version(self._items.get(upload.tusd_id), upload.version, "The upload changed in the meantime.")
        stored = _next_version(_copy_upload(upload))
        self._items[upload.tusd_id] = stored
        return _copy_upload(stored)

    def sign_parts(self, tusd_id: str, checksums: Mapping[int, str]) -> None:
        found = self._items.get(tusd_id)
        if found is None or found.status is not UploadStatus.ADMITTED:
            raise ConflictError(detail="This upload is no longer open.")
        found.part_checksums.update({str(n): c for n, c in checksums.items()})

    def remove(self, upload: Upload, audit: AuditEntry) -> None:
        _check_version(self._items.get(upload.tusd_id), upload.version, "The upload changed in the meantime.")
        del self._items[upload.tusd_id]
        self.studies.record(audit)

    def admitted(self, page: PageRequest) -> Page[Upload]:
        waiting = (u for u in self._items.values() if u.status is UploadStatus.ADMITTED)
        found = _page(waiting, _upload_key, page, newest_first=False)
        return Page([_copy_upload(u) for u in found.items], found.next_start)

    def of_study(self, study_id: str, page: PageRequest) -> Page[Upload]:
        theirs = (u for u in self._items.values() if u.study_id == study_id and u.status is not UploadStatus.ADMITTED)
        found = _page(theirs, _upload_key, page, newest_first=True)
        return Page([_copy_upload(u) for u in found.items], found.next_start)


def _key(membership: Membership) -> tuple[str, str]:
    return (membership.study_id, membership.researcher_id)


def _copy_credential(credential: Credential) -> Credential:
    return replace(credential, data=dict(credential.data))


def _owner_key(credential: Credential) -> str:
    """The DynamoDB owner index's sort key: creation time, ties broken by key."""
    return f"{credential.created_at.isoformat()}#{credential.key}"


class InMemoryCredentials:
    """`CredentialRepository` in a dict; expired items stay until deleted, as they do before DynamoDB's TTL runs."""

    def __init__(self) -> None:
        self._items: dict[str, Credential] = {}

    def get(self, key: str) -> Credential | None:
        found = self._items.get(key)
        return None if found is None else _copy_credential(found)

    def add(self, credential: Credential) -> None:
        if credential.key in self._items:
            raise ConflictError(detail="This credential already exists.")
        self._items[credential.key] = _copy_credential(credential)

    def take(self, key: str) -> Credential | None:
        found = self._items.pop(key, None)
        return None if found is None else _copy_credential(found)

    def owned_by(self, owner_id: str, page: PageRequest) -> Page[Credential]:
        theirs = (c for c in self._items.values() if c.owner_id == owner_id)
        found = _page(theirs, _owner_key, page, newest_first=True)
        return Page([_copy_credential(c) for c in found.items], found.next_start)

    def delete_owned(self, key: str, owner_id: str) -> bool:
        found = self._items.get(key)
        if found is None or found.owner_id != owner_id:
            return False
        del self._items[key]
        return True

    def stored(self) -> list[Credential]:
        """Everything on record (for tests that check what was, or was not, written)."""
        return [_copy_credential(c) for c in self._items.values()]


class InMemoryAccess:
    """`AccessRepository` over the other fakes."""

    def __init__(
        self, researchers: InMemoryResearchers, studies: InMemoryStudies, credentials: InMemoryCredentials
    ) -> None:
        self._researchers = researchers
        self._studies = studies
        self._credentials = credentials

    def load(self, researcher_id: str, credential_key: str, study_id: str | None = None) -> StudyAccess:
        return StudyAccess(
            researcher=self._researchers.get(researcher_id),
            study=self._studies.get(study_id) if study_id else None,
            membership=self._studies.membership(study_id, researcher_id) if study_id else None,
            credential=self._credentials.get(credential_key),
        )


class TickingClock:
    """A clock that moves one second on every reading: times are predictable and never tie."""

    def __init__(self, start: datetime | None = None) -> None:
        self.last = start or datetime(2025, 3, 1, 9, 30, tzinfo=UTC)

    def __call__(self) -> datetime:
        self.last += timedelta(seconds=1)
        return self.last


class RecordedMail:
    """A mail queue that keeps what was sent, in order."""

    def __init__(self) -> None:
        self.sent: list[MailMessage] = []

    def send(self, message: MailMessage) -> None:
        self.sent.append(message)


class FakeBroker:
    """The fakes wired together, seeded with two research fields and the real universities, and
    factories for a scene."""

    RESEARCH_FIELD = "health-sciences"
    ISSUER = "https://idp.example"

    def __init__(self, clock: TickingClock | None = None) -> None:
        self.clock = clock or TickingClock()
        self.researchers = InMemoryResearchers()
        self.references = InMemoryReference()
        self.studies = InMemoryStudies(self.researchers)
        self.credentials = InMemoryCredentials()
        self.access_repository = InMemoryAccess(self.researchers, self.studies, self.credentials)
        self.uploads = InMemoryUploads(self.studies)
        self.mail = RecordedMail()
        for field_id, name in ((self.RESEARCH_FIELD, "Health sciences"), ("physics", "Physical sciences")):
            self.references.put(RESEARCH_FIELDS, ReferenceItem(field_id, name))
        for university in load_items(UNIVERSITIES):
            self.references.put(UNIVERSITIES, university)

    def researcher(
        self, name: str = "ada", *, is_admin: bool = False, disabled: bool = False, email_verified: bool = True
    ) -> Researcher:
        moment = self.clock()
        rid = new_id()
        return self.researchers.add(
            Researcher(
                rid,
                f"{name}.{rid[:8]}@uni.example",
                name.title(),
                moment,
                moment,
                identity=f"{self.ISSUER}|{rid}",
                is_admin=is_admin,
                disabled=disabled,
                email_verified=email_verified,
            )
        )

    def study(self, owner: Researcher, name: str = "Cohort study") -> Study:
        moment = self.clock()
        study = Study(new_id(), name, owner.id, new_upload_code(), moment, moment, description="About cohorts")
        self.studies.create(
            study,
            Membership(study.id, owner.id, Role.OWNER, moment),
            AuditEntry(study.id, owner.id, "study.created", f"study:{study.id}", AuditOutcome.SUCCESS, moment),
        )
        stored = self.studies.get(study.id)
        assert stored is not None
        return stored

    def join(self, study: Study, researcher: Researcher | str, role: Role) -> Membership:
        rid = researcher if isinstance(researcher, str) else researcher.id
        moment = self.clock()
        return self.studies.add_member(
            Membership(study.id, rid, role, moment),
            AuditEntry(study.id, study.owner_id, "member.added", f"researcher:{rid}", AuditOutcome.SUCCESS, moment),
        )

    def access(
        self, researcher: Researcher | str, study: Study | str | None = None, *, credential_key: str = ""
    ) -> StudyAccess:
        """What a request by `researcher` presenting `credential_key` would read first."""
        rid = researcher if isinstance(researcher, str) else researcher.id
        study_id = study.id if isinstance(study, Study) else study
        return self.access_repository.load(rid, credential_key, study_id)

    def audit(self, study: Study) -> list[AuditEntry]:
        return self.studies.audit_log(study.id, PageRequest(limit=100)).items


# mypy checks that each fake is what the services accept.
_researchers: ResearcherRepository = InMemoryResearchers()
_reference: ReferenceRepository = InMemoryReference()
_studies: StudyRepository = InMemoryStudies()
_credentials: CredentialRepository = InMemoryCredentials()
_access: AccessRepository = InMemoryAccess(InMemoryResearchers(), InMemoryStudies(), InMemoryCredentials())
_uploads: UploadRepository = InMemoryUploads()


def wire(message: Message) -> dict[str, str]:
    """A queue message as its body carries it, less the request id (which tells who sent it, not what)."""
    body: dict[str, str] = json.loads(encode(message))
    body.pop("request_id", None)
    return body
