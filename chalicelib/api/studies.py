"""`/studies`: create, list, read, edit, delete, transfer, upload code, audit log."""

from __future__ import annotations

from typing import Any

from chalicelib.api.framework import Call, Reply, Resource
from chalicelib.api.loads import Loads
from chalicelib.api.schemas import (
    AuditView,
    StudyCreate,
    StudyTransfer,
    StudyUpdate,
    StudyView,
    UploadCodeView,
)
from chalicelib.services.common.model import AuditEntry, Page, Unset
from chalicelib.services.studies import studies as service

resource = Resource(__name__, tag="studies")


def render_study(call: Call[Any], item: service.MemberStudy) -> StudyView:
    study = item.study
    view = StudyView(
        id=study.id,
        name=study.name,
        description=study.description,
        research_field=study.research_field_id,
        owner_id=study.owner_id,
        role=item.role.value if item.role else None,
        created_at=study.created_at,
        updated_at=study.updated_at,
        version=study.version or 1,
    )
    if item.member_count is not None:
        view.member_count = item.member_count
    if service.may_see_upload_code(item.role):
        view.upload_url = call.deps.settings.upload_base_url + study.upload_code
    return view


def render_audit(entry: AuditEntry) -> AuditView:
    return AuditView(
        id=entry.entry_id,
        at=entry.at,
        actor_id=entry.actor_id,
        action=entry.action,
        target=entry.target,
        outcome=entry.outcome.value,
        detail=entry.detail,
    )


@resource.route("/studies", "GET", loads=Loads.CALLER, summary="The caller's studies", response=StudyView, paged=True)
def list_studies(call: Call[Any]) -> Page[StudyView]:
    page = call.services.studies.list_studies(call.caller, call.page)
    return Page([render_study(call, item) for item in page.items], page.next_start)


@resource.route(
    "/studies", "POST", loads=Loads.CALLER, summary="Create a study", body=StudyCreate, response=StudyView, status=201
)
def create_study(call: Call[StudyCreate]) -> Reply:
    body = call.body
    created = call.services.studies.create(
        call.caller,
        name=body.name,
        description=body.description,
        research_field=body.research_field,
    )
    return Reply(render_study(call, created), 201, {"Location": f"/studies/{created.study.id}"})


@resource.route("/studies/{study_id}", "GET", loads=Loads.STUDY, summary="A study", response=StudyView)
def get_study(call: Call[Any], study_id: str) -> StudyView:
    return render_study(call, call.services.studies.get(call.study_access))


@resource.route(
    "/studies/{study_id}", "PATCH", loads=Loads.STUDY, summary="Edit a study", body=StudyUpdate, response=StudyView
)
def update_study(call: Call[StudyUpdate], study_id: str) -> StudyView:
    body = call.body
    updated = call.services.studies.update(
        call.study_access,
        name=body.name,
        description=body.description,
        research_field=body.research_field,
        expected_version=None if isinstance(body.version, Unset) else body.version,
    )
    return render_study(call, updated)


@resource.route("/studies/{study_id}", "DELETE", loads=Loads.STUDY, summary="Delete a study", status=204)
def delete_study(call: Call[Any], study_id: str) -> Reply:
    call.services.studies.delete(call.study_access)
    return Reply(status=204)


@resource.route(
    "/studies/{study_id}/transfer",
    "POST",
    loads=Loads.STUDY,
    summary="Transfer ownership",
    body=StudyTransfer,
    response=StudyView,
)
def transfer_study(call: Call[StudyTransfer], study_id: str) -> StudyView:
    moved = call.services.studies.transfer(call.study_access, new_owner_id=call.body.researcher_id)
    return render_study(call, moved)


@resource.route(
    "/studies/{study_id}/upload-code", "POST", loads=Loads.STUDY, summary="A fresh upload code", response=UploadCodeView
)
def rotate_upload_code(call: Call[Any], study_id: str) -> UploadCodeView:
    study = call.services.studies.rotate_upload_code(call.study_access)
    return UploadCodeView(study.upload_code, call.deps.settings.upload_base_url + study.upload_code)


@resource.route(
    "/studies/{study_id}/audit",
    "GET",
    loads=Loads.STUDY,
    summary="The study's audit log",
    response=AuditView,
    paged=True,
)
def study_audit(call: Call[Any], study_id: str) -> Page[AuditView]:
    page = call.services.studies.audit_log(call.study_access, call.page)
    return Page([render_audit(entry) for entry in page.items], page.next_start)
