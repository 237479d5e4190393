"""The DynamoDB tables as pynamodb models.

`infra/template.yaml` declares the same tables for CloudFormation; the table names here are
the unprefixed ones, and `chalicelib.models.bind` gives them the stage's prefix before use.
`tests/contract/test_tables.py` fails when the two disagree.
"""

from __future__ import annotations

from pynamodb.attributes import (
    BooleanAttribute,
    MapAttribute,
    NumberAttribute,
    TTLAttribute,
    UnicodeAttribute,
    UTCDateTimeAttribute,
    VersionAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

# The one partition key of the indexes behind the platform admins' lists (every researcher, study,
# workspace, audit entry): a university's number of them stays well within one partition's reach.
EVERYONE = "all"


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
    directory = UnicodeAttribute(default=EVERYONE)

    by_identity = ResearcherByIdentity()
    by_email = ResearcherByEmail()
    in_directory = ResearcherInDirectory()


class ReferenceRecord(Model):
    """Seeded reference data, one partition per kind, so a list is a Query and never a Scan."""

    class Meta:
        table_name = "reference"

    kind = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute(range_key=True)
    name = UnicodeAttribute()
    attributes = MapAttribute[str, str](default=dict)


class StudyByUploadCode(GlobalSecondaryIndex["StudyRecord"]):
    class Meta:
        index_name = "by_upload_code"
        projection = KeysOnlyProjection()

    upload_code = UnicodeAttribute(hash_key=True)


class StudyInPlatform(GlobalSecondaryIndex["StudyRecord"]):
    """Every study, newest first, in one partition: the platform admins' list."""

    class Meta:
        index_name = "in_platform"
        projection = AllProjection()

    platform = UnicodeAttribute(hash_key=True)
    created_at = UTCDateTimeAttribute(range_key=True)


class StudyRecord(Model):
    class Meta:
        table_name = "studies"

    id = UnicodeAttribute(hash_key=True)
    name = UnicodeAttribute()
    description = UnicodeAttribute(default="")
    research_field_id = UnicodeAttribute(null=True)
    owner_id = UnicodeAttribute()
    upload_code = UnicodeAttribute()
    # A platform admin's quota overrides (unset: the stage's defaults).
    max_workspaces = NumberAttribute(null=True)
    max_vcpus = NumberAttribute(null=True)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()
    platform = UnicodeAttribute(default=EVERYONE)

    by_upload_code = StudyByUploadCode()
    in_platform = StudyInPlatform()


class MembershipByResearcher(GlobalSecondaryIndex["MembershipRecord"]):
    class Meta:
        index_name = "by_researcher"
        projection = AllProjection()

    researcher_id = UnicodeAttribute(hash_key=True)
    study_id = UnicodeAttribute(range_key=True)


class MembershipRecord(Model):
    class Meta:
        table_name = "memberships"

    study_id = UnicodeAttribute(hash_key=True)
    researcher_id = UnicodeAttribute(range_key=True)
    role = UnicodeAttribute()
    joined_at = UTCDateTimeAttribute()
    version = VersionAttribute()

    by_researcher = MembershipByResearcher()


class AuditInPlatform(GlobalSecondaryIndex["AuditRecord"]):
    """Every audit entry, of every study and of the platform, newest first: the platform admins' log."""

    class Meta:
        index_name = "in_platform"
        projection = AllProjection()

    platform = UnicodeAttribute(hash_key=True)
    entry_key = UnicodeAttribute(range_key=True)


class AuditRecord(Model):
    """One audit entry; `scope` is `study#<id>` (or `platform` for what platform admins do outside any study)
    and `entry_key` sorts by time."""

    class Meta:
        table_name = "audit"

    scope = UnicodeAttribute(hash_key=True)
    entry_key = UnicodeAttribute(range_key=True)
    study_id = UnicodeAttribute()
    entry_id = UnicodeAttribute()
    actor_id = UnicodeAttribute()
    action = UnicodeAttribute()
    target = UnicodeAttribute()
    outcome = UnicodeAttribute()
    detail = UnicodeAttribute(default="")
    at = UTCDateTimeAttribute()
    platform = UnicodeAttribute(default=EVERYONE)

    in_platform = AuditInPlatform()


class CredentialByOwner(GlobalSecondaryIndex["CredentialRecord"]):
    """Sparse: only API tokens carry an owner."""

    class Meta:
        index_name = "by_owner"
        projection = AllProjection()

    owner_id = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class CredentialRecord(Model):
    """Pending logins, login codes, revoked sessions and API tokens; `key` is `<kind>#<id or hash>`.

    DynamoDB's TTL removes expired items eventually; readers check `expires_at` themselves.
    """

    class Meta:
        table_name = "credentials"

    key = UnicodeAttribute(hash_key=True)
    kind = UnicodeAttribute()
    created_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute(null=True)
    ttl = TTLAttribute(null=True)
    owner_id = UnicodeAttribute(null=True)
    created_key = UnicodeAttribute(null=True)
    name = UnicodeAttribute(default="")
    secret_hash = UnicodeAttribute(default="")
    data = MapAttribute[str, str](default=dict)

    by_owner = CredentialByOwner()


class InvitationByStudy(GlobalSecondaryIndex["InvitationRecord"]):
    class Meta:
        index_name = "by_study"
        projection = AllProjection()

    study_id = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class InvitationByEmail(GlobalSecondaryIndex["InvitationRecord"]):
    class Meta:
        index_name = "by_email"
        projection = AllProjection()

    email = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class InvitationByToken(GlobalSecondaryIndex["InvitationRecord"]):
    class Meta:
        index_name = "by_token"
        projection = AllProjection()

    token_hash = UnicodeAttribute(hash_key=True)


class InvitationByMailStatus(GlobalSecondaryIndex["InvitationRecord"]):
    """Invitations by how their mail went, oldest change first: finds links whose mail was never queued."""

    class Meta:
        index_name = "by_mail_status"
        projection = AllProjection()

    mail_status = UnicodeAttribute(hash_key=True)
    updated_at = UTCDateTimeAttribute(range_key=True)


class InvitationRecord(Model):
    """An invitation; `ttl` lets DynamoDB clear it out well after it expired (readers check `expires_at`)."""

    class Meta:
        table_name = "invitations"

    id = UnicodeAttribute(hash_key=True)
    study_id = UnicodeAttribute()
    email = UnicodeAttribute()
    name = UnicodeAttribute(default="")
    role = UnicodeAttribute()
    message = UnicodeAttribute(default="")
    inviter_id = UnicodeAttribute()
    status = UnicodeAttribute()
    token_hash = UnicodeAttribute()
    mail_id = UnicodeAttribute(default="")
    mail_status = UnicodeAttribute()
    expires_at = UTCDateTimeAttribute()
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    created_key = UnicodeAttribute()
    ttl = TTLAttribute(null=True)
    version = VersionAttribute()

    by_study = InvitationByStudy()
    by_email = InvitationByEmail()
    by_token = InvitationByToken()
    by_mail_status = InvitationByMailStatus()


class LedgerRecord(Model):
    """A claim (work done once), a counter (a rate limit window, a study's workspace usage), gone by `ttl`.

    Usage counters (`usage#<study>`) count live workspaces in `hits` and their vCPUs in `amount`;
    idempotency keys (`idempotency#<caller>#<key>`) point at what they made (`ref`).
    """

    class Meta:
        table_name = "ledger"

    key = UnicodeAttribute(hash_key=True)
    hits = NumberAttribute(default=0)
    amount = NumberAttribute(null=True)
    ref = UnicodeAttribute(null=True)
    fingerprint = UnicodeAttribute(null=True)
    ttl = TTLAttribute(null=True)


class UploadByStudy(GlobalSecondaryIndex["UploadRecord"]):
    class Meta:
        index_name = "by_study"
        projection = AllProjection()

    study_id = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class WorkspaceByStudy(GlobalSecondaryIndex["WorkspaceRecord"]):
    class Meta:
        index_name = "by_study"
        projection = AllProjection()

    study_id = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class WorkspaceByStatus(GlobalSecondaryIndex["WorkspaceRecord"]):
    class Meta:
        index_name = "by_status"
        projection = AllProjection()

    status = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class WorkspaceInFleet(GlobalSecondaryIndex["WorkspaceRecord"]):
    """Every workspace, newest first, in one partition: the platform admins' list is a Query, not a Scan."""

    class Meta:
        index_name = "in_fleet"
        projection = AllProjection()

    fleet = UnicodeAttribute(hash_key=True)
    created_key = UnicodeAttribute(range_key=True)


class WorkspaceRecord(Model):
    """A workspace: what was asked for (`machine`, resolved from the catalog), its state and its server."""

    class Meta:
        table_name = "workspaces"

    id = UnicodeAttribute(hash_key=True)
    study_id = UnicodeAttribute()
    owner_id = UnicodeAttribute()
    name = UnicodeAttribute()
    machine = MapAttribute[str, str](default=dict)
    status = UnicodeAttribute()
    status_reason = UnicodeAttribute(default="")
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    expires_at = UTCDateTimeAttribute()
    deadline_at = UTCDateTimeAttribute(null=True)
    server_id = UnicodeAttribute(null=True)
    ip = UnicodeAttribute(null=True)
    access_url = UnicodeAttribute(null=True)
    access_username = UnicodeAttribute(null=True)
    ssh_public_key = UnicodeAttribute(null=True)
    lease_until = UTCDateTimeAttribute(null=True)
    check_token = UnicodeAttribute(default="")
    attempts = NumberAttribute(default=0)
    cloud_step = UnicodeAttribute(default="")
    reminders = UnicodeAttribute(default="")
    notice = UnicodeAttribute(default="")
    vrw_updated_at = UTCDateTimeAttribute(null=True)
    billing_started_at = UTCDateTimeAttribute(null=True)
    billing_ended_at = UTCDateTimeAttribute(null=True)
    created_key = UnicodeAttribute()
    version = VersionAttribute()
    fleet = UnicodeAttribute(default=EVERYONE)

    by_study = WorkspaceByStudy()
    by_status = WorkspaceByStatus()
    in_fleet = WorkspaceInFleet()


class WorkspaceEventRecord(Model):
    """One step of a workspace's history; `event_key` sorts by time."""

    class Meta:
        table_name = "workspace_events"

    workspace_id = UnicodeAttribute(hash_key=True)
    event_key = UnicodeAttribute(range_key=True)
    study_id = UnicodeAttribute()
    status = UnicodeAttribute()
    previous = UnicodeAttribute(null=True)
    actor_id = UnicodeAttribute()
    reason = UnicodeAttribute(default="")
    at = UTCDateTimeAttribute()


class UploadRecord(Model):
    """A file dropped off through tusd, keyed by the id tusd stores it under (so a repeated hook finds it)."""

    class Meta:
        table_name = "uploads"

    tusd_id = UnicodeAttribute(hash_key=True)
    id = UnicodeAttribute()
    study_id = UnicodeAttribute()
    # Unset while the upload is only admitted, which keeps it out of the study's list (a sparse index).
    created_key = UnicodeAttribute(null=True)
    file_name = UnicodeAttribute()
    size = NumberAttribute()
    received_bytes = NumberAttribute()
    status = UnicodeAttribute()
    sender_name = UnicodeAttribute(null=True)
    sender_email = UnicodeAttribute(null=True)
    storage = MapAttribute[str, str](default=dict)
    object_key = UnicodeAttribute(default="")
    file_type = UnicodeAttribute(null=True)
    checksum_sha256 = UnicodeAttribute(default="")
    checksum_parts = UnicodeAttribute(default="")
    expires_at = UTCDateTimeAttribute(null=True)
    multipart_id = UnicodeAttribute(default="")
    secret_hash = UnicodeAttribute(default="")
    code_hash = UnicodeAttribute(default="")
    part_size = NumberAttribute(default=0)
    part_checksums = MapAttribute[str, str](default=dict)
    created_at = UTCDateTimeAttribute()
    updated_at = UTCDateTimeAttribute()
    version = VersionAttribute()

    by_study = UploadByStudy()


ALL_RECORDS: tuple[type[Model], ...] = (
    ResearcherRecord,
    ReferenceRecord,
    StudyRecord,
    MembershipRecord,
    AuditRecord,
    CredentialRecord,
    InvitationRecord,
    LedgerRecord,
    WorkspaceRecord,
    WorkspaceEventRecord,
    UploadRecord,
)
