"""Turning traces into chat samples, and the chat template the trainer masks the loss with.

A journey trace becomes one conversation: the question as the user turn; the long thought (wrapped
in ``<think>`` ... ``</think>`` by default) and then the corrected path ending in the boxed answer as
the assistant turn. ``thought="shortcut"`` keeps only the corrected path: the shortcut-learning
arm of Part 1's ablation.

The loss covers the assistant turn only, so the template must mark it with ``{% generation %}``.
Stock templates get TRL's training variant; the Gemma turn format the embedded model is served with
gets ``GEMMA_TRAINING_TEMPLATE``. Some stock templates drop ``<think>`` sections from assistant
turns: ``check_labels`` renders real samples and fails loudly if any assistant text, thinking
included, is missing from the tokens that carry loss.
"""

from __future__ import annotations

from typing import Any, Literal

Thought = Literal["journey", "shortcut"]
Messages = list[dict[str, str]]

THINK_OPEN, THINK_CLOSE = "<think>", "</think>"

# The Gemma turn format of agents/local.py with the assistant turn (its <end_of_turn> included, so
# the model learns to stop) inside generation markers.
GEMMA_TRAINING_TEMPLATE = (
    "{{ bos_token }}{%- set ns = namespace(system='') -%}"
    "{%- for message in messages -%}"
    "{%- if message['role'] == 'system' -%}{%- set ns.system = ns.system + message['content'] + '\n\n' -%}"
    "{%- elif message['role'] == 'assistant' -%}"
    "<start_of_turn>model\n{% generation %}{{ message['content'] | trim }}<end_of_turn>{% endgeneration %}\n"
    "{%- else -%}"
    "<start_of_turn>user\n{{ ns.system }}{% set ns.system = '' %}{{ message['content'] | trim }}<end_of_turn>\n"
    "{%- endif -%}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt %}<start_of_turn>model\n{% endif -%}"
)


class TemplateError(ValueError):
    pass


def assistant_text(long_thought: str, answer_part: str, *, think_tags: bool) -> str:
    if think_tags:
        return f"{THINK_OPEN}\n{long_thought.strip()}\n{THINK_CLOSE}\n\n{answer_part.strip()}"
    return f"{long_thought.strip()}\n\n{answer_part.strip()}"


def trace_messages(trace: dict[str, Any], *, thought: Thought = "journey", think_tags: bool = True) -> Messages:
    """A corpus trace (a row of traces.jsonl) as a user turn and an assistant turn."""
    answer_part = trace["summary"] or f"The answer is \\boxed{{{trace['final_answer']}}}."
    if thought == "shortcut":
        content = answer_part
    else:
        content = assistant_text(trace["long_thought"], answer_part, think_tags=think_tags)
    return [{"role": "user", "content": trace["question"].strip()}, {"role": "assistant", "content": content.strip()}]


def training_template(tokenizer) -> str:
    """A chat template with generation markers for ``tokenizer``: its own, TRL's training variant, or ours."""
    from trl.chat_template_utils import (
        get_training_chat_template,
        has_generation_markers,
    )

    from agents.checkpoints import CHAT_TEMPLATE

    template = tokenizer.chat_template
    if template is None or template == CHAT_TEMPLATE:
        return GEMMA_TRAINING_TEMPLATE
    if has_generation_markers(template):
        return template
    try:
        patched = get_training_chat_template(tokenizer)
    except ValueError as e:
        raise TemplateError(
            f"the model's chat template has no {{% generation %}} markers and TRL has no training variant of it ({e}); "
            "set chat_template_path to a template that marks the assistant turn"
        ) from None
    return patched or template


def _squash(text: str) -> str:
    return "".join(text.split())


def check_labels(tokenizer, template: str, samples: list[Messages]) -> None:
    """Fail if the loss mask misses any assistant text, thinking included."""
    for messages in samples:
        out = tokenizer.apply_chat_template(
            messages, chat_template=template, tokenize=True, return_dict=True, return_assistant_tokens_mask=True
        )
        ids, mask = out["input_ids"], out["assistant_masks"]
        trained = _squash(tokenizer.decode([t for t, m in zip(ids, mask, strict=True) if m]))
        for message in messages:
            content = _squash(message["content"])
            if message["role"] == "assistant" and content not in trained:
                raise TemplateError(
                    "the chat template leaves part of the assistant turn out of the loss "
                    f"(stock templates that strip {THINK_OPEN} sections do this): {message['content'][:80]!r}"
                )


def token_length(tokenizer, template: str, messages: Messages) -> int:
    return len(
        tokenizer.apply_chat_template(messages, chat_template=template, tokenize=True, return_dict=True)["input_ids"]
    )
