"""Budget forcing (s1, arXiv 2501.19393) as a small state machine over raw text continuations.

A sample starts from the rendered chat prompt followed by the thinking opener. Its thinking is
continued with the closing tag as a stop string and at most what is left of the budget:

- the budget runs out: the thought is cut there;
- the model ends its thought early and ``waits`` remain: the end is suppressed, "Wait" is appended
  and the thought continues (s1's way to make a model think longer);
- otherwise the thought ends where the model ended it.

Then the thought is closed and the answer is asked for in so many words ("The final answer is
\\boxed{"), so a cut thought still ends with a stated answer (s1's users met cut thoughts with none,
s1 #127). The answer phase stops at a newline; a box the model leaves open is closed here and the
sample says so (``answer_closed_here``).

Only the standard library: the vLLM worker (``eval/vllm_offline.py``) runs this file in vLLM's own
environment, in rounds (one batched ``generate`` per phase); the endpoint path runs each sample's
loop concurrently (``eval/budget.py``). ``thinking_tokens`` counts generated tokens as the engine
reported them (the appended "Wait"s are the project's text, not the model's).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Forcing:
    budget: int  # most thinking tokens
    waits: int = 0  # times an early end of thinking is replaced by "Wait"
    opener: str = "<think>"
    closer: str = "</think>"
    cue: str = "The final answer is \\boxed{"
    wait: str = "Wait"
    answer_tokens: int = 64

    def record(self) -> dict:
        return dict(vars(self))


@dataclass(frozen=True)
class Request:
    prompt: str
    max_tokens: int
    stop: tuple[str, ...]
    seed: int | None = None  # the sample's own seed (every phase of a sample is sent the same)


@dataclass(frozen=True)
class Result:
    text: str
    tokens: int
    finish_reason: str  # "stop" (a stop string or the end of the turn) or "length"


def close_box(text: str) -> tuple[str, bool]:
    """The answer up to the brace that closes the cue's box (linear scan); when the model never
    closed it, the text with the braces it left open closed, and True."""
    depth = 1
    for i, ch in enumerate(text):
        if ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return text[: i + 1], False
    return text.rstrip() + "}" * depth, True


class Forced:
    """One sample under a budget: ``request()`` says what to continue next (None when finished),
    ``take()`` takes the engine's result."""

    def __init__(self, prompt: str, forcing: Forcing, seed: int | None = None):
        self.forcing, self.seed = forcing, seed
        opened = prompt.rstrip().endswith(forcing.opener)  # templates of thinking models open it themselves
        self.head = prompt if opened else f"{prompt}{forcing.opener}\n"
        self.thinking = ""
        self.thinking_tokens = 0
        self.waits_used = 0
        self.cut = False  # the budget ended the thought
        self.answering = False
        self.answer: str | None = None
        self.answer_tokens = 0
        self.answer_closed_here = False

    @property
    def closing(self) -> str:
        return f"\n{self.forcing.closer}\n\n{self.forcing.cue}"

    def request(self) -> Request | None:
        if self.answer is not None:
            return None
        if self.answering:
            return Request(self.head + self.thinking + self.closing, self.forcing.answer_tokens, ("\n",), self.seed)
        left = self.forcing.budget - self.thinking_tokens
        return Request(self.head + self.thinking, left, (self.forcing.closer,), self.seed)

    def take(self, result: Result) -> None:
        if self.answering:
            self.answer, self.answer_closed_here = close_box(result.text)
            self.answer_tokens = result.tokens
            return
        self.thinking += result.text
        self.thinking_tokens += result.tokens
        if result.finish_reason == "length" or self.thinking_tokens >= self.forcing.budget:
            self.cut = True
        elif self.waits_used < self.forcing.waits:
            self.thinking = self.thinking.rstrip() + f"\n{self.forcing.wait}"
            self.waits_used += 1
            return
        self.answering = True

    def output(self) -> str:
        """The sample as a model output: its thought in tags, then the answer sentence."""
        f = self.forcing
        return f"{f.opener}\n{self.thinking.strip()}\n{f.closer}\n\n{f.cue}{self.answer}"

    def record(self) -> dict:
        return {
            "output": self.output(),
            "thinking_tokens": self.thinking_tokens,
            "answer_tokens": self.answer_tokens,
            "tokens_out": self.thinking_tokens + self.answer_tokens,
            "waits_used": self.waits_used,
            "cut": self.cut,
            "answer_closed_here": self.answer_closed_here,
        }


def run_rounds(prompts: list[str], forcing: Forcing, complete_batch, seeds: list | None = None) -> list[Forced]:
    """Every sample forced (each with its seed), one batched call per round:
    ``complete_batch(list[Request]) -> list[Result]``."""
    states = [Forced(p, forcing, seed) for p, seed in zip(prompts, seeds or [None] * len(prompts), strict=True)]
    while pending := [s for s in states if s.request() is not None]:
        for state, result in zip(pending, complete_batch([s.request() for s in pending]), strict=True):
            state.take(result)
    return states
