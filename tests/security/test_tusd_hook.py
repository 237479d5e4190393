"""The tusd hook under attack: the secret, deny-list bypasses, hostile metadata and odd bodies.

Whoever uploads controls the metadata (file name, code, sender); whoever reaches the hook URL without
the secret controls nothing. Every refusal an uploader can provoke is a 200 with `RejectUpload` and a
4xx the uploader reads; every body tusd v2 would not send is a 4xx problem; nothing is ever a 5xx.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest
from chalice.test import Client

from chalicelib.services.dropoff.uploads import UPLOAD_CODE
from tests.conftest import TUSD_HOOK_SECRET, Person, StudyCast
from tests.support.api import call, snapshot
from tests.support.tusd import HOOK_URL, hook, post_hook, pre_create


def upload_code(client: Client, cast: StudyCast) -> str:
    status, study, _ = call(client, "GET", f"/studies/{cast.study_id}", headers=cast.owner.headers)
    assert status == 200
    url: str = study["upload_url"]
    return url.removeprefix("https://upload.test/u/")


def refusal(answer: dict[str, Any]) -> tuple[int, str]:
    """The status and reason tusd passes on to the uploader."""
    assert answer["RejectUpload"] is True, answer
    assert "ChangeFileInfo" not in answer
    response = answer["HTTPResponse"]
    assert response["Header"] == {"Content-Type": "application/problem+json"}
    problem = json.loads(response["Body"])
    assert problem["status"] == response["StatusCode"]
    assert problem["title"] == "Upload refused"
    return response["StatusCode"], problem["detail"]


def latest_audit(client: Client, cast: StudyCast) -> dict[str, Any]:
    status, page, _ = call(client, "GET", f"/studies/{cast.study_id}/audit?limit=1", headers=cast.owner.headers)
    assert status == 200
    entry: dict[str, Any] = page["items"][0]
    return entry


# The secret ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?secret=",
        "?secret=wrong",
        "?secret=" + TUSD_HOOK_SECRET[:-1],
        "?secret=" + TUSD_HOOK_SECRET + "x",
        "?secret=" + TUSD_HOOK_SECRET.upper(),
        "?Secret=" + TUSD_HOOK_SECRET,
        "?token=" + TUSD_HOOK_SECRET,
        "?secret=%FF%FE%00",
        "?secret=" + quote("é" * 600),
        "?secret=" + "x" * 5000,
    ],
)
def test_a_missing_or_wrong_secret_is_a_401_before_the_body_is_read(
    client: Client, cast: StudyCast, query: str
) -> None:
    before = snapshot()

    # a body that would be refused as malformed, had the hook read it
    status, payload, headers = call(client, "POST", HOOK_URL + query, raw=b'{"Type": ')

    assert status == 401, payload
    assert headers["Content-Type"] == "application/problem+json"
    assert payload["status"] == 401
    assert snapshot() == before


@pytest.mark.parametrize("role", ["owner", "admin", "platform_admin", "owner_token"])
def test_a_bearer_token_without_the_secret_is_a_401(client: Client, cast: StudyCast, role: str) -> None:
    body = pre_create(upload_code(client, cast))

    status, payload, _ = post_hook(client, body, secret=None, headers=cast.by_role(role).headers)
    wrong, _, _ = post_hook(client, body, secret="wrong", headers=cast.by_role(role).headers)

    assert (status, wrong) == (401, 401), payload


def test_the_secret_as_a_bearer_token_is_a_401(client: Client, cast: StudyCast) -> None:
    headers = {"Authorization": f"Bearer {TUSD_HOOK_SECRET}"}

    status, _, _ = post_hook(client, pre_create(upload_code(client, cast)), secret=None, headers=headers)

    assert status == 401


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/me"),
        ("GET", "/studies"),
        ("GET", "/studies/{study_id}"),
        ("GET", "/studies/{study_id}/uploads"),
        ("POST", "/studies/{study_id}/upload-code"),
    ],
)
def test_the_secret_grants_nothing_on_any_other_route(client: Client, cast: StudyCast, method: str, path: str) -> None:
    url = path.format(study_id=cast.study_id) + f"?secret={TUSD_HOOK_SECRET}"

    status, _, _ = call(client, method, url)

    assert status == 401


def test_neither_the_secret_nor_an_upload_code_is_logged(
    client: Client, cast: StudyCast, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN everything logged, at every level
    caplog.set_level(logging.DEBUG)
    code = upload_code(client, cast)

    # WHEN tusd calls, and others try: accepted, refused, an unknown code, a wrong secret
    post_hook(client, pre_create(code))
    post_hook(client, pre_create(code, "evil.exe"))
    post_hook(client, pre_create("A" * 32))
    post_hook(client, pre_create(code), secret="not-the-secret-but-close")

    # THEN no log line holds either secret, whoever logged it and at whatever level
    everything = "\n".join(record.getMessage() for record in caplog.records)
    assert TUSD_HOOK_SECRET not in everything
    assert "not-the-secret-but-close" not in everything
    # AND the broker logs no upload code; only a library's DEBUG output of its DynamoDB query holds one
    ours_or_loud = "\n".join(
        record.getMessage()
        for record in caplog.records
        if record.name.startswith("chalicelib") or record.levelno >= logging.INFO
    )
    for code_sent in (code, "A" * 32):
        assert code_sent not in ours_or_loud


# What an uploader controls: the metadata -----------------------------------------------------------

# (file name as the uploader's client sends it, status the uploader gets, words in the reason)
BAD_NAMES: list[tuple[str, int, str]] = [
    ("report.EXE", 415, ".exe"),
    ("data.tar.sh", 415, ".sh"),
    ("x.bat.", 415, ".bat"),
    ("x.bat ", 415, ".bat"),
    ("x.BaT. . .", 415, ".bat"),
    ("x.pdf.exe", 415, ".exe"),
    ("..\\..\\evil.lnk", 415, ".lnk"),
    ("../../evil.com", 415, ".com"),
    ("setup.\uff45\uff58\uff45", 415, ".exe"),  # full-width letters
    (".sh", 415, ".sh"),
    ("evil.exe::$DATA", 400, "may not contain :"),
    ("invoice\u202eexe.pdf", 400, "control characters"),  # shows as invoicefdp.exe
    ("line\nbreak.pdf", 400, "control characters"),
    ("nul\x00.pdf", 400, "control characters"),
    ("r\ufffdport.pdf", 400, "not valid UTF-8"),  # tusd's stand-in for bytes that were not UTF-8
    ("a" * 5000 + ".pdf", 400, "longer than 255"),
    ("a" * 300 + ".pdf", 400, "longer than 255"),
    ("what?.pdf", 400, "may not contain ?"),
    ("", 400, "no file name"),
    ("   ", 400, "no file name"),
    ("../", 400, "no file name"),
    ("...", 400, "no file name"),
]


@pytest.mark.parametrize(("filename", "expected", "words"), BAD_NAMES)
def test_a_bad_file_name_is_refused_with_a_reason_and_audited(
    client: Client, cast: StudyCast, filename: str, expected: int, words: str
) -> None:
    status, answer, _ = post_hook(client, pre_create(upload_code(client, cast), filename))

    assert status == 200
    refused_with, reason = refusal(answer)
    assert refused_with == expected
    assert words in reason
    entry = latest_audit(client, cast)
    assert (entry["action"], entry["outcome"], entry["actor_id"]) == ("upload.refused", "denied", "upload-link")
    assert reason in entry["detail"]
    # the name is in the log, one line and cut short
    assert "\n" not in entry["detail"]
    assert len(entry["detail"]) < 400


@pytest.mark.parametrize(
    "filename",
    ["presentation.pdf", "résumé.docx", "data.tar.gz", "README", ".bashrc", "shell.sh.txt", "x.commands", "scan.img"],
)
def test_an_allowed_file_name_is_accepted(client: Client, cast: StudyCast, filename: str) -> None:
    status, answer, _ = post_hook(client, pre_create(upload_code(client, cast), filename))

    assert status == 200
    assert answer["ChangeFileInfo"]["MetaData"]["filename"] == filename


def test_a_missing_file_name_is_refused(client: Client, cast: StudyCast) -> None:
    body = hook("pre-create", metadata={UPLOAD_CODE: upload_code(client, cast)})

    status, answer, _ = post_hook(client, body)

    assert status == 200
    assert refusal(answer) == (400, "The upload has no file name.")


# (extra metadata, status, words in the reason)
BAD_SENDERS: list[tuple[dict[str, str], int, str]] = [
    ({"sender_email": "not-an-email"}, 400, "email"),
    ({"sender_email": "lab@hospital.example\r\nBcc: all@example.org"}, 400, "email"),
    ({"sender_email": "x" * 250 + "@example.org"}, 400, "email"),
    # Issue 13.6: one plain address only, before it becomes a Reply-To
    ({"sender_email": "<lab@hospital.example>"}, 400, "one plain address"),
    ({"sender_email": "Dr Lab <lab@hospital.example>"}, 400, "one plain address"),
    ({"sender_email": '"Dr Lab"<lab@hospital.example>'}, 400, "one plain address"),
    ({"sender_email": "lab@hospital.example,all@example.org"}, 400, "one plain address"),
    ({"sender_email": "all@example.org,lab@hospital.example"}, 400, "one plain address"),
    ({"sender_email": "lab,all@example.org"}, 400, "one plain address"),
    ({"sender_email": "lab@hospital.example;all@example.org"}, 400, "one plain address"),
    ({"sender_email": "(boss)lab@hospital.example"}, 400, "one plain address"),
    ({"sender_email": '"a@b"@hospital.example'}, 400, "one plain address"),
    ({"sender_email": "lab@hospital.example\nBcc:all@example.org"}, 400, "email"),
    ({"sender_email": "lab..x@hospital.example"}, 400, "one plain address"),
    ({"sender_email": "lab@-hospital.example"}, 400, "one plain address"),
    ({"sender_email": "lab@hospital"}, 400, "one plain address"),
    ({"sender_name": "n" * 201}, 400, "sender's name"),
    ({"sender_name": "Dr.\u0007Bell"}, 400, "sender's name"),
    ({"filetype": "application/\ufffd"}, 400, "file type"),
]


@pytest.mark.parametrize(("extra", "expected", "words"), BAD_SENDERS)
def test_bad_sender_details_are_refused(
    client: Client, cast: StudyCast, extra: dict[str, str], expected: int, words: str
) -> None:
    status, answer, _ = post_hook(client, pre_create(upload_code(client, cast), "fine.csv", **extra))

    assert status == 200
    refused_with, reason = refusal(answer)
    assert refused_with == expected
    assert words in reason


@pytest.mark.parametrize(
    ("changes", "expected", "words"),
    [
        ({"size": 50 * 1024**3 + 1}, 413, "the limit is 50 GB"),
        ({"SizeIsDeferred": True, "size": 0}, 400, "state its size"),
        ({"Size": None}, 400, "state its size"),
        ({"IsPartial": True}, 400, "one piece"),
        ({"IsFinal": True, "PartialUploads": ["a", "b"]}, 400, "one piece"),
    ],
)
def test_what_the_drop_off_does_not_take_is_refused(
    client: Client, cast: StudyCast, changes: dict[str, Any], expected: int, words: str
) -> None:
    metadata = {"filename": "big.bin", UPLOAD_CODE: upload_code(client, cast)}

    status, answer, _ = post_hook(client, hook("pre-create", metadata=metadata, **changes))

    assert status == 200
    refused_with, reason = refusal(answer)
    assert (refused_with, words in reason) == (expected, True), reason


# The upload code ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("", 400),
        ("   ", 400),
        ("A" * 32, 403),
        ("../../studies", 403),
        ("x" * 5000, 403),
        ("\u00f1" * 32, 403),
        ("\ufffd" * 32, 403),
    ],
)
def test_a_missing_or_unknown_code_is_refused_and_writes_nothing(
    client: Client, cast: StudyCast, code: str, expected: int
) -> None:
    before = snapshot()

    status, answer, _ = post_hook(client, pre_create(code))

    assert status == 200
    assert refusal(answer)[0] == expected
    assert snapshot() == before


def test_no_upload_code_at_all_is_refused(client: Client) -> None:
    status, answer, _ = post_hook(client, hook("pre-create", metadata={"filename": "x.pdf"}))

    assert status == 200
    assert refusal(answer)[0] == 400


def test_a_replaced_code_stops_working_at_once(client: Client, cast: StudyCast) -> None:
    old = upload_code(client, cast)
    status, fresh, _ = call(client, "POST", f"/studies/{cast.study_id}/upload-code", headers=cast.admin.headers)
    assert status == 200

    refused = post_hook(client, pre_create(old))
    accepted = post_hook(client, pre_create(fresh["upload_code"]))

    assert refusal(refused[1])[0] == 403
    assert accepted[1]["ChangeFileInfo"]["ID"].startswith(cast.study_id + "/")


def test_the_code_of_a_deleted_study_is_dead(client: Client, cast: StudyCast) -> None:
    code = upload_code(client, cast)
    assert call(client, "DELETE", f"/studies/{cast.study_id}", headers=cast.owner.headers)[0] == 204

    status, answer, _ = post_hook(client, pre_create(code))

    assert status == 200
    assert refusal(answer)[0] == 403


def test_another_studys_code_puts_the_upload_in_that_study_only(
    client: Client, cast: StudyCast, person: Callable[..., Person]
) -> None:
    other = person("other")
    status, study, _ = call(client, "POST", "/studies", headers=other.headers, body={"name": "Other"})
    assert status == 201
    other_code = study["upload_url"].removeprefix("https://upload.test/u/")

    status, answer, _ = post_hook(client, pre_create(other_code))

    assert answer["ChangeFileInfo"]["ID"].startswith(study["id"] + "/")


# Bodies no tusd sends -----------------------------------------------------------------------------

ODD_BODIES: list[bytes] = [
    b"",
    b"not json",
    b'{"Type": "pre-create"',
    b"\xff\xfe{}",
    b'{"Type": "pre-\xff"}',
    b'{"Type": "\\ud800"}',
    b"[]",
    b"null",
    b"5",
    b'"pre-create"',
    b"[" * 100_000 + b"]" * 100_000,
    b'{"Type": "pre-create", "Event": ' + b"[" * 100_000 + b"]" * 100_000 + b"}",
    b'{"Type": "pre-create", "Event": {"Upload": {"MetaData": ' + b"{" * 50_000 + b"}" * 50_000 + b"}}}",
    b'{"Type": 5, "Event": {"Upload": {}}}',
    b'{"Type": "' + b"p" * 100 + b'", "Event": {"Upload": {}}}',
    b'{"Type": "pre-create", "Event": null}',
    b'{"Type": "pre-create", "Event": {}}',
    b'{"Type": "pre-create", "Event": {"Upload": []}}',
    b'{"Type": "pre-create", "Event": {"Upload": {"MetaData": {"filename": 5}}}}',
    b'{"Type": "pre-create", "Event": {"Upload": {"MetaData": ["filename", "x"]}}}',
    b'{"Type": "pre-create", "Event": {"Upload": {"Size": -1}}}',
    b'{"Type": "pre-create", "Event": {"Upload": {"Size": 1e400}}}',
    b'{"Type": "pre-create", "Event": {"Upload": {"Size": 99999999999999999999999}}}',
    b'{"Type": "pre-create", "Event": {"Upload": {"Size": "5"}}}',
    b'{"Type": "post-finish", "Event": {"Upload": {"Storage": ["a"]}}}',
    b'{"Type": "post-finish", "Event": {"Upload": {"ID": 7}}}',
    b'{"Type": "post-finish", "Event": {"Upload": {}, "HTTPRequest": {"Header": {"A": "not-a-list"}}}}',
    b'{"Type": "post-finish", "Event": {"Upload": {"IsPartial": "yes"}}}',
]


@pytest.mark.parametrize("raw", ODD_BODIES, ids=lambda raw: repr(raw[:40]))
def test_an_odd_body_is_a_4xx_problem_and_changes_nothing(client: Client, cast: StudyCast, raw: bytes) -> None:
    before = snapshot()

    status, payload, headers = post_hook(client, raw=raw)

    assert 400 <= status < 500, payload
    assert headers["Content-Type"] == "application/problem+json"
    assert snapshot() == before


def test_a_1_mb_hook_body_is_a_413(client: Client, cast: StudyCast) -> None:
    body = pre_create(upload_code(client, cast), "fine.csv", padding="x" * 1_000_000)

    status, payload, _ = post_hook(client, body)

    assert status == 413, payload


def test_a_body_not_sent_as_json_is_a_415(client: Client) -> None:
    status, _, _ = call(
        client, "POST", f"{HOOK_URL}?secret={TUSD_HOOK_SECRET}", raw=b"Type=pre-create", content_type="text/plain"
    )

    assert status == 415


_ODD_VALUES: list[Any] = [
    None,
    True,
    0,
    -1,
    2**64,
    1.5,
    "",
    "x" * 300,
    "\ufffd",
    "\u0000",
    "\u202e",
    [],
    {},
    [None],
    {"a": {"b": [1, {"c": None}]}},
    ["x"] * 50,
]


def _paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    paths = [prefix]
    if isinstance(value, dict):
        for key, item in value.items():
            paths += _paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            paths += _paths(item, (*prefix, index))
    return paths


def _mutated(body: dict[str, Any], rng: random.Random) -> Any:
    """`body` with one value replaced by an odd one, one key dropped, or one key added."""
    path = rng.choice(_paths(body)[1:])
    *parent_path, last = path
    parent: Any = body
    for step in parent_path:
        parent = parent[step]
    move = rng.random()
    if move < 0.15 and isinstance(parent, dict):
        del parent[last]
    elif move < 0.25 and isinstance(parent, dict):
        parent[rng.choice(["Extra", "ID", "type", ""])] = rng.choice(_ODD_VALUES)
    else:
        parent[last] = rng.choice(_ODD_VALUES)
    return body


@pytest.mark.parametrize("seed", range(3))
def test_mutated_hook_bodies_never_get_a_5xx(client: Client, cast: StudyCast, seed: int) -> None:
    # GIVEN real bodies of each hook with a live code and an id the broker gave out
    rng = random.Random(seed)
    code = upload_code(client, cast)
    tusd_id = f"{cast.study_id}/{'ab' * 16}"
    originals = [
        pre_create(code),
        hook("post-finish", tusd_id=tusd_id),
        hook("post-terminate", tusd_id=tusd_id),
    ]

    # WHEN each is sent many times with a value swapped for an odd one (or a key dropped or added)
    statuses = []
    for _ in range(60):
        body = _mutated(json.loads(json.dumps(rng.choice(originals))), rng)
        status, payload, headers = post_hook(client, body)
        statuses.append(status)
        # THEN the hook answers, never with a 5xx; a 200 is a hook response, anything else a problem
        assert status < 500, (body, payload)
        expected = "application/json" if status == 200 else "application/problem+json"
        assert headers["Content-Type"] == expected

    assert any(s == 200 for s in statuses)
    assert any(400 <= s < 500 for s in statuses)
