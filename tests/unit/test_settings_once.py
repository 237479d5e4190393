"""Every setting's default lives in `chalicelib.config.Settings`, once: the capabilities' own settings
objects are built from it, and none of them keeps a default of its own for what a setting decides."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import msgspec
import pytest

from chalicelib.auth.tokens import TokenPolicy
from chalicelib.config import Settings
from chalicelib.providers.oidc import OidcConfig
from chalicelib.providers.openstack import OpenStackConfig
from chalicelib.services.accounts.login import LoginSettings
from chalicelib.services.dropoff.settings import DropoffSettings, UploadPolicy
from chalicelib.services.studies.invitations import InvitationSettings
from chalicelib.services.workspaces.lifecycle import WorkspaceSettings
from chalicelib.wiring import Dependencies

KEY = "unit-test-signing-key-0123456789abcdef"

# Each capability's settings object and how the wiring builds it from `Settings`.
BUILDERS: dict[type, Callable[[Settings], Any]] = {
    LoginSettings: LoginSettings.from_settings,
    InvitationSettings: InvitationSettings.from_settings,
    WorkspaceSettings: WorkspaceSettings.from_settings,
    UploadPolicy: UploadPolicy.from_settings,
    DropoffSettings: DropoffSettings.from_settings,
    TokenPolicy: lambda s: TokenPolicy.from_settings(s, KEY),
    OidcConfig: lambda s: OidcConfig(
        issuer="https://idp", client_id="c", client_secret="s", redirect_uri="https://r/cb", scopes=s.oidc_scopes
    ),
    OpenStackConfig: lambda s: OpenStackConfig(cloud=s.openstack_cloud, timeout_seconds=s.openstack_timeout_seconds),
}


def _other(name: str, value: object) -> object:
    """A value unlike the default, of the same kind."""
    if name == "stage":
        return "prod"
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + ",other" if value else "other"
    return "https://elsewhere.example/other/callback"


def _every_setting_changed() -> Settings:
    defaults = Settings()
    changes = {
        f.name: _other(f.name, getattr(defaults, f.name))
        for f in msgspec.structs.fields(Settings)
        if f.name != "log_format"  # a Literal no capability reads
    }
    return msgspec.structs.replace(defaults, **changes)


def _has_default(field: dataclasses.Field[Any]) -> bool:
    return field.default is not dataclasses.MISSING or field.default_factory is not dataclasses.MISSING


@pytest.mark.parametrize("kind", list(BUILDERS), ids=lambda kind: kind.__name__)
def test_what_a_setting_decides_has_no_second_default(kind: type) -> None:
    build = BUILDERS[kind]
    ordinary, changed = build(Settings()), build(_every_setting_changed())

    decided = [f for f in dataclasses.fields(kind) if getattr(ordinary, f.name) != getattr(changed, f.name)]
    assert decided, f"{kind.__name__} reads no setting at all"
    doubled = [f.name for f in decided if _has_default(f)]
    assert doubled == [], f"{kind.__name__} keeps its own default for {doubled}: config.py has it"


def test_the_wiring_builds_each_capability_from_its_own_builder() -> None:
    settings = _every_setting_changed()
    deps = Dependencies.__new__(Dependencies)
    deps.settings = settings

    assert deps.login_settings == LoginSettings.from_settings(settings)
    assert deps.invitation_settings == InvitationSettings.from_settings(settings)
    assert deps.workspace_settings == WorkspaceSettings.from_settings(settings)
    assert deps.upload_policy == UploadPolicy.from_settings(settings)
