"""A process reward model as the tree's step judge, over vLLM's pooling API (``--prm SPEC``).

Serve a Math-Shepherd-style PRM with vLLM in pooling mode, e.g.

    vllm serve peiyi9979/math-shepherd-mistral-7b-prm --runner pooling \\
      --override-pooler-config '{"pooling_type": "STEP", "step_tag_id": 12902, "returned_token_ids": [648, 387]}'

and pass ``--prm NAME@http://HOST:PORT/v1``. The question and the steps so far are sent as one
text, each step followed by the step tag (Math-Shepherd's ``ки``); the server returns one row per
step tag, the probabilities of the returned tokens (good first, by default). The newest step's
score is the last row's ``good`` column, in [0, 1]. A reply of another shape is an error, never a
guess: a judge that cannot run stops the expansion (the tree records it as failed).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from agents.endpoints import retrying
from agents.models import ChatModel

ROLE = "prm"
STEP_TAG = "ки"  # Math-Shepherd's step tag


class PRMError(RuntimeError):
    """A reply of the reward model that holds no score for the newest step."""


@dataclass(frozen=True)
class Score:
    value: float
    tokens_in: int
    latency_s: float
    model: str


def prm_text(question: str, steps: list[str], tag: str = STEP_TAG) -> str:
    """Math-Shepherd's input: the question, then each step followed by the step tag."""
    return question.strip() + " " + " ".join(f"Step {i}: {' '.join(s.split())} {tag}" for i, s in enumerate(steps, 1))


def pooling_url(base_url: str) -> str:
    """vLLM serves the pooling API at the server's root, beside /v1."""
    root = base_url.rstrip("/")
    return (root.removesuffix("/v1") or root) + "/pooling"


def last_score(data: Any, good: int = 0) -> float:
    """The newest step's score from a pooling reply's ``data``: rows of token probabilities, or scores."""
    if isinstance(data, list) and data:
        last = data[-1]
        if isinstance(last, list) and len(last) > good and isinstance(last[good], int | float):
            value = float(last[good])
        elif isinstance(last, int | float):
            value = float(last)
        else:
            raise PRMError(f"no score in the last row of the reward model's reply ({str(last)[:80]})")
    elif isinstance(data, int | float):
        value = float(data)
    else:
        raise PRMError(f"the reward model's reply holds no scores ({str(data)[:80]})")
    if not 0.0 <= value <= 1.0:
        raise PRMError(f"the reward model's score {value} is not a probability in [0, 1]")
    return value


async def score(model: ChatModel, question: str, steps: list[str], *, tag: str = STEP_TAG, good: int = 0) -> Score:
    """Score the last of ``steps`` with the reward model behind ``model``'s endpoint (retried like a chat call)."""
    import httpx

    client = model.chat.root_async_client
    url = pooling_url(str(client.base_url))
    body = {"model": model.spec.model, "input": prm_text(question, steps, tag)}
    start = time.perf_counter()
    async for attempt in retrying():
        with attempt:
            response = await client.post(url, body=body, cast_to=httpx.Response)
    payload = response.json()
    try:
        data = payload["data"][0]["data"]
    except (KeyError, IndexError, TypeError):
        raise PRMError(f"not a pooling reply: {str(payload)[:120]}") from None
    tokens_in = int((payload.get("usage") or {}).get("prompt_tokens", 0))
    return Score(last_score(data, good), tokens_in, time.perf_counter() - start, str(model.spec))
