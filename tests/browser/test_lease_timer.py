"""The task page counts the lease down and, when it runs out, says so and moves on."""

import pytest

from labeling.models import Lease
from labeling.services.campaigns import create_campaign
from tests.browser.conftest import log_in
from tests.factories import annotators, rendered_corpus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_expired_lease_is_announced_and_the_next_task_loaded(live_server, page):
    create_campaign(
        name="short leases",
        corpus=rendered_corpus(4),
        annotators=annotators(1),
        modalities="t",
        lease_seconds=10,
    )
    log_in(page, live_server, "annotator1")
    page.click("text=Start")
    page.wait_for_selector(".transcript")
    first = Lease.objects.get(ahead=False).pk
    page.wait_for_function("() => document.getElementById('timer').classList.contains('urgent')")
    page.wait_for_selector("text=Time ran out for this task", timeout=20000)
    page.wait_for_function(
        "() => document.getElementById('timer').textContent.startsWith('0:')"
        " && !document.getElementById('timer').textContent.startsWith('0:00')"
    )
    # Another task is shown now: the one fetched ahead with the first (when it still had a
    # second left; both had 10 s) or a new one; at most one more is fetched ahead of it.
    live = Lease.objects.exclude(pk=first).filter(status="active")
    assert live.filter(ahead=False).count() == 1 and live.filter(ahead=True).count() <= 1


def test_at_expiry_the_page_asks_for_the_next_task_exactly_once(live_server, page):
    import time

    create_campaign(
        name="one request",
        corpus=rendered_corpus(3),
        annotators=annotators(1),
        modalities="t",
        lease_seconds=10,
    )
    nexts = []
    page.on(
        "request",
        lambda request: (
            nexts.append(time.monotonic())
            if request.method == "POST" and request.url.endswith("/next/")  # not ?ahead_of=
            else None
        ),
    )
    log_in(page, live_server, "annotator1")
    page.click("text=Start")
    page.wait_for_selector(".transcript")
    page.wait_for_selector("text=Time ran out for this task", timeout=20000)
    time.sleep(2)  # a page asking again at 0:00 would have sent several more by now
    assert len(nexts) == 2, nexts
    second = Lease.objects.exclude(status="expired").get(ahead=False)
    assert second.status == "active"
    # The shown task ran out once (the one fetched ahead with it may have run out too).
    assert Lease.objects.filter(status="expired", ahead=False).count() == 1
