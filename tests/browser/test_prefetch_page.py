"""The annotate page fetches the next task ahead (issue 14): shown on the answer without a
round trip, its media loaded beforehand off the page, released when the annotator leaves."""

import time

import pytest
from django.utils import timezone

from labeling.models import Lease
from labeling.services.campaigns import create_campaign
from tests.browser.conftest import log_in
from tests.browser.test_annotate_page import campaign, played, wait_for_task  # noqa: F401
from tests.factories import annotators, rendered_corpus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def fetched_ahead(timeout: float = 10.0) -> Lease:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        lease = Lease.objects.filter(ahead=True, status=Lease.Status.ACTIVE).first()
        if lease is not None:
            return lease
        time.sleep(0.05)
    raise AssertionError("the page fetched no task ahead")


def test_leaving_the_page_releases_the_task_fetched_ahead(live_server, page):
    create_campaign(
        name="leave", corpus=rendered_corpus(3), annotators=annotators(1), modalities="t"
    )
    log_in(page, live_server, "annotator1")
    page.click("text=Start")
    page.wait_for_selector(".transcript")
    ahead = fetched_ahead()
    shown = Lease.objects.get(ahead=False)
    assert page.locator("#annotate").get_attribute("data-lease") == str(shown.pk)
    page.goto(f"{live_server.url}/")  # pagehide: the beacon gives the unused lease back
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        ahead.refresh_from_db()
        if ahead.status == Lease.Status.RELEASED:
            break
        time.sleep(0.05)
    assert ahead.status == Lease.Status.RELEASED
    shown.refresh_from_db()
    assert shown.status == Lease.Status.ACTIVE  # the task shown stays theirs until it runs out
    assert Lease.objects.filter(status=Lease.Status.ACTIVE).count() == 1


def test_the_answer_shows_the_task_fetched_ahead_before_the_server_has_it(
    campaign,  # noqa: F811
    live_server,
    page,
):
    media_requests, held = [], []
    page.on(
        "request",
        lambda r: media_requests.append(r.url) if "/renditions/" in r.url else None,
    )
    log_in(page, live_server, "annotator1")
    page.click("text=Start")
    wait_for_task(page, "text (transcript only)")
    ahead = fetched_ahead()
    assert ahead.job.modality == "a"
    audio = ahead.job.utterance.renditions.get(modality="a")
    # Its media loads before it is shown, off the page: nothing plays or shows yet.
    deadline = time.monotonic() + 10
    while not any(f"/renditions/{audio.pk}/" in u for u in media_requests):
        assert time.monotonic() < deadline, media_requests
        page.wait_for_timeout(50)
    assert page.locator("audio, video").count() == 0
    # Hold the answer on its way: the next task must show without waiting for it.
    page.route("**/submit/", lambda route: held.append(route))
    page.keyboard.press("4")  # anger
    wait_for_task(page, "audio only")
    assert page.locator("#annotate").get_attribute("data-lease") == str(ahead.pk)
    assert held and not ahead.job.votes.exists()
    assert Lease.objects.get(pk=ahead.pk).ahead  # not promoted before the answer lands
    held[0].continue_()
    page.unroute("**/submit/")
    page.wait_for_selector("text=Saved: anger")
    played(page, "audio")
    page.wait_for_function(
        "() => /^\\d+:\\d\\d$/.test(document.getElementById('timer').textContent)"
    )
    promoted = Lease.objects.get(pk=ahead.pk)
    assert not promoted.ahead and promoted.status == Lease.Status.ACTIVE
    nxt = fetched_ahead()  # and the one after it is fetched ahead
    assert nxt.job.modality == "v"
    assert Lease.objects.filter(status=Lease.Status.ACTIVE).count() == 2


def test_a_task_fetched_ahead_that_ran_out_meanwhile_gives_way_to_another(
    campaign,  # noqa: F811
    live_server,
    page,
):
    log_in(page, live_server, "annotator1")
    page.click("text=Start")
    wait_for_task(page, "text (transcript only)")
    ahead = fetched_ahead()
    # The server closed it meanwhile (ran out); the page still holds it.
    Lease.objects.filter(pk=ahead.pk).update(expires_at=timezone.now())
    page.keyboard.press("4")
    page.wait_for_selector("text=Meanwhile that task was decided by others or ran out of time")
    wait_for_task(page, "vision (silent video)")
    shown = Lease.objects.get(status=Lease.Status.ACTIVE, ahead=False)
    assert shown.job.modality == "v"
    assert page.locator("#annotate").get_attribute("data-lease") == str(shown.pk)
    assert Lease.objects.get(pk=ahead.pk).status == Lease.Status.EXPIRED
    page.keyboard.press("2")  # and the page goes on answering
    wait_for_task(page, "multimodal (original video)")
