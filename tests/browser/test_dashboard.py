"""The reviewer's dashboard renders in a real browser with its four plots loaded."""

import pytest
from django.contrib.auth.models import Group, User

from labeling.services.assignment import next_task, submit_vote
from labeling.services.campaigns import create_campaign
from tests.browser.conftest import log_in
from tests.factories import annotators, rendered_corpus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dashboard_shows_its_plots_and_tables(live_server, page):
    team = annotators(3)
    campaign = create_campaign(
        name="dash", corpus=rendered_corpus(4), annotators=team, independence_guard=False
    )
    for i, annotator in enumerate(team):
        while (lease := next_task(annotator, campaign)) is not None:
            submit_vote(
                annotator,
                lease.pk,
                ["anger", "fear", "anger"][i] if lease.job.modality == "v" else "sadness",
            )
    reviewer = User.objects.create_user("rev", password="pw")
    reviewer.groups.add(Group.objects.get_or_create(name="reviewer")[0])

    log_in(page, live_server, "rev")
    page.click("text=dash")
    page.wait_for_selector("figure.plot img")
    page.wait_for_function(
        "() => [...document.querySelectorAll('figure.plot img')]"
        ".every(img => img.complete && img.naturalWidth > 100)"
    )
    assert page.locator("figure.plot img").count() == 4
    assert page.locator("#inconsistency tbody tr").count() == 4
    assert page.locator("#progress tbody tr").count() == 4
    assert "usable for training" in page.content()
    page.click("text=disagreement queue")
    page.wait_for_selector("text=Disagreements in dash")
    assert page.locator("table.grid tbody tr a").count() == 4  # the 2:1 video jobs
