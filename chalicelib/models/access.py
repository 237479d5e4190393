"""What every authenticated request reads first, in one TransactGetItems: the caller, the credential
they present (a revocation or an API token), and on study routes the study and the caller's membership."""

from __future__ import annotations

from pynamodb.connection import Connection
from pynamodb.transactions import TransactGet

from chalicelib.models.credentials import CredentialRecord, to_credential
from chalicelib.models.paging import resolved
from chalicelib.models.researchers import ResearcherRecord, to_researcher
from chalicelib.models.studies import MembershipRecord, StudyRecord, to_membership, to_study
from chalicelib.services.studies.model import StudyAccess


class DynamoAccess:
    """`AccessRepository`: one round trip, whatever the route."""

    def __init__(self, connection: Connection) -> None:
        self._connection = connection

    def load(self, researcher_id: str, credential_key: str, study_id: str | None = None) -> StudyAccess:
        with TransactGet(connection=self._connection) as reads:
            researcher = reads.get(ResearcherRecord, researcher_id)
            credential = reads.get(CredentialRecord, credential_key)
            study = reads.get(StudyRecord, study_id) if study_id else None
            membership = reads.get(MembershipRecord, study_id, researcher_id) if study_id else None
        return StudyAccess(
            researcher=resolved(researcher, to_researcher),
            study=resolved(study, to_study) if study else None,
            membership=resolved(membership, to_membership) if membership else None,
            credential=resolved(credential, to_credential),
        )
