"""Small helpers for API tests: JSON requests, and a snapshot of every table to prove nothing changed."""

from __future__ import annotations

import json
from typing import Any

import boto3
from chalice.test import Client

from chalicelib.models.tables import ALL_RECORDS


def call(
    client: Client,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    body: Any = None,
    raw: bytes | str | None = None,
    content_type: str = "application/json",
) -> tuple[int, Any, dict[str, str]]:
    """Send a request; returns status, decoded JSON body (or text) and headers."""
    all_headers = dict(headers or {})
    payload = raw.encode() if isinstance(raw, str) else raw
    if body is not None:
        payload = json.dumps(body).encode()
    if payload is not None:
        all_headers.setdefault("Content-Type", content_type)
    response = client.http.request(method, path, headers=all_headers, body=payload or b"")
    text = response.body.decode() if isinstance(response.body, bytes) else response.body
    try:
        decoded = json.loads(text) if text else None
    except ValueError:
        decoded = text
    return response.status_code, decoded, dict(response.headers)


def snapshot() -> dict[str, list[dict[str, Any]]]:
    """Every item of every table (test-only: a Scan is fine on moto)."""
    dynamodb = boto3.client("dynamodb", region_name="eu-west-1")
    tables = {}
    for record in ALL_RECORDS:
        name = str(record.Meta.table_name)
        items = [item for page in dynamodb.get_paginator("scan").paginate(TableName=name) for item in page["Items"]]
        tables[name] = sorted(items, key=lambda item: json.dumps(item, sort_keys=True))
    return tables


class Browser:
    """The chalice test client driven like a browser: it keeps the cookies the API sets and sends them back.

    Cookies are kept by name (every cookie the API sets is under `/auth`); `Max-Age=0` forgets one.
    """

    def __init__(self, client: Client) -> None:
        self.client = client
        self.cookies: dict[str, str] = {}
        self.set_cookies: list[str] = []

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, Any, dict[str, str]]:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        status, body, answered = call(self.client, "GET", path, headers=sent)
        set_cookie = answered.get("Set-Cookie") or answered.get("set-cookie")
        if set_cookie:
            self.set_cookies.append(set_cookie)
            name, _, rest = set_cookie.partition("=")
            value, _, attributes = rest.partition(";")
            if "max-age=0" in attributes.lower().replace(" ", ""):
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return status, body, answered
