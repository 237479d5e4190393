"""Service routes: health, the OpenAPI document, and the two documentation pages."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from chalice.app import Response

from chalicelib import __version__
from chalicelib.api.framework import Call, Resource
from chalicelib.api.loads import Loads
from chalicelib.api.schemas import Health
from chalicelib.openapi.pages import redoc, swagger_ui

resource = Resource(__name__, tag="service")


@lru_cache(maxsize=1)
def openapi_document() -> dict[str, Any]:
    """The document for every registered route, built once per warm Lambda."""
    from chalicelib.api import operations  # the registry includes this module's own routes
    from chalicelib.openapi import build_document

    return build_document(operations(), version=__version__)


@resource.route("/health", "GET", summary="Liveness", response=Health, loads=Loads.NOTHING)
def health(call: Call[Any]) -> Health:
    return Health(status="ok", version=__version__)


@resource.route("/openapi.json", "GET", summary="This document", loads=Loads.NOTHING, media_type="application/json")
def openapi(call: Call[Any]) -> dict[str, Any]:
    return openapi_document()


@resource.route("/docs", "GET", summary="Swagger UI", loads=Loads.NOTHING, media_type="text/html")
def docs(call: Call[Any]) -> Response:
    return _page(*swagger_ui("openapi.json", call.deps.settings.frontend_url))


@resource.route("/redoc", "GET", summary="ReDoc", loads=Loads.NOTHING, media_type="text/html")
def redoc_page(call: Call[Any]) -> Response:
    return _page(*redoc("openapi.json", call.deps.settings.frontend_url))


def _page(body: str, policy: str) -> Response:
    return Response(body=body, headers={"Content-Type": "text/html; charset=utf-8", "Content-Security-Policy": policy})
