"""What the agents say, as events: the unit a trace is made of.

Events live in the data layer: agent nodes write them and every reader of a corpus reads them, and
the data layer imports no agent. corpus/schema.py re-exports Event next to Problem and Trace.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

# rewrite: a rewriter's fluent version of the whole thought (kept for its text and usage; the trace's
# long_thought is it, when it was used)
# the reason a step judge's verdict carries when its reply could not be read, even after the stricter
# retry: the step is unjudged (``correct`` None), never a pass
UNJUDGED = "the judge's reply could not be read"

EventKind = Literal["attempt", "critique", "reflection", "backtrack", "answer", "verification", "teacher", "rewrite"]


class Event(BaseModel):
    """One thing that happened in an exploration, in order.

    ``step`` is the 1-based position in the reasoning path the event is about (for a backtrack, the
    step the path goes back to). ``malformed`` marks model output that failed to parse even after the
    stricter retry; its raw text is kept in ``text``.
    """

    kind: EventKind
    role: str
    model: str | None = None
    text: str
    step: int | None = None
    correct: bool | None = None
    score: float | None = None  # a step judge's score in [0, 1] (critic or process reward model)
    answer: str | None = None
    malformed: bool = False
    tokens_in: int = 0
    tokens_out: int = 0
    latency_s: float = 0.0
    calls: int = 0
    reasoning: str | None = Field(default=None, description="separate reasoning field returned by the model")
