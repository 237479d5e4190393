"""Chalice entry point: Sentry first, then the app, its blueprints and its middleware. Thin by design."""

from __future__ import annotations

from chalicelib.config import load_settings
from chalicelib.observability import init_sentry

init_sentry(load_settings())

from chalice.app import Chalice  # noqa: E402  (after Sentry, so it sees everything below)

from chalicelib.api import register  # noqa: E402
from chalicelib.api.middleware import problem_documents  # noqa: E402

app = Chalice(app_name="vre-broker")
app.register_middleware(problem_documents, "http")
register(app)
