"""The fuzzer's object pool learns ids from answers alone, keeps them consistent, and spares what it must."""

from __future__ import annotations

import random

from tests.contract.fuzzing import ObjectPool

PATHS = [
    "/studies",
    "/studies/{study_id}",
    "/studies/{study_id}/invitations",
    "/studies/{study_id}/invitations/{invitation_id}",
    "/studies/{study_id}/members",
    "/studies/{study_id}/members/{researcher_id}",
    "/studies/{study_id}/workspaces",
    "/workspaces/{workspace_id}",
]


def test_ids_come_from_location_headers_collection_items_and_fields_named_like_parameters() -> None:
    pool = ObjectPool.for_paths(PATHS)

    pool.learn("/studies", {}, 201, {"location": "/studies/s1"}, {"id": "s1"})
    pool.learn("/studies/{study_id}/invitations", {"study_id": "s1"}, 200, {}, {"items": [{"id": "i1"}]})
    pool.learn("/studies/{study_id}/members", {"study_id": "s1"}, 200, {}, {"items": [{"researcher_id": "r1"}]})
    pool.learn("/studies/{study_id}/workspaces", {"study_id": "s1"}, 202, {}, {"id": "w1", "study_id": "s1"})
    pool.learn("/studies", {}, 422, {}, {"id": "never"})

    assert pool.bindings == [
        {"study_id": "s1"},
        {"study_id": "s1", "invitation_id": "i1"},
        {"study_id": "s1", "researcher_id": "r1"},
        {"study_id": "s1", "workspace_id": "w1"},
    ]


def test_values_are_filled_together_from_one_binding() -> None:
    pool = ObjectPool.for_paths(PATHS)
    pool.add({"study_id": "s1", "invitation_id": "i1"})
    pool.add({"study_id": "s2", "invitation_id": "i2"})
    rng = random.Random(1)

    filled = [pool.fill(["study_id", "invitation_id"], rng) for _ in range(20)]

    assert {tuple(sorted(f.items())) for f in filled} == {
        (("invitation_id", "i1"), ("study_id", "s1")),
        (("invitation_id", "i2"), ("study_id", "s2")),
    }
    assert pool.fill(["invitation_id"], rng, given={"study_id": "s2"}) == {"invitation_id": "i2"}


def test_a_delete_never_aims_at_a_protected_object_and_a_removed_one_takes_its_children() -> None:
    pool = ObjectPool.for_paths(PATHS)
    pool.add({"study_id": "kept"}, protect=True)
    pool.add({"study_id": "gone"})
    pool.add({"study_id": "gone", "invitation_id": "i1"})
    rng = random.Random(2)

    assert {pool.fill(["study_id"], rng, deleting="study_id")["study_id"] for _ in range(20)} == {"gone"}
    pool.forget({"study_id": "gone"})
    assert pool.bindings == [{"study_id": "kept"}]
    assert pool.fill(["study_id"], rng, deleting="study_id") == {}
