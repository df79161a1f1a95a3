"""The admin action's path on the embedded defaults: SQLite and the filesystem broker, with a
real Celery worker (in a thread) running the simulation. Run as
`python -m tests.simulation.sqlite_run` on a fresh SQLite file; prints a JSON report."""

from __future__ import annotations

import json
import os
import time


def main() -> None:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    django.setup()
    from celery.contrib.testing.worker import start_worker
    from django.core.management import call_command
    from django.db import connection

    from annotator.celery import app
    from labeling.models import SimulationRun
    from labeling.selectors.integrity import campaign_integrity
    from labeling.selectors.statistics import progress
    from labeling.services.simulation import parse_accuracy, start_simulation
    from tests.simulation.campaigns import simulated_campaign

    assert connection.vendor == "sqlite" and app.conf.broker_url.startswith("filesystem://")
    call_command("migrate", verbosity=0)
    app.loader.import_default_modules()
    app.finalize(auto=True)
    campaign = simulated_campaign(4)
    with start_worker(
        app, pool="solo", concurrency=1, perform_ping_check=False, queues=["cpu"],
        shutdown_timeout=30,
    ):  # fmt: skip
        run = start_simulation(campaign, accuracy=parse_accuracy("1"))
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            run.refresh_from_db()
            if run.is_finished:
                break
            time.sleep(0.2)
    figures = progress(campaign)
    print(
        json.dumps(
            {
                "status": run.status,
                "error": run.error,
                "done": run.done,
                "total": run.total,
                "usable": figures["usable_utterances"],
                "utterances": figures["utterances"],
                "runs": SimulationRun.objects.count(),
                **campaign_integrity(campaign),
            }
        )
    )


if __name__ == "__main__":
    main()
