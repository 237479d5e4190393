"""`chalice local` as the local stack runs it: an access log that keeps credentials out, every method routed.

chalice's development server logs every request line, query string and all, which would put tusd's
hook secret (`/hooks/tusd?secret=...`) and the login callback's code in the stack's output. It also
serves only the seven methods it has `do_*` handlers for: a `TRACE` (or any other method) got the
standard library's bare 501 "Unsupported method". Routed to the app instead, a known path answers the
app's 405 problem document with an `Allow` header, as every other method a route lacks does.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib.redaction import FILTERED, is_secret_name

_PARAMETER = re.compile(r"([?&])([^=&\s]+)=([^&\s]*)")


def redact(request_line: str) -> str:
    """`POST /hooks/tusd?secret=x HTTP/1.1` as `POST /hooks/tusd?secret=[Filtered] HTTP/1.1`."""

    def one(match: re.Match[str]) -> str:
        separator, name, value = match.groups()
        return f"{separator}{name}={FILTERED if is_secret_name(name) else value}"

    return _PARAMETER.sub(one, request_line)


def patch_request_handler() -> None:
    """chalice local's request handler with the redacting access log and a handler for every method."""
    from chalice import local

    def log_request(self: Any, code: Any = "-", size: Any = "-") -> None:
        self.log_message('"%s" %s %s', redact(self.requestline), str(getattr(code, "value", code)), str(size))

    def any_method(self: Any, name: str) -> Any:
        # `BaseHTTPRequestHandler` looks up `do_<METHOD>`; the ones chalice lacks go to the app as well.
        if name.startswith("do_"):
            return self._generic_handle
        raise AttributeError(name)

    handler: Any = local.ChaliceRequestHandler
    handler.log_request = log_request
    handler.__getattr__ = any_method


def main() -> int:
    """Run chalice's command line with the patched request handler."""
    from chalice.cli import main as chalice_main

    patch_request_handler()
    result: int = chalice_main()
    return result
