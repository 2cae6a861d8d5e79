"""The trace schema: Problem, Event (from agents), Trace, and the ids that make reruns idempotent."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, Field

from corpus.events import Event

__all__ = ["Event", "Problem", "RoleUsage", "Trace", "config_hash", "trace_id"]


@dataclass(slots=True, frozen=True)
class Problem:
    """A problem with a stable id and a reference answer to verify against.

    A slotted dataclass, not a pydantic model: a million problems stay in memory for a whole run,
    and pydantic's per-instance dict and field set tripled their size (1.3 GB for 1M). Built only
    by our loader, which validates every field; ``model_dump`` / ``model_copy`` keep the
    interface the rest of the code uses.
    """

    id: str
    question: str
    answer: str
    source: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def model_dump(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "question": self.question,
            "answer": self.answer,
            "source": self.source,
            "meta": dict(self.meta),
        }

    def model_copy(self, *, update: dict[str, Any]) -> Problem:
        return replace(self, **update)


class RoleUsage(BaseModel):
    model: str | None = None
    calls: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    latency_s: float = 0.0

    def add(self, calls: int, tokens_in: int, tokens_out: int, latency_s: float) -> None:
        self.calls += calls
        self.tokens_in += tokens_in
        self.tokens_out += tokens_out
        self.latency_s += latency_s


class Trace(BaseModel):
    """One exploration of one problem: every event, the rendered long thought, and the verdict."""

    id: str
    problem_id: str
    method: str
    sample: int
    config_hash: str
    source: str = Field(description="where the thought came from: synthesized, human, ...")
    question: str
    reference_answer: str
    subject: str | None = Field(default=None, description="the problem's subject (MATH: Algebra, ...), when it has one")
    level: str | None = Field(default=None, description="the problem's level or difficulty, when it has one")
    events: list[Event]
    final_answer: str | None
    verified: bool
    status: str
    long_thought: str
    summary: str
    models: dict[str, str]
    usage: dict[str, RoleUsage]
    n_steps: int
    n_backtracks: int
    wall_s: float
    tree: dict[str, Any] | None = Field(
        default=None, description="tree method: the search tree, networkx node-link JSON"
    )
    draft: str | None = Field(
        default=None, description="the long thought before a rewriter rewrote it (tree, journey --rewrite)"
    )
    rewrite: str | None = Field(
        default=None, description="used, lost_answer or fewer_reflections: what became of the rewrite (None: none)"
    )
    shape: dict[str, Any] | None = Field(
        default=None, description="thought words and tokens, steps, reflections, backtracks, dead-end depth, rewritten"
    )

    @property
    def tokens(self) -> int:
        return sum(u.tokens_in + u.tokens_out for u in self.usage.values())


def config_hash(config: dict[str, Any]) -> str:
    """Hash of everything that changes what a run produces (method, budgets, models, prompt texts)."""
    blob = json.dumps(config, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


def trace_id(problem_id: str, method: str, sample: int, cfg_hash: str) -> str:
    return hashlib.sha256(f"{problem_id}\x1f{method}\x1f{sample}\x1f{cfg_hash}".encode()).hexdigest()[:20]


def usage_by_role(events: list[Event]) -> dict[str, RoleUsage]:
    usage: dict[str, RoleUsage] = {}
    for ev in events:
        if not ev.calls:
            continue
        usage.setdefault(ev.role, RoleUsage(model=ev.model)).add(ev.calls, ev.tokens_in, ev.tokens_out, ev.latency_s)
    return usage
