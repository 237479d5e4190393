"""tusd v2's HTTP hooks over HTTP, with bodies shaped as tusd sends them (`tests/data/tusd/`).

pre-create accepts an upload with a live study's upload code under a fresh id that carries the study;
post-finish records it once and queues the admins' notice; post-terminate marks it aborted (or deleted,
once received); other hooks are acknowledged; a tusd v1 body is a clear 422. The refusals an uploader
can provoke, and the secret, are in `tests/security/test_tusd_hook.py`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from chalice.test import Client

from chalicelib.services.common.model import PageRequest
from chalicelib.services.dropoff.uploads import notice_mail_id
from chalicelib.wiring import Dependencies
from tests.conftest import Person, RecordingMailQueue, StudyCast
from tests.support.api import call, snapshot
from tests.support.tusd import hook, post_hook, pre_create, recorded


def upload_code(client: Client, cast: StudyCast) -> str:
    status, study, _ = call(client, "GET", f"/studies/{cast.study_id}", headers=cast.owner.headers)
    assert status == 200
    url: str = study["upload_url"]
    return url.removeprefix("https://upload.test/u/")


def accepted_id(client: Client, code: str, filename: str = "presentation.pdf", **extra: str) -> str:
    status, answer, _ = post_hook(client, pre_create(code, filename, **extra))
    assert status == 200, answer
    assert "RejectUpload" not in answer, answer
    tusd_id: str = answer["ChangeFileInfo"]["ID"]
    return tusd_id


def audit_actions(client: Client, cast: StudyCast) -> list[tuple[str, str, str]]:
    status, page, _ = call(client, "GET", f"/studies/{cast.study_id}/audit?limit=100", headers=cast.owner.headers)
    assert status == 200
    return [(e["action"], e["outcome"], e["detail"]) for e in page["items"]]


def uploads_of(client: Client, cast: StudyCast, person: Person | None = None) -> list[dict[str, Any]]:
    headers = (person or cast.viewer).headers
    status, page, _ = call(client, "GET", f"/studies/{cast.study_id}/uploads?limit=100", headers=headers)
    assert status == 200, page
    items: list[dict[str, Any]] = page["items"]
    return items


# pre-create ---------------------------------------------------------------------------------------


def test_pre_create_accepts_a_live_code_under_an_id_that_carries_the_study(client: Client, cast: StudyCast) -> None:
    # GIVEN the study's upload code, as its upload link carries it
    code = upload_code(client, cast)
    body = pre_create(code, "presentation.pdf", sender_name="Dr. Lab", sender_email="lab@hospital.example")

    # WHEN tusd asks before creating the upload
    status, answer, headers = post_hook(client, body)

    # THEN it may: under a fresh id `<study>/<random>`, with metadata that no longer holds the code
    assert status == 200, answer
    assert headers["Content-Type"] == "application/json"
    changes = answer["ChangeFileInfo"]
    study_part, random_part = changes["ID"].split("/")
    assert study_part == cast.study_id
    assert len(random_part) == 32
    assert changes["MetaData"] == {
        "filename": "presentation.pdf",
        "filetype": "application/pdf",
        "sender_name": "Dr. Lab",
        "sender_email": "lab@hospital.example",
    }
    assert "RejectUpload" not in answer
    # AND the study's audit log says so
    action, outcome, detail = audit_actions(client, cast)[0]
    assert (action, outcome) == ("upload.accepted", "success")
    assert detail == "presentation.pdf, 422.6 KB from Dr. Lab <lab@hospital.example>"


def test_every_accepted_upload_gets_its_own_id(client: Client, cast: StudyCast) -> None:
    code = upload_code(client, cast)

    assert accepted_id(client, code) != accepted_id(client, code)


def test_pre_create_keeps_only_the_file_name_of_a_path(client: Client, cast: StudyCast) -> None:
    code = upload_code(client, cast)

    status, answer, _ = post_hook(client, pre_create(code, "C:\\Users\\lab\\results 2024.csv"))

    assert status == 200
    assert answer["ChangeFileInfo"]["MetaData"]["filename"] == "results 2024.csv"


# post-finish --------------------------------------------------------------------------------------


def test_post_finish_records_the_upload_and_queues_the_admins_notice(
    client: Client, cast: StudyCast, mail_queue: RecordingMailQueue
) -> None:
    # GIVEN an upload tusd created after pre-create said yes
    code = upload_code(client, cast)
    tusd_id = accepted_id(client, code, "scan.nii.gz", sender_name="Dr. Lab", sender_email="lab@hospital.example")
    metadata = {"filename": "scan.nii.gz", "sender_name": "Dr. Lab", "sender_email": "lab@hospital.example"}

    # WHEN tusd reports it finished
    body = hook("post-finish", tusd_id=tusd_id, metadata=metadata, size=5_000_000, offset=5_000_000)
    status, answer, _ = post_hook(client, body)

    # THEN the hook is acknowledged and a viewer sees the upload
    assert (status, answer) == (200, {})
    (listed,) = uploads_of(client, cast)
    assert listed["tusd_id"] == tusd_id
    assert listed["id"] == tusd_id.split("/")[1]
    assert (listed["file_name"], listed["size"], listed["received_bytes"]) == ("scan.nii.gz", 5_000_000, 5_000_000)
    assert listed["status"] == "received"
    assert (listed["sender_name"], listed["sender_email"]) == ("Dr. Lab", "lab@hospital.example")
    assert listed["storage"] == {
        "Type": "filestore",
        "Path": f"/data/{tusd_id}",
        "InfoPath": f"/data/{tusd_id}.info",
    }
    # AND the notice is queued for the mail worker, and the audit log has it
    assert mail_queue.messages[-1] == {
        "type": "upload_received",
        "mail_id": notice_mail_id(tusd_id),
        "tusd_id": tusd_id,
    }
    assert audit_actions(client, cast)[0][:2] == ("upload.received", "success")


def test_post_finish_twice_records_once_and_queues_the_same_notice(
    client: Client, cast: StudyCast, mail_queue: RecordingMailQueue
) -> None:
    # GIVEN a finished upload that tusd reports twice (it retries when it did not hear back)
    tusd_id = accepted_id(client, upload_code(client, cast))
    body = hook("post-finish", tusd_id=tusd_id)
    queued = len(mail_queue.messages)

    first = post_hook(client, body)
    second = post_hook(client, body)

    # THEN both are acknowledged, one upload and one audit entry exist
    assert first[0] == second[0] == 200
    assert len(uploads_of(client, cast)) == 1
    assert [a for a, _, _ in audit_actions(client, cast)].count("upload.received") == 1
    # AND both notices carry one mail id, which the mail worker sends once
    notices = mail_queue.messages[queued:]
    assert len(notices) == 2
    assert notices[0] == notices[1]


def test_post_finish_for_a_deleted_study_is_a_404(client: Client, cast: StudyCast) -> None:
    tusd_id = accepted_id(client, upload_code(client, cast))
    assert call(client, "DELETE", f"/studies/{cast.study_id}", headers=cast.owner.headers)[0] == 204

    status, payload, headers = post_hook(client, hook("post-finish", tusd_id=tusd_id))

    assert status == 404
    assert headers["Content-Type"] == "application/problem+json"
    assert "no longer exists" in payload["detail"]


@pytest.mark.parametrize("tusd_id", ["5d892c228ec8d0451dfec588697e8930", "", "a/b/c", "../x/" + "0" * 32])
def test_post_finish_for_an_id_the_broker_did_not_give_is_a_422(client: Client, cast: StudyCast, tusd_id: str) -> None:
    before = snapshot()

    status, payload, _ = post_hook(client, hook("post-finish", tusd_id=tusd_id))

    assert status == 422
    assert payload["errors"][0]["field"] == "Event.Upload.ID"
    assert snapshot() == before


# post-terminate -----------------------------------------------------------------------------------


def test_post_terminate_marks_an_unfinished_upload_aborted(client: Client, cast: StudyCast) -> None:
    tusd_id = accepted_id(client, upload_code(client, cast))

    status, answer, _ = post_hook(client, hook("post-terminate", tusd_id=tusd_id, size=1000, offset=400))
    again = post_hook(client, hook("post-terminate", tusd_id=tusd_id, size=1000, offset=400))

    assert (status, answer) == (200, {})
    assert again[0] == 200
    (listed,) = uploads_of(client, cast)
    assert (listed["status"], listed["size"], listed["received_bytes"]) == ("aborted", 1000, 400)
    assert [a for a, _, _ in audit_actions(client, cast)].count("upload.aborted") == 1


def test_post_terminate_of_a_received_upload_marks_it_deleted(client: Client, cast: StudyCast) -> None:
    tusd_id = accepted_id(client, upload_code(client, cast))
    assert post_hook(client, hook("post-finish", tusd_id=tusd_id))[0] == 200

    status, _, _ = post_hook(client, hook("post-terminate", tusd_id=tusd_id))

    assert status == 200
    (listed,) = uploads_of(client, cast)
    assert listed["status"] == "deleted"
    assert audit_actions(client, cast)[0][:2] == ("upload.deleted", "success")


# Other hooks, and what is not a tusd v2 hook ------------------------------------------------------


@pytest.mark.parametrize("kind", ["post-create", "post-receive", "pre-finish", "pre-terminate", "some-future-hook"])
def test_other_hooks_are_acknowledged_and_change_nothing(client: Client, cast: StudyCast, kind: str) -> None:
    before = snapshot()

    status, answer, headers = post_hook(client, hook(kind, tusd_id=f"{cast.study_id}/{'0' * 32}"))

    assert (status, answer) == (200, {})
    assert headers["Content-Type"] == "application/json"
    assert snapshot() == before


def test_a_tusd_v1_body_is_a_clear_422(client: Client, cast: StudyCast) -> None:
    # GIVEN the body tusd 1.x posted: the event itself, with the hook's name in a header
    before = snapshot()

    status, payload, headers = post_hook(client, recorded("v1-pre-create"), headers={"Hook-Name": "pre-create"})

    # THEN it is refused with a reason an operator can act on, and nothing changes
    assert status == 422
    assert headers["Content-Type"] == "application/problem+json"
    assert "tusd v1" in payload["detail"]
    assert "tusd v2" in payload["detail"]
    assert snapshot() == before


def test_a_v1_body_without_its_header_is_still_named_v1(client: Client) -> None:
    status, payload, _ = post_hook(client, recorded("v1-pre-create"))

    assert status == 422
    assert "tusd v1" in payload["detail"]


def test_a_v1_style_hook_name_header_on_an_empty_object_is_named_v1(client: Client) -> None:
    status, payload, _ = post_hook(client, {}, headers={"Hook-Name": "post-finish"})

    assert status == 422
    assert "tusd v1" in payload["detail"]


def test_an_object_without_type_or_event_names_both(client: Client) -> None:
    status, payload, _ = post_hook(client, {"Something": "else"})

    assert status == 422
    assert {e["field"] for e in payload["errors"]} == {"Type", "Event"}


# The uploads list ---------------------------------------------------------------------------------


def finish(client: Client, code: str, filename: str) -> str:
    tusd_id = accepted_id(client, code, filename)
    assert post_hook(client, hook("post-finish", tusd_id=tusd_id, metadata={"filename": filename}))[0] == 200
    return tusd_id


def test_uploads_list_newest_first_a_page_at_a_time(client: Client, cast: StudyCast) -> None:
    code = upload_code(client, cast)
    names = [f"part-{n}.csv" for n in range(5)]
    for name in names:
        finish(client, code, name)

    seen: list[str] = []
    url = f"/studies/{cast.study_id}/uploads?limit=2"
    while True:
        status, page, _ = call(client, "GET", url, headers=cast.viewer.headers)
        assert status == 200, page
        assert len(page["items"]) <= 2
        seen += [item["file_name"] for item in page["items"]]
        if page["next_cursor"] is None:
            break
        url = f"/studies/{cast.study_id}/uploads?limit=2&cursor={page['next_cursor']}"

    assert seen == list(reversed(names))


def test_uploads_of_one_study_are_not_listed_in_another(
    client: Client, cast: StudyCast, deps: Dependencies, person: Callable[..., Person]
) -> None:
    finish(client, upload_code(client, cast), "mine.csv")
    other_owner = person("other")
    status, other, _ = call(client, "POST", "/studies", headers=other_owner.headers, body={"name": "Other"})
    assert status == 201

    status, page, _ = call(client, "GET", f"/studies/{other['id']}/uploads", headers=other_owner.headers)

    assert (status, page) == (200, {"items": [], "next_cursor": None})
    assert deps.uploads.of_study(other["id"], PageRequest()).items == []


def test_uploads_list_leaves_out_what_the_sender_did_not_give(client: Client, cast: StudyCast) -> None:
    finish(client, upload_code(client, cast), "anonymous.csv")

    (listed,) = uploads_of(client, cast)

    assert "sender_name" not in listed
    assert "sender_email" not in listed


def test_the_served_document_describes_the_hook_and_its_secret(client: Client) -> None:
    status, document, _ = call(client, "GET", "/openapi.json")
    assert status == 200

    operation = document["paths"]["/hooks/tusd"]["post"]
    assert operation["security"] == []
    (secret,) = [p for p in operation["parameters"] if p["name"] == "secret"]
    assert (secret["in"], secret["required"]) == ("query", True)
    assert operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/TusdHookRequest")
