"""The only code that touches DynamoDB: pynamodb records and the repositories over them."""

from __future__ import annotations

from dataclasses import dataclass

from pynamodb.connection import Connection

from chalicelib.models.records import ALL_RECORDS


@dataclass(frozen=True, slots=True)
class TableBinding:
    """Where the tables are: name prefix, region, and endpoint (moto) if any."""

    prefix: str
    region: str
    host: str | None = None


_BASE_NAMES = {record: record.Meta.table_name for record in ALL_RECORDS}
_bound: tuple[TableBinding, Connection] | None = None


def bind(binding: TableBinding) -> Connection:
    """Point every record at the stage's tables; returns a connection for transactions.

    Binding again to the same place keeps the connections a warm Lambda already has.
    """
    global _bound
    if _bound is not None and _bound[0] == binding:
        return _bound[1]
    for record, base in _BASE_NAMES.items():
        record.Meta.table_name = binding.prefix + base
        record.Meta.region = binding.region
        record.Meta.host = binding.host
        record._connection = None  # pynamodb caches the connection per model
    _bound = (binding, Connection(region=binding.region, host=binding.host))
    return _bound[1]


def table_names(prefix: str) -> dict[str, str]:
    """Unprefixed name -> full table name for every table."""
    return {base: prefix + base for base in _BASE_NAMES.values()}
