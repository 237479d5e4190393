"""Sentry, when a DSN is configured; nothing at all otherwise (sentry_sdk is not even imported)."""

from __future__ import annotations

from typing import TYPE_CHECKING
from urllib.parse import parse_qsl, urlencode

from chalicelib.config import Settings

if TYPE_CHECKING:
    from sentry_sdk.types import Event, Hint

_enabled = False
# Query parameters that carry credentials: tusd's hook secret, and the login callback's code and state.
SECRET_QUERY_PARAMETERS = frozenset({"secret", "code", "state", "token"})
# Request headers that carry credentials Sentry's own list does not know: the drop-off's upload secret.
SECRET_HEADERS = frozenset({"upload-secret"})
FILTERED = "[Filtered]"


def init_sentry(settings: Settings) -> bool:
    """Initialise Sentry with the Chalice integration if `SENTRY_DSN` is set; True if it was."""
    global _enabled
    if not settings.sentry_dsn:
        return False
    import sentry_sdk
    from sentry_sdk.integrations.chalice import ChaliceIntegration

    from chalicelib import __version__

    sentry_sdk.init(
        dsn=settings.sentry_dsn,
        environment=settings.stage,
        release=f"vre-broker@{__version__}",
        integrations=[ChaliceIntegration()],
        send_default_pii=False,
        before_send=scrub_event,
    )
    _enabled = True
    return True


def report_exception() -> None:
    """Send the exception being handled to Sentry, if Sentry is on."""
    if _enabled:
        import sentry_sdk

        sentry_sdk.capture_exception()


def scrub_event(event: Event, hint: Hint) -> Event:
    """Filter credentials out of the request's query string and headers before an event leaves for Sentry.

    Sentry's own scrubber reads headers, cookies and bodies, not the query string, which carries
    tusd's hook secret (`/hooks/tusd?secret=...`), and knows no `Upload-Secret` header.
    """
    request = event.get("request")
    if not isinstance(request, dict):
        return event
    headers = request.get("headers")
    if isinstance(headers, dict):
        request["headers"] = {k: FILTERED if str(k).lower() in SECRET_HEADERS else v for k, v in headers.items()}
    query = request.get("query_string")
    if isinstance(query, dict):
        request["query_string"] = {k: FILTERED if _secret(k) else v for k, v in query.items()}
    elif isinstance(query, str):
        pairs = parse_qsl(query, keep_blank_values=True)
        request["query_string"] = urlencode([(k, FILTERED if _secret(k) else v) for k, v in pairs])
    return event


def _secret(name: object) -> bool:
    return isinstance(name, str) and name.lower() in SECRET_QUERY_PARAMETERS
