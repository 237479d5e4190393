"""What a route declares the request pipeline loads before its view runs, and the check that the declaration
fits the route's path (made when the route is registered, so a wrong one fails at import)."""

from __future__ import annotations

import re
from enum import Enum


class Loads(Enum):
    """What a route has the pipeline load before its view runs (declared by every route, checked at import)."""

    # A public route: no bearer token is read (a guard of its own may check a secret).
    NOTHING = "nothing"
    # The authenticated, enabled caller.
    CALLER = "caller"
    # The caller, the study `{study_id}` names and the caller's membership in it (one read); 404 unless visible.
    STUDY = "study"
    # The workspace `{workspace_id}` names (one read), then its study as for STUDY.
    WORKSPACE = "workspace"


# The path parameter naming what a load reads: a path that names one must declare its load, and the reverse.
_LOADED_BY_PARAM = {Loads.STUDY: "study_id", Loads.WORKSPACE: "workspace_id"}


class RouteDeclarationError(TypeError):
    """A route's declaration does not fit its path (raised when the route is registered, at import)."""


def check_loads(path: str, loads: Loads) -> None:
    """Refuse a route whose path names a study or workspace it does not declare it loads (its access would
    go unchecked), or that declares a load its path gives no id for."""
    params = re.findall(r"{([^}]+)}", path)
    for load, param in _LOADED_BY_PARAM.items():
        if param in params and loads is not load:
            raise RouteDeclarationError(
                f"{path} names {{{param}}} but declares loads={loads}: declare loads={load}, so the caller's "
                f"access to it is checked before the view runs"
            )
    wanted = _LOADED_BY_PARAM.get(loads)
    if wanted is not None and wanted not in params:
        raise RouteDeclarationError(f"{path} declares loads={loads} but has no {{{wanted}}} to load it by")
