"""Keystone v3, as far as an application credential needs it: version documents and `POST /v3/auth/tokens`,
answered with a token and the service catalog (compute, image, network on this same endpoint)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from vre_app.local.openstack.api import ApiRequest, ApiResponse, BadRequestError, NotFoundError, UnauthorizedError
from vre_app.local.openstack.state import CloudState

# The one application credential the local OpenStack accepts, and whose it is.
APPLICATION_CREDENTIAL_ID = "vre-broker-local"
APPLICATION_CREDENTIAL_SECRET = "local-only-application-credential-secret"
USER_ID = "9b2c6f0e1d4a4c8e8f7a6b5c4d3e2f10"
# Where each service lives below the endpoint's root; Nova's catalog entry names its version, like devstack's.
CATALOG_PATHS = {"identity": "identity", "compute": "compute/v2.1", "image": "image", "network": "network"}
CATALOG_NAMES = {"identity": "keystone", "compute": "nova", "image": "glance", "network": "neutron"}


def handle(state: CloudState, request: ApiRequest) -> ApiResponse:
    path = request.path
    if not path:
        return ApiResponse(300, {"versions": {"values": [_version(request.base_url)]}})
    if path == ("v3",):
        return ApiResponse(200, {"version": _version(request.base_url)})
    if path == ("v3", "auth", "tokens") and request.method == "POST":
        return _issue_token(state, request)
    raise NotFoundError("The resource could not be found.")


def _version(base_url: str) -> dict[str, Any]:
    return {
        "id": "v3.14",
        "status": "stable",
        "updated": "2020-04-07T00:00:00Z",
        "links": [{"rel": "self", "href": f"{base_url}/identity/v3/"}],
        "media-types": [{"base": "application/json", "type": "application/vnd.openstack.identity-v3+json"}],
    }


def _issue_token(state: CloudState, request: ApiRequest) -> ApiResponse:
    body = request.json()
    try:
        identity = body["auth"]["identity"]
        methods = identity["methods"]
        credential = identity.get("application_credential", {})
    except (KeyError, TypeError) as exc:
        raise BadRequestError(f"Invalid input for field 'auth': missing {exc}") from exc
    if "application_credential" not in methods:
        raise UnauthorizedError("The local OpenStack takes application credentials only.")
    if credential.get("id") != APPLICATION_CREDENTIAL_ID or credential.get("secret") != APPLICATION_CREDENTIAL_SECRET:
        raise UnauthorizedError("The request you have made requires authentication.")
    token, ttl = state.issue_token()
    issued = datetime.now(UTC)
    catalog = state.catalog
    project = {"id": catalog.project_id, "name": catalog.project_name, "domain": {"id": "default", "name": "Default"}}
    return ApiResponse(
        201,
        {
            "token": {
                "methods": ["application_credential"],
                "user": {"id": USER_ID, "name": "vre-broker", "domain": {"id": "default", "name": "Default"}},
                "audit_ids": [token[:22]],
                "expires_at": _timestamp(issued + timedelta(seconds=ttl)),
                "issued_at": _timestamp(issued),
                "project": project,
                "is_domain": False,
                "roles": [{"id": "member", "name": "member"}, {"id": "reader", "name": "reader"}],
                "application_credential": {"id": APPLICATION_CREDENTIAL_ID, "name": "vre-broker", "restricted": True},
                "catalog": _service_catalog(request.base_url, catalog.region),
            }
        },
        headers={"X-Subject-Token": token},
    )


def _service_catalog(base_url: str, region: str) -> list[dict[str, Any]]:
    return [
        {
            "id": f"{service}-service",
            "type": service,
            "name": CATALOG_NAMES[service],
            "endpoints": [
                {
                    "id": f"{service}-public",
                    "interface": "public",
                    "region": region,
                    "region_id": region,
                    "url": f"{base_url}/{path}",
                }
            ],
        }
        for service, path in CATALOG_PATHS.items()
    ]


def _timestamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z"
