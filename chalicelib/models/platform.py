"""The platform admins' views across studies: every study, and the audit log of the whole platform."""

from __future__ import annotations

from chalicelib.models import keys
from chalicelib.models.audit import AuditRecord, to_audit
from chalicelib.models.paging import page_of
from chalicelib.models.studies import StudyRecord, to_study
from chalicelib.services.common.model import AuditEntry, Page, PageRequest
from chalicelib.services.studies.model import Study


class DynamoPlatform:
    """`PlatformRepository`: Queries on the one-partition `in_platform` indexes of the studies and audit tables."""

    def studies(self, page: PageRequest) -> Page[Study]:
        results = StudyRecord.in_platform.query(
            keys.EVERYONE, scan_index_forward=False, limit=page.limit, last_evaluated_key=page.start
        )
        return page_of(results, to_study)

    def audit(self, page: PageRequest) -> Page[AuditEntry]:
        results = AuditRecord.in_platform.query(
            keys.EVERYONE, scan_index_forward=False, limit=page.limit, last_evaluated_key=page.start
        )
        return page_of(results, to_audit)
