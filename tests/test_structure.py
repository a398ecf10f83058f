"""How the package is built: intents are known by role, not by name; no module reaches into
another's private names; the core never imports a front end; nothing can run code from a file."""

from __future__ import annotations

import ast
from pathlib import Path

from assistant.router import load_intents

PACKAGE = Path(__file__).resolve().parent.parent / "assistant"
ROUTES = {"safety", "retrieval", "abstain", "smalltalk"}  # route names: a vocabulary of their own
FRONT_ENDS = {"cli", "chat", "batch", "evaluate", "dialogues", "display"}


def modules() -> dict[str, ast.Module]:
    return {p.stem: ast.parse(p.read_text("utf-8"), str(p)) for p in sorted(PACKAGE.glob("*.py"))}


def test_no_intent_is_named_in_python():
    names = set(load_intents()) - ROUTES
    found = [(module, node.value) for module, tree in modules().items() for node in ast.walk(tree)
             if isinstance(node, ast.Constant) and node.value in names]
    assert found == []


def test_no_module_uses_another_modules_private_names():
    found = []
    for module, tree in modules().items():
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("assistant"):
                found += [(module, a.name) for a in node.names if a.name.startswith("_") and a.name != "__version__"]
            elif (isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__")
                  and not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls", "other"))):
                found.append((module, node.attr))
    assert found == []


def test_the_core_never_imports_a_front_end():
    for module, tree in modules().items():
        if module in FRONT_ENDS | {"__main__"}:
            continue
        imported = {n.module.split(".")[-1] for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        assert not imported & FRONT_ENDS, module


def test_nothing_read_from_disk_can_run_code():
    for module, tree in modules().items():
        for node in ast.walk(tree):
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = {a.name.split(".")[0] for a in node.names} | {(getattr(node, "module", None) or "").split(".")[0]}
                assert not names & {"pickle", "joblib", "marshal", "shelve", "dill"}, module
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
                assert node.func.id not in ("eval", "exec"), module
            if isinstance(node, ast.keyword) and node.arg == "allow_pickle":
                assert isinstance(node.value, ast.Constant) and node.value.value is False, module
