"""Every key string the tables' items are stored under, built here and nowhere else.

A leaf module (it imports nothing of ours), so the services that name a ledger claim or a rate window
use it without pulling in pynamodb or the repositories.
"""

from __future__ import annotations

from datetime import datetime

# The one partition key of the indexes behind the platform admins' lists (every researcher, study,
# workspace, audit entry): a university's number of them stays well within one partition's reach.
EVERYONE = "all"

# The audit partition of what platform admins do outside any study.
PLATFORM_SCOPE = "platform"

# The reference table's partition that holds the workspace catalog.
CATALOG = "catalog"


def newest_first(at: datetime, item_id: str) -> str:
    """A sort key that orders by time, ties broken by id (`created_key`, `entry_key`, `event_key`)."""
    return f"{at.isoformat()}#{item_id}"


def audit_scope(study_id: str) -> str:
    """A study's audit partition; what platform admins do outside any study (no study id) has its own."""
    return f"study#{study_id}" if study_id else PLATFORM_SCOPE


def credential(kind: str, identifier: str) -> str:
    """A credential's key: its kind, then its id or the hash of its secret."""
    return f"{kind}#{identifier}"


def catalog_item(kind: str, item_id: str) -> str:
    """A catalog item's sort key in the catalog partition."""
    return f"{kind}#{item_id}"


# The ledger table: claims (work done once) and counters, each under one of these keys.


def usage(study_id: str) -> str:
    """A study's usage counter: live workspaces in `hits`, their vCPUs in `amount`."""
    return f"usage#{study_id}"


def idempotency(caller_id: str, key: str) -> str:
    """A caller's idempotency key, pointing at the workspace it made."""
    return f"idempotency#{caller_id}#{key}"


def mail_claim(mail_id: str, recipient_id: str = "") -> str:
    """The claim that a mail went out (to one of several recipients, if `recipient_id`)."""
    return f"mail#{mail_id}#{recipient_id}" if recipient_id else f"mail#{mail_id}"


def vrw_delivery(delivery_id: str) -> str:
    """The claim that a VRW event delivery was applied."""
    return f"vrw#{delivery_id}"


def invitations_of_study(study_id: str, hour: datetime) -> str:
    """The counter of a study's invitations in one hour."""
    return f"rate#invite#study#{study_id}#{hour:%Y%m%d%H}"


def invitations_of_inviter(inviter_id: str, day: datetime) -> str:
    """The counter of one inviter's invitations in one day."""
    return f"rate#invite#inviter#{inviter_id}#{day:%Y%m%d}"


def upload_refusals(study_id: str, hour: datetime) -> str:
    """The counter of a study's audited upload refusals in one hour."""
    return f"rate#upload-refused#{study_id}#{hour:%Y%m%d%H}"
