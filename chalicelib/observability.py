"""Sentry, when a DSN is configured; nothing at all otherwise (sentry_sdk is not even imported).

No secret reaches Sentry: events carry no frame locals (a traceback's variables hold invitation tokens,
login codes and new API tokens), and `scrub_event` filters every secret-named value out of the whole
event (request headers, body, query, extra, contexts, breadcrumbs, messages) before it leaves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from chalicelib.config import Settings
from chalicelib.redaction import FILTERED, scrub

if TYPE_CHECKING:
    from sentry_sdk.types import Event, Hint

__all__ = ["FILTERED", "init_sentry", "report_exception", "scrub_event"]

_enabled = False
# A stack frame's source lines: our code, kept as it is so the event stays readable.
_SOURCE_LINES = frozenset({"pre_context", "context_line", "post_context"})


def init_sentry(settings: Settings, transport: Any = None) -> bool:
    """Initialise Sentry with the Chalice integration if `SENTRY_DSN` is set; True if it was.

    `transport` is for tests (one that keeps the envelopes); None sends them to the DSN.
    """
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
        # Frame locals would carry tokens and codes; scrub_event drops any that get through all the same.
        include_local_variables=False,
        max_request_body_size="never",
        before_send=scrub_event,
        before_send_transaction=scrub_event,
        transport=transport,
    )
    _enabled = True
    return True


def report_exception() -> None:
    """Send the exception being handled to Sentry, if Sentry is on."""
    if _enabled:
        import sentry_sdk

        sentry_sdk.capture_exception()


def scrub_event(event: Event, hint: Hint) -> Event:
    """The event without frame locals and with every secret-named value filtered, however deep.

    Sentry's own scrubber matches a short list of exact keys and never the query string, which carries
    tusd's hook secret (`/hooks/tusd?secret=...`) and the login callback's `code` and `state`.
    """
    _drop_frame_locals(event)
    scrubbed: Event = scrub(event, verbatim=_SOURCE_LINES)
    return scrubbed


def _drop_frame_locals(event: Any) -> None:
    """Remove `vars` from every frame of every stack trace in the event (exceptions and threads)."""
    traces: list[Any] = [event.get("stacktrace")]
    for section in ("exception", "threads"):
        values = (event.get(section) or {}).get("values") if isinstance(event.get(section), dict) else None
        for value in values or []:
            if isinstance(value, dict):
                traces.append(value.get("stacktrace"))
    for trace in traces:
        if isinstance(trace, dict):
            for frame in trace.get("frames") or []:
                if isinstance(frame, dict):
                    frame.pop("vars", None)
