"""Refused webhooks are counted (`HookRefused` by hook and reason), so a misconfigured caller shows on a graph."""

from __future__ import annotations

import logging

import pytest
from chalice.test import Client

from tests.support.api import call


def refusals(caplog: pytest.LogCaptureFixture) -> list[tuple[str, str]]:
    return [
        (r.Hook, r.Reason)  # type: ignore[attr-defined]
        for r in caplog.records
        if r.name == "chalicelib.metrics" and "HookRefused" in r.__dict__
    ]


def test_a_tusd_hook_without_or_with_a_wrong_secret_is_counted(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="chalicelib.metrics")

    assert call(client, "POST", "/hooks/tusd", body={"Type": "pre-create"})[0] == 401
    assert call(client, "POST", "/hooks/tusd?secret=nope", body={"Type": "pre-create"})[0] == 401

    assert refusals(caplog) == [("tusd", "no-secret"), ("tusd", "wrong-secret")]


def test_an_unsigned_vrw_hook_is_counted(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="chalicelib.metrics")

    status, _, _ = call(client, "POST", "/hooks/vrw", body={"type": "workspace.ready"})

    assert status == 401
    assert refusals(caplog) == [("vrw", "signature")]
