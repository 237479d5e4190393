"""Researchers: their own profile, and the local stage's way of creating one."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from chalicelib.errors import FieldError, ValidationError
from chalicelib.services.accounts.emails import normalise_email
from chalicelib.services.accounts.model import Locale, Researcher
from chalicelib.services.accounts.ports import ResearcherRepository
from chalicelib.services.common.model import UNSET, Unset, new_id, utcnow
from chalicelib.services.studies.ports import ReferenceRepository
from chalicelib.services.studies.reference import RESEARCH_FIELDS


def update_profile(
    caller: Researcher,
    researchers: ResearcherRepository,
    references: ReferenceRepository,
    *,
    name: str | Unset = UNSET,
    research_field: str | Unset | None = UNSET,
    phone: str | Unset | None = UNSET,
    locale: Locale | Unset = UNSET,
    now: Callable[[], datetime] = utcnow,
) -> Researcher:
    """Apply the fields given; a research field must be one of the seeded ones."""
    changed = caller
    if not isinstance(name, Unset):
        changed = replace(changed, name=name.strip())
    if not isinstance(research_field, Unset):
        if research_field is not None and references.get(RESEARCH_FIELDS, research_field) is None:
            raise ValidationError(
                detail="Unknown research field.",
                errors=[FieldError("research_field", "not a known research field")],
            )
        changed = replace(changed, research_field_id=research_field)
    if not isinstance(phone, Unset):
        changed = replace(changed, phone=phone)
    if not isinstance(locale, Unset):
        changed = replace(changed, locale=locale)
    if changed == caller:
        return caller
    return researchers.save(replace(changed, updated_at=now()))


def ensure_researcher(
    researchers: ResearcherRepository,
    *,
    email: str,
    name: str,
    now: Callable[[], datetime] = utcnow,
) -> Researcher:
    """The researcher with this email, created if new (the local stage's token command).

    One it creates counts as having a verified email: whoever runs the command on the local stage owns
    the whole stack, and says which address is theirs.
    """
    email = normalise_email(email)
    existing = researchers.by_email(email)
    if existing is not None:
        return existing
    moment = now()
    return researchers.add(
        Researcher(
            id=new_id(), email=email, name=name.strip(), created_at=moment, updated_at=moment, email_verified=True
        )
    )
