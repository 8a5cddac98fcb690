"""The server worker's start-up, as `clearsite serve` runs it (clearsite.web.server:app_from_environment)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from clearsite.services.database import open_database


def test_start_up_objects_are_set_aside_from_the_cyclic_collector(tmp_path: Path) -> None:
    """The knowledge base, routes and schemas built at start-up are frozen (gc.freeze), so a full collection
    triggered by a request walks only what requests made, not the worker's whole start-up heap."""
    url = f"sqlite:///{tmp_path / 'worker.db'}"
    open_database(url).dispose()  # migrated, as `clearsite serve` finds it
    probe = ("import gc, json; from clearsite.web.server import app_from_environment; app = app_from_environment(); "
             "print(json.dumps({'frozen': gc.get_freeze_count(), 'tracked': len(gc.get_objects())}))")
    env = {**os.environ, "CLEARSITE_DATABASE_URL": url, "CLEARSITE_ALERT_DELIVERY": "0"}
    done = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, check=True,
                          stdin=subprocess.DEVNULL)
    counts = json.loads(done.stdout.strip().splitlines()[-1])
    assert counts["frozen"] > 10 * max(1, counts["tracked"]), counts  # nearly everything start-up made
