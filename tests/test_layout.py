"""Imports go one way: a lower layer never imports a higher one (lazy imports inside functions included)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# package -> the packages of ours it may import; data flows answers -> agents -> corpus -> graphs -> synth,
# eval and trainer read corpora without graphs, reports sit on eval and trainer, the CLI on everything
ALLOWED = {
    "answers": set(),
    "agents": {"answers"},
    "corpus": {"answers", "agents"},
    "graphs": {"answers", "agents", "corpus"},
    "synth": {"answers", "agents", "corpus", "graphs"},
    "eval": {"answers", "agents", "corpus"},
    "trainer": {"answers", "agents", "corpus"},
    "reports": {"answers", "agents", "corpus", "eval", "trainer"},
    "view": {"answers", "agents", "corpus", "eval", "trainer", "reports"},
    "cli": set(),  # filled below: the CLI may import every package
}
ALLOWED["cli"] = set(ALLOWED) - {"cli"}
# third-party packages a layer must not reach for either: eval never runs a synthesis graph
FORBIDDEN_THIRD_PARTY = {
    "answers": {"openai", "langchain_core", "langchain_openai", "langgraph"},
    "eval": {"langgraph"},
}


def imports_of(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_every_package_imports_only_the_layers_below_it():
    problems = []
    for package, allowed in ALLOWED.items():
        files = sorted((ROOT / package).glob("*.py"))
        assert files, f"{package}/ has no modules"
        for path in files:
            found = imports_of(path)
            for other in (found & set(ALLOWED)) - allowed - {package}:
                problems.append(f"{path.relative_to(ROOT)} imports {other}")
            for other in found & FORBIDDEN_THIRD_PARTY.get(package, set()):
                problems.append(f"{path.relative_to(ROOT)} imports {other}")
    assert not problems, "\n".join(problems)


def test_the_layout_check_sees_a_wrong_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("def f():\n    from graphs.registry import METHODS\n    import synth.runner\n")
    assert imports_of(bad) == {"graphs", "synth"}


def test_import_eval_math_loads_no_model_layer():
    code = "import sys, eval.math; print([m for m in ('openai', 'langchain_core', 'langgraph') if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stdout + result.stderr
