"""Sentry, when a DSN is configured; nothing at all otherwise (sentry_sdk is not even imported)."""

from __future__ import annotations

from chalicelib.config import Settings

_enabled = False


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
    )
    _enabled = True
    return True


def report_exception() -> None:
    """Send the exception being handled to Sentry, if Sentry is on."""
    if _enabled:
        import sentry_sdk

        sentry_sdk.capture_exception()
