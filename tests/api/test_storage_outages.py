"""The uploads bucket down or throttling, over the API and moto's S3: every drop-off, download and delete route
answers a 503 with Retry-After, and the same request sent again once S3 is back does what it would have done.
A refusal S3 answers because of the caller (a stale upload, parts that changed) stays the caller's 4xx."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError, ReadTimeoutError
from chalice.test import Client

from chalicelib import wiring
from chalicelib.errors import PROBLEM_BASE
from chalicelib.providers.storage import S3Client, S3Storage, s3_client
from chalicelib.services.common.model import PageRequest
from chalicelib.services.dropoff.model import UploadStatus
from chalicelib.wiring import Dependencies
from tests.conftest import StudyCast
from tests.support.api import call
from tests.support.dropoff import PART, Started, complete, parts_of, put_parts, send, sha_hex, start, started

ENDPOINT = "https://s3.eu-west-1.amazonaws.com/"


def s3_error(code: str, status: int) -> Callable[[str], Exception]:
    answer: dict[str, Any] = {"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return lambda operation: ClientError(answer, operation)  # type: ignore[arg-type]


SLOW_DOWN = s3_error("SlowDown", 503)
INTERNAL = s3_error("InternalError", 500)
THROTTLED = s3_error("ThrottlingException", 400)


def unreachable(operation: str) -> Exception:
    return EndpointConnectionError(endpoint_url=ENDPOINT)


def timed_out(operation: str) -> Exception:
    return ReadTimeoutError(endpoint_url=ENDPOINT)


OUTAGES = [SLOW_DOWN, INTERNAL, THROTTLED, unreachable, timed_out]
OUTAGE_IDS = ["slow-down", "internal-error", "throttled", "unreachable", "read-timeout"]


class FlakyS3:
    """moto's S3 client, but the operations in `failing` raise what S3 or the network would; with `after`, the
    operation is done first and only its answer lost."""

    def __init__(self, client: S3Client) -> None:
        self._client = client
        self.failing: dict[str, Callable[[str], Exception]] = {}
        self.after = False

    def __getattr__(self, operation: str) -> Any:
        real = getattr(self._client, operation)
        failure = self.failing.get(operation)
        if failure is None:
            return real

        def failing(*args: Any, **kwargs: Any) -> Any:
            if self.after:
                real(*args, **kwargs)
            raise failure(operation)

        return failing


@pytest.fixture
def s3(deps: Dependencies) -> FlakyS3:
    flaky = FlakyS3(s3_client(deps.settings))
    wiring.install(replace(deps, storage_override=S3Storage(deps.settings, client=flaky)))
    return flaky


@pytest.fixture
def code(deps: Dependencies, cast: StudyCast) -> str:
    study = deps.studies.get(cast.study_id)
    assert study is not None
    return study.upload_code


def assert_unavailable(status: int, problem: Any, headers: dict[str, str]) -> None:
    assert status == 503, problem
    assert problem["type"] == PROBLEM_BASE + "unavailable"
    assert problem["request_id"] == headers["X-Request-Id"]
    assert int(headers["Retry-After"]) >= 1
    # The upload page is on another origin: it can read the header only if CORS exposes it.
    assert "Retry-After" in headers["Access-Control-Expose-Headers"].split(",")


def progress(client: Client, upload: Started) -> tuple[int, Any, dict[str, str]]:
    return call(client, "GET", f"/dropoff/uploads/{upload.upload_id}", headers=upload.headers)


@pytest.mark.parametrize("outage", OUTAGES, ids=OUTAGE_IDS)
def test_a_start_meeting_an_outage_is_a_503_and_starts_nothing(
    client: Client, s3: FlakyS3, deps: Dependencies, cast: StudyCast, code: str, outage: Callable[[str], Exception]
) -> None:
    s3.failing["create_multipart_upload"] = outage

    status, problem, headers = call(
        client, "POST", "/dropoff/uploads", body={"upload_code": code, "filename": "a.csv", "size": 10}
    )

    assert_unavailable(status, problem, headers)
    assert deps.uploads.admitted(PageRequest(limit=100)).items == []
    # AND once S3 answers again, the same request starts the upload
    s3.failing.clear()
    assert start(client, code, "a.csv", 10)[0] == 201


@pytest.mark.parametrize(
    ("operation", "after"),
    [
        ("list_parts", False),
        ("complete_multipart_upload", False),
        ("complete_multipart_upload", True),  # S3 joined the parts; its answer was lost
        ("head_object", False),
    ],
)
@pytest.mark.parametrize("outage", [SLOW_DOWN, unreachable], ids=["slow-down", "unreachable"])
def test_a_complete_meeting_an_outage_is_a_503_and_can_be_sent_again(
    client: Client,
    s3: FlakyS3,
    deps: Dependencies,
    cast: StudyCast,
    code: str,
    operation: str,
    after: bool,
    outage: Callable[[str], Exception],
) -> None:
    # GIVEN an upload whose parts are all in S3
    data = os.urandom(PART) + b"end"
    upload = started(client, code, data)
    put_parts(client, upload, dict(enumerate(parts_of(data), start=1)))

    # WHEN its complete meets the outage
    s3.failing[operation], s3.after = outage, after
    status, problem, headers = call(
        client,
        "POST",
        f"/dropoff/uploads/{upload.upload_id}/complete",
        headers=upload.headers,
        body={"checksum_sha256": sha_hex(data)},
    )

    # THEN it is a 503 and nothing is recorded
    assert_unavailable(status, problem, headers)
    stored = deps.uploads.get(f"{cast.study_id}/{upload.upload_id}")
    assert stored is not None
    assert stored.status is UploadStatus.ADMITTED
    # AND sent again once S3 answers, it records the upload, once, with its checksum
    s3.failing.clear()
    status, record = complete(client, upload, sha_hex(data))
    assert status == 200, record
    assert (record["status"], record["size"], record["checksum_sha256"]) == ("received", len(data), sha_hex(data))
    actions = [e.action for e in deps.studies.audit_log(cast.study_id, PageRequest(limit=100)).items]
    assert actions.count("upload.received") == 1


@pytest.mark.parametrize(
    ("method", "suffix", "operation"),
    [
        ("POST", "/parts", "generate_presigned_url"),  # signing first fetches the function's credentials
        ("GET", "", "list_parts"),
        ("DELETE", "", "abort_multipart_upload"),
    ],
    ids=["parts", "progress", "abort"],
)
def test_the_other_drop_off_routes_meeting_an_outage_are_a_503_and_change_nothing(
    client: Client,
    s3: FlakyS3,
    deps: Dependencies,
    cast: StudyCast,
    code: str,
    method: str,
    suffix: str,
    operation: str,
) -> None:
    upload = started(client, code, b"0123456789")
    body = {"parts": [{"number": 1, "checksum_sha256": "ab" * 32}]} if suffix else None
    s3.failing[operation] = SLOW_DOWN

    status, problem, headers = call(
        client, method, f"/dropoff/uploads/{upload.upload_id}{suffix}", headers=upload.headers, body=body
    )

    assert_unavailable(status, problem, headers)
    stored = deps.uploads.get(f"{cast.study_id}/{upload.upload_id}")
    assert stored is not None
    assert stored.status is UploadStatus.ADMITTED
    s3.failing.clear()
    again = call(client, method, f"/dropoff/uploads/{upload.upload_id}{suffix}", headers=upload.headers, body=body)
    assert again[0] in (200, 204), again
    assert progress(client, upload)[1]["state"] == ("aborted" if method == "DELETE" else "admitted")


@pytest.mark.parametrize("outage", [SLOW_DOWN, unreachable], ids=["slow-down", "unreachable"])
def test_a_download_meeting_an_outage_is_a_503_and_not_audited(
    client: Client, s3: FlakyS3, deps: Dependencies, cast: StudyCast, code: str, outage: Callable[[str], Exception]
) -> None:
    upload, _ = send(client, code, b"some data")
    path = f"/studies/{cast.study_id}/uploads/{upload.upload_id}/download"
    s3.failing["generate_presigned_url"] = outage

    status, problem, headers = call(client, "GET", path, headers=cast.contributor.headers)

    assert_unavailable(status, problem, headers)
    latest = deps.studies.audit_log(cast.study_id, PageRequest(limit=1)).items[0]
    assert latest.action != "upload.downloaded"
    s3.failing.clear()
    assert call(client, "GET", path, headers=cast.contributor.headers)[0] == 200


def test_a_delete_meeting_an_outage_is_a_503_and_keeps_the_record_until_sent_again(
    client: Client, s3: FlakyS3, deps: Dependencies, cast: StudyCast, code: str
) -> None:
    upload, _ = send(client, code, b"some data")
    path = f"/studies/{cast.study_id}/uploads/{upload.upload_id}"
    s3.failing["list_object_versions"] = SLOW_DOWN

    status, problem, headers = call(client, "DELETE", path, headers=cast.admin.headers)

    assert_unavailable(status, problem, headers)
    assert deps.uploads.get(f"{cast.study_id}/{upload.upload_id}") is not None
    s3.failing.clear()
    assert call(client, "DELETE", path, headers=cast.admin.headers)[0] == 204
    assert deps.uploads.get(f"{cast.study_id}/{upload.upload_id}") is None


@pytest.mark.parametrize(
    ("operation", "error"),
    [
        ("list_parts", s3_error("NoSuchUpload", 404)),  # the upload id S3 knew is stale: aborted or expired
        ("complete_multipart_upload", s3_error("InvalidPart", 400)),
    ],
    ids=["no-such-upload", "invalid-part"],
)
def test_a_refusal_s3_answers_for_the_callers_upload_stays_a_4xx(
    client: Client, s3: FlakyS3, code: str, operation: str, error: Callable[[str], Exception]
) -> None:
    data = os.urandom(PART) + b"end"
    upload = started(client, code, data)
    put_parts(client, upload, dict(enumerate(parts_of(data), start=1)))
    s3.failing[operation] = error

    status, problem = complete(client, upload, sha_hex(data))

    assert status == 409, problem
