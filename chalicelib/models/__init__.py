"""The only code that touches DynamoDB: each table's pynamodb record beside the repository that maps it.

Importing this package loads no repository: the services use `chalicelib.models.keys` (a leaf) to name
ledger items, and must not pull pynamodb and every repository in with it. `tables` lists the records.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pynamodb.connection import Connection


@dataclass(frozen=True, slots=True)
class TableBinding:
    """Where the tables are: name prefix, region, and endpoint (moto) if any."""

    prefix: str
    region: str
    host: str | None = None


def bind(binding: TableBinding) -> Connection:
    """Point every record at the stage's tables (see `tables.bind`); returns a connection for transactions."""
    from chalicelib.models import tables  # here, not above: importing the package must stay light (see above)

    return tables.bind(binding)
