"""Exports on real Celery workers over the real Redis: one in this process follows the export
queue; one in a subprocess is killed mid-export and the export is run again."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.management import call_command
from django.db import connection

from annotator.celery import app
from labeling.models import ExportJob
from labeling.services import exports
from labeling.services.exports import create_export
from training.dataset import open_dataset, partial_path, verify_checksums

from .conftest import EXPORTED, build_campaign, run_export_cherma

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]
ROOT = Path(__file__).resolve().parents[2]
QUEUE = "export"


def forget_export_messages() -> None:
    """Empty the export queue, and drop the unacknowledged export message a killed worker
    held (Redis would hand it out again after the visibility timeout)."""
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(QUEUE)
        client = conn.default_channel.client
        for tag, payload in client.hgetall("unacked").items():
            if json.loads(payload)[2] == QUEUE:  # [message, exchange, routing key]
                client.hdel("unacked", tag)
                client.zrem("unacked_index", tag)


@pytest.fixture
def redis_broker():
    assert app.conf.broker_url.startswith("redis://"), (
        "run the tests with CELERY_BROKER_URL on Redis"
    )
    forget_export_messages()
    yield app.conf.broker_url
    forget_export_messages()


@pytest.fixture
def export_worker(redis_broker):
    with start_worker(
        app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        queues=[QUEUE],
        shutdown_timeout=30,
    ) as worker:
        yield worker


def test_export_cherma_follows_an_export_run_by_a_worker_of_the_export_queue(
    export_worker, media_root, clips, tiny_options, tmp_path, monkeypatch, capsys
):
    monkeypatch.setattr(exports, "PROGRESS_INTERVAL_SECONDS", 0.0)
    built = build_campaign(clips)
    out = tmp_path / "via-worker"
    run_export_cherma(built.campaign, out, "--worker-timeout", "3", options=tiny_options)
    job = ExportJob.objects.get()
    assert (job.status, job.done, job.total, job.attempts) == ("done", EXPORTED, EXPORTED, 1)
    assert job.result["sizes"] == open_dataset(out).sizes
    assert f"Export {job.pk} done: {out}" in capsys.readouterr().out
    assert verify_checksums(out) == []


def database_url() -> str:
    """The test database (pytest-django's test_<NAME>), for a worker in another process."""
    db = connection.settings_dict
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.mark.postgresql
def test_a_killed_worker_leaves_no_dataset_and_the_export_run_again_reuses_its_shards(
    redis_broker, media_root, clips, tiny_options, tmp_path
):
    built = build_campaign(clips)
    out = tmp_path / "killed"
    # Shards of 2 utterances that each take a fraction of a second (64 frames of 160 × 160).
    options = {**tiny_options, "shard_size": 2, "segments": 8, "per_segment": 8, "crop_size": 160}
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "MEDIA_ROOT": str(media_root),
        "CELERY_BROKER_URL": redis_broker,
        "OMP_NUM_THREADS": "1",
    }
    log = tmp_path / "worker.log"
    with open(log, "wb") as output:
        worker = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "annotator", "worker"),
                *("-Q", QUEUE, "-P", "solo", "-c", "1", "-l", "warning"),
                *("-n", f"export-kill-{os.getpid()}@%h", "--without-gossip", "--without-mingle"),
            ],
            cwd=ROOT,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    progress = partial_path(out) / ".progress"
    try:
        job = create_export(campaign=built.campaign, out_dir=out, options=options)
        deadline = time.monotonic() + 120
        while not (progress / "shard-00000.done.json").exists():
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.01)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=30)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()

    finished = sorted(progress.glob("shard-*.done.json"))
    assert not out.exists()
    assert 1 <= len(finished) < 6, "the worker finished before it was killed"
    job.refresh_from_db()
    assert job.status == "running"  # nobody was left to say otherwise

    call_command("export_cherma", "--resume", str(job.pk), "--local", "--no-progress")
    job.refresh_from_db()
    assert (job.status, job.attempts) == ("done", 2)
    assert job.result["reused_shards"] == list(range(len(finished)))
    assert not partial_path(out).exists()
    assert sum(open_dataset(out).sizes.values()) == EXPORTED - 1  # the corrupt clip failed
    assert verify_checksums(out) == []
