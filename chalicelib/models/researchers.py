"""Researchers in DynamoDB."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from pynamodb.attributes import BooleanAttribute, UnicodeAttribute, UTCDateTimeAttribute, VersionAttribute
from pynamodb.connection import Connection
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.models import keys
from chalicelib.models.audit import audit_record
from chalicelib.models.credentials import CredentialRecord
from chalicelib.models.paging import page_of, versioned
from chalicelib.models.transactions import conflicts_as, named_writes
from chalicelib.services.accounts.model import CredentialKind, Locale, Researcher
from chalicelib.services.common.model import AuditEntry, Page, PageRequest


class ResearcherByIdentity(GlobalSecondaryIndex["ResearcherRecord"]):
    class Meta:
        index_name = "by_identity"
        projection = AllProjection()

    identity = UnicodeAttribute(hash_key=True)


class ResearcherByEmail(GlobalSecondaryIndex["ResearcherRecord"]):
    class Meta:
        index_name = "by_email"
        projection = AllProjection()

    email = UnicodeAttribute(hash_key=True)


class ResearcherInDirectory(GlobalSecondaryIndex["ResearcherRecord"]):
    """Every researcher by email, in one partition: the platform admins' list is a Query, not a Scan."""

    class Meta:
        index_name = "in_directory"
        projection = AllProjection()

    directory = UnicodeAttribute(hash_key=True)
    email = UnicodeAttribute(range_key=True)


class ResearcherRecord(Model):
    class Meta:
        table_name = "researchers"

    id = UnicodeAttribute(hash_key=True)
    # The identity provider's "iss|sub"; unset for researchers made by the local token command.
    identity = UnicodeAttribute(null=True)
    email = UnicodeAttribute()
    name = UnicodeAttribute()
    university_id = UnicodeAttribute(null=True)
    research_field_id = UnicodeAttribute(null=True)
    phone = UnicodeAttribute(null=True)
    locale = UnicodeAttribute(default="en")
    is_admin = BooleanAttribute(default=False)
    disabled = BooleanAttribute(default=False)
    # Whether the identity provider vouched for the email at the last login; absent on older items (False).
    email_verified = BooleanAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()
    directory = UnicodeAttribute(default=keys.EVERYONE)

    by_identity = ResearcherByIdentity()
    by_email = ResearcherByEmail()
    in_directory = ResearcherInDirectory()


def to_researcher(record: ResearcherRecord) -> Researcher:
    return Researcher(
        id=record.id,
        email=record.email,
        name=record.name,
        created_at=record.created_at,
        updated_at=record.updated_at,
        identity=record.identity,
        university_id=record.university_id,
        research_field_id=record.research_field_id,
        phone=record.phone,
        locale=Locale(record.locale),
        is_admin=record.is_admin,
        disabled=record.disabled,
        email_verified=bool(record.email_verified),
        version=record.version,
    )


def to_record(researcher: Researcher) -> ResearcherRecord:
    return ResearcherRecord(
        id=researcher.id,
        identity=researcher.identity,
        email=researcher.email,
        name=researcher.name,
        university_id=researcher.university_id,
        research_field_id=researcher.research_field_id,
        phone=researcher.phone,
        locale=researcher.locale.value,
        is_admin=researcher.is_admin,
        disabled=researcher.disabled,
        email_verified=researcher.email_verified,
        created_at=researcher.created_at,
        updated_at=researcher.updated_at,
        **versioned(researcher.version),
    )


class DynamoResearchers:
    """`ResearcherRepository` on the researchers table (and identity claims in the credentials table)."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def get(self, researcher_id: str) -> Researcher | None:
        try:
            return to_researcher(ResearcherRecord.get(researcher_id))
        except ResearcherRecord.DoesNotExist:
            return None

    def get_many(self, researcher_ids: Sequence[str]) -> dict[str, Researcher]:
        unique = list(dict.fromkeys(researcher_ids))
        if not unique:
            return {}
        return {r.id: to_researcher(r) for r in ResearcherRecord.batch_get(unique)}

    def by_email(self, email: str) -> Researcher | None:
        for record in ResearcherRecord.by_email.query(email, limit=1):
            return to_researcher(record)
        return None

    def all_by_email(self, email: str) -> list[Researcher]:
        return [to_researcher(record) for record in ResearcherRecord.by_email.query(email)]

    def by_identity(self, identity: str) -> Researcher | None:
        for record in ResearcherRecord.by_identity.query(identity, limit=1):
            return to_researcher(record)
        return None

    def every(self, page: PageRequest) -> Page[Researcher]:
        results = ResearcherRecord.in_directory.query(keys.EVERYONE, limit=page.limit, last_evaluated_key=page.start)
        return page_of(results, to_researcher)

    def add(self, researcher: Researcher) -> Researcher:
        record = to_record(replace(researcher, version=None))
        with (
            conflicts_as("A researcher with this id or identity already exists."),
            named_writes(self._connection) as writes,
        ):
            writes.save("researcher", record)
            if researcher.identity is not None:
                # The identity index cannot refuse a duplicate; this claim can, in the same transaction.
                claim = CredentialRecord(
                    key=keys.credential(CredentialKind.IDENTITY.value, researcher.identity),
                    kind=CredentialKind.IDENTITY.value,
                    created_at=researcher.created_at,
                    data={"researcher_id": researcher.id},
                )
                writes.save("identity", claim, condition=CredentialRecord.key.does_not_exist())
        return to_researcher(record)

    def save(self, researcher: Researcher, audit: AuditEntry | None = None) -> Researcher:
        record = to_record(researcher)
        with conflicts_as("Your profile changed in the meantime; reload and try again."):
            if audit is None:
                record.save()
            else:
                with named_writes(self._connection) as writes:
                    writes.save("researcher", record)
                    writes.save("audit", audit_record(audit))
        return to_researcher(record)
