"""Lower bounds in pyproject.toml admit only releases with the APIs the code calls."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]

# package -> (the first release with what we call, what that is)
NEEDED = {
    "tenacity": ("9.2.1", "wait_exponential_jitter(multiplier=...) in agents/models.py"),
    "math-verify": ("0.8", "verify(..., allow_set_relation_comp=...) and parse(..., parsing_timeout=...)"),
}


def test_lower_bounds_admit_only_versions_with_the_apis_we_call():
    dependencies = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    bounds = {}
    for requirement in dependencies:
        match = re.match(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\s*>=\s*([0-9.]+)", requirement)
        if match:
            bounds[match.group(1).lower()] = Version(match.group(2))
    for package, (first, what) in NEEDED.items():
        assert bounds[package] >= Version(first), f"{package}>={bounds[package]} admits releases without {what}"
