"""Imports go one way: a lower layer never imports a higher one (lazy imports inside functions included)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

# package -> the packages of ours it may import; data flows answers -> corpus -> agents -> graphs -> synth,
# eval and trainer read corpora without graphs, reports sit on eval and trainer, the CLI on everything
ALLOWED = {
    "answers": set(),
    "corpus": {"answers"},  # the data layer: what is written (events, traces, artifacts), under who writes it
    "agents": {"answers", "corpus"},
    "graphs": {"answers", "agents", "corpus"},
    "synth": {"answers", "agents", "corpus", "graphs"},
    "eval": {"answers", "agents", "corpus"},
    "trainer": {"answers", "agents", "corpus"},
    "reports": {"answers", "agents", "corpus", "eval", "trainer"},
    "view": {"answers", "agents", "corpus", "eval", "trainer", "reports"},
    # curation: filters and selections of corpora into corpora (the trainer's decontamination, eval's
    # runs of a reference model for difficulty)
    "curate": {"answers", "agents", "corpus", "eval", "trainer"},
    # an experiment runs every stage (synth, pairs, train, eval) and reports on them
    "experiment": {"answers", "agents", "corpus", "graphs", "synth", "eval", "trainer", "reports", "curate"},
    "cli": set(),  # filled below: the CLI may import every package
}
ALLOWED["cli"] = set(ALLOWED) - {"cli"}
# third-party packages a layer must not reach for either: eval never runs a synthesis graph
FORBIDDEN_THIRD_PARTY = {
    "answers": {"openai", "langchain_core", "langchain_openai", "langgraph"},
    "eval": {"langgraph"},
}


# top-level code that is no package of the layers: scripts may use any layer, the entry point the CLI
SCRIPTS = {"bench": set(ALLOWED) - {"cli"}, "journey.py": {"cli"}}
NOT_CODE = {"tests", "recipes", "docs", "experiments", "runs", "build"}


def imports_of(path: Path) -> set[str]:
    """Every package a module imports: import statements (lazy ones too), and importlib.import_module
    or __import__ of a constant name."""
    tree = ast.parse(path.read_text(), filename=str(path))
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            func = node.func
            called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
            if called in ("import_module", "__import__") and isinstance(node.args[0].value, str):
                names.add(node.args[0].value.split(".")[0])
    return names


def test_every_top_level_package_has_a_layer():
    """A new top-level package (or script folder) is placed in the layers before it can land."""
    found = {
        p.name
        for p in ROOT.iterdir()
        if p.is_dir() and not p.name.startswith((".", "_")) and any(p.glob("*.py")) and p.name not in NOT_CODE
    }
    found |= {p.name for p in ROOT.glob("*.py")}
    assert found <= set(ALLOWED) | set(SCRIPTS), f"no layer for {sorted(found - set(ALLOWED) - set(SCRIPTS))}"


def test_scripts_import_only_what_they_may():
    problems = []
    for name, allowed in SCRIPTS.items():
        path = ROOT / name
        for module in sorted(path.glob("*.py")) if path.is_dir() else [path]:
            for other in (imports_of(module) & (set(ALLOWED) | {"journey"})) - allowed:
                problems.append(f"{module.relative_to(ROOT)} imports {other}")
    assert not problems, "\n".join(problems)


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
    bad.write_text(
        "import importlib\ndef f():\n    from graphs.registry import METHODS\n    import synth.runner\n"
        "    importlib.import_module('trainer.sft')\n    __import__('view.server')\n"
    )
    assert imports_of(bad) == {"importlib", "graphs", "synth", "trainer", "view"}


def test_import_eval_math_loads_no_model_layer():
    code = "import sys, eval.math; print([m for m in ('openai', 'langchain_core', 'langgraph') if m in sys.modules])"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stdout + result.stderr


# what only corpus/ may spell: the names of a corpus's files, and the constants that hold them
CORPUS_FILE_NAMES = ("traces.jsonl", "rejected.jsonl", "failures.jsonl", "labels.jsonl")
CORPUS_FILE_CONSTANTS = {"TRACES", "REJECTED", "FAILURES", "LABELS", "CONFIG"}


def corpus_file_uses(path: Path) -> list[str]:
    """Where a module names a corpus file: a string holding one of the names (docstrings and help
    texts may mention them; code may not), or an import of the constants that hold them."""
    tree = ast.parse(path.read_text(), filename=str(path))
    docs = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    helps = {
        id(kw.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        for kw in node.keywords
        if kw.arg in ("help", "description")
    }
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs | helps:
            if any(name in node.value for name in CORPUS_FILE_NAMES):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} spells {node.value[:40]!r}")
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("corpus"):
            if names := sorted({a.name for a in node.names} & CORPUS_FILE_CONSTANTS):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {', '.join(names)}")
    return found


def test_only_corpus_opens_a_corpus_file_by_name():
    found = []
    for package in set(ALLOWED) - {"corpus"}:
        for path in sorted((ROOT / package).glob("*.py")):
            found += corpus_file_uses(path)
    assert not found, "\n".join(found)


def test_the_corpus_file_check_sees_a_name(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text(
        '"""traces.jsonl in a docstring is fine."""\nfrom corpus.files import TRACES\nopen(d / "traces.jsonl")\n'
    )
    found = corpus_file_uses(bad.rename(ROOT / "tests" / "_bad_layout_probe.py"))
    (ROOT / "tests" / "_bad_layout_probe.py").unlink()
    assert len(found) == 2 and "imports TRACES" in found[0] and "spells 'traces.jsonl'" in found[1]
