"""Integration hooks: `POST /hooks/vrw`, where VRW reports on the workspaces it configures.

Public routes as far as bearer tokens go: each checks its own signature before the body is read,
and a researcher's token is no substitute for it.
"""

from __future__ import annotations

import logging
from typing import Any

from chalice.app import Request

from chalicelib import metrics
from chalicelib.api.framework import Call, Resource
from chalicelib.api.loads import Loads
from chalicelib.api.vrw_schemas import VrwEventBody, VrwReceipt
from chalicelib.auth import webhooks
from chalicelib.errors import AuthenticationError
from chalicelib.services.common.model import utcnow
from chalicelib.services.workspaces import vrw
from chalicelib.wiring import Dependencies

log = logging.getLogger(__name__)

resource = Resource(__name__, tag="integrations")


def verify_vrw(request: Request, deps: Dependencies) -> None:
    """A Standard Webhooks signature under one of VRW's secrets; 401 otherwise."""
    configured = deps.secrets.vrw_webhook_secret
    if not configured:
        log.warning("a VRW webhook arrived, but this stage has no VRW_WEBHOOK_SECRET(_ID)")
        metrics.hook_refused("vrw", "unconfigured")
        raise AuthenticationError(detail="This stage takes no VRW webhooks.")
    raw = request.raw_body or b""
    body = raw.encode() if isinstance(raw, str) else raw
    try:
        webhooks.verify(webhooks.parse_secrets(configured), request.headers, body, utcnow())
    except AuthenticationError:
        metrics.hook_refused("vrw", "signature")
        raise


def _event(body: VrwEventBody) -> vrw.VrwEvent:
    data = body.data
    access = data.access
    return vrw.VrwEvent(
        type=vrw.EventType(body.type),
        at=body.timestamp,
        workspace_id=data.workspace_id,
        access=vrw.Access(access.url, access.ip, access.username) if access is not None else None,
        reason=data.reason,
    )


@resource.route(
    "/hooks/vrw",
    "POST",
    summary="VRW reports a workspace's progress (Standard Webhooks signature, not a bearer token)",
    body=VrwEventBody,
    response=VrwReceipt,
    loads=Loads.NOTHING,
    guard=verify_vrw,
)
def vrw_hook(call: Call[Any]) -> VrwReceipt:
    body: VrwEventBody = call.body
    delivery_id = call.request.headers[webhooks.ID_HEADER]
    if vrw.known(body.type):
        receipt = call.services.workspaces.receive_vrw(delivery_id, _event(body))
    else:  # acknowledged, not acted on: nothing to load
        receipt = vrw.ignore(delivery_id, body.type, body.data.workspace_id)
    return VrwReceipt(
        receipt.outcome.value, receipt.workspace_id, receipt.status.value if receipt.status is not None else None
    )
