"""The reconciler's drop-off round on moto's S3, through the scheduled function (so its IAM policy is checked):
a missed post-finish or complete is recovered, an expired upload aborted, a deleted study's files removed."""

from __future__ import annotations

import math
import os
from dataclasses import replace
from datetime import timedelta
from typing import Any

import boto3
import msgspec
import pytest
from botocore.client import BaseClient
from chalice.test import Client

from chalicelib import wiring
from chalicelib.providers.storage import S3Storage
from chalicelib.services.common.model import new_id, utcnow
from chalicelib.services.dropoff.model import UploadStatus
from chalicelib.services.dropoff.upload_reconciler import UploadRound, reconcile_uploads
from chalicelib.services.dropoff.uploads import notice_mail_id
from chalicelib.wiring import Dependencies
from chalicelib.workers.reconcile import run_reconciler
from tests.conftest import RecordingMailQueue, StudyCast
from tests.support.api import call
from tests.support.dropoff import PART, parts_of, put_parts, started
from tests.support.tusd import post_hook, pre_create

BUCKET = "vre-local-uploads-123456789012-eu-west-1"


def s3_client() -> Any:
    return boto3.client("s3", region_name="eu-west-1")


def code_of(deps: Dependencies, cast: StudyCast) -> str:
    study = deps.studies.get(cast.study_id)
    assert study is not None
    return study.upload_code


def test_a_tusd_upload_whose_post_finish_was_lost_is_recorded_from_storage(
    client: Client, deps: Dependencies, cast: StudyCast, mail_queue: RecordingMailQueue
) -> None:
    # GIVEN an upload pre-create admitted, whose file tusd's s3store wrote, and a post-finish that never came
    tusd_id = post_hook(client, pre_create(code_of(deps, cast), "scan.csv"))[1]["ChangeFileInfo"]["ID"]
    s3_client().put_object(Bucket=BUCKET, Key=tusd_id, Body=b"12345")
    s3_client().put_object(Bucket=BUCKET, Key=f"{tusd_id}.info", Body=b"{}")

    # WHEN the reconciler runs, twice
    run_reconciler(deps.services)
    run_reconciler(deps.services)

    # THEN the upload is received, from storage, and its notice queued under its one mail id
    stored = deps.uploads.get(tusd_id)
    assert stored is not None
    assert (stored.status, stored.size, stored.object_key) == (UploadStatus.RECEIVED, 5, tusd_id)
    notices = [m for m in mail_queue.messages if m.get("tusd_id") == tusd_id]
    assert notices == [{"type": "upload_received", "mail_id": notice_mail_id(tusd_id), "tusd_id": tusd_id}]
    # AND a member can fetch it
    upload_id = tusd_id.split("/")[1]
    status, _, _ = call(
        client, "GET", f"/studies/{cast.study_id}/uploads/{upload_id}/download", headers=cast.contributor.headers
    )
    assert status == 200


def test_an_upload_still_in_flight_is_left_alone(client: Client, deps: Dependencies, cast: StudyCast) -> None:
    tusd_id = post_hook(client, pre_create(code_of(deps, cast), "scan.csv"))[1]["ChangeFileInfo"]["ID"]

    run_reconciler(deps.services)

    stored = deps.uploads.get(tusd_id)
    assert stored is not None
    assert stored.status is UploadStatus.ADMITTED


def test_a_complete_cut_off_after_s3_joined_the_parts_is_recorded(
    client: Client, deps: Dependencies, cast: StudyCast
) -> None:
    # GIVEN a drop-off upload whose parts S3 joined, the broker's answer lost before it wrote the record
    data = os.urandom(PART) + b"end"
    upload = started(client, code_of(deps, cast), data)
    put_parts(client, upload, dict(enumerate(parts_of(data), start=1)))
    key = f"{cast.study_id}/{upload.upload_id}"
    record = deps.uploads.get(key)
    assert record is not None
    parts = deps.storage.parts(record.object_key, record.multipart_id)
    deps.storage.complete_multipart(
        record.object_key,
        record.multipart_id,
        [(p.number, p.etag, record.part_checksums[str(p.number)]) for p in parts],
    )

    # WHEN the reconciler runs
    run_reconciler(deps.services)

    # THEN it is received, with S3's checksum of its parts
    stored = deps.uploads.get(key)
    assert stored is not None
    assert (stored.status, stored.size) == (UploadStatus.RECEIVED, len(data))
    assert stored.checksum_parts


def test_an_expired_drop_off_upload_is_aborted(client: Client, deps: Dependencies, cast: StudyCast) -> None:
    upload = started(client, code_of(deps, cast), b"x" * 10)
    key = f"{cast.study_id}/{upload.upload_id}"
    record = deps.uploads.get(key)
    assert record is not None
    deps.uploads.save(replace(record, expires_at=utcnow() - timedelta(minutes=1)))

    run_reconciler(deps.services)

    stored = deps.uploads.get(key)
    assert stored is not None
    assert stored.status is UploadStatus.ABORTED
    open_ = s3_client().list_multipart_uploads(Bucket=BUCKET, Prefix=key).get("Uploads", [])
    assert open_ == []


def test_a_deleted_studys_files_go_after_the_retention(client: Client, deps: Dependencies, cast: StudyCast) -> None:
    # GIVEN a study's file in the bucket, and the study deleted
    prefix = f"{cast.study_id}/"
    s3_client().put_object(Bucket=BUCKET, Key=f"{prefix}{'a' * 32}/file", Body=b"data")
    assert call(client, "DELETE", f"/studies/{cast.study_id}", headers=cast.owner.headers)[0] == 204

    # WHEN the reconciler runs within the retention, THEN the files stay, marked
    run_reconciler(deps.services)
    listed = s3_client().list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    assert len(listed) == 1
    marker = s3_client().head_object(Bucket=BUCKET, Key=f"_deleted/{cast.study_id}")
    assert marker["ContentLength"] == 0

    # WHEN it runs after the retention (none, on this stage), THEN every version is gone, the marker too
    wiring.install(replace(deps, settings=msgspec.structs.replace(deps.settings, deleted_study_retention_days=0)))
    run_reconciler(wiring.dependencies().services)
    versions = s3_client().list_object_versions(Bucket=BUCKET, Prefix=prefix)
    assert versions.get("Versions", []) == []
    assert versions.get("DeleteMarkers", []) == []
    assert s3_client().list_objects_v2(Bucket=BUCKET, Prefix=f"_deleted/{cast.study_id}").get("KeyCount") == 0


class DynamoCalls:
    """Every DynamoDB operation any client makes, by name; `unprocess` holds back the first BatchGetItem's keys
    for these study ids and answers them as UnprocessedKeys, as DynamoDB may under load."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.operations: list[str] = []
        self.unprocess: set[str] = set()
        original = BaseClient._make_api_call  # type: ignore[attr-defined]  # botocore's one door for every call

        def counted(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
            if client.meta.service_model.service_name != "dynamodb":
                return original(client, operation, params)
            self.operations.append(operation)
            if operation != "BatchGetItem" or not self.unprocess:
                return original(client, operation, params)
            ((table, request),) = params["RequestItems"].items()
            held = [key for key in request["Keys"] if key["id"]["S"] in self.unprocess]
            sent = [key for key in request["Keys"] if key not in held]
            self.unprocess = set()
            answer = original(client, operation, {"RequestItems": {table: {**request, "Keys": sent}}})
            answer["UnprocessedKeys"] = {table: {**request, "Keys": held}}
            return answer

        monkeypatch.setattr(BaseClient, "_make_api_call", counted)


def bucket_round(deps: Dependencies, prefixes: list[str]) -> UploadRound:
    """A bucket of its own holding one file under each prefix, and the round over it."""
    name = f"vre-test-{new_id()[:12]}"
    s3_client().create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "eu-west-1"})
    for prefix in prefixes:
        s3_client().put_object(Bucket=name, Key=f"{prefix}/{'a' * 32}/file", Body=b"x")
    storage = S3Storage(msgspec.structs.replace(deps.settings, upload_bucket=name))
    return UploadRound(deps.uploads, deps.studies, storage, deps.mail_queue, timedelta(days=30))


@pytest.mark.parametrize("count", [1, 100, 101, 250])
def test_the_studies_behind_the_buckets_prefixes_are_read_a_hundred_at_a_time(
    deps: Dependencies, cast: StudyCast, monkeypatch: pytest.MonkeyPatch, count: int
) -> None:
    # GIVEN a bucket with files of `count` studies, one of them live
    gone = sorted(new_id() for _ in range(count - 1))
    work = bucket_round(deps, [cast.study_id, *gone])
    calls = DynamoCalls(monkeypatch)

    # WHEN the round runs
    report = reconcile_uploads(work)

    # THEN the studies are read in one BatchGetItem per 100 prefixes, never one by one
    assert calls.operations.count("BatchGetItem") == math.ceil(count / 100)
    assert "GetItem" not in calls.operations
    # AND exactly the deleted ones are marked
    assert sorted(report.marked) == gone


def test_studies_dynamodb_leaves_unprocessed_are_read_again_not_taken_for_deleted(
    deps: Dependencies, cast: StudyCast, monkeypatch: pytest.MonkeyPatch
) -> None:
    gone = [new_id(), new_id()]
    work = bucket_round(deps, [cast.study_id, *gone])
    calls = DynamoCalls(monkeypatch)
    calls.unprocess = {cast.study_id}

    report = reconcile_uploads(work)

    assert calls.operations.count("BatchGetItem") == 2
    assert sorted(report.marked) == sorted(gone)
