"""A screener works through clips in headless Chromium, deciding each with one key.

Here rather than in tests/screening: one sync Playwright per thread, so every browser test
shares this directory's session-wide browser.
"""

import pytest

from labeling.models import ClipScreening
from labeling.services.campaigns import create_campaign
from labeling.services.renditions import render_utterance
from tests.browser.conftest import log_in
from tests.browser.test_annotate_page import played
from tests.factories import annotators
from tests.screening.conftest import generated_clips, import_clips  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

Status = ClipScreening.Status


@pytest.fixture
def campaign(import_clips):  # noqa: F811 (the fixture imported above)
    clips = import_clips("good", "two_faces", "silent")
    for utterance in clips.values():
        render_utterance(utterance.pk)
    return create_campaign(
        name="browser screening",
        corpus=clips["good"].corpus,
        annotators=annotators(1),
        human_screening=True,
        screeners=annotators(1, prefix="screener"),
    )


def current_screening(page) -> ClipScreening:
    """The clip the page shows, once its buttons are ready."""
    page.wait_for_function("() => !document.getElementById('accept').disabled")
    src = page.evaluate("document.querySelector('#stage video').getAttribute('src')")
    rendition_id = int(src.split("/")[2])  # /renditions/<id>/file
    return ClipScreening.objects.get(utterance__renditions__pk=rendition_id)


def test_a_screener_accepts_and_rejects_clips_with_the_keyboard(campaign, live_server, page):
    log_in(page, live_server, "screener1")
    page.click(f"a[href='/screen/{campaign.pk}/']")  # the home page links the screening page

    first = current_screening(page)
    assert page.locator("#transcript").inner_text() == first.utterance.transcript
    full = played(page, "#stage video")
    assert full["audioBytes"] > 0 and full["videoBytes"] > 0  # the original, with sound
    page.keyboard.press("a")
    page.wait_for_function(
        "() => document.getElementById('counter').textContent === '1'", timeout=10000
    )

    second = current_screening(page)
    assert second.pk != first.pk
    page.keyboard.press("1")  # several speakers
    page.wait_for_function("() => document.getElementById('counter').textContent === '2'")

    third = current_screening(page)
    assert page.locator("#other").is_hidden()
    page.keyboard.press("o")  # other: a note is needed
    assert page.locator("#note").is_visible()
    page.fill("#note", "a dog barks over the speech")
    page.keyboard.press("Enter")

    page.wait_for_selector("text=Nothing left to screen")
    assert page.locator("#counter").inner_text() == "3"
    decided = {s.pk: (s.status, s.reason, s.note) for s in campaign.screenings.all()}
    assert decided == {
        first.pk: (Status.ACCEPTED, "", ""),
        second.pk: (Status.REJECTED, "several_speakers", ""),
        third.pk: (Status.REJECTED, "other", "a dog barks over the speech"),
    }
    assert set(campaign.jobs.values_list("utterance_id", flat=True)) == {first.utterance_id}
