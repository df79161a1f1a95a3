"""The whole demo path in headless Chromium, as a user takes it after `make demo`: an annotator
labels a few tasks with the keyboard, simulated annotators finish the campaign on a cpu worker,
a reviewer settles what stayed open, the admin exports with the demo's random feature models on
an export worker, and LFMIM trains on a gpu worker until its curves and F1 table show."""

import json
import re
import time

import pytest
from celery.contrib.testing.worker import start_worker
from django.core.management import call_command

from annotator.celery import app
from labeling.models import Campaign, ExportJob, Job, SimulationRun, SyntheticTruth, TrainingRun
from tests.browser.conftest import log_in
from tests.browser.test_run_page import IMAGES_LOADED
from tests.export.test_worker import redis_broker  # noqa: F401 - fixture
from tests.runs.conftest import runs_root  # noqa: F401 - fixture
from tests.runs.tiny import TINY_OPTIONS

pytestmark = [pytest.mark.browser, pytest.mark.celery, pytest.mark.django_db(transaction=True)]

UTTERANCES = 5
SPLIT_SEED = 2  # splits these 5 ids 3:1:1 by their keyed hashes: every split has one
PASSWORD = "cherma-demo"
HAND_KEYS = "123"  # happiness, sadness, neutral: some against the synthetic truth
# Each task renders new label buttons; those of an answered task are marked.
FRESH_TASK = "#labels button.label:not([data-answered])"
WORKER_SECONDS = 240_000  # ms; generous for a loaded 2-core machine


@pytest.fixture
def demo_worker(redis_broker):  # noqa: F811 - the fixture empties the export queue
    """One in-thread worker on the cpu, export and gpu queues, as `make demo` runs them: the
    single-queue fixtures cannot run side by side (celery's stop flag is process-wide)."""
    with app.connection_for_write() as connection:
        for queue in ("cpu", "gpu"):
            connection.default_channel.queue_purge(queue)
    with start_worker(
        app,
        pool="solo",
        concurrency=1,
        perform_ping_check=False,
        queues=["cpu", "export", "gpu"],
        shutdown_timeout=60,
    ) as worker:
        yield worker


@pytest.fixture
def demo(settings, media_root, tmp_path, demo_worker):
    settings.EXPORT_ROOT = str(tmp_path / "exports")
    call_command(
        "make_demo", utterances=UTTERANCES, render_now=True, no_progress=True, password=PASSWORD
    )
    return Campaign.objects.get()  # fewer than 20 utterances: no exam campaign


def admin_status(page) -> str:
    return page.locator(".field-status .readonly").inner_text().strip().lower()


def wait_until_done(page, what: str) -> None:
    """Wait while the admin page of a long job refreshes itself (it does while it runs);
    locators, unlike a page script, outlive those reloads."""
    deadline = time.monotonic() + WORKER_SECONDS / 1000
    while admin_status(page) in ("queued", "running"):
        assert time.monotonic() < deadline, f"{what} still {admin_status(page)}"
        time.sleep(0.5)
    error = page.locator(".field-error .readonly").inner_text()
    assert admin_status(page) == "done", f"{what}: {error}"


def run_admin_action(page, live_server, campaign: Campaign, action: str) -> None:
    page.goto(f"{live_server.url}/admin/labeling/campaign/")
    page.check(f"input[name=_selected_action][value='{campaign.pk}']")
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")


def annotate_by_hand(page, keys: str, before: int = 0) -> None:
    """Answer the task on the page and the next ones with ``keys``, one each."""
    for done, key in enumerate(keys, start=before + 1):
        # Each task renders new label buttons: mark this task's, so the next key waits for
        # the next task (a key pressed before it renders would answer the submitted one).
        page.wait_for_selector(FRESH_TASK)
        page.eval_on_selector_all(
            "#labels button.label", "bs => bs.forEach(b => b.dataset.answered = 1)"
        )
        page.keyboard.press(key)
        page.wait_for_function(
            "n => document.getElementById('counter').textContent === n", arg=str(done)
        )


def wait_for_ahead(campaign: Campaign) -> None:
    for _ in range(200):
        if campaign.leases.filter(ahead=True, status="active").exists():
            return
        time.sleep(0.05)
    raise AssertionError("the annotate page fetched no task ahead")


def finish_by_simulation(page, live_server, campaign: Campaign) -> str:
    """Run the admin action, wait on its page until it is done; its summary."""
    run_admin_action(page, live_server, campaign, "finish_with_simulated_annotators")
    run = SimulationRun.objects.latest("pk")
    page.wait_for_url(f"**/admin/labeling/simulationrun/{run.pk}/change/")
    wait_until_done(page, "simulation")
    return page.locator(".field-summary").inner_text()


def review_what_stayed_open(page, live_server, campaign: Campaign) -> list[int]:
    """From the disagreement queue, give every discarded job the label a reviewer who knows
    the truth would give; with none discarded, confirm one split decision by hand."""
    page.goto(f"{live_server.url}/review/{campaign.pk}/queue/")
    rows = page.locator("table.grid tbody tr")
    assert rows.first.inner_text() != "Nothing to review.", "the simulation left no split"
    discarded = [
        row.locator("a").get_attribute("href")
        for row in rows.all()
        if row.locator("td").nth(2).inner_text() == "discarded"
    ]
    links = discarded or [rows.first.locator("a").get_attribute("href")]
    reviewed = []
    for link in links:
        job = Job.objects.get(pk=int(re.search(r"/jobs/(\d+)/", link).group(1)))
        truth = SyntheticTruth.objects.get(utterance=job.utterance).emotion(job.modality)
        page.goto(f"{live_server.url}{link}")
        form = page.locator("form:has(input[value=set_label])")
        form.locator("select[name=label]").select_option(truth)
        form.locator("input[name=reason]").fill(f"the {job.get_modality_display()} is {truth}")
        form.locator("button").click()
        page.wait_for_selector("text=Done; the action is in the job's log.")
        assert page.locator("#verdict").inner_text().count(truth) >= 1
        reviewed.append(job.pk)
    return reviewed


def export_with_demo_models(page, live_server, campaign: Campaign) -> ExportJob:
    run_admin_action(page, live_server, campaign, "export_dataset")
    page.wait_for_url(f"**/admin/labeling/campaign/{campaign.pk}/export/")
    readiness = page.locator("#readiness").inner_text()
    assert f"{UTTERANCES} of {UTTERANCES}" in readiness, readiness
    for role in ("text", "audio", "vision"):  # the demo's random models are the default
        chosen = page.locator(f"select[name={role}_model] option:checked").inner_text()
        assert chosen.startswith(f"random-tiny-{role}"), chosen
    page.fill("input[name=seed]", str(SPLIT_SEED))
    page.click("#export-form input[type=submit]")
    job = ExportJob.objects.get()
    page.wait_for_url(f"**/admin/labeling/exportjob/{job.pk}/change/")
    wait_until_done(page, "export")
    return job


def train_from_the_runs_page(page, live_server, export: ExportJob) -> TrainingRun:
    page.goto(f"{live_server.url}/runs/")
    form = page.locator("#start-run")
    form.locator("select[name=export]").select_option(str(export.pk))
    form.locator("input[name=name]").fill("demo chain")
    form.locator("input[name=seeds]").fill("1")
    form.locator("input[name=epochs]").fill("3")
    settings_lines = "\n".join(f"{key}={json.dumps(value)}" for key, value in TINY_OPTIONS.items())
    form.locator("textarea[name=settings]").fill(settings_lines)
    form.locator("button").click()
    page.wait_for_url(re.compile(r".*/runs/\d+/$"))
    run = TrainingRun.objects.get()
    page.wait_for_selector("#f1-table", timeout=WORKER_SECONDS)  # run.js reloads when done
    page.wait_for_function(IMAGES_LOADED)
    return run


def test_a_demo_corpus_goes_from_hand_labels_to_a_trained_model_in_the_browser(
    demo, live_server, browser, tmp_path
):
    campaign = demo
    annotator = browser.new_context(viewport={"width": 1280, "height": 800}).new_page()
    log_in(annotator, live_server, "annotator1", PASSWORD)
    annotator.click(f"a[href='/annotate/{campaign.pk}/']")
    annotate_by_hand(annotator, HAND_KEYS)
    assert campaign.jobs.filter(votes__annotator__username="annotator1").count() == 3
    annotator.wait_for_selector(FRESH_TASK)  # the fourth task, leased before the simulation
    # ... and the fifth, fetched ahead while the fourth is shown (prefetch, issue 14).
    annotator.wait_for_function("() => Boolean(document.getElementById('annotate').dataset.lease)")
    wait_for_ahead(campaign)

    admin = browser.new_context(viewport={"width": 1280, "height": 900})
    page = admin.new_page()
    log_in(page, live_server, "admin", PASSWORD)
    # The tasks the annotator's page holds (shown and fetched ahead) are theirs: the
    # simulation leaves them and says so, and finishes once the annotator has answered.
    summary = finish_by_simulation(page, live_server, campaign)
    assert "2 jobs are leased to someone" in summary, summary
    annotate_by_hand(annotator, "44", before=3)
    annotator.wait_for_selector("text=No tasks left for you")
    summary = finish_by_simulation(page, live_server, campaign)
    assert "Stuck" not in summary and f"of {UTTERANCES}." in summary, summary
    assert not campaign.jobs.filter(priority__lt=Job.Priority.FINAL).exists()

    reviewed = review_what_stayed_open(page, live_server, campaign)
    page.goto(f"{live_server.url}/review/{campaign.pk}/")
    usable = page.locator("p:has-text('utterances have every')").inner_text()
    assert usable.startswith(f"{UTTERANCES} of {UTTERANCES} utterances"), usable
    assert Job.objects.filter(pk__in=reviewed).exclude(override_label="").count() == len(reviewed)

    export = export_with_demo_models(page, live_server, campaign)
    export.refresh_from_db()
    assert export.result["sizes"] == {"train": 3, "validation": 1, "test": 1}

    run = train_from_the_runs_page(page, live_server, export)
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.DONE, run.error
    assert run.dataset_path == export.out_dir
    assert page.locator("#run-status").inner_text() == "done"
    assert page.locator("img[data-curve]").count() == 2
    assert page.locator("#f1-table tbody tr").count() == 4  # heads t, a, v, m
    assert sorted(run.epochs.values_list("epoch", flat=True)) == [1, 2, 3]
    page.screenshot(path="/tmp/chain-run.png", full_page=True)
    admin.close()
    annotator.context.close()
