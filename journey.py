"""The ``journey`` entry point (``journey ...`` or ``python -m journey ...``); the commands live in cli/."""

from __future__ import annotations

import sys

from cli import app

if __name__ == "__main__":
    sys.exit(app())
