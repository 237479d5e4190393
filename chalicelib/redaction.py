"""Which names carry secrets, and scrubbing them out of anything that leaves for an error tracker or a repr.

One list for the whole broker: Sentry's `before_send` scrubs events with `scrub`, and the structs that hold
a secret (a queued invitation token, a login code, a new API token) show `redacted_repr` instead of it.
A value is judged by the name it goes by, never by what it looks like, so a key counts when its name,
lower-cased with `-` as `_`, contains one of `SECRET_NAME_PARTS` or is one of `SECRET_NAMES`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from typing import Any

FILTERED = "[Filtered]"

# A key whose name contains one of these holds a secret (`access_token`, `api_token`, `upload_secret`,
# `x-tusd-hook-secret`, `Set-Cookie`, `session_signing_key` ... included).
SECRET_NAME_PARTS = (
    "token",
    "secret",
    "password",
    "passwd",
    "authorization",
    "cookie",
    "login_code",
    "upload_code",
    "code_verifier",
    "verifier",
    "signing_key",
    "private_key",
    "api_key",
)
# Too short or too common to match inside other names, but secret on their own: the OpenID Connect
# callback's authorization `code`, its `state` and `nonce`.
SECRET_NAMES = frozenset({"code", "state", "nonce"})

_PARTS = "|".join(re.escape(part) for part in SECRET_NAME_PARTS)
# `name=value`, `name: value`, `"name": "value"` in free text (a message, a URL, a raw body), where the
# name contains a secret part; an `Authorization: Bearer x` keeps its scheme out of the way.
_NAMED_VALUE = re.compile(
    rf"(?P<name>(?<![\w-])[\w-]*(?:{_PARTS})[\w-]*)(?P<sep>[\"']?\s*[=:]\s*[\"']?)(?:(?:bearer|basic)\s+)?"
    r"(?P<value>[^\s&\"',;)}\]]+)",
    re.IGNORECASE,
)
# `code=value` and friends only in query-string form, so `status_code: 500` stays readable.
_QUERY_VALUE = re.compile(
    r"(?P<name>(?<![\w-])(?:code|state|nonce))(?P<sep>=)(?P<value>[^\s&\"'#]+)",
    re.IGNORECASE,
)


def is_secret_name(name: object) -> bool:
    """Whether a key of this name holds a secret."""
    if not isinstance(name, str):
        return False
    key = name.lower().replace("-", "_")
    return key in SECRET_NAMES or any(part in key for part in SECRET_NAME_PARTS)


def scrub_text(text: str) -> str:
    """`text` with the value of every secret-named `name=value` (or `name: value`) replaced."""

    def filtered(match: re.Match[str]) -> str:
        return f"{match['name']}{match['sep']}{FILTERED}"

    return _QUERY_VALUE.sub(filtered, _NAMED_VALUE.sub(filtered, text))


def scrub(value: Any, *, verbatim: Collection[str] = (), depth: int = 0) -> Any:
    """A copy of `value` with every secret-named key's value replaced, at any depth, and free text scrubbed.

    Mappings, lists and tuples are walked; strings go through `scrub_text`; anything else is kept, and so
    are the values of `verbatim` keys (a stack frame's source lines: code, not data). Past 32 levels a
    value is replaced whole: an event is never that deep unless something is wrong.
    """
    if depth > 32:
        return FILTERED
    if isinstance(value, Mapping):
        return {
            key: item
            if key in verbatim
            else FILTERED
            if is_secret_name(key) and item is not None
            else scrub(item, verbatim=verbatim, depth=depth + 1)
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [scrub(item, verbatim=verbatim, depth=depth + 1) for item in value]
    if isinstance(value, str):
        return scrub_text(value)
    return value


def redacted_repr(obj: Any, hidden: Collection[str]) -> str:
    """`Type(field=value, ...)` without the `hidden` fields: the repr of a msgspec struct that holds a secret
    (msgspec has no per-field `repr=False`), so a traceback, a log line or a debugger never shows it."""
    shown = ", ".join(f"{name}={getattr(obj, name)!r}" for name in obj.__struct_fields__ if name not in hidden)
    return f"{type(obj).__name__}({shown})"
