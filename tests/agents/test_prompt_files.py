"""Prompt profiles and prompt files: export, edit, load back (file:line errors), the profile per model."""

from __future__ import annotations

import pytest

from agents import critique, policy, reflection, teacher
from agents.prompt_files import PromptFileError, export_prompts, load_prompt, render
from graphs.method import Generation, OptionError
from graphs.registry import METHODS


def test_a_prompt_file_reads_back_as_it_was_written(tmp_path):
    for prompts in (policy.PROMPTS, critique.PROMPTS, critique.DEBATE_PROMPTS, reflection.PROMPTS, teacher.HINTS):
        for profile in ("compact", "full"):
            path = tmp_path / f"{prompts.key}-{profile}.md"
            path.write_text(render(prompts.key, profile, prompts.prompt(profile)))
            assert load_prompt(path) == (prompts.prompt(profile), profile)


@pytest.mark.parametrize(
    ("body", "error"),
    [
        ("### system\nhi\n### strict\nx\n", ":1: no 'profile: compact|full'"),
        ("profile: tiny\n### system\nhi\n", ":1: profile is compact or full, not 'tiny'"),
        ("profile: full\nhello\n### system\nhi\n", ":2: text before the first section"),
        ("profile: full\n### system\nhi\n### sytem\nx\n", ":4: unknown section 'sytem'"),
        ("profile: full\n### system\n\n\n### strict\nx\n", ":2: section 'system' is empty"),
        ("profile: full\n### system\nhi\n### assistant\nx\n### strict\ny\n", ":4: 'assistant' with no 'user'"),
        ("profile: full\n### system\nhi\n### user\nq\n### user\nq\n", ":6: 'user' follows 'user' (line 4)"),
        ("profile: full\n### system\nhi\n### user\nq\n### strict\ny\n", ":4: 'user' turn with no 'assistant'"),
        ("profile: full\n### system\nhi\n", ":1: no '### strict' section"),
        ("profile: full\n### system\nhi\n### strict\nx\n### system\nagain\n", ":6: a second 'system' section"),
    ],
)
def test_bad_prompt_files_name_the_line(tmp_path, body, error):
    path = tmp_path / "policy.md"
    path.write_text(body)
    with pytest.raises(PromptFileError) as e:
        load_prompt(path)
    assert str(e.value).startswith(str(path)) and error in str(e.value)


def test_export_refuses_to_overwrite_an_edited_file(tmp_path):
    table = {"policy": ("full", policy.FULL)}
    export_prompts(tmp_path, table)
    export_prompts(tmp_path, table)  # the same text again is fine
    (tmp_path / "policy.md").write_text((tmp_path / "policy.md").read_text().replace("first person", "third person"))
    with pytest.raises(PromptFileError, match="differs from the built-in"):
        export_prompts(tmp_path, table)


def test_the_profile_follows_the_model_and_can_be_chosen(tmp_path):
    journey = METHODS["journey"]
    specs = {"policy": "local", "critic": "m@http://127.0.0.1:9/v1", "reflector": "local:/models/x"}
    chosen = journey.make_prompts(specs)
    assert {r: c.profile for r, c in chosen.items()} == {"policy": "compact", "critic": "full", "reflector": "compact"}
    assert chosen["critic"].prompt == critique.FULL and chosen["policy"].prompt == policy.PROMPT
    assert {c.profile for c in journey.make_prompts(specs, "full").values()} == {"full"}
    # sampling follows the profile: one line and 64 tokens compact, no stop and 1024 tokens full
    roles = journey.make_roles(specs, Generation(), {r: c.profile for r, c in chosen.items()})
    assert (roles["policy"][1].max_tokens, roles["policy"][1].stop) == (64, ("\n",))
    assert (roles["critic"][1].max_tokens, roles["critic"][1].stop) == (1024, ())
    assert journey.make_roles(specs, Generation(step_tokens=300), {"critic": "full"})["critic"][1].max_tokens == 300


def test_a_prompts_directory_must_hold_every_role(tmp_path):
    export_prompts(tmp_path, {"policy": ("full", policy.FULL)})
    with pytest.raises(OptionError, match="critic.md: missing"):
        METHODS["journey"].make_prompts({"policy": "local", "critic": "local", "reflector": "local"}, str(tmp_path))
    (tmp_path / "critic.md").write_text("profile: full\n### system\nx\n### bogus\n")
    export_prompts(tmp_path, {"reflector": ("compact", reflection.PROMPT)})
    with pytest.raises(OptionError, match=r"critic.md:4: unknown section 'bogus'"):
        METHODS["journey"].make_prompts({"policy": "local", "critic": "local", "reflector": "local"}, str(tmp_path))


def test_full_parsers_read_capable_replies():
    step = policy.parse_full("Let me set up the equation.\nIf x + 2 = 5 then x = 3.\nFinal answer: \\boxed{3}")
    assert step.answer == "3" and step.text.startswith("Let me set up") and "\n" in step.text
    assert policy.parse_full("Step 2: the sum is 5.").text == "the sum is 5." and policy.parse_full("x").answer is None
    verdict = critique.parse_full('The step says "2 + 3 = 6", but 2 + 3 = 5.\nVerdict: incorrect\nScore: 0.15\n')
    assert (verdict.correct, verdict.score) == (False, 0.15) and verdict.reason.startswith("The step says")
    assert critique.parse_full("Verdict: correct. Reason: fine.").score == 1.0  # compact shape: 1 / 0
    assert critique.parse_full("Checks out.\nVerdict: correct\nScore: 7").score == 1.0  # clamped to [0, 1]
    assert critique.parse("Verdict: incorrect. Reason: no.").score == 0.0
    back = reflection.parse_full(
        "Wait, if the roots are 2 and 3 the product is 6,\nbut I used 5.\nLet me go back to step 1."
    )
    assert back.back_to == 1 and "\n" in back.text and back.text.startswith("Wait,")
    turn = critique.parse_debate_full("This adds boxes to eggs.\nBacktrack: the eggs are 5 * 6.")
    assert (turn.correct, turn.reason) == (False, "the eggs are 5 * 6")
    assert critique.parse_debate_full("Looks right.\nContinue.").correct
    for parse, text in ((critique.parse_full, "no verdict here"), (reflection.parse_full, "Wait, hmm.")):
        with pytest.raises(ValueError):
            parse(text)
