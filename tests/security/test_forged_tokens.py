"""Forged and unusable bearer credentials are refused with 401 on every protected route, writing nothing."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import pytest
from chalice.test import Client
from jose import jwt

from tests.conftest import SIGNING_KEY, Person
from tests.support.api import call, snapshot


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def _claims(researcher_id: str, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    claims = {
        "iss": "vre-broker",
        "aud": "vre-broker-api",
        "sub": researcher_id,
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "jti": "forged",
    }
    claims.update(changes)
    return {k: v for k, v in claims.items() if v is not None}


def _forgeries(researcher_id: str) -> dict[str, str]:
    good = jwt.encode(_claims(researcher_id), SIGNING_KEY, algorithm="HS256")
    header, payload, signature = good.split(".")
    return {
        "alg none": f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{payload}.",
        "HS512 with the right key": jwt.encode(_claims(researcher_id), SIGNING_KEY, algorithm="HS512"),
        "another key": jwt.encode(_claims(researcher_id), "another-key-entirely-0123456789", algorithm="HS256"),
        "expired": jwt.encode(_claims(researcher_id, exp=int(time.time()) - 3600), SIGNING_KEY, algorithm="HS256"),
        "issued in the future": jwt.encode(
            _claims(researcher_id, iat=int(time.time()) + 3600), SIGNING_KEY, algorithm="HS256"
        ),
        "not yet valid": jwt.encode(
            _claims(researcher_id, nbf=int(time.time()) + 3600), SIGNING_KEY, algorithm="HS256"
        ),
        "wrong issuer": jwt.encode(_claims(researcher_id, iss="https://evil.example"), SIGNING_KEY, algorithm="HS256"),
        "wrong audience": jwt.encode(_claims(researcher_id, aud="someone-else"), SIGNING_KEY, algorithm="HS256"),
        "missing exp": jwt.encode(_claims(researcher_id, exp=None), SIGNING_KEY, algorithm="HS256"),
        "missing jti": jwt.encode(_claims(researcher_id, jti=None), SIGNING_KEY, algorithm="HS256"),
        "tampered payload": f"{header}.{_b64(_claims('someone-else'))}.{signature}",
        "garbage": "not-a-jwt",
        "empty bearer": "",
    }


@pytest.mark.parametrize(
    "forgery",
    [
        "alg none",
        "HS512 with the right key",
        "another key",
        "expired",
        "issued in the future",
        "not yet valid",
        "wrong issuer",
        "wrong audience",
        "missing exp",
        "missing jti",
        "tampered payload",
        "garbage",
        "empty bearer",
    ],
)
def test_forged_tokens_are_refused(client: Client, person: Callable[..., Person], forgery: str) -> None:
    victim = person("victim")
    token = _forgeries(victim.id)[forgery]
    before = snapshot()

    for method, path, body in (
        ("GET", "/me", None),
        ("POST", "/studies", {"name": "x"}),
        ("PATCH", "/me", {"name": "y"}),
    ):
        status, payload, headers = call(client, method, path, headers={"Authorization": f"Bearer {token}"}, body=body)
        assert status == 401, (forgery, payload)
        assert headers["Content-Type"] == "application/problem+json"
        assert "WWW-Authenticate" in headers

    assert snapshot() == before


@pytest.mark.parametrize("header", ["Basic dXNlcjpwYXNz", "Bearer", "Token abc", "bearer  "])
def test_other_schemes_are_refused(client: Client, header: str) -> None:
    status, _, _ = call(client, "GET", "/me", headers={"Authorization": header})

    assert status == 401
