"""The methods ``journey synth`` can run: a plain dict, name -> ``Method``. A new method is one line here."""

from __future__ import annotations

from graphs import debate, distill, human, journey, reformat, tree
from graphs.method import Method

METHODS: dict[str, Method] = {
    m.name: m for m in (journey.METHOD, debate.METHOD, tree.METHOD, distill.METHOD, reformat.METHOD, human.METHOD)
}
