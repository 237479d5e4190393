"""HTTP middleware: every request runs under its request id, and Chalice's own refusals (405, 415, ...)
become problem documents too."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from chalice.app import Request, Response

from chalicelib.api.framework import problem_response, request_id_of
from chalicelib.errors import error_for_status
from chalicelib.logs import bound_request_id

log = logging.getLogger(__name__)


def problem_documents(event: Request, get_response: Callable[[Request], Response]) -> Response:
    """Rewrite Chalice's `{"Code", "Message"}` error bodies; tag every answer with its request id.

    The id is bound for the whole request, so each log line and each queue message it causes carries it;
    one line per request records its method, path, status and time (the path, never the query: tusd's
    hook secret travels there).
    """
    with bound_request_id(request_id_of(event)) as request_id:
        started = time.perf_counter()
        response = _answer(event, get_response)
        response.headers["X-Request-Id"] = request_id
        elapsed_ms = round((time.perf_counter() - started) * 1000, 1)
        log.info(
            "%s %s %d",
            event.method,
            event.path,
            response.status_code,
            extra={"method": event.method, "path": event.path, "status": response.status_code, "ms": elapsed_ms},
        )
    return response


def _answer(event: Request, get_response: Callable[[Request], Response]) -> Response:
    response = get_response(event)
    body = response.body
    if response.status_code >= 400 and isinstance(body, dict) and "Code" in body:
        rewritten = problem_response(error_for_status(response.status_code, str(body.get("Message", ""))))
        rewritten.headers.update({k: v for k, v in response.headers.items() if k.lower() == "allow"})
        response = rewritten
    return response
