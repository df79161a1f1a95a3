"""The admin action "Finish with simulated annotators" on real Celery workers: over the real
Redis with PostgreSQL here, and on SQLite with the filesystem broker in a subprocess."""

import html
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.urls import reverse

from annotator.celery import app
from labeling.models import Job, SimulationRun
from labeling.selectors.integrity import campaign_integrity
from labeling.selectors.statistics import progress
from labeling.services.simulation import run_simulation, start_simulation
from tests.simulation.campaigns import simulated_campaign
from tests.sqlite import report_on_sqlite

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def cpu_worker():
    assert app.conf.broker_url.startswith("redis://"), (
        "run the tests with CELERY_BROKER_URL on Redis"
    )
    app.control.purge()
    with start_worker(
        app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        queues=["cpu"],
        shutdown_timeout=30,
    ) as worker:
        yield worker


def wait_for(run: SimulationRun, seconds: float = 120) -> SimulationRun:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run.refresh_from_db()
        if run.is_finished:
            return run
        time.sleep(0.2)
    raise AssertionError(f"simulation {run.pk} still {run.status} after {seconds} s")


def test_the_admin_action_finishes_the_campaign_on_a_cpu_worker_and_its_page_shows_it(
    cpu_worker, admin_client
):
    campaign = simulated_campaign(4)
    response = admin_client.post(
        reverse("admin:labeling_campaign_changelist"),
        {"action": "finish_with_simulated_annotators", "_selected_action": [campaign.pk]},
    )
    run = SimulationRun.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:labeling_simulationrun_change", args=[run.pk])
    run = wait_for(run)
    assert run.status == "done", run.error
    assert not Job.objects.filter(campaign=campaign, priority__lt=Job.Priority.FINAL).exists()
    assert run.done == run.total == run.result["votes"] >= 4 * 4 * 3
    assert progress(campaign)["usable_utterances"] == run.result["usable"]
    assert campaign_integrity(campaign)["guard_breaches"] == 0
    page = admin_client.get(reverse("admin:labeling_simulationrun_change", args=[run.pk]))
    shown = page.content.decode()
    assert f'<progress max="100" value="100"></progress> {run.done} / {run.done} votes' in shown
    assert f"Usable utterances: {run.result['usable']} of 4." in shown


def test_a_second_start_while_one_is_queued_is_refused_and_a_cancelled_run_does_nothing(
    admin_client, django_capture_on_commit_callbacks
):
    campaign = simulated_campaign(2)
    with django_capture_on_commit_callbacks(execute=False):
        first = start_simulation(campaign)
    changelist = reverse("admin:labeling_campaign_changelist")
    page = admin_client.post(
        changelist,
        {"action": "finish_with_simulated_annotators", "_selected_action": [campaign.pk]},
        follow=True,
    )
    text = html.unescape(page.content.decode())
    assert f"Simulation {first.pk} of {campaign.name!r} is queued; wait for it" in text
    assert SimulationRun.objects.count() == 1
    admin_client.post(
        reverse("admin:labeling_simulationrun_changelist"),
        {"action": "cancel", "_selected_action": [first.pk]},
    )
    run = run_simulation(first.pk)
    assert (run.status, run.error) == ("cancelled", "Cancelled before it started.")
    assert campaign.annotators.count() == 0


def test_simulated_annotators_finish_a_campaign_on_sqlite_with_a_real_worker(tmp_path):
    report = report_on_sqlite(tmp_path, "tests.simulation.sqlite_run")
    assert report["status"] == "done", report["error"]
    assert report["usable"] == report["utterances"] == 4
    assert report["done"] == report["total"] == 4 * 4 * 3
    assert report["unfinished_jobs"] == report["guard_breaches"] == 0
    assert report["over_voted_jobs"] == report["wrong_verdicts"] == 0
