"""tusd hook bodies for tests: the recorded shapes in `tests/data/tusd/`, with the values a test needs.

`hook(kind, ...)` loads a body tusd v2 sends and changes only values: the upload's metadata (and the
`Upload-Metadata` header tusd copied it from), id, size and offset. `post_hook` sends one the way tusd
does: JSON, to `/hooks/tusd?secret=...`.
"""

from __future__ import annotations

import base64
import copy
import json
from functools import cache
from pathlib import Path
from typing import Any

from chalice.test import Client

from tests.conftest import TUSD_HOOK_SECRET
from tests.support.api import call

DATA = Path(__file__).parents[1] / "data" / "tusd"
HOOK_URL = "/hooks/tusd"


@cache
def _recorded(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((DATA / f"{name}.json").read_text())
    return loaded


def recorded(name: str) -> dict[str, Any]:
    """A fresh copy of a recorded body (`pre-create`, `post-finish`, `post-terminate`, `v1-pre-create`)."""
    return copy.deepcopy(_recorded(name))


def upload_metadata_header(metadata: dict[str, str]) -> str:
    """The tus `Upload-Metadata` header: `key base64(value)` pairs, comma-separated."""
    return ",".join(f"{key} {base64.b64encode(value.encode()).decode()}" for key, value in metadata.items())


def hook(
    kind: str,
    *,
    metadata: dict[str, str] | None = None,
    tusd_id: str | None = None,
    size: int | None = None,
    offset: int | None = None,
    **upload: Any,
) -> dict[str, Any]:
    """A tusd v2 hook body of type `kind`, from the recording of that kind (pre-create's for kinds not recorded)."""
    base = kind if (DATA / f"{kind}.json").exists() else "pre-create"
    body = recorded(base)
    body["Type"] = kind
    info = body["Event"]["Upload"]
    if metadata is not None:
        info["MetaData"] = metadata
        if base == "pre-create":
            body["Event"]["HTTPRequest"]["Header"]["Upload-Metadata"] = [upload_metadata_header(metadata)]
    if tusd_id is not None:
        info["ID"] = tusd_id
        if base != "pre-create":
            body["Event"]["HTTPRequest"]["URI"] = f"/files/{tusd_id}"
            for key in ("Path", "InfoPath"):
                if key in (info.get("Storage") or {}):
                    info["Storage"][key] = info["Storage"][key].replace("5d892c228ec8d0451dfec588697e8930", tusd_id)
    if size is not None:
        info["Size"] = size
        if base == "pre-create":
            body["Event"]["HTTPRequest"]["Header"]["Upload-Length"] = [str(size)]
    if offset is not None:
        info["Offset"] = offset
    info.update(upload)
    return body


def pre_create(upload_code: str, filename: str = "presentation.pdf", **extra: Any) -> dict[str, Any]:
    """pre-create for a file offered with `upload_code`; `extra` metadata (e.g. sender_name) is added."""
    metadata = {"filename": filename, "filetype": "application/pdf", "upload_code": upload_code, **extra}
    return hook("pre-create", metadata=metadata)


def post_hook(
    client: Client,
    body: Any = None,
    *,
    secret: str | None = TUSD_HOOK_SECRET,
    raw: bytes | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, Any, dict[str, str]]:
    """POST a hook body as tusd does: JSON, the secret in the URL."""
    url = HOOK_URL if secret is None else f"{HOOK_URL}?secret={secret}"
    return call(client, "POST", url, headers=headers, body=body, raw=raw)
