"""One Blueprint per resource: parse, call a service, render."""

from __future__ import annotations

from collections.abc import Iterator

from chalice.app import Chalice

from chalicelib.api import (
    admin,
    auth,
    catalog,
    dropoff,
    hooks,
    invitations,
    me,
    members,
    reference,
    service,
    studies,
    tusd,
    uploads,
    workspaces,
)
from chalicelib.api.framework import Operation, Resource

RESOURCES: tuple[Resource, ...] = (
    service.resource,
    auth.resource,
    me.resource,
    reference.resource,
    studies.resource,
    members.resource,
    invitations.resource,
    catalog.resource,
    workspaces.resource,
    admin.resource,
    uploads.resource,
    dropoff.resource,
    tusd.resource,
    hooks.resource,
)


def operations() -> Iterator[Operation]:
    """Every operation the app serves."""
    for resource in RESOURCES:
        yield from resource.operations


def register(app: Chalice) -> None:
    """Attach every resource's routes to the app."""
    for resource in RESOURCES:
        app.register_blueprint(resource.blueprint)
