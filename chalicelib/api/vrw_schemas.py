"""The body VRW posts to `/hooks/vrw`, and the receipt it gets back."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from msgspec import Meta, Struct

from chalicelib.api.schemas import Id, Request
from chalicelib.api.workspace_schemas import StatusName

# Any well-formed name: VRW may add event types, and one the broker does not know is acknowledged and ignored
# (Standard Webhooks senders retry every non-2xx answer for days).
VrwEventName = Annotated[
    str,
    Meta(
        min_length=1,
        max_length=100,
        pattern=r"^[a-z][a-z0-9_-]*(\.[a-z][a-z0-9_-]*)*$",
        description=(
            "workspace.configuring, workspace.ready, workspace.failed or workspace.deleted; "
            "any other type is answered 200 with outcome `ignored` and changes nothing"
        ),
    ),
]


class VrwAccess(Request):
    url: Annotated[str, Meta(min_length=1, max_length=2048, description="an http(s) URL")]
    ip: Annotated[str, Meta(min_length=2, max_length=45, description="an IPv4 or IPv6 address")]
    username: Annotated[str, Meta(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$")]


class VrwEventData(Request):
    workspace_id: Id
    # workspace.ready only.
    access: VrwAccess | None = None
    # workspace.failed only: why, in words a researcher can read.
    reason: Annotated[str, Meta(min_length=1, max_length=2000)] | None = None


class VrwEventBody(Request):
    """A Standard Webhooks payload: the event's type, when it happened (its order), and its data."""

    type: VrwEventName
    timestamp: Annotated[datetime, Meta(tz=True, description="when the event happened, RFC 3339 with offset")]
    data: VrwEventData


class VrwReceipt(Struct):
    """applied: the workspace moved; unchanged: it already was there; stale: older than VRW's last report;
    duplicate: this webhook-id was handled before; recorded: a `deleted` about a workspace whose virtual
    machine the broker is still deleting, noted in its history (it becomes DELETED once OpenStack confirms);
    ignored: an event type the broker does not know."""

    outcome: Literal["applied", "unchanged", "stale", "duplicate", "recorded", "ignored"]
    workspace_id: str
    # null when the event was ignored (the broker did not read the workspace).
    status: StatusName | None
