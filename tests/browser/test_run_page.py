"""Training-run pages in headless Chromium: curves load, the F1 table shows, the page follows
a running run live, and the comparison puts two runs side by side."""

import threading

import pytest

from labeling.services import training as runs
from labeling.services.campaigns import create_campaign
from tests.browser.conftest import log_in
from tests.dataset.conftest import (  # noqa: F401 - fixtures
    _single_torch_thread,
    clip_paths,
    exported,
    model_dirs,
    records,
    session_extractors,
)
from tests.factories import rendered_corpus
from tests.runs.conftest import runs_root  # noqa: F401 - fixture
from tests.runs.tiny import reviewer, tiny_config, train_here

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def dataset(request):
    """The dataset tests' tiny export (fixtures imported above)."""
    return request.getfixturevalue("exported")


IMAGES_LOADED = (
    "() => [...document.querySelectorAll('figure.plot img')]"
    ".every(img => img.complete && img.naturalWidth > 100)"
)


def test_run_page_shows_its_curves_and_f1_table(live_server, page, dataset):
    create_campaign(name="films", corpus=rendered_corpus(1))  # reviewers see runs from home
    run = train_here(dataset, seeds=2, epochs=2, name="five seeds, shortened")
    reviewer()

    log_in(page, live_server, "rev")
    page.click("#runs-link")
    page.click("text=five seeds, shortened")
    page.wait_for_selector("#f1-table")
    page.wait_for_function(IMAGES_LOADED)
    assert page.locator("img[data-curve]").count() == 2
    assert page.locator("#f1-table tbody tr").count() == 4  # heads t, a, v, m
    assert "±" in page.locator("#f1-table").inner_text()
    assert page.locator("#seeds tbody tr").count() == 2
    assert page.locator("#run-status").inner_text() == "done"
    assert run.out_dir in page.content()


def test_run_page_follows_a_run_until_it_finishes(live_server, page, dataset):
    run = runs.start_run(dataset_path=dataset, config=tiny_config(), seeds=1, enqueue=False)
    reviewer()
    log_in(page, live_server, "rev")
    page.goto(f"{live_server.url}/runs/{run.pk}/")
    assert page.locator("#run-status").inner_text() == "queued"
    assert page.locator("#f1-pending").count() == 1

    trainer = threading.Thread(target=runs.run_training, args=(run.pk,))
    trainer.start()  # as a worker would, while the page polls
    trainer.join(timeout=120)
    page.wait_for_selector("#f1-table", timeout=20_000)  # run.js reloaded the finished run
    page.wait_for_function(IMAGES_LOADED)
    assert page.locator("#run-status").inner_text() == "done"


def test_comparison_page_shows_two_runs_side_by_side(live_server, page, dataset):
    train_here(dataset, "lfmim", name="full")
    train_here(dataset, "lfmim-ml", name="ablation")
    reviewer()
    log_in(page, live_server, "rev")
    page.goto(f"{live_server.url}/runs/")
    for box in page.locator("#runs input[name=ids]").all():
        box.check()
    page.click("text=Compare the selected runs")
    page.wait_for_selector("#comparison")
    page.wait_for_function(IMAGES_LOADED)
    rows = page.locator("#comparison tbody tr")
    assert rows.count() == 2
    names = {rows.nth(i).locator("th").inner_text() for i in range(2)}
    assert names == {"full (lfmim)", "ablation (lfmim-ml)"}
    header = page.locator("#comparison thead").inner_text()
    assert "happiness" in header and "overall" in header and "macro F1" in header
