"""The rules import-linter cannot see: only store/ speaks SQL, and the web reads no store table.

The layer rules themselves (who may import whom) live in pyproject.toml and run as `lint-imports`.
These tests read the source as syntax trees rather than grepping it, so `dict.update(...)`,
`list.insert(...)` or FastAPI's `@router.delete(...)` are not taken for SQL, while every way our code
actually builds a statement is.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "clearsite"
STORE = PACKAGE / "store"

# SQLAlchemy's statement constructors, as imported names (`select(...)`) or off the module (`sa.select(...)`).
STATEMENT_BUILDERS = {"select", "insert", "update", "delete", "text"}
# Table methods that build a statement: `SiteRow.__table__.update()`; called with no arguments, unlike
# dict.update(x) or list.insert(i, x).
TABLE_STATEMENT_METHODS = {"select", "insert", "update", "delete"}
# Database drivers: code that imports one talks to the database below SQLAlchemy.
DRIVERS = {"sqlite3", "psycopg", "psycopg2"}


def python_files(root: Path) -> Iterator[Path]:
    yield from sorted(root.rglob("*.py"))


def outside_store() -> Iterator[Path]:
    return (path for path in python_files(PACKAGE) if STORE not in path.parents)


def where(path: Path, node: ast.AST) -> str:
    shown = path.relative_to(PACKAGE.parent) if PACKAGE in path.parents else path
    return f"{shown}:{getattr(node, 'lineno', 0)}"


def sql_in(path: Path) -> Iterator[str]:
    """Each place in one file that builds or runs SQL, as `path:line what`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    sqlalchemy_names = {"sqlalchemy"}  # and whatever `import sqlalchemy as sa` calls it
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                top = alias.name.split(".")[0]
                if top == "sqlalchemy":
                    sqlalchemy_names.add(alias.asname or top)
                elif top in DRIVERS:
                    yield f"{where(path, node)} imports the database driver {alias.name}"
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in DRIVERS:
            yield f"{where(path, node)} imports from the database driver {node.module}"
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "sqlalchemy":
            for alias in node.names:
                if alias.name in STATEMENT_BUILDERS:
                    yield f"{where(path, node)} imports {alias.name} from {node.module}"
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        function = node.func
        if isinstance(function, ast.Name) and function.id in STATEMENT_BUILDERS:
            yield f"{where(path, node)} calls {function.id}(...)"
        elif isinstance(function, ast.Attribute):
            owner = function.value
            if function.attr == "exec_driver_sql":
                yield f"{where(path, node)} calls exec_driver_sql"
            elif (function.attr in STATEMENT_BUILDERS and isinstance(owner, ast.Name)
                  and owner.id in sqlalchemy_names):
                yield f"{where(path, node)} calls {owner.id}.{function.attr}(...)"
            elif function.attr in TABLE_STATEMENT_METHODS and not node.args and not node.keywords:
                yield f"{where(path, node)} calls .{function.attr}() on a table"
            elif (function.attr in {"execute", "executemany", "executescript"} and node.args
                  and isinstance(node.args[0], ast.Constant | ast.JoinedStr)):
                yield f"{where(path, node)} executes SQL text"


def table_modules() -> set[str]:
    """The store modules that define tables, found by what they contain so a new one is covered too."""
    found = set()
    for path in python_files(STORE):
        source = path.read_text(encoding="utf-8")
        if "__tablename__" in source or "DeclarativeBase" in source or "Table(" in source:
            found.add(".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts))
    return found


def imported_modules(path: Path) -> Iterator[tuple[ast.AST, set[str]]]:
    """Each import statement in the file, with every module it may name (`from package import module`)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield node, {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node, {node.module} | {f"{node.module}.{alias.name}" for alias in node.names}


def test_the_store_is_the_only_code_that_speaks_sql() -> None:
    found = [place for path in outside_store()
             for place in sorted(sql_in(path), key=lambda place: int(place.split(":")[1].split()[0]))]
    assert not found, "SQL outside store/ (move it into a store function):\n" + "\n".join(found)


def test_the_sql_check_sees_each_way_a_statement_is_built(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "from sqlalchemy import select, text\n"
        "import sqlalchemy as sa\n"
        "rows = conn.execute(select(Row.id))\n"
        "conn.exec_driver_sql('BEGIN IMMEDIATE')\n"
        "conn.execute(Row.__table__.update().where(Row.id == 1).values(x=2))\n"
        "conn.execute(sa.delete(Row))\n"
        "conn.execute(text('SELECT 1'))\n"
        "import sqlite3\n"
        "cursor.execute(f'SELECT * FROM {table}')\n"
        # Not SQL: ordinary containers, a hash, a route decorator and a statement built elsewhere.
        "seen.update(other)\nlines.insert(0, 'x')\ndigest.update(b'x')\n"
        "@router.delete('/tokens/{token_id}')\ndef revoke(): ...\n"
        "conn.execute(statement)\n",
        encoding="utf-8",
    )
    lines = sorted(int(place.split(":")[1].split()[0]) for place in sql_in(sample))
    assert lines == [1, 1, 3, 4, 5, 6, 7, 8, 9]


def test_the_web_imports_no_store_table_module() -> None:
    tables = table_modules()
    assert tables >= {"clearsite.store.tables", "clearsite.store.auth_tables"}
    found = [f"{where(path, node)} imports {', '.join(sorted(names & tables))}"
             for path in python_files(PACKAGE / "web")
             for node, names in imported_modules(path)
             if names & tables]
    assert not found, "The web reads tables through services, not store tables:\n" + "\n".join(found)


# What the core may not reach for: today's date, the wall clock, files, the environment. (A time budget
# on the monotonic clock, as the planner's anytime search keeps, measures effort, not the date.)
CORE_FORBIDDEN_CALLS = {
    ("date", "today"), ("datetime", "now"), ("datetime", "utcnow"), ("datetime", "today"), ("time", "time"),
    ("os", "getenv"), ("os", "listdir"), ("os", "scandir"),
}
CORE_FORBIDDEN_METHODS = {"read_text", "read_bytes", "write_text", "write_bytes", "iterdir", "glob", "rglob"}


def outside_world_in(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            function = node.func
            if isinstance(function, ast.Name) and function.id == "open":
                yield f"{where(path, node)} opens a file"
            elif isinstance(function, ast.Attribute):
                owner = function.value
                if isinstance(owner, ast.Name) and (owner.id, function.attr) in CORE_FORBIDDEN_CALLS:
                    yield f"{where(path, node)} calls {owner.id}.{function.attr}()"
                elif function.attr in CORE_FORBIDDEN_METHODS:
                    yield f"{where(path, node)} calls .{function.attr}()"
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and (
                node.value.id, node.attr) == ("os", "environ"):
            yield f"{where(path, node)} reads os.environ"


def test_the_core_reads_no_date_clock_file_or_environment() -> None:
    found = [place for path in python_files(PACKAGE / "core") for place in outside_world_in(path)]
    assert not found, "core is pure: pass dates, paths' contents and settings in:\n" + "\n".join(found)


def test_the_core_check_sees_dates_files_and_the_environment(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import os\nfrom datetime import date, datetime\n"
        "today = date.today()\nnow = datetime.now()\nopen('x')\nos.environ['X']\ntext = path.read_text()\n"
        "import time\nstarted = time.monotonic()\nwhen = date(2024, 1, 1)\n",
        encoding="utf-8",
    )
    lines = sorted(int(place.split(":")[1].split()[0]) for place in outside_world_in(sample))
    assert lines == [3, 4, 5, 6, 7]


def test_ci_runs_the_checks_before_the_tests() -> None:
    """.ci/run runs `make test`, which runs ruff, mypy and lint-imports (`make check`) before pytest."""
    root = PACKAGE.parents[1]
    assert "make test" in (root / ".ci" / "run").read_text(encoding="utf-8")
    makefile = (root / "Makefile").read_text(encoding="utf-8")
    targets = {line.split(":")[0]: line.split(":", 1)[1].split() for line in makefile.splitlines()
               if line and not line[0].isspace() and ":" in line and "=" not in line and not line.startswith("#")}
    assert "check" in targets["test"], "make test must run make check first"
    recipe = makefile.split("\ncheck:", 1)[1].split("\n\n", 1)[0]
    for tool in ("ruff check", "mypy", "lint-imports"):
        assert tool in recipe, f"make check does not run {tool}"
