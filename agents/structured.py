"""Shared machinery of the agent roles: few-shot prompts, parse-or-retry-stricter, events from calls.

Each role (policy, critique, reflection) is a prompt plus a parser; this module holds what they
share so the role files stay a prompt, a parser and a node.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from langgraph.runtime import Runtime

from agents.models import ChatModel, Reply, complete
from answers.extract import answer_section, last_boxed
from corpus.events import Event

T = TypeVar("T")

# every role replies in one line, so a newline ends a reply (and saves a small model's rambling)
ONE_LINE = ("\n",)


class ParseError(ValueError):
    """Model output that does not follow the role's format."""


@dataclass
class AgentContext:
    """What agent nodes read from LangGraph's runtime context: one chat model per role, the prompt
    each role runs with and its profile (absent: the role's compact prompt), and the rescue judge."""

    models: dict[str, ChatModel] = field(default_factory=dict)
    prompts: dict[str, Prompt] = field(default_factory=dict)
    profiles: dict[str, str] = field(default_factory=dict)
    # --judge-rescue: asked about a final answer the rule-based verifier calls wrong (agents.rescue.Rescuer)
    rescue: Any = None


@dataclass(frozen=True)
class Prompt:
    """A role's prompt: instructions, few-shot (user, assistant) pairs, and the stricter reminder."""

    system: str
    shots: tuple[tuple[str, str], ...]
    strict: str

    def messages(self, query: str, *, strict: bool = False) -> list[BaseMessage]:
        system = self.system + ("\n\n" + self.strict if strict else "")
        messages: list[BaseMessage] = [SystemMessage(system)]
        for user, assistant in self.shots:
            messages += [HumanMessage(user), AIMessage(assistant)]
        messages.append(HumanMessage(query))
        return messages

    def text(self) -> str:
        """Everything that changes what the model is asked: part of the config hash."""
        return "\n".join([self.system, self.strict, *(u + "\n" + a for u, a in self.shots)])


# compact: one-line few-shot prompts for small base models (the embedded 270M); full: for instruct
# and reasoning models, a step as long as it needs, critiques that reason before their verdict
PROFILES = ("compact", "full")


@dataclass(frozen=True)
class RolePrompts:
    """A role's prompt in each profile, with the parser of its replies; ``key`` names its file in a
    prompts directory (``journey prompts export``). A role whose replies are free text has one
    prompt for both profiles and no parser."""

    key: str
    compact: Prompt
    full: Prompt
    parse_compact: Callable[[str], Any] | None = None
    parse_full: Callable[[str], Any] | None = None

    def prompt(self, profile: str) -> Prompt:
        return self.full if profile == "full" else self.compact

    def parser(self, profile: str) -> Callable[[str], Any]:
        parse = self.parse_full if profile == "full" else self.parse_compact
        if parse is None:
            raise TypeError(f"{self.key}: no parser")
        return parse


def chosen(ctx: AgentContext, role: str, prompts: RolePrompts) -> tuple[Prompt, str]:
    """The prompt ``role`` runs with in this context, and its profile."""
    profile = getattr(ctx, "profiles", {}).get(role, "compact")
    return getattr(ctx, "prompts", {}).get(role) or prompts.prompt(profile), profile


@dataclass
class Parsed(Generic[T]):
    value: T | None
    raw: str
    replies: list[Reply]

    @property
    def malformed(self) -> bool:
        return self.value is None


async def ask(model: ChatModel, prompt: Prompt, query: str, parse: Callable[[str], T]) -> Parsed[T]:
    """Ask once; on unparseable output ask once more with the stricter prompt; never raise ParseError."""
    replies: list[Reply] = []
    for strict in (False, True):
        reply = await complete(model, prompt.messages(query, strict=strict))
        replies.append(reply)
        try:
            return Parsed(parse(reply.text), reply.text, replies)
        except ParseError:
            continue
    return Parsed(None, replies[-1].text, replies)


def event(kind: str, role: str, parsed: Parsed[Any], text: str, **fields: Any) -> Event:
    """An event carrying the usage of every call it took (the stricter retry included)."""
    replies = parsed.replies
    return Event(
        kind=kind,
        role=role,
        model=replies[-1].model if replies else None,
        text=text,
        malformed=parsed.malformed,
        tokens_in=sum(r.tokens_in for r in replies),
        tokens_out=sum(r.tokens_out for r in replies),
        latency_s=sum(r.latency_s for r in replies),
        calls=len(replies),
        reasoning=replies[-1].reasoning if replies else None,
        **fields,
    )


def numbered(path: list[str]) -> str:
    return "\n".join(f"{i}. {step}" for i, step in enumerate(path, 1)) if path else "none"


def first_line(text: str) -> str:
    return text.strip().splitlines()[0].strip() if text.strip() else ""


async def solve_once(model: ChatModel, role: str, prompt: Prompt, query: str) -> dict[str, Any]:
    """One free-form call whose answer is the last \\boxed{} of what follows its thinking.

    A reply whose thinking block never closed (``<think>`` cut by the token limit) states no answer,
    whatever its half-finished thought holds; a separate reasoning field (a vLLM reasoning parser's)
    is the thinking, so the answer is read from the content. No stricter retry: for the roles that
    write whole solutions (teacher, rewriter) a reply with no answer is a rejected sample, not a
    format slip worth a second long call.
    """
    reply = await complete(model, prompt.messages(query))
    section = answer_section(reply.text)
    answer = last_boxed(section) if section is not None else None
    # a reply with no answer is not malformed: it is a sample that fails verification, text kept
    ev = event("attempt", role, Parsed(reply.text, reply.text, [reply]), reply.text, step=1, answer=answer)
    return {"events": [ev], "candidate": {"text": reply.text, "answer": answer}, "tokens": ev.tokens_in + ev.tokens_out}


def free_text_node(role: str, prompts: RolePrompts, query: Callable[[Mapping[str, Any]], str], name: str):
    """The graph node of a role that writes one whole text (a solution, a rewrite): its prompt, the
    query built from the state, one :func:`solve_once` call. The teacher's solutions and the
    rewriter's reformats and monologues are this node with their own prompt and query."""

    async def node(state: Mapping[str, Any], runtime: Runtime[AgentContext]) -> dict[str, Any]:
        prompt, _ = chosen(runtime.context, role, prompts)
        return await solve_once(runtime.context.models[role], role, prompt, query(state))

    node.__name__ = node.__qualname__ = name
    return node
