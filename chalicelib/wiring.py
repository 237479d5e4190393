"""Builds the real repositories and policies, lazily and once per warm Lambda.

Handlers ask `dependencies()` for what they need; tests call `reset()` (an autouse fixture
does) so every test starts from fresh settings, fresh connections and moto's fresh state.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from chalicelib.auth.tokens import TokenPolicy
from chalicelib.config import Settings, get_settings, reset_settings
from chalicelib.models import TableBinding, bind
from chalicelib.models.reference import DynamoReference
from chalicelib.models.researchers import DynamoResearchers
from chalicelib.models.studies import DynamoStudies
from chalicelib.services.ports import ReferenceRepository, ResearcherRepository, StudyRepository


@dataclass(frozen=True, slots=True)
class Dependencies:
    settings: Settings
    researchers: ResearcherRepository
    references: ReferenceRepository
    studies: StudyRepository

    @property
    def token_policy(self) -> TokenPolicy:
        s = self.settings
        return TokenPolicy(
            key=s.signing_key(),
            issuer=s.token_issuer,
            audience=s.token_audience,
            ttl=timedelta(seconds=s.session_ttl_seconds),
        )


_current: Dependencies | None = None


def dependencies() -> Dependencies:
    """The wired dependencies, built on first use."""
    global _current
    if _current is None:
        _current = _build(get_settings())
    return _current


def _build(settings: Settings) -> Dependencies:
    connection = bind(_binding(settings))
    return Dependencies(
        settings=settings,
        researchers=DynamoResearchers(),
        references=DynamoReference(),
        studies=DynamoStudies(connection),
    )


def _binding(settings: Settings) -> TableBinding:
    return TableBinding(settings.tables_prefix, settings.aws_region, settings.aws_endpoint_url)


def install(built: Dependencies) -> None:
    """Use `built` from now on (tests share one moto-backed wiring across a session)."""
    global _current
    bind(_binding(built.settings))
    _current = built


def reset() -> None:
    """Forget settings and connections; the next `dependencies()` builds them anew."""
    global _current
    _current = None
    reset_settings()
