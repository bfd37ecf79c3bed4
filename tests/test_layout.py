"""The layout the project promises (README "Layout"), checked on the source tree itself.

No import circles between modules or between the top-level packages; few flat modules in
``communitybench/``; SQL that defines data lives in ``warehouse/`` (Python keeps only short
operational statements); every SQL model has its contract and every contract of a SQL model its
file; every stage is in the pipeline list and has its tests; no test imports another test module.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import schemas
from communitybench.stages import STAGES

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("communitybench", "flows", "transforms", "schemas", "warehouse")
# the direction imports may go: a package imports only packages to its left
LAYERS = ("schemas", "transforms", "warehouse", "communitybench", "flows")
SQL = re.compile(
    r"(?is)^\s*(with\b.*\bselect\b|select\b.*\bfrom\b|insert\s+into\b|update\s+\w+\s+set\b"
    r"|delete\s+from\b|create\s+(or\s+replace\s+)?(temp\s+)?(table|view|macro)\b|copy\s*\()"
)
# operational statements may stay in Python when they are short (checkpoints, counts, locks)
MAX_INLINE_SQL_CHARS = 160
# SQL generated per table from its contract, like the DDL: the validation gates' derived columns
GENERATED_FROM_CONTRACTS = {"communitybench.release.validation", "communitybench.release.checks"}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_modules() -> dict[str, Path]:
    return {
        module_name(p): p
        for package in PACKAGES
        for p in (ROOT / package).rglob("*.py")
        if "__pycache__" not in p.parts
    }


def imports_of(path: Path, name: str, known: set[str]) -> set[str]:
    """Project modules a module imports (anywhere in it, function-level imports included)."""
    found = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([node.module] if node.module else []))
            targets = [base] + [f"{base}.{a.name}" for a in node.names]
        else:
            continue
        found.update(t for t in targets if t in known and t != name)
    return found


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {m: imports_of(p, m, set(modules)) for m, p in modules.items()}


def test_no_import_circles_between_modules(graph):
    assert cycles(graph) == []


def test_packages_import_only_the_layers_below_them(graph):
    upward = sorted(
        (m, t)
        for m, targets in graph.items()
        for t in targets
        if LAYERS.index(t.split(".")[0]) > LAYERS.index(m.split(".")[0])
    )
    assert upward == [], "an import that points up the layers (makes a package circle)"
    packages = {
        p: {t.split(".")[0] for m in graph if m.split(".")[0] == p for t in graph[m]}
        for p in LAYERS
    }
    assert cycles({p: t - {p} for p, t in packages.items()}) == []


def test_few_flat_modules():
    flat = sorted(p.name for p in (ROOT / "communitybench").glob("*.py"))
    assert flat == [
        "__init__.py",
        "config.py",
        "env.py",
        "errors.py",
        "pipeline.py",
        "render.py",
        "runner.py",
        "settings.py",
        "stage.py",
    ]


def sql_strings() -> list[tuple[str, int, str]]:
    """(module, line, first line) of every Python string (or f-string) that is a SQL statement."""
    found = []
    for name, path in project_modules().items():
        tree = ast.parse(path.read_text())
        inside_fstrings = {
            id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values
        }
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                if id(node) in inside_fstrings:
                    continue
                text = node.value
            elif isinstance(node, ast.JoinedStr):
                text = "".join(
                    v.value if isinstance(v, ast.Constant) else "{}" for v in node.values
                )
            else:
                continue
            if SQL.search(text):
                found.append((name, node.lineno, " ".join(text.split())))
    return found


def test_data_defining_sql_lives_in_warehouse_files():
    long = [
        s
        for s in sql_strings()
        if len(s[2]) > MAX_INLINE_SQL_CHARS and s[0] not in GENERATED_FROM_CONTRACTS
    ]
    assert long == [], "move these statements into warehouse/<layer>/<name>.sql with a contract"


def test_every_sql_model_has_a_contract_and_every_model_contract_a_file():
    models = {
        p.stem: p
        for layer in ("staging", "intermediate", "marts", "views")
        for p in (ROOT / "warehouse" / layer).glob("*.sql")
    }
    contracts = {s.name: s for s in schemas.all_schemas(materialized=None)}
    assert sorted(set(models) - set(contracts)) == []
    for name, path in models.items():
        assert contracts[name].layer == path.parent.name, name
    needing_files = {
        s.name for s in contracts.values() if s.materialized in ("view", "ephemeral")
    } | {s.name for s in contracts.values() if s.layer == "staging"}
    assert sorted(needing_files - set(models)) == []


def test_every_stage_is_listed_once_and_has_its_tests():
    modules = sorted(p.stem for p in (ROOT / "communitybench" / "stages").glob("*.py"))
    modules.remove("__init__")
    assert sorted(s.name for s in STAGES) == modules
    missing = [m for m in modules if not (ROOT / "tests" / "stages" / f"test_{m}.py").exists()]
    assert missing == []


def test_no_test_imports_another_test_module():
    offenders = []
    for path in (ROOT / "tests").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            if any(re.search(r"(^|\.)(test_\w+|conftest)$", n) for n in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []
