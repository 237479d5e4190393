"""The drop-off without an upload server, over the API and moto's S3: start, parts, resume, complete, abort,
and what each refuses."""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import timedelta

import boto3
import msgspec
import pytest
import requests
from chalice.test import Client

from chalicelib import wiring
from chalicelib.services.common.model import PageRequest, utcnow
from chalicelib.services.dropoff.model import UploadStatus
from chalicelib.services.dropoff.uploads import TusUpload, admit, notice_mail_id, record_finished
from chalicelib.services.studies.studies import create_study
from chalicelib.wiring import Dependencies
from tests.conftest import RecordingMailQueue, StudyCast
from tests.support.api import call
from tests.support.dropoff import PART, complete, parts_of, put_parts, send, sha_b64, sha_hex, sign, start, started

BUCKET = "vre-local-uploads-123456789012-eu-west-1"


@pytest.fixture
def code(deps: Dependencies, cast: StudyCast) -> str:
    study = deps.studies.get(cast.study_id)
    assert study is not None
    return study.upload_code


def open_multiparts() -> list[str]:
    return [
        u["Key"]
        for u in boto3.client("s3", region_name="eu-west-1").list_multipart_uploads(Bucket=BUCKET).get("Uploads", [])
    ]


def objects(prefix: str) -> list[str]:
    answer = boto3.client("s3", region_name="eu-west-1").list_object_versions(Bucket=BUCKET, Prefix=prefix)
    return [v["Key"] for v in answer.get("Versions", [])]


def test_a_file_in_three_parts_goes_straight_to_s3_and_is_recorded_once(
    client: Client, cast: StudyCast, code: str, mail_queue: RecordingMailQueue, deps: Dependencies
) -> None:
    # GIVEN a file of three parts (two full ones and a short last one)
    data = os.urandom(2 * PART) + b"the end"
    pieces = dict(enumerate(parts_of(data), start=1))

    # WHEN the page starts it with the study's upload code
    upload = started(client, code, data, "scan.nii", sender_name="Dr. Lab", sender_email="lab@hospital.example")
    assert (upload.answer["part_size"], upload.answer["part_count"]) == (PART, 3)
    assert upload.answer["expires_at"]

    # AND sends two parts, is cut off, and asks what S3 holds (the resume)
    put_parts(client, upload, {1: pieces[1], 3: pieces[3]})
    status, progress, _ = call(client, "GET", f"/dropoff/uploads/{upload.upload_id}", headers=upload.headers)
    assert status == 200
    assert (progress["state"], [p["number"] for p in progress["parts"]]) == ("admitted", [1, 3])
    assert [p["size"] for p in progress["parts"]] == [PART, 7]

    # AND sends the missing part and completes, twice
    put_parts(client, upload, {2: pieces[2]})
    first = complete(client, upload, sha_hex(data))
    again = complete(client, upload, sha_hex(data).upper())

    # THEN the upload is recorded once, with the whole file's checksum and S3's checksum of its parts
    assert first == again
    status, record = first
    assert status == 200
    assert (record["status"], record["size"], record["received_bytes"]) == ("received", len(data), len(data))
    assert record["checksum_sha256"] == sha_hex(data)
    assert record["checksum_sha256_parts"].endswith("-3")
    listed = call(client, "GET", f"/studies/{cast.study_id}/uploads", headers=cast.viewer.headers)[1]["items"]
    assert [(u["id"], u["checksum_sha256"]) for u in listed] == [(upload.upload_id, sha_hex(data))]
    actions = [e.action for e in deps.studies.audit_log(cast.study_id, PageRequest(limit=100)).items]
    assert actions.count("upload.received") == 1
    assert actions.count("upload.accepted") == 1
    tusd_id = f"{cast.study_id}/{upload.upload_id}"
    notices = [m for m in mail_queue.messages if m.get("tusd_id") == tusd_id]
    assert notices == [{"type": "upload_received", "mail_id": notice_mail_id(tusd_id), "tusd_id": tusd_id}] * 2

    # AND a contributor downloads it byte for byte, as an attachment with its name, and that is audited
    status, link, _ = call(
        client, "GET", f"/studies/{cast.study_id}/uploads/{upload.upload_id}/download", headers=cast.contributor.headers
    )
    assert status == 200, link
    fetched = requests.get(link["url"], timeout=30)
    assert fetched.status_code == 200
    assert sha_hex(fetched.content) == sha_hex(data)
    assert "response-content-disposition=attachment" in link["url"]
    latest = deps.studies.audit_log(cast.study_id, PageRequest(limit=1)).items[0]
    assert (latest.action, latest.actor_id) == ("upload.downloaded", cast.contributor.id)


@pytest.mark.parametrize(
    ("name", "size", "status"),
    [
        ("run.exe", 10, 415),
        ("CON.txt", 10, 422),
        ("data.csv", 50 * 1024**3 + 1, 413),
    ],
)
def test_the_start_refuses_as_tusd_pre_create_does_before_storing_anything(
    client: Client, code: str, name: str, size: int, status: int
) -> None:
    before = open_multiparts()

    answer, problem = start(client, code, name, size)

    assert answer == status, problem
    assert problem["detail"]
    assert open_multiparts() == before


def test_an_unknown_or_replaced_code_is_refused(client: Client, cast: StudyCast, code: str) -> None:
    call(client, "POST", f"/studies/{cast.study_id}/upload-code", headers=cast.admin.headers)

    assert start(client, code)[0] == 403
    assert start(client, "A" * 32)[0] == 403


def test_part_numbers_outside_the_upload_are_refused(client: Client, code: str) -> None:
    upload = started(client, code, b"x" * 10)
    checksum = sha_b64(b"x" * 10)

    for number in (0, 2, 10001):
        status, problem = sign(client, upload, {number: checksum})
        assert status == 422, (number, problem)


def test_a_checksum_that_is_no_sha256_is_refused(client: Client, code: str) -> None:
    upload = started(client, code, b"x" * 10)

    assert sign(client, upload, {1: "not-a-checksum"})[0] == 422
    assert complete(client, upload, "abc")[0] == 422


def test_a_wrong_secret_or_another_studys_upload_finds_nothing(
    client: Client, deps: Dependencies, cast: StudyCast, code: str
) -> None:
    mine = started(client, code, b"x" * 10)
    other = create_study(cast.stranger.researcher, deps.studies, deps.references, name="Other study").study
    theirs = started(client, other.upload_code, b"y" * 10)
    checksum = {1: sha_b64(b"x" * 10)}

    forged = replace(mine, secret=mine.secret + "x")
    crossed = replace(theirs, secret=mine.secret)  # their upload id, my secret
    for upload in (forged, crossed):
        assert sign(client, upload, checksum)[0] == 404
        assert call(client, "GET", f"/dropoff/uploads/{upload.upload_id}", headers=upload.headers)[0] == 404
        assert complete(client, upload, sha_hex(b"x" * 10))[0] == 404
        assert call(client, "DELETE", f"/dropoff/uploads/{upload.upload_id}", headers=upload.headers)[0] == 404
    no_secret = call(client, "GET", f"/dropoff/uploads/{mine.upload_id}", headers=cast.owner.headers)
    assert no_secret[0] == 401


def test_completing_with_parts_missing_is_a_conflict(client: Client, code: str) -> None:
    data = os.urandom(PART) + b"tail"
    upload = started(client, code, data)
    put_parts(client, upload, {2: b"tail"})

    status, problem = complete(client, upload, sha_hex(data))

    assert status == 409
    assert "1" in problem["detail"]


def test_a_part_that_does_not_match_its_checksum_is_refused_at_complete_and_removed(
    client: Client, deps: Dependencies, cast: StudyCast, code: str
) -> None:
    # GIVEN a part whose bytes are not the ones its URL was signed for (moto does not verify the checksum
    # on the PUT, as S3 does; the broker's complete compares S3's checksum of the parts with the signed ones)
    data = os.urandom(PART) + b"tail"
    pieces = dict(enumerate(parts_of(data), start=1))
    upload = started(client, code, data)
    put_parts(client, upload, pieces, bodies={2: b"TAIL"})

    status, problem = complete(client, upload, sha_hex(data))

    assert status == 422, problem
    assert objects(f"{cast.study_id}/{upload.upload_id}/") == []
    stored = deps.uploads.get(f"{cast.study_id}/{upload.upload_id}")
    assert stored is not None
    assert stored.status is UploadStatus.ABORTED


def test_more_bytes_than_declared_are_refused_and_removed(client: Client, cast: StudyCast, code: str) -> None:
    upload = started(client, code, b"x" * 10)
    put_parts(client, upload, {1: b"x" * 10}, bodies={1: b"x" * 20})

    status, problem = complete(client, upload, sha_hex(b"x" * 10))

    assert status == 413, problem
    assert open_multiparts().count(f"{cast.study_id}/{upload.upload_id}/file") == 0
    assert objects(f"{cast.study_id}/{upload.upload_id}/") == []


def test_a_file_over_the_limit_at_complete_is_refused(
    client: Client, deps: Dependencies, cast: StudyCast, code: str
) -> None:
    upload = started(client, code, b"x" * 10)
    put_parts(client, upload, {1: b"x" * 10})
    small = replace(deps, settings=msgspec.structs.replace(deps.settings, upload_max_bytes=5))
    wiring.install(small)

    status, problem = complete(client, upload, sha_hex(b"x" * 10))

    assert status == 413, problem
    assert objects(f"{cast.study_id}/{upload.upload_id}/") == []


def test_an_expired_upload_or_a_replaced_code_stops_the_upload(
    client: Client, deps: Dependencies, cast: StudyCast, code: str
) -> None:
    expired = started(client, code, b"x" * 10)
    key = f"{cast.study_id}/{expired.upload_id}"
    stored = deps.uploads.get(key)
    assert stored is not None
    deps.uploads.save(replace(stored, expires_at=utcnow() - timedelta(seconds=1)))
    assert sign(client, expired, {1: sha_b64(b"x" * 10)})[0] == 403
    assert complete(client, expired, sha_hex(b"x" * 10))[0] == 403

    replaced = started(client, code, b"x" * 10)
    call(client, "POST", f"/studies/{cast.study_id}/upload-code", headers=cast.admin.headers)
    for status in (
        sign(client, replaced, {1: sha_b64(b"x" * 10)})[0],
        call(client, "GET", f"/dropoff/uploads/{replaced.upload_id}", headers=replaced.headers)[0],
        complete(client, replaced, sha_hex(b"x" * 10))[0],
        call(client, "DELETE", f"/dropoff/uploads/{replaced.upload_id}", headers=replaced.headers)[0],
    ):
        assert status == 403


def test_an_aborted_upload_takes_no_more_parts(client: Client, cast: StudyCast, code: str) -> None:
    upload = started(client, code, b"x" * 10)
    put_parts(client, upload, {1: b"x" * 10})

    first = call(client, "DELETE", f"/dropoff/uploads/{upload.upload_id}", headers=upload.headers)[0]
    again = call(client, "DELETE", f"/dropoff/uploads/{upload.upload_id}", headers=upload.headers)[0]

    assert (first, again) == (204, 204)
    assert f"{cast.study_id}/{upload.upload_id}/file" not in open_multiparts()
    assert sign(client, upload, {1: sha_b64(b"x" * 10)})[0] == 409
    assert call(client, "GET", f"/dropoff/uploads/{upload.upload_id}", headers=upload.headers)[1]["state"] == "aborted"


def test_an_admin_deletes_an_upload_object_and_record(
    client: Client, deps: Dependencies, cast: StudyCast, code: str
) -> None:
    upload, _ = send(client, code, b"some data")

    status, _, _ = call(
        client, "DELETE", f"/studies/{cast.study_id}/uploads/{upload.upload_id}", headers=cast.admin.headers
    )

    assert status == 204
    assert objects(f"{cast.study_id}/{upload.upload_id}") == []
    assert deps.uploads.get(f"{cast.study_id}/{upload.upload_id}") is None
    download = call(
        client, "GET", f"/studies/{cast.study_id}/uploads/{upload.upload_id}/download", headers=cast.admin.headers
    )
    assert download[0] == 404


@pytest.mark.parametrize(
    ("storage", "why"),
    [
        ({"Type": "filestore", "Path": "/srv/x"}, "tusd's own filestore"),
        ({"Type": "s3store", "Bucket": "elsewhere", "Key": "tusd/x"}, "-s3-object-prefix"),
    ],
    ids=["filestore", "s3store-elsewhere"],
)
def test_a_tusd_upload_kept_outside_the_bucket_has_no_download_link_and_the_refusal_says_why(
    client: Client, deps: Dependencies, cast: StudyCast, code: str, storage: dict[str, str], why: str
) -> None:
    admission = admit(
        TusUpload(tusd_id="", size=3, metadata={"upload_code": code, "filename": "a.csv"}),
        deps.studies,
        deps.uploads,
        deps.upload_policy,
    )
    record_finished(
        TusUpload(tusd_id=admission.tusd_id, size=3, offset=3, storage=storage),
        deps.studies,
        deps.uploads,
        deps.mail_queue,
    )
    upload_id = admission.tusd_id.split("/")[1]

    status, problem, _ = call(
        client, "GET", f"/studies/{cast.study_id}/uploads/{upload_id}/download", headers=cast.contributor.headers
    )

    # THEN the refusal says why, and what to run instead
    assert status == 409, problem
    assert why in problem["detail"]
    assert "not in the study's uploads bucket" in problem["detail"]
    assert "s3store" in problem["detail"]
