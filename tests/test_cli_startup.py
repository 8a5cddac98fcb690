"""`clearsite --help` starts fast because importing the CLI loads no heavy library.

Timing is not tested (it depends on the machine); what is imported is, deterministically. The web
stack, password hashing, the planner's solver, dataframes and the database layer load inside the
commands that use them (bench/cli_startup.py measures the time).
"""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("fastapi", "starlette", "uvicorn", "argon2", "numpy", "ortools", "polars", "sqlalchemy", "alembic",
         "yaml", "jinja2", "xlsxwriter", "python_calamine", "rapidfuzz", "cryptography")
WEB_AND_SOLVER = ("fastapi", "starlette", "uvicorn", "argon2", "numpy", "ortools", "polars")

PROBE = """
import json, sys
from typer.testing import CliRunner
import clearsite.cli
for args in ([], ["--help"], ["site", "--help"], ["plan", "--help"], ["serve", "--help"], ["screen", "--help"]):
    CliRunner().invoke(clearsite.cli.app, args)
heavy = set(json.loads(sys.argv[1]))
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules} & heavy)))
"""


def test_importing_the_cli_and_printing_help_loads_no_heavy_library():
    result = subprocess.run([sys.executable, "-c", PROBE, json.dumps(HEAVY)], capture_output=True, text=True,
                            check=True, timeout=120)
    assert json.loads(result.stdout) == []


IDENTIFY = """
import json, sys
import clearsite.cli
try:
    clearsite.cli.main(["identify", "--brand", "LTS", "--model", "LTN8708K-P8"])
except SystemExit as done:
    assert done.code == 0, done.code
heavy = set(json.loads(sys.argv[1]))
print(json.dumps(sorted({name.split(".")[0] for name in sys.modules} & heavy)), file=sys.stderr)
"""


def test_identify_loads_neither_the_web_stack_nor_the_planner():
    result = subprocess.run([sys.executable, "-c", IDENTIFY, json.dumps(WEB_AND_SOLVER)], capture_output=True,
                            text=True, check=True, timeout=120)
    assert json.loads(result.stdout)["label_brand"] == "LTS"  # a relabelled Hikvision, as it happens
    assert json.loads(result.stderr.strip().splitlines()[-1]) == []
