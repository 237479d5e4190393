"""Credentials in DynamoDB: pending logins, login codes, revoked sessions, API tokens."""

from __future__ import annotations

from datetime import datetime

from pynamodb.attributes import MapAttribute, TTLAttribute, UnicodeAttribute, UTCDateTimeAttribute
from pynamodb.exceptions import DeleteError
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex
from pynamodb.models import Model

from chalicelib.models import keys
from chalicelib.models.paging import page_of
from chalicelib.models.transactions import conflicts_as
from chalicelib.services.accounts.model import Credential, CredentialKind
from chalicelib.services.common.model import Page, PageRequest


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


def to_credential(record: CredentialRecord) -> Credential:
    data = record.data.attribute_values if record.data else {}
    return Credential(
        key=record.key,
        kind=CredentialKind(record.kind),
        expires_at=record.expires_at,
        created_at=record.created_at,
        owner_id=record.owner_id,
        name=record.name,
        secret_hash=record.secret_hash,
        data={str(k): str(v) for k, v in data.items()},
    )


def credential_record(credential: Credential) -> CredentialRecord:
    expires: datetime | None = credential.expires_at
    return CredentialRecord(
        key=credential.key,
        kind=credential.kind.value,
        created_at=credential.created_at,
        expires_at=expires,
        ttl=expires,
        owner_id=credential.owner_id,
        # Newest first in the owner index, ties broken by key.
        created_key=keys.newest_first(credential.created_at, credential.key) if credential.owner_id else None,
        name=credential.name,
        secret_hash=credential.secret_hash,
        data=dict(credential.data),
    )


class DynamoCredentials:
    """`CredentialRepository` on the credentials table."""

    def get(self, key: str) -> Credential | None:
        try:
            return to_credential(CredentialRecord.get(key))
        except CredentialRecord.DoesNotExist:
            return None

    def add(self, credential: Credential) -> None:
        with conflicts_as("This credential already exists."):
            credential_record(credential).save(condition=CredentialRecord.key.does_not_exist())

    def take(self, key: str) -> Credential | None:
        found = self.get(key)
        if found is None:
            return None
        try:
            CredentialRecord(key=key).delete(condition=CredentialRecord.key.exists())
        except DeleteError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return None  # someone else took it between our read and our delete
            raise
        return found

    def owned_by(self, owner_id: str, page: PageRequest) -> Page[Credential]:
        results = CredentialRecord.by_owner.query(
            owner_id, scan_index_forward=False, limit=page.limit, last_evaluated_key=page.start
        )
        return page_of(results, to_credential)

    def delete_owned(self, key: str, owner_id: str) -> bool:
        try:
            CredentialRecord(key=key).delete(condition=CredentialRecord.owner_id == owner_id)
        except DeleteError as exc:
            if exc.cause_response_code == "ConditionalCheckFailedException":
                return False
            raise
        return True
