"""Email addresses as the broker compares them, and whether an address may be trusted.

Every comparison of two addresses (an invitation's and the caller's, a researcher looked up by email,
the directory's sort key) goes through `normalise_email`, so the same mailbox written two ways is one
address: NFKC folds compatibility forms (a fullwidth ALICE is `alice`), casefold is Unicode's
caseless match (`Straße` and `STRASSE` are one). The domain part is folded too: domains are
case-insensitive, and providers hand out local parts that differ only in case for the same person.
"""

from __future__ import annotations

import re
import unicodedata
from email.utils import getaddresses, parseaddr

from chalicelib.errors import PermissionDeniedError
from chalicelib.services.accounts.model import Researcher

UNVERIFIED_EMAIL = (
    "Your identity provider has not verified the email address {email}, so it cannot be used to join a study "
    "or to see invitations sent to it. Verify it at your identity provider (your institution's account), then "
    "log in again."
)


# RFC 5322's dot-atom addr-spec in ASCII: no display name, comment, quoting, list or folding whitespace.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ADDR_SPEC = re.compile(rf"{_ATEXT}(?:\.{_ATEXT})*@{_LABEL}(?:\.{_LABEL})+")


def plain_address(value: str) -> bool:
    """True for one bare `local@domain.tld` (ASCII dot-atoms), safe to put in a Reply-To as it is.

    `Name <a@b.org>`, `<a@b.org>`, `a@b.org, c@d.org`, `(x)a@b.org`, quoted local parts and line breaks are
    not: each would put another or a hidden recipient in a header. The stdlib's parsers must agree.
    """
    if len(value) > 254 or not _ADDR_SPEC.fullmatch(value):
        return False
    return parseaddr(value) == ("", value) and getaddresses([value]) == [("", value)]


def normalise_email(email: str) -> str:
    """The form addresses are stored and compared in: NFKC, casefolded (Unicode's caseless match), trimmed."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", email).casefold())
    return folded.strip()


def same_email(first: str, second: str) -> bool:
    """Whether two addresses are one, whichever way each was written (and however old its stored form)."""
    return normalise_email(first) == normalise_email(second)


def require_verified_email(researcher: Researcher) -> None:
    """403 unless the researcher's identity provider vouched for their email (at their last login).

    An invitation goes to an email address; anyone could otherwise claim one by logging in through a
    provider that lets users type any address.
    """
    if not researcher.email_verified:
        raise PermissionDeniedError(detail=UNVERIFIED_EMAIL.format(email=researcher.email))
