"""Run a test module's `__main__` against a fresh SQLite database (the embedded default), in
a subprocess so it gets its own Django settings, and read the JSON report it prints last."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def report_on_sqlite(tmp_path: Path, module: str, *args: str) -> dict:
    # The embedded defaults: SQLite and the filesystem broker, nothing of the test servers.
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in ("DATABASE_URL", "CELERY_BROKER_URL", "TEST_DATABASE_NAME")
    }
    env.update(
        DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite3'}",
        ANNOTATOR_VAR_DIR=str(tmp_path / "var"),
        DJANGO_SETTINGS_MODULE="annotator.settings",
    )
    result = subprocess.run(
        [sys.executable, "-m", module, *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])
