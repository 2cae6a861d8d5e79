"""The embedded model's engine (agents/engine.py) on a tiny Gemma 3, over real HTTP on 127.0.0.1,
run both on agents/gemma3.py and on transformers.

The model has a sliding window (8 tokens) far shorter than its prompts on one layer and full
attention on the other, so batched, left-padded decoding with reused prefixes has to give exactly
what ``generate`` gives one prompt at a time.
"""

from __future__ import annotations

import asyncio
import json
import threading
import urllib.error
import urllib.request

import openai
import pytest

from tests.trainer.tiny import arithmetic, build_tiny_model

torch = pytest.importorskip("torch")

QUESTIONS = [
    "What is 3 plus 4?",
    "Tom has 12 apples and eats 5. How many are left?",
    "What is 7 plus 8 plus 9?",
    "A box holds 6 rows of 4 eggs. How many eggs?",
    "What is 10 minus 3?",
]
SYSTEM = "You solve arithmetic problems step by step and give the answer at the end."


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    texts = []
    for t in arithmetic(30):
        texts += [t.question, t.long_thought, t.summary]
    out = build_tiny_model(
        tmp_path_factory.mktemp("engine-model"),
        texts + QUESTIONS + [SYSTEM],
        sliding_window=8,
        layer_types=["sliding_attention", "full_attention"],
    )
    # a freshly initialised model barely attends: its greedy tokens would not notice a wrong mask
    # or a shifted position. Larger attention weights make every key count.
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(out, dtype=torch.float32)
    with torch.no_grad():
        for layer in model.model.layers:
            for proj in ("q_proj", "k_proj", "v_proj", "o_proj"):
                getattr(layer.self_attn, proj).weight.mul_(30.0)
    model.save_pretrained(out)
    return out


@pytest.fixture(scope="module", params=["auto", "transformers"])
def served(model_dir, request):
    """The engine on agents/gemma3.py ("auto" for this checkpoint) and on transformers."""
    from agents.engine import Engine
    from agents.engine_http import make_server

    engine = Engine(model_dir, "float32", implementation=request.param)
    assert engine.implementation == ("gemma3" if request.param == "auto" else "transformers")
    server = make_server(engine, "127.0.0.1", 0, "tiny")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield engine, f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()
    server.server_close()


def messages(question: str) -> list[dict]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": question}]


def reference(model_dir, question: str, max_tokens: int) -> str:
    """What transformers' own ``generate`` says, greedy, one prompt alone."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32, attn_implementation="eager")
    ids = tokenizer.apply_chat_template(messages(question), add_generation_prompt=True, return_tensors="pt")
    ids = ids["input_ids"] if not torch.is_tensor(ids) else ids
    out = model.generate(ids, do_sample=False, max_new_tokens=max_tokens, min_new_tokens=max_tokens)
    return tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True)


async def ask_all(base_url: str, questions: list[str], **kwargs) -> list:
    client = openai.AsyncOpenAI(base_url=base_url, api_key="EMPTY", max_retries=0)
    try:
        return await asyncio.gather(
            *(client.chat.completions.create(model="tiny", messages=messages(q), **kwargs) for q in questions)
        )
    finally:
        await client.close()


def test_batched_decoding_with_reused_prefixes_matches_generate(served, model_dir):
    engine, base_url = served
    # every reply runs to 24 tokens, so prompts of about 40 tokens pass the 8-token window
    kwargs = {"max_tokens": 24, "temperature": 0, "extra_body": {"min_tokens": 24}}
    first = asyncio.run(ask_all(base_url, QUESTIONS, **kwargs))
    reused_before = engine.stats["reused_tokens"]
    # the same prompts again: each starts from its cached prefix (the shared system turn at least)
    second = asyncio.run(ask_all(base_url, QUESTIONS[::-1], **kwargs))
    assert engine.stats["reused_tokens"] > reused_before
    expected = {q: reference(model_dir, q, 24) for q in QUESTIONS}
    assert [r.choices[0].message.content for r in first] == [expected[q] for q in QUESTIONS]
    assert [r.choices[0].message.content for r in second] == [expected[q] for q in QUESTIONS[::-1]]
    for r in first + second:
        assert r.usage.completion_tokens == 24 and r.choices[0].finish_reason == "length"
        assert r.usage.prompt_tokens > 30


def test_prompts_are_the_chat_template_transformers_renders(served, model_dir):
    from transformers import AutoTokenizer

    engine, _ = served
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    for chat in (messages(QUESTIONS[1]), [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "7"}]):
        expected = tokenizer.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
        assert engine.encode_chat(chat) == tokenizer.encode(expected, add_special_tokens=False)


def test_training_templates_with_generation_blocks_render_as_transformers_renders():
    from transformers.utils.chat_template_utils import render_jinja_template

    from agents.engine import compile_template
    from trainer.format import GEMMA_TRAINING_TEMPLATE as TRAINING_TEMPLATE

    chat = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "2+2?"}]
    chat += [{"role": "assistant", "content": " 4 "}, {"role": "user", "content": "and 3+3?"}]
    special = {"bos_token": "<bos>", "eos_token": "<eos>"}
    [expected], _ = render_jinja_template(
        conversations=[chat], chat_template=TRAINING_TEMPLATE, add_generation_prompt=True, **special
    )
    got = compile_template(TRAINING_TEMPLATE).render(messages=chat, add_generation_prompt=True, **special)
    assert got == expected and "4<end_of_turn>" in got


def test_a_text_completion_continues_the_rendered_template_as_the_chat_route_does(served):
    engine, base_url = served
    question = QUESTIONS[2]
    rendered = engine.chat_template.render(messages=messages(question), add_generation_prompt=True, **engine.special)
    [chat] = asyncio.run(ask_all(base_url, [question], max_tokens=12, temperature=0, extra_body={"min_tokens": 12}))

    async def raw(prompt: str, **kwargs):
        client = openai.AsyncOpenAI(base_url=base_url, api_key="EMPTY", max_retries=0)
        try:
            return await client.completions.create(model="tiny", prompt=prompt, temperature=0, **kwargs)
        finally:
            await client.close()

    text = asyncio.run(raw(rendered, max_tokens=12, extra_body={"min_tokens": 12}))
    assert text.choices[0].text == chat.choices[0].message.content
    assert text.usage.prompt_tokens == chat.usage.prompt_tokens and text.usage.completion_tokens == 12
    assert text.choices[0].finish_reason == "length"
    # continuing the prompt plus the first half of the reply gives the rest of it, token for token
    half = asyncio.run(raw(rendered, max_tokens=6, extra_body={"min_tokens": 6})).choices[0].text
    rest = asyncio.run(raw(rendered + half, max_tokens=6, extra_body={"min_tokens": 6})).choices[0].text
    assert half + rest == text.choices[0].text


def test_stop_strings_cut_the_reply_and_end_it(served):
    _, base_url = served
    [full] = asyncio.run(ask_all(base_url, QUESTIONS[:1], max_tokens=24, temperature=0, extra_body={"min_tokens": 24}))
    text = full.choices[0].message.content
    stop = text.strip()[len(text.strip()) // 2 :][:2]  # a piece of the middle of the reply
    [cut] = asyncio.run(
        ask_all(base_url, QUESTIONS[:1], max_tokens=24, temperature=0, stop=[stop], extra_body={"min_tokens": 24})
    )
    assert cut.choices[0].finish_reason == "stop"
    assert cut.choices[0].message.content == text[: text.index(stop)]
    assert stop not in cut.choices[0].message.content


def test_streamed_reply_is_the_same_text_with_usage(served):
    _, base_url = served

    async def stream() -> tuple[str, object, str]:
        client = openai.AsyncOpenAI(base_url=base_url, api_key="EMPTY", max_retries=0)
        pieces, usage, finish = [], None, None
        response = await client.chat.completions.create(
            model="tiny",
            messages=messages(QUESTIONS[2]),
            max_tokens=16,
            temperature=0,
            stream=True,
            stream_options={"include_usage": True},
            extra_body={"min_tokens": 16},
        )
        async for chunk in response:
            if chunk.choices:
                pieces.append(chunk.choices[0].delta.content or "")
                finish = chunk.choices[0].finish_reason or finish
            if chunk.usage is not None:
                usage = chunk.usage
        await client.close()
        return "".join(pieces), usage, finish

    text, usage, finish = asyncio.run(stream())
    [plain] = asyncio.run(
        ask_all(base_url, QUESTIONS[2:3], max_tokens=16, temperature=0, extra_body={"min_tokens": 16})
    )
    assert text == plain.choices[0].message.content
    assert usage.completion_tokens == 16 and finish == "length"


def test_seeded_sampling_repeats_and_differs_by_seed(served):
    _, base_url = served
    kwargs = {"max_tokens": 12, "temperature": 1.0, "extra_body": {"min_tokens": 12}}
    a = asyncio.run(ask_all(base_url, QUESTIONS[:1], seed=7, **kwargs))[0].choices[0].message.content
    b = asyncio.run(ask_all(base_url, QUESTIONS[:1], seed=7, **kwargs))[0].choices[0].message.content
    others = {
        asyncio.run(ask_all(base_url, QUESTIONS[:1], seed=s, **kwargs))[0].choices[0].message.content for s in (1, 2, 3)
    }
    assert a == b
    assert others - {a}  # a random model's sampled replies are not all one text


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"n": 2}, "n must be 1"),
        ({"messages": []}, "messages must be a non-empty list"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "role of system, user or assistant"),
        ({"stop": [""]}, "stop must be"),
        ({"top_p": 0}, "top_p in (0, 1]"),
        ({"messages": [{"role": "user", "content": "seven " * 1200}]}, "the model's context is 1024"),
    ],
)
def test_requests_it_cannot_serve_are_400_with_the_reason(served, body, reason):
    _, base_url = served
    request = {"model": "tiny", "messages": messages(QUESTIONS[0]), "max_tokens": 4} | body
    post = urllib.request.Request(f"{base_url}/chat/completions", data=json.dumps(request).encode(), method="POST")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(post, timeout=30)
    assert error.value.code == 400
    assert reason in json.loads(error.value.read())["error"]["message"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"prompt": ""}, "prompt must be a non-empty string"),
        ({"prompt": ["a", "b"]}, "prompt must be a non-empty string"),
        ({"echo": True}, "echo, suffix and logprobs are not served"),
        ({"stream": True}, "not streamed"),
    ],
)
def test_text_completions_it_cannot_serve_are_400_with_the_reason(served, body, reason):
    _, base_url = served
    request = {"model": "tiny", "prompt": "<bos>What is 3 plus 4?", "max_tokens": 4} | body
    post = urllib.request.Request(f"{base_url}/completions", data=json.dumps(request).encode(), method="POST")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(post, timeout=30)
    assert error.value.code == 400
    assert reason in json.loads(error.value.read())["error"]["message"]


def test_a_body_past_the_limit_is_refused_unread(served, monkeypatch):
    from agents import engine_http

    _, base_url = served
    monkeypatch.setattr(engine_http, "MAX_BODY_BYTES", 1000)
    data = json.dumps({"model": "tiny", "messages": messages("x" * 2000)}).encode()
    post = urllib.request.Request(f"{base_url}/chat/completions", data=data, method="POST")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(post, timeout=30)
    assert error.value.code == 413 and "at most 1000" in json.loads(error.value.read())["error"]["message"]
