"""The repository the drop-off services depend on, as a Protocol (the bucket's is `storage.ObjectStorage`).

Each has a DynamoDB implementation in `chalicelib.models` and an in-memory fake in
`tests/support/fakes.py`; `tests/contract/` runs the same checks on both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from chalicelib.services.common.model import AuditEntry, Page, PageRequest
from chalicelib.services.dropoff.model import Upload


class UploadRepository(Protocol):
    def get(self, tusd_id: str) -> Upload | None: ...

    def add(self, upload: Upload, audit: AuditEntry) -> Upload | None:
        """Store a new upload and its audit entry in one transaction and return it as stored; None
        (nothing written) if the tusd id is on record already, which makes a repeated hook harmless."""
        ...

    def update(self, upload: Upload, audit: AuditEntry) -> Upload:
        """Store a change to an upload read earlier (optimistic on its version), with its audit entry."""
        ...

    def save(self, upload: Upload) -> Upload:
        """Store a change that needs no audit entry (the part checksums signed), optimistic on its version."""
        ...

    def sign_parts(self, tusd_id: str, checksums: Mapping[int, str]) -> None:
        """Note the SHA-256 each part was signed with, while the upload is admitted (else a 409)."""
        ...

    def remove(self, upload: Upload, audit: AuditEntry) -> None:
        """Delete the record, with its audit entry, in one transaction."""
        ...

    def of_study(self, study_id: str, page: PageRequest) -> Page[Upload]:
        """The study's uploads, newest first (admitted ones are not listed)."""
        ...

    def admitted(self, page: PageRequest) -> Page[Upload]:
        """Every admitted upload not yet received, for the reconciler (never on a request path)."""
        ...
