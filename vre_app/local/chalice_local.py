"""`chalice local` as the local stack runs it, with an access log that keeps credentials out.

chalice's development server logs every request line, query string and all, which would put tusd's
hook secret (`/hooks/tusd?secret=...`) and the login callback's code in the stack's output.
"""

from __future__ import annotations

import re
from typing import Any

from chalicelib.observability import FILTERED, SECRET_QUERY_PARAMETERS

_PARAMETER = re.compile(r"([?&])([^=&\s]+)=([^&\s]*)")


def redact(request_line: str) -> str:
    """`POST /hooks/tusd?secret=x HTTP/1.1` as `POST /hooks/tusd?secret=[Filtered] HTTP/1.1`."""

    def one(match: re.Match[str]) -> str:
        separator, name, value = match.groups()
        return f"{separator}{name}={FILTERED if name.lower() in SECRET_QUERY_PARAMETERS else value}"

    return _PARAMETER.sub(one, request_line)


def main() -> int:
    """Run chalice's command line with the redacting access log."""
    from chalice import local
    from chalice.cli import main as chalice_main

    def log_request(self: Any, code: Any = "-", size: Any = "-") -> None:
        self.log_message('"%s" %s %s', redact(self.requestline), str(getattr(code, "value", code)), str(size))

    local.ChaliceRequestHandler.log_request = log_request
    result: int = chalice_main()
    return result
