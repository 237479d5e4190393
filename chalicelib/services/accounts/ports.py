"""The repositories the accounts services depend on, as Protocols.

Each has a DynamoDB implementation in `chalicelib.models` and an in-memory fake in
`tests/support/fakes.py`; `tests/contract/` runs the same checks on both.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from chalicelib.services.accounts.model import Credential, Researcher
from chalicelib.services.common.model import AuditEntry, Page, PageRequest
from chalicelib.services.studies.model import Study


class ResearcherRepository(Protocol):
    def get(self, researcher_id: str) -> Researcher | None: ...

    def get_many(self, researcher_ids: Sequence[str]) -> dict[str, Researcher]: ...

    def by_email(self, email: str) -> Researcher | None: ...

    def all_by_email(self, email: str) -> list[Researcher]:
        """Every researcher with this email (emails may repeat across identities)."""
        ...

    def by_identity(self, identity: str) -> Researcher | None: ...

    def every(self, page: PageRequest) -> Page[Researcher]:
        """All researchers by email, a page at a time (platform admins only)."""
        ...

    def add(self, researcher: Researcher) -> Researcher:
        """Store a new researcher; `ConflictError` if the id or the identity is taken (emails may repeat)."""
        ...

    def save(self, researcher: Researcher, audit: AuditEntry | None = None) -> Researcher:
        """Store changes to a researcher read earlier, with `audit` in the same write; returns the new version."""
        ...


class CredentialRepository(Protocol):
    def get(self, key: str) -> Credential | None: ...

    def add(self, credential: Credential) -> None:
        """Store a new credential; `ConflictError` if the key is taken."""
        ...

    def take(self, key: str) -> Credential | None:
        """Read and delete in one go; of two callers taking the same key, one gets None."""
        ...

    def owned_by(self, owner_id: str, page: PageRequest) -> Page[Credential]:
        """A researcher's API tokens, newest first."""
        ...

    def delete_owned(self, key: str, owner_id: str) -> bool:
        """Delete the owner's credential; False if there is none by that key for that owner."""
        ...


class PlatformRepository(Protocol):
    """What platform admins see across studies."""

    def studies(self, page: PageRequest) -> Page[Study]:
        """Every study, newest first."""
        ...

    def audit(self, page: PageRequest) -> Page[AuditEntry]:
        """Every audit entry, of every study and of the platform itself, newest first."""
        ...
