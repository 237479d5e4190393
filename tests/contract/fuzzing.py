"""What the contract fuzzer needs beyond schemathesis: real objects to aim at, and a count of what it sent.

Nothing here names a route. `ObjectPool` learns ids from the answers themselves (a `Location`
header, an `id` under a collection path, a field named like a path parameter), so a route added
later is fuzzed against real objects as soon as some operation hands one out.
"""

from __future__ import annotations

import json
import random
import re
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from schemathesis import Case, GenerationMode, Response
from schemathesis.core.parameters import ParameterLocation

Binding = dict[str, str]

# The last few hundred ids are plenty to aim at; older ones are likelier to be gone.
MAX_BINDINGS = 400
# How often a path parameter aims at a real object rather than at the generated string.
AIM = 0.85
_PARAMETER = re.compile(r"{([^}/]+)}")


@dataclass(frozen=True)
class Template:
    """One path of the document, as a pattern that recognises its concrete paths."""

    path: str
    names: tuple[str, ...]
    pattern: re.Pattern[str]

    @classmethod
    def of(cls, path: str) -> Template:
        names = tuple(_PARAMETER.findall(path))
        regex = "".join(
            f"(?P<{part[1:-1]}>[^/]+)" if _PARAMETER.fullmatch(part) else re.escape(part)
            for part in re.split(r"({[^}/]+})", path)
            if part
        )
        return cls(path, names, re.compile(f"^{regex}$"))


@dataclass
class ObjectPool:
    """Ids the API has shown, each with the path parameters it was found under (an invitation with its study).

    `protected` values (the fixture's own study and members) are never the object of a DELETE, so
    every later operation still has something real to aim at.
    """

    templates: dict[str, Template]
    protected: set[str] = field(default_factory=set)
    bindings: list[Binding] = field(default_factory=list)

    @classmethod
    def for_paths(cls, paths: Iterable[str]) -> ObjectPool:
        return cls({path: Template.of(path) for path in paths})

    @property
    def names(self) -> set[str]:
        return {name for template in self.templates.values() for name in template.names}

    def add(self, binding: Mapping[str, str], *, protect: bool = False) -> None:
        entry = dict(binding)
        if not entry:
            return
        if entry in self.bindings:
            self.bindings.remove(entry)
        self.bindings.append(entry)
        del self.bindings[:-MAX_BINDINGS]
        if protect:
            self.protected.update(entry.values())

    def learn(
        self, path: str, path_params: Mapping[str, str], status: int, headers: Mapping[str, str], body: Any
    ) -> None:
        """Take in the ids a successful answer shows, each bound to the path parameters it came under."""
        if not 200 <= status < 300:
            return
        template = self.templates.get(path)
        if template is None:
            return
        known = {name: str(path_params[name]) for name in template.names if name in path_params}
        location = headers.get("location")
        if location:
            self._learn_location(location)
        child = self._child_parameter(path)
        for item in _objects(body):
            binding = dict(known)
            binding.update(
                {name: value for name, value in item.items() if name in self.names and isinstance(value, str)}
            )
            if child is not None and isinstance(item.get("id"), str):
                binding[child] = item["id"]
            if binding.keys() - known.keys():
                self.add(binding)

    def forget(self, gone: Mapping[str, str]) -> None:
        """Drop every binding that names the removed object (its children go with it)."""
        self.bindings = [b for b in self.bindings if not all(b.get(k) == v for k, v in gone.items())]

    def fill(
        self, names: Iterable[str], rng: random.Random, *, given: Mapping[str, str] | None = None, deleting: str = ""
    ) -> Binding:
        """Real values for `names`, consistent with each other where the pool knows how; {} if it knows none.

        `deleting` names the parameter a DELETE removes: a protected value is never offered for it.
        """
        wanted = tuple(names)
        chosen: Binding = dict(given or {})
        usable = [b for b in self.bindings if not (deleting and b.get(deleting) in self.protected)]
        consistent = [b for b in usable if all(b.get(k, v) == v for k, v in chosen.items())]
        best = max((len(set(wanted) & b.keys()) for b in consistent), default=0)
        if best:
            pick = rng.choice([b for b in consistent if len(set(wanted) & b.keys()) == best])
            chosen.update({k: v for k, v in pick.items() if k in wanted})
        for name in wanted:
            if name not in chosen:
                values = [b[name] for b in usable if name in b]
                if values:
                    chosen[name] = rng.choice(values)
        return {k: v for k, v in chosen.items() if k in wanted}

    def _learn_location(self, location: str) -> None:
        path = location.split("?", 1)[0]
        for template in self.templates.values():
            match = template.pattern.match(path)
            if match and template.names:
                self.add(match.groupdict())

    def _child_parameter(self, path: str) -> str | None:
        """The parameter naming one item of the collection at `path`: `token_id` for `/me/tokens`
        (`/me/tokens/{token_id}`), `workspace_id` for `/studies/{study_id}/workspaces` (`/workspaces/{workspace_id}`).
        """
        collection = path.rsplit("/", 1)[-1]
        if not collection or _PARAMETER.fullmatch(collection):
            return None
        items = [
            template
            for template in self.templates.values()
            if template.names and template.path.endswith(f"/{collection}/{{{template.names[-1]}}}")
        ]
        items.sort(key=lambda template: not template.path.startswith(path + "/"))
        return items[0].names[-1] if items else None


def _objects(body: Any) -> list[dict[str, Any]]:
    """The object of a single answer, or the items of a page."""
    if not isinstance(body, dict):
        return []
    items = body.get("items")
    if isinstance(items, list):
        return [item for item in items if isinstance(item, dict)]
    return [body]


def aim(case: Case[Any], pool: ObjectPool, rng: random.Random) -> None:
    """Point the path, and body fields named like path parameters, at real objects; never a part meant to be invalid."""
    names = [parameter.name for parameter in case.operation.path_parameters]
    if names and _positive(case, ParameterLocation.PATH) and rng.random() < AIM:
        deleting = names[-1] if case.method.upper() == "DELETE" else ""
        real = pool.fill(names, rng, deleting=deleting)
        if real:
            case.path_parameters = {**(case.path_parameters or {}), **real}
    body = case.body
    if isinstance(body, dict) and _positive(case, ParameterLocation.BODY):
        fields = [name for name in body if name in pool.names]
        if fields and rng.random() < AIM:
            real = pool.fill(fields, rng, given={k: str(v) for k, v in (case.path_parameters or {}).items()})
            if real:
                case.body = {**body, **real}


def observe(case: Case[Any], response: Response, pool: ObjectPool, ledger: Ledger) -> None:
    """Count the request; learn the ids its answer shows, or forget what it deleted."""
    ledger.record(f"{case.operation.method.upper()} {case.operation.path}", response.status_code)
    headers = {name.lower(): values[0] for name, values in response.headers.items() if values}
    path_params = {name: str(value) for name, value in (case.path_parameters or {}).items()}
    body = _json(response.content) if "json" in headers.get("content-type", "") else None
    pool.learn(case.operation.path, path_params, response.status_code, headers, body)
    if case.method.upper() == "DELETE" and 200 <= response.status_code < 300 and path_params:
        pool.forget(path_params)


def _positive(case: Case[Any], location: ParameterLocation) -> bool:
    meta = case.meta
    if meta is None:  # an explicit example from the document
        return True
    component = meta.components.get(location)
    mode = component.mode if component is not None else meta.generation.mode
    return mode == GenerationMode.POSITIVE


def _json(content: bytes) -> Any:
    try:
        return json.loads(content)
    except ValueError:
        return None


@dataclass
class Ledger:
    """Every request the fuzzer sent, as the responses came back."""

    started: float = field(default_factory=time.monotonic)
    finished: float = 0.0
    by_operation: Counter[str] = field(default_factory=Counter)
    by_status: Counter[int] = field(default_factory=Counter)
    answers: Counter[tuple[str, int]] = field(default_factory=Counter)

    def record(self, label: str, status: int) -> None:
        self.by_operation[label] += 1
        self.by_status[status] += 1
        self.answers[label, status] += 1
        self.finished = time.monotonic()

    @property
    def total(self) -> int:
        return sum(self.by_operation.values())

    @property
    def seconds(self) -> float:
        return max(self.finished - self.started, 0.0)

    def summary(self) -> str:
        """The count first, then each operation's answers by status."""
        statuses = ", ".join(f"{status}: {n}" for status, n in sorted(self.by_status.items()))
        lines = [
            f"fuzz pass: {self.total} requests to {len(self.by_operation)} operations in {self.seconds:.0f} s "
            f"({self.total / max(self.seconds, 1e-9):.0f}/s); answers {statuses}"
        ]
        for label in sorted(self.by_operation, key=lambda label: label.split(" ", 1)[::-1]):
            answers = " ".join(f"{status}x{n}" for (other, status), n in sorted(self.answers.items()) if other == label)
            lines.append(f"  {label:<62} {self.by_operation[label]:>5}  {answers}")
        return "\n".join(lines)
