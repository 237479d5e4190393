"""The pynamodb models and infra/template.yaml describe the same tables: keys, indexes, types."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from pynamodb.attributes import Attribute, TTLAttribute
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, KeysOnlyProjection
from pynamodb.models import Model

from chalicelib.models.tables import ALL_RECORDS
from vre_app.infra import TEMPLATE

_TYPE_CODES = {"S": "S", "N": "N", "B": "B"}


def _template_tables() -> dict[str, dict[str, Any]]:
    resources = yaml.safe_load(TEMPLATE.read_text())["Resources"]
    tables = {}
    for resource in resources.values():
        if resource["Type"] == "AWS::DynamoDB::Table":
            name = resource["Properties"]["TableName"]["Fn::Sub"]
            assert name.startswith("vre-${Stage}-"), name
            tables[name.removeprefix("vre-${Stage}-")] = resource["Properties"]
    return tables


def _base_name(record: type[Model]) -> str:
    # Tests may have bound the records to a prefix already; the unprefixed name is the suffix.
    return str(record.Meta.table_name).rsplit("-", 1)[-1]


def _keys(attributes: dict[str, Attribute[Any]]) -> list[dict[str, str]]:
    keys = [{"AttributeName": a.attr_name, "KeyType": "HASH"} for a in attributes.values() if a.is_hash_key]
    keys += [{"AttributeName": a.attr_name, "KeyType": "RANGE"} for a in attributes.values() if a.is_range_key]
    return keys


def _model_indexes(record: type[Model]) -> dict[str, dict[str, Any]]:
    indexes = {}
    for value in vars(record).values():
        if isinstance(value, GlobalSecondaryIndex):
            meta = value.Meta
            projection = meta.projection
            kind = "ALL" if isinstance(projection, AllProjection) else "KEYS_ONLY"
            assert isinstance(projection, AllProjection | KeysOnlyProjection)
            indexes[meta.index_name] = {"keys": _keys(meta.attributes), "projection": kind}
    return indexes


def test_every_model_has_a_table_and_every_table_a_model() -> None:
    assert {_base_name(r) for r in ALL_RECORDS} == set(_template_tables())


@pytest.mark.parametrize("record", ALL_RECORDS, ids=lambda r: r.__name__)
def test_keys_indexes_and_key_types_agree(record: type[Model]) -> None:
    table = _template_tables()[_base_name(record)]
    attributes = record.get_attributes()

    assert table["KeySchema"] == _keys(attributes)
    template_indexes = {
        gsi["IndexName"]: {"keys": gsi["KeySchema"], "projection": gsi["Projection"]["ProjectionType"]}
        for gsi in table.get("GlobalSecondaryIndexes", [])
    }
    assert template_indexes == _model_indexes(record)
    defined = {d["AttributeName"]: d["AttributeType"] for d in table["AttributeDefinitions"]}
    key_names = {k["AttributeName"] for k in table["KeySchema"]}
    key_names |= {k["AttributeName"] for gsi in table.get("GlobalSecondaryIndexes", []) for k in gsi["KeySchema"]}
    assert set(defined) == key_names, "AttributeDefinitions must list exactly the key attributes"
    by_name = {a.attr_name: a for a in attributes.values()}
    for name, code in defined.items():
        assert name in by_name, f"{name} is a key in the template but not an attribute of {record.__name__}"
        assert by_name[name].attr_type == _TYPE_CODES[code], name
    for key in table["KeySchema"]:
        # Index keys may be nullable (a sparse index); the table's own keys may not.
        assert not by_name[key["AttributeName"]].null, key


@pytest.mark.parametrize("record", ALL_RECORDS, ids=lambda r: r.__name__)
def test_time_to_live_attributes_agree(record: type[Model]) -> None:
    table = _template_tables()[_base_name(record)]
    ttl = [a.attr_name for a in record.get_attributes().values() if isinstance(a, TTLAttribute)]

    expected = [table["TimeToLiveSpecification"]["AttributeName"]] if "TimeToLiveSpecification" in table else []
    assert ttl == expected


def test_tables_are_on_demand_encrypted_and_recoverable() -> None:
    for name, table in _template_tables().items():
        assert table["BillingMode"] == "PAY_PER_REQUEST", name
        assert table["SSESpecification"] == {"SSEEnabled": True}, name
        assert table["PointInTimeRecoverySpecification"] == {"PointInTimeRecoveryEnabled": True}, name
