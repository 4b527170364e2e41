"""The import rules of docs/architecture.md, checked on the source (a small AST walk).

1. The pure core (parsing, extraction, judging, the digest model and its renders, series) does no
   I/O: it imports no database, network, chat, scheduler, process or index library, and from
   ``bot`` only other core modules.
2. Only ``storage/`` uses SQLAlchemy's query API: elsewhere no ``select``/``insert``/… import and
   no ``session.execute``/``scalars``/``get``/``add``… call.
3. ``storage/`` imports nothing from ``bot`` (the layers point one way).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

# The pure core: plain functions over plain data (``parse(bytes) -> entries``,
# ``extract(text) -> claims``, ``judge(claim, candidates) -> verdict``, the digest model).
CORE = {
    "bot.claims.atoms",
    "bot.claims.claimhood",
    "bot.claims.compare",
    "bot.claims.dates",
    "bot.claims.evaluation",
    "bot.claims.extract",
    "bot.claims.figure_words",
    "bot.claims.figures",
    "bot.claims.happenings",
    "bot.claims.judge",
    "bot.claims.lexicon",
    "bot.claims.normalize",
    "bot.claims.number_reading",
    "bot.claims.pairs",
    "bot.claims.semantic",
    "bot.claims.streams",
    "bot.claims.token_overlap",
    "bot.claims.types",
    "bot.claims.word_lists",
    "bot.corpus.cleaning",
    "bot.digest.model",
    "bot.digest.page",
    "bot.digest.payloads",
    "bot.digest.render",
    "bot.feeds.parse",
    "bot.feeds.relevance",
    "bot.figures.chart",
    "bot.figures.series",
}
# Packages whose whole job is I/O: a core module importing one is no longer pure.
IO_LIBRARIES = {
    "aiohttp",
    "apscheduler",
    "asyncio",
    "faiss",
    "http",
    "httpcore",
    "httpx",
    "multiprocessing",
    "psycopg",
    "requests",
    "slack_bolt",
    "slack_sdk",
    "socket",
    "sqlalchemy",
    "sqlite3",
    "ssl",
    "storage",
    "subprocess",
    "tantivy",
    "telegram",
    "trafilatura",
    "urllib.request",
}
QUERY_API = {
    "and_",
    "bindparam",
    "case",
    "column",
    "delete",
    "exists",
    "func",
    "insert",
    "literal",
    "not_",
    "or_",
    "select",
    "table",
    "text",
    "tuple_",
    "union",
    "update",
}
SESSION_CALLS = {
    "add",
    "add_all",
    "delete",
    "execute",
    "get",
    "merge",
    "query",
    "scalar",
    "scalars",
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources(package: str) -> Iterator[tuple[str, Path, ast.Module]]:
    for path in sorted((ROOT / package).rglob("*.py")):
        if "migrations" in path.parts:
            continue
        yield _module_name(path), path, ast.parse(path.read_text(), str(path))


def _imports(tree: ast.Module) -> Iterator[tuple[str, list[str], int]]:
    """Every import, also those inside functions: a lazy import is still a dependency."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, [], node.lineno
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module, [a.name for a in node.names], node.lineno


def _within(module: str, packages: set[str]) -> bool:
    return any(module == p or module.startswith(p + ".") for p in packages)


def test_the_core_modules_exist() -> None:
    names = {name for name, _, _ in _sources("bot")}
    assert sorted(CORE - names) == []


def test_the_core_does_no_io() -> None:
    problems = []
    for name, path, tree in _sources("bot"):
        if name not in CORE:
            continue
        for module, names, line in _imports(tree):
            targets = [module] + [f"{module}.{n}" for n in names]
            if any(_within(t, IO_LIBRARIES) for t in targets):
                problems.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
            elif module.startswith("bot.") or module == "bot":
                inside = [t for t in targets if t in CORE or t in ("bot.claims", "bot.errors")]
                if not inside and module not in CORE:
                    problems.append(f"{path.relative_to(ROOT)}:{line} imports {module}")
    assert problems == []


def test_only_storage_uses_the_query_api() -> None:
    problems = []
    for _, path, tree in _sources("bot"):
        for module, names, line in _imports(tree):
            if module == "sqlalchemy" or module.startswith(("sqlalchemy.sql", "sqlalchemy.orm")):
                bad = sorted(set(names) & QUERY_API) if names else []
                if module.startswith("sqlalchemy.sql") or bad or "aliased" in names:
                    problems.append(f"{path.relative_to(ROOT)}:{line} imports {bad or module}")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in SESSION_CALLS
                and isinstance(node.func.value, ast.Name)
                and "session" in node.func.value.id.lower()
            ):
                problems.append(
                    f"{path.relative_to(ROOT)}:{node.lineno} {node.func.value.id}.{node.func.attr}()"
                )
    assert problems == []


def test_storage_does_not_import_bot() -> None:
    problems = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for _, path, tree in _sources("storage")
        for module, _, line in _imports(tree)
        if module == "bot" or module.startswith("bot.")
    ]
    assert problems == []


@pytest.mark.parametrize(
    ("source", "rule"),
    [
        ("from sqlalchemy import select\n", test_only_storage_uses_the_query_api),
        ("def f(session):\n    return session.get(1, 2)\n", test_only_storage_uses_the_query_api),
    ],
)
def test_the_rules_catch_a_violation(
    source: str, rule: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The checks are not vacuous: a planted violation in a copy of the tree fails them."""
    planted = tmp_path / "bot"
    planted.mkdir()
    (planted / "planted.py").write_text(source)
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    assert callable(rule)
    with pytest.raises(AssertionError):
        rule()


def test_the_core_rule_catches_io(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    planted = tmp_path / "bot" / "claims"
    planted.mkdir(parents=True)
    (planted / "judge.py").write_text("import httpx\nfrom bot.settings import Settings\n")
    monkeypatch.setattr(__import__(__name__, fromlist=["ROOT"]), "ROOT", tmp_path)
    monkeypatch.setattr(__import__(__name__, fromlist=["CORE"]), "CORE", {"bot.claims.judge"})
    with pytest.raises(AssertionError, match="httpx"):
        test_the_core_does_no_io()
