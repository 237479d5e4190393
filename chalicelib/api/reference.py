"""`/universities` and `/research-fields`: seeded reference data."""

from __future__ import annotations

from typing import Any

from chalicelib.api.framework import Call, Resource
from chalicelib.api.loads import Loads
from chalicelib.api.schemas import ResearchFieldView, UniversityView
from chalicelib.services.common.model import Page

resource = Resource(__name__, tag="reference")


@resource.route("/universities", "GET", loads=Loads.CALLER, summary="Universities", response=UniversityView, paged=True)
def list_universities(call: Call[Any]) -> Page[UniversityView]:
    page = call.services.reference.universities(call.page)
    items = [
        UniversityView(id=u.id, name=u.name, schac_home_organization=u.attributes.get("schac_home_organization"))
        for u in page.items
    ]
    return Page(items, page.next_start)


@resource.route(
    "/research-fields", "GET", loads=Loads.CALLER, summary="Research fields", response=ResearchFieldView, paged=True
)
def list_research_fields(call: Call[Any]) -> Page[ResearchFieldView]:
    page = call.services.reference.research_fields(call.page)
    return Page([ResearchFieldView(id=f.id, name=f.name) for f in page.items], page.next_start)
