"""Prompts as files a user edits without touching code (``journey prompts export DIR``, ``--prompts DIR``).

One file per role, ``KEY.md``, in a plain layout:

    profile: full
    # a comment line (lines starting with '#' before the first section)
    ### system
    You check the newest step of a math solution. ...
    ### user
    Problem: ...
    ### assistant
    ...
    ### strict
    Reason about the step, then end with ...

``profile`` says which parser reads the role's replies and how it samples (``compact``: one line,
a newline ends it; ``full``: as long as it needs). ``system`` and ``strict`` appear once; ``user``
and ``assistant`` alternate, as many few-shot turns as wanted (none is fine). A section runs to the
next header; its text is kept as written, less the blank lines at its ends. Every error names the
file and the line.
"""

from __future__ import annotations

import re
from pathlib import Path

from agents.structured import PROFILES, Prompt

HEADER = re.compile(r"^### (\w+)\s*$")
SECTIONS = ("system", "user", "assistant", "strict")
MAX_PROMPT_FILE_BYTES = 1 << 20


class PromptFileError(ValueError):
    """A prompt file that cannot be used; ``str()`` is ``FILE:LINE: what is wrong``."""


def render(key: str, profile: str, prompt: Prompt) -> str:
    lines = [
        f"profile: {profile}",
        f"# The {key} prompt of o1-journey. Edit the text under each header and run with --prompts DIR.",
        "# Sections: ### system (once), then ### user / ### assistant pairs (few-shot turns, any number),",
        "# then ### strict (the reminder added to the system text when a reply could not be parsed).",
        "# profile: compact (one-line replies, for small base models) or full (replies as long as they need).",
        "### system",
        prompt.system,
    ]
    for user, assistant in prompt.shots:
        lines += ["### user", user, "### assistant", assistant]
    lines += ["### strict", prompt.strict]
    return "\n".join(lines) + "\n"


def export_prompts(out: Path, prompts: dict[str, tuple[str, Prompt]]) -> list[Path]:
    """Write ``KEY.md`` for each ``key -> (profile, prompt)``; refuse to overwrite an edited file."""
    out.mkdir(parents=True, exist_ok=True)
    written = []
    for key, (profile, prompt) in sorted(prompts.items()):
        path = out / f"{key}.md"
        text = render(key, profile, prompt)
        if path.exists() and path.read_text(encoding="utf-8") != text:
            raise PromptFileError(f"{path}: exists and differs from the built-in prompt; choose another directory")
        path.write_text(text, encoding="utf-8")
        written.append(path)
    return written


def _block(lines: list[str]) -> str:
    return "\n".join(lines).strip("\n").rstrip()


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > MAX_PROMPT_FILE_BYTES:
            raise PromptFileError(f"{path}: larger than {MAX_PROMPT_FILE_BYTES} bytes")
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise PromptFileError(f"{path}: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise PromptFileError(f"{path}: {e.strerror}") from None


def _sections(path: Path, text: str) -> tuple[str, list[tuple[str, int, list[str]]]]:
    """The file's profile and its sections: (name, line, body lines)."""
    profile: str | None = None
    sections: list[tuple[str, int, list[str]]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if header := HEADER.match(line):
            name = header.group(1)
            if name not in SECTIONS:
                raise PromptFileError(f"{path}:{number}: unknown section '{name}' (sections: {', '.join(SECTIONS)})")
            sections.append((name, number, []))
        elif sections:
            sections[-1][2].append(line)
        elif line.startswith("#") or not line.strip():
            continue
        elif line.startswith("profile:"):
            profile = line.removeprefix("profile:").strip()
            if profile not in PROFILES:
                raise PromptFileError(f"{path}:{number}: profile is {' or '.join(PROFILES)}, not {profile!r}")
        else:
            raise PromptFileError(f"{path}:{number}: text before the first section (start one with '### system')")
    if profile is None:
        raise PromptFileError(f"{path}:1: no 'profile: compact|full' line before the sections")
    return profile, sections


def _shots(path: Path, turns: list[tuple[str, int, str]]) -> list[tuple[str, str]]:
    """The few-shot pairs of the user and assistant sections, in order, each user answered once."""
    shots: list[tuple[str, str]] = []
    pending_user: tuple[int, str] | None = None
    for name, number, content in turns:
        if name == "user":
            if pending_user is not None:
                raise PromptFileError(
                    f"{path}:{number}: 'user' follows 'user' (line {pending_user[0]}) with no 'assistant'"
                )
            pending_user = (number, content)
        else:
            if pending_user is None:
                raise PromptFileError(f"{path}:{number}: 'assistant' with no 'user' turn before it")
            shots.append((pending_user[1], content))
            pending_user = None
    if pending_user is not None:
        raise PromptFileError(f"{path}:{pending_user[0]}: 'user' turn with no 'assistant' reply after it")
    return shots


def load_prompt(path: Path) -> tuple[Prompt, str]:
    """A prompt file back as (Prompt, profile); a malformed file raises ``PromptFileError``."""
    profile, sections = _sections(path, _read(path))
    single: dict[str, str] = {}
    turns: list[tuple[str, int, str]] = []
    for name, number, body in sections:
        content = _block(body)
        if not content:
            raise PromptFileError(f"{path}:{number}: section '{name}' is empty")
        if name in ("system", "strict"):
            if name in single:
                raise PromptFileError(f"{path}:{number}: a second '{name}' section")
            single[name] = content
        else:
            turns.append((name, number, content))
    shots = _shots(path, turns)
    for name in ("system", "strict"):
        if name not in single:
            raise PromptFileError(f"{path}:1: no '### {name}' section")
    return Prompt(system=single["system"], shots=tuple(shots), strict=single["strict"]), profile
