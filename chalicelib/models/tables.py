"""Every table's pynamodb record in one list, and the binding of them all to one stage's tables.

`infra/template.yaml` declares the same tables for CloudFormation; the table names in the records are
the unprefixed ones, and `bind` gives them the stage's prefix before use.
`tests/contract/test_tables.py` fails when the two disagree.
"""

from __future__ import annotations

from pynamodb.connection import Connection
from pynamodb.models import Model

from chalicelib.models import TableBinding
from chalicelib.models.audit import AuditRecord
from chalicelib.models.credentials import CredentialRecord
from chalicelib.models.invitations import InvitationRecord
from chalicelib.models.ledger import LedgerRecord
from chalicelib.models.reference import ReferenceRecord
from chalicelib.models.researchers import ResearcherRecord
from chalicelib.models.studies import MembershipRecord, StudyRecord
from chalicelib.models.uploads import UploadRecord
from chalicelib.models.workspace_records import WorkspaceEventRecord, WorkspaceRecord

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

_BASE_NAMES = {record: record.Meta.table_name for record in ALL_RECORDS}
_bound: tuple[TableBinding, Connection] | None = None


def bind(binding: TableBinding) -> Connection:
    """Point every record at the stage's tables; returns a connection for transactions.

    Binding again to the same place keeps the connections a warm Lambda already has.
    """
    global _bound
    if _bound is not None and _bound[0] == binding:
        return _bound[1]
    for record, base in _BASE_NAMES.items():
        record.Meta.table_name = binding.prefix + base
        record.Meta.region = binding.region
        record.Meta.host = binding.host
        record._connection = None  # pynamodb caches the connection per model
    _bound = (binding, Connection(region=binding.region, host=binding.host))
    return _bound[1]
