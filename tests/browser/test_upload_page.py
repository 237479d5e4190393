"""The upload page in headless Chromium against the local stack: a file of three parts into moto's S3, cut off
mid-way and resumed, the receipt, a member's byte-for-byte download; a refused type, and an upload code replaced
mid-way, shown in plain words."""

from __future__ import annotations

import hashlib
import os
import re
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from playwright.sync_api import BrowserContext, Page, Route, expect

from tests.browser.local_stack import logged_in, running_stack
from tests.support.stack import RunningStack

pytestmark = [pytest.mark.e2e, pytest.mark.xdist_group("e2e")]

PART_BYTES = 5 * 1024**2  # S3's smallest part, so three parts stay small


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    """`python -m vre_app local` on free ports, with S3's smallest part size (the caller's settings win)."""
    folder = tmp_path_factory.mktemp("upload-stack")
    with running_stack(folder, UPLOAD_PART_BYTES=str(PART_BYTES), OS_CLOUD="a-real-cloud") as running:
        yield running


def new_study(stack: RunningStack, name: str) -> dict[str, Any]:
    """A study of a fresh owner, as its owner reads it (its upload link too), with the owner's token."""
    email = f"owner.{uuid.uuid4().hex[:8]}@example.org"
    token = stack.token(email, "Study Owner")
    created = stack.call("POST", "/studies", token, json={"name": name, "description": "", "research_field": "biology"})
    assert created.status_code == 201, created.text
    body: dict[str, Any] = stack.call("GET", f"/studies/{created.json()['id']}", token).json()
    body["token"] = token
    return body


@pytest.fixture(scope="module")
def study(stack: RunningStack) -> dict[str, Any]:
    return new_study(stack, "Upload page")


def upload_link(study: dict[str, Any]) -> str:
    return str(study["upload_url"])


def part_number(url: str) -> str:
    return re.sub(r".*partNumber=(\d+).*", r"\1", url)


def wait_until(page: Page, condition: Callable[[], bool], seconds: float = 30) -> None:
    """Let the page run (its event handlers too) until `condition` holds."""
    for _ in range(int(seconds * 10)):
        if condition():
            return
        page.wait_for_timeout(100)
    raise AssertionError("timed out waiting")


def test_a_lab_uploads_three_parts_is_cut_off_resumes_and_a_member_downloads_it(
    stack: RunningStack,
    study: dict[str, Any],
    page: Page,
    context: BrowserContext,
    shot: Callable[[Page, str], Path],
    tmp_path: Path,
) -> None:
    # GIVEN the part size the broker cuts files in, and a random file of three parts
    code = upload_link(study).rsplit("/", 1)[1]
    probe = stack.call("POST", "/dropoff/uploads", json={"upload_code": code, "filename": "probe.bin", "size": 1})
    assert probe.status_code == 201, probe.text
    part_size = probe.json()["part_size"]
    stack.call(
        "DELETE",
        f"/dropoff/uploads/{probe.json()['upload_id']}",
        headers={"Upload-Secret": probe.json()["upload_secret"]},
    )
    data = os.urandom(2 * part_size + 1024**2)
    path = tmp_path / "scan-01.nii"
    path.write_bytes(data)

    # AND the connection to storage drops while part 2 goes up (its first two tries)
    dropped: list[str] = []

    def flaky(route: Route) -> None:
        if "partNumber=2" in route.request.url and len(dropped) < 2:
            dropped.append(route.request.url)
            route.abort("internetdisconnected")
        else:
            route.continue_()

    context.route(re.compile(rf"^http://(127\.0\.0\.1|localhost):{stack.moto_port}/.*"), flaky)

    # WHEN the lab opens the upload link, chooses the file, names itself and uploads
    hosts: set[str] = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).hostname or request.url))
    page.goto(upload_link(study))
    expect(page.get_by_role("heading", name="Upload files")).to_be_visible()
    page.get_by_label("Drop files here, or choose them").set_input_files(str(path))
    page.get_by_label("Your name (optional)").fill("Lab Tech")
    shot(page, "chosen")
    page.get_by_role("button", name="Upload").click()

    # THEN it says the connection was lost, retries, and shows the receipt with the file's SHA-256
    expect(page.get_by_text("Connection lost; retrying…")).to_be_visible(timeout=30_000)
    shot(page, "cut-off")
    whole = hashlib.sha256(data).hexdigest()
    receipt = page.get_by_role("region", name="Receipt")
    expect(receipt).to_contain_text(whole, timeout=60_000)
    expect(receipt).to_contain_text("scan-01.nii")
    shot(page, "receipt")
    assert len(dropped) == 2
    assert hosts <= {"127.0.0.1", "localhost"}  # the page, its bundle (Uppy in it), the API and S3: no CDN
    upload_id = receipt.locator("tr[data-upload-id]").get_attribute("data-upload-id")

    # AND a member of the study downloads it byte for byte
    link = stack.call("GET", f"/studies/{study['id']}/uploads/{upload_id}/download", study["token"])
    assert link.status_code == 200, link.text
    fetched = requests.get(link.json()["url"], timeout=60)
    assert fetched.status_code == 200
    assert hashlib.sha256(fetched.content).hexdigest() == whole


def test_a_refused_type_shows_its_message(
    stack: RunningStack, study: dict[str, Any], page: Page, shot: Callable[[Page, str], Path], tmp_path: Path
) -> None:
    # GIVEN a program, which the drop-off refuses
    path = tmp_path / "setup.exe"
    path.write_bytes(b"MZ" + os.urandom(100))

    # WHEN the lab tries to upload it
    page.goto(upload_link(study))
    page.get_by_label("Drop files here, or choose them").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()

    # THEN the page shows the broker's reason, in plain words
    alert = page.locator("li[data-file='setup.exe'] [role=alert]")
    expect(alert).to_contain_text("Refused:")
    expect(alert).to_contain_text(".exe")
    shot(page, "refused")


def test_a_reload_mid_way_resumes_with_only_the_missing_parts(
    stack: RunningStack,
    study: dict[str, Any],
    page: Page,
    context: BrowserContext,
    shot: Callable[[Page, str], Path],
    tmp_path: Path,
) -> None:
    # GIVEN a file of three parts whose third part cannot reach storage yet
    data = os.urandom(2 * PART_BYTES + 4096)
    path = tmp_path / "scan-02.nii"
    path.write_bytes(data)
    puts: list[str] = []
    cut_off = [True]  # part 3 cannot reach storage until the reload

    def storage(route: Route) -> None:
        if route.request.method == "PUT":
            puts.append(part_number(route.request.url))
        if "partNumber=3" in route.request.url and cut_off[0]:
            route.abort("internetdisconnected")
        else:
            route.continue_()

    moto = re.compile(rf"^http://(127\.0\.0\.1|localhost):{stack.moto_port}/.*")
    context.route(moto, storage)
    in_storage: list[str] = []  # parts S3 answered 200 (Uppy sends parts side by side, not in order)
    page.on("response", lambda r: in_storage.append(part_number(r.url)) if r.request.method == "PUT" and r.ok else None)
    page.goto(upload_link(study))
    page.get_by_label("Drop files here, or choose them").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("Connection lost; retrying…")).to_be_visible(timeout=30_000)
    wait_until(page, lambda: {"1", "2"} <= set(in_storage))

    # WHEN the page is reloaded and the lab chooses the same file again
    page.reload()
    puts.clear()
    cut_off[0] = False
    page.get_by_label("Drop files here, or choose them").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()

    # THEN only the third part is sent again, and the receipt has the file's SHA-256
    receipt = page.get_by_role("region", name="Receipt")
    expect(receipt).to_contain_text(hashlib.sha256(data).hexdigest(), timeout=60_000)
    shot(page, "resumed")
    assert puts == ["3"]


def test_an_upload_code_replaced_mid_way_ends_the_file_at_once_in_plain_words(
    stack: RunningStack, page: Page, context: BrowserContext, shot: Callable[[Page, str], Path], tmp_path: Path
) -> None:
    # GIVEN a study of its own (its code is replaced here) and a file of three parts, the third held on its way
    study = new_study(stack, "Upload code replaced")
    path = tmp_path / "scan-04.nii"
    path.write_bytes(os.urandom(2 * PART_BYTES + 4096))
    held: list[Route] = []

    def storage(route: Route) -> None:
        if route.request.method == "PUT" and part_number(route.request.url) == "3" and not held:
            held.append(route)  # answered below, once the code is replaced
        else:
            route.continue_()

    context.route(re.compile(rf"^http://(127\.0\.0\.1|localhost):{stack.moto_port}/.*"), storage)
    in_storage: list[str] = []
    page.on("response", lambda r: in_storage.append(part_number(r.url)) if r.request.method == "PUT" and r.ok else None)
    signs: list[str] = []
    deletes: list[str] = []
    page.on("request", lambda r: signs.append(r.url) if r.method == "POST" and r.url.endswith("/parts") else None)
    page.on("request", lambda r: deletes.append(r.url) if r.method == "DELETE" else None)
    page.goto(upload_link(study))
    page.get_by_label("Drop files here, or choose them").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    wait_until(page, lambda: bool(held) and {"1", "2"} <= set(in_storage))
    assert len(signs) == 3

    # WHEN a researcher replaces the study's upload code, and the held part's connection then drops
    rotated = stack.call("POST", f"/studies/{study['id']}/upload-code", study["token"])
    assert rotated.status_code == 200, rotated.text
    began = time.monotonic()
    held[0].abort("internetdisconnected")

    # THEN Uppy signs the part again, the broker refuses, and the page says why within seconds, not retrying
    alert = page.locator("li[data-file='scan-04.nii'] [role=alert]")
    expect(alert).to_contain_text("Refused: This upload link is not valid (any more)", timeout=5_000)
    refused_after = time.monotonic() - began
    shot(page, "code-replaced")
    page.wait_for_timeout(3_000)
    assert len(signs) == 4, signs  # the three parts, and part 3 signed again once: refused, then nothing
    assert refused_after < 5, refused_after
    expect(page.get_by_role("button", name="Upload")).to_be_enabled()

    # AND the upload is not aborted: the page keeps it, and only the person's Remove would abort it
    assert deletes == []
    kept = page.evaluate("() => Object.keys(sessionStorage).filter(k => k.startsWith('vre-upload:')).length")
    assert kept == 1


def test_cancelling_a_file_mid_way_aborts_its_upload(
    stack: RunningStack,
    study: dict[str, Any],
    page: Page,
    context: BrowserContext,
    shot: Callable[[Page, str], Path],
    tmp_path: Path,
) -> None:
    # GIVEN a file of three parts on its way, whose third part cannot reach storage
    path = tmp_path / "scan-03.nii"
    path.write_bytes(os.urandom(2 * PART_BYTES + 4096))

    def storage(route: Route) -> None:
        if "partNumber=3" in route.request.url:
            route.abort("internetdisconnected")
        else:
            route.continue_()

    context.route(re.compile(rf"^http://(127\.0\.0\.1|localhost):{stack.moto_port}/.*"), storage)
    page.goto(upload_link(study))
    page.get_by_label("Drop files here, or choose them").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    expect(page.get_by_text("Connection lost; retrying…")).to_be_visible(timeout=30_000)
    kept = page.evaluate(
        "() => Object.keys(sessionStorage).filter(k => k.startsWith('vre-upload:'))"
        ".map(k => JSON.parse(sessionStorage.getItem(k)))"
    )
    assert len(kept) == 1
    upload_id, secret = kept[0]["upload_id"], kept[0]["upload_secret"]

    # WHEN the lab cancels the file
    def aborts(request: Any) -> bool:
        return bool(request.method == "DELETE" and request.url.endswith(f"/dropoff/uploads/{upload_id}"))

    with page.expect_request(aborts) as aborting:
        page.get_by_role("button", name="Cancel scan-03.nii").click()

    # THEN the page called the broker's abort route, the upload is aborted there, and the page forgot it
    response = aborting.value.response()
    assert response is not None
    assert response.status == 204
    expect(page.locator("li[data-file='scan-03.nii']")).to_have_count(0)
    shot(page, "cancelled")
    state = stack.call("GET", f"/dropoff/uploads/{upload_id}", headers={"Upload-Secret": secret})
    assert state.status_code == 200, state.text
    assert state.json()["state"] == "aborted"
    assert page.evaluate("() => Object.keys(sessionStorage).filter(k => k.startsWith('vre-upload:')).length") == 0


def test_the_owner_sees_the_upload_in_the_console_downloads_and_deletes_it(
    stack: RunningStack,
    study: dict[str, Any],
    context: BrowserContext,
    page: Page,
    shot: Callable[[Page, str], Path],
    tmp_path: Path,
) -> None:
    # GIVEN a file the lab dropped off through the upload page
    data = os.urandom(300 * 1024)
    path = tmp_path / "survey-answers.csv"
    path.write_bytes(data)
    page.goto(upload_link(study))
    page.get_by_label("Drop files here, or choose them").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    whole = hashlib.sha256(data).hexdigest()
    expect(page.get_by_role("region", name="Receipt")).to_contain_text(whole, timeout=60_000)

    # WHEN the study's owner opens the study in the console
    logged_in(context, stack, study["token"])
    console = context.new_page()
    console.goto(f"{stack.frontend}/studies/{study['id']}")
    uploads = console.get_by_role("region", name="Uploads")
    row = uploads.get_by_role("row").filter(has_text="survey-answers.csv")

    # THEN the upload is listed with the start of its SHA-256, and Download saves the very bytes
    expect(row).to_contain_text(whole[:12])
    shot(console, "console-uploads")
    with console.expect_download() as saving:
        row.get_by_role("button", name="Download").click()
    saved = saving.value.path()
    assert saving.value.suggested_filename == "survey-answers.csv"
    assert hashlib.sha256(Path(saved).read_bytes()).hexdigest() == whole

    # AND Delete (confirmed) removes it from the list and from the API
    console.once("dialog", lambda dialog: dialog.accept())
    row.get_by_role("button", name="Delete survey-answers.csv").click()
    expect(row).to_have_count(0)
    shot(console, "console-upload-deleted")
    listed = stack.call("GET", f"/studies/{study['id']}/uploads", study["token"]).json()["items"]
    assert "survey-answers.csv" not in [item["file_name"] for item in listed]
