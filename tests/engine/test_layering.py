"""engine/ is pure: it imports nothing of ours and nothing of the database, HTTP or queue."""

from __future__ import annotations

import ast
from pathlib import Path

ENGINE = Path(__file__).resolve().parents[2] / "engine"
FORBIDDEN = {"omegraph", "store", "resolvers", "schema", "web", "sandbox", "watcher",
             "sqlalchemy", "starlette", "strawberry", "rq", "redis", "httpx", "httpx2"}


def test_engine_imports_nothing_of_ours() -> None:
    offenders = []
    for path in sorted(ENGINE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module]
            offenders += [f"{path.name}: {n}" for n in names if n.split(".")[0] in FORBIDDEN]
    assert offenders == []
    assert list(ENGINE.rglob("*.py"))
