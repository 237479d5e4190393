"""HTTP middleware: Chalice's own refusals (405, 415, ...) become problem documents too."""

from __future__ import annotations

from collections.abc import Callable

from chalice.app import Request, Response

from chalicelib.api.framework import problem_response, request_id_of
from chalicelib.errors import error_for_status


def problem_documents(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Rewrite Chalice's `{"Code", "Message"}` error bodies; tag every answer with its request id."""
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        rewritten = problem_response(error_for_status(response.status_code, str(body.get("Message", ""))))
        rewritten.headers.update({k: v for k, v in response.headers.items() if k.lower() == "allow"})
        response = rewritten
    response.headers.setdefault("X-Request-Id", request_id_of(event))
    return response
