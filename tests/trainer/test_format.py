"""Chat formatting of traces and the loss mask: the assistant turn, thinking included, and nothing else."""

from __future__ import annotations

import datasets
import pytest
from transformers import AutoTokenizer
from trl import SFTConfig, SFTTrainer

from agents.checkpoints import CHAT_TEMPLATE
from tests.trainer.tiny import arithmetic
from trainer.format import (
    GEMMA_TRAINING_TEMPLATE,
    TemplateError,
    check_labels,
    trace_messages,
    training_template,
)


def test_journey_keeps_the_whole_exploration_and_shortcut_only_the_corrected_path():
    trace = arithmetic(3)[1].model_dump()
    journey = trace_messages(trace)[1]["content"]
    shortcut = trace_messages(trace, thought="shortcut")[1]["content"]
    assert journey.startswith("<think>\nAdd the numbers to get 7.")
    assert "Wait, the sum is off by one." in journey and "Let me go back to step 1." in journey
    assert journey.endswith("</think>\n\nStep 1: Adding carefully gives 6.\nThe answer is \\boxed{6}.")
    assert shortcut == "Step 1: Adding carefully gives 6.\nThe answer is \\boxed{6}."
    plain = trace_messages(trace, think_tags=False)[1]["content"]
    assert "<think>" not in plain and "Wait, the sum is off by one." in plain
    assert trace_messages(trace)[0] == {"role": "user", "content": "What is 1 plus 5?"}


def test_labels_built_by_trl_cover_exactly_the_assistant_turn(tiny_model, tmp_path):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    tokenizer.chat_template = training_template(tokenizer)
    conversations = [trace_messages(t.model_dump()) for t in arithmetic(4)]
    args = SFTConfig(
        output_dir=str(tmp_path), use_cpu=True, bf16=False, report_to="none", assistant_only_loss=True, max_length=None
    )
    trainer = SFTTrainer(
        model=str(tiny_model),
        args=args,
        train_dataset=datasets.Dataset.from_list([{"messages": m} for m in conversations]),
        processing_class=tokenizer,
    )
    for row, messages in zip(trainer.train_dataset, conversations, strict=True):
        ids, labels = row["input_ids"], row["labels"]
        prompt = tokenizer.apply_chat_template(
            messages[:1], add_generation_prompt=True, tokenize=True, return_dict=True
        )["input_ids"]
        assert ids[: len(prompt)] == prompt
        assert set(labels[: len(prompt)]) == {-100}, "the user turn must carry no loss"
        trained = [t for t in labels if t != -100]
        # the trained tokens are one contiguous span right after the prompt: the whole assistant turn
        assert trained == ids[len(prompt) : len(prompt) + len(trained)]
        assert tokenizer.decode(trained) == messages[1]["content"] + "<end_of_turn>"
        assert "<think>" in tokenizer.decode(trained) and "Wait, the sum is off by one." in tokenizer.decode(trained)


def test_a_template_that_strips_thinking_is_refused(tiny_model):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    stripping = GEMMA_TRAINING_TEMPLATE.replace(
        "{{ message['content'] | trim }}<end_of_turn>{% endgeneration %}",
        "{{ message['content'].split('</think>')[-1] | trim }}<end_of_turn>{% endgeneration %}",
    )
    assert stripping != GEMMA_TRAINING_TEMPLATE
    messages = trace_messages(arithmetic(1)[0].model_dump())
    check_labels(tokenizer, GEMMA_TRAINING_TEMPLATE, [messages])
    with pytest.raises(TemplateError, match="<think>"):
        check_labels(tokenizer, stripping, [messages])


def test_training_template_choice(tiny_model):
    tokenizer = AutoTokenizer.from_pretrained(tiny_model)
    assert tokenizer.chat_template == CHAT_TEMPLATE
    assert training_template(tokenizer) == GEMMA_TRAINING_TEMPLATE
    tokenizer.chat_template = "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    with pytest.raises(TemplateError, match="generation"):
        training_template(tokenizer)
