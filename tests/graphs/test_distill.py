"""The batched distill graph: several problems per graph run, each sampled until it verifies, each
failing alone (real LangGraph, real verifier; a fake teacher that answers each problem from its own script)."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import pytest
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage
from langchain_core.outputs import ChatGeneration, ChatResult

from agents.models import ChatModel
from agents.specs import parse_spec
from answers.verify import Verifier
from corpus.schema import Problem
from graphs import distill


class ByQuestion(BaseChatModel):
    """Answers each problem with the next reply of its own script; an exception in the script is raised."""

    script: dict[str, list]

    @property
    def _llm_type(self) -> str:
        return "by-question"

    def _generate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        reply = self.script[messages[-1].content].pop(0)
        if isinstance(reply, Exception):
            raise reply
        usage = {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}
        return ChatResult(generations=[ChatGeneration(message=AIMessage(reply, usage_metadata=usage))])

    async def _agenerate(self, messages, stop=None, run_manager=None, **kwargs) -> ChatResult:
        await asyncio.sleep(0)  # let the batch's other calls run in between
        return self._generate(messages)


@pytest.fixture(scope="module")
def verifier():
    with Verifier(timeout_s=20) as v:
        yield v


PROBLEMS = [Problem(id=f"p{i}", question=f"What is {i} + {i}?", answer=str(2 * i)) for i in range(4)]


def run(verifier, script: dict[str, list], samples: int, keep: str) -> tuple[list, dict[str, list]]:
    """The batch's results, and the replies the teacher had left (pydantic copied the script)."""
    teacher = ChatModel(spec=parse_spec("teacher@http://127.0.0.1:9/v1"), chat=ByQuestion(script=script))
    ctx = distill.DistillContext(models={"teacher": teacher}, verifier=verifier, samples=samples, keep=keep)
    limit = distill.METHOD.limit(SimpleNamespace(samples=samples))
    final = asyncio.run(
        distill.build().ainvoke(distill.batch_state(PROBLEMS), context=ctx, config={"recursion_limit": limit})
    )
    return distill.batch_results(final), teacher.chat.script


def drawn(result) -> list[tuple[int, str | None, bool]]:
    return [(s["sample"], s["final_answer"], s["kept"]) for s in result]


def test_each_problem_of_a_batch_is_sampled_until_it_verifies_and_a_failure_stays_its_own(verifier):
    script = {
        "Problem: What is 0 + 0?": ["So \\boxed{0}."],  # right at once
        "Problem: What is 1 + 1?": ["So \\boxed{3}.", "Wait, 1 + 1 = 2. So \\boxed{2}."],  # wrong, then right
        "Problem: What is 2 + 2?": ["So \\boxed{5}.", RuntimeError("endpoint exploded")],  # fails on its second sample
        "Problem: What is 3 + 3?": ["So \\boxed{5}.", "So \\boxed{7}.", "No box at all."],  # never right
    }
    got, left = run(verifier, script, samples=3, keep="first")
    assert drawn(got[0]) == [(0, "0", True)]
    assert drawn(got[1]) == [(0, "3", False), (1, "2", True)]
    assert isinstance(got[2], RuntimeError) and "exploded" in str(got[2])  # its drawn sample goes with it
    assert drawn(got[3]) == [(0, "5", False), (1, "7", False), (2, None, False)]
    assert got[3][2]["status"] == "no_answer" and got[1][1]["n_backtracks"] == 0  # "Wait" is a reflection
    assert all(not replies for replies in left.values())  # every reply drawn: sampling went on where it should


def test_keep_all_draws_every_sample_of_every_problem(verifier):
    script = {
        f"Problem: What is {i} + {i}?": [f"So \\boxed{{{2 * i}}}.", f"So \\boxed{{{2 * i + 1}}}."] for i in range(4)
    }
    got, left = run(verifier, script, samples=2, keep="all")
    assert [drawn(r) for r in got] == [[(0, str(2 * i), True), (1, str(2 * i + 1), False)] for i in range(4)]
    assert all(not replies for replies in left.values())
