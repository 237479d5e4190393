"""Speaking as VRW in tests: event bodies, and the Standard Webhooks headers that sign them."""

from __future__ import annotations

import json
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from chalicelib.auth.webhooks import parse_secrets, sign
from tests.conftest import VRW_SECRET


def event_body(kind: str, workspace_id: str, *, at: datetime | None = None, **data: Any) -> bytes:
    """A VRW event (`kind` without the `workspace.` prefix) as the raw bytes VRW would send."""
    moment = at or datetime.now(UTC)
    payload = {
        "type": f"workspace.{kind}",
        "timestamp": moment.isoformat(),
        "data": {"workspace_id": workspace_id, **data},
    }
    return json.dumps(payload).encode()


def signed_headers(
    secret: str = VRW_SECRET, body: bytes = b"", *, webhook_id: str | None = None, timestamp: int | None = None
) -> dict[str, str]:
    """The headers VRW sends with `body`, signed with each of the (space-separated) secrets."""
    headers = sign(
        parse_secrets(secret),
        webhook_id or f"msg_{uuid.uuid4().hex}",
        int(time.time()) if timestamp is None else timestamp,
        body,
    )
    return {**headers, "Content-Type": "application/json"}
