"""A multi-label annotator toggles every emotion that applies with the keys and submits with
Enter; each task still shows only its modality."""

import pytest

from labeling.emotions import preset_labels
from labeling.models import Campaign, Vote
from labeling.services.campaigns import create_campaign
from tests.browser.conftest import log_in
from tests.browser.test_annotate_page import TRANSCRIPT, one_clip_corpus, wait_for_task
from tests.factories import annotators

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def campaign(media_root, clip_dir, make_clip):
    campaign = create_campaign(
        name="multi-label campaign",
        corpus=one_clip_corpus(clip_dir, make_clip, seconds=1.0),
        annotators=annotators(1),
        labels=preset_labels("mosei"),
        modalities="ta",
        label_mode=Campaign.LabelMode.MULTI,
        allow_none=True,
        independence_guard=False,
    )
    for job in campaign.jobs.all():
        job.turn = "ta".index(job.modality)
        job.save(update_fields=["turn"])
    return campaign


def pressed(page) -> list[str]:
    return page.eval_on_selector_all(
        "#labels button[aria-pressed=true]", "bs => bs.map(b => b.textContent.trim())"
    )


def test_keys_toggle_emotions_enter_submits_and_none_of_these_is_an_answer(
    campaign, live_server, page
):
    log_in(page, live_server, "annotator1")
    page.goto(f"{live_server.url}/annotate/{campaign.pk}/")
    wait_for_task(page, "text (transcript only)")
    assert page.locator(".transcript").inner_text() == TRANSCRIPT
    assert page.locator("#choose-hint").is_visible()
    send = page.locator("#labels button[data-send]")
    assert send.is_disabled()  # nothing chosen yet
    page.keyboard.press("Enter")  # refused quietly: no vote
    page.keyboard.press("3")  # anger
    page.keyboard.press("6")  # fear
    page.keyboard.press("1")  # happy
    page.keyboard.press("1")  # happy again: off
    assert pressed(page) == ["3 anger", "6 fear"]
    assert page.locator(".label.pressed").count() == 2 and send.is_enabled()
    assert Vote.objects.count() == 0
    page.keyboard.press("Enter")

    wait_for_task(page, "audio only")
    assert page.locator("audio").count() == 1 and page.locator("video").count() == 0
    assert TRANSCRIPT not in page.content()
    assert pressed(page) == []  # a new task starts with nothing chosen
    page.keyboard.press("2")  # sad
    page.keyboard.press("0")  # none of these: clears sad
    assert pressed(page) == ["0 none of these"]
    page.locator("#labels button[data-send]").click()

    page.wait_for_selector("text=No tasks left for you")
    assert sorted(Vote.objects.values_list("job__modality", "label_set")) == [
        ("a", []),
        ("t", ["anger", "fear"]),
    ]
    assert page.locator("#message").inner_text() == "Saved: none of these"


def test_the_last_set_can_be_changed_by_toggling_it(campaign, live_server, page):
    log_in(page, live_server, "annotator1")
    page.goto(f"{live_server.url}/annotate/{campaign.pk}/")
    wait_for_task(page, "text (transcript only)")
    page.click("#labels button[data-label=surprise]")  # by mouse
    assert pressed(page) == ["4 surprise"]
    page.keyboard.press("Enter")
    wait_for_task(page, "audio only")
    page.keyboard.press("c")
    page.wait_for_selector("#revise-panel:not([hidden])")
    assert page.locator("#revise-current").inner_text() == "surprise"
    current = page.eval_on_selector_all(
        "#revise-labels button[aria-pressed=true]", "bs => bs.map(b => b.dataset.label)"
    )
    assert current == ["surprise"]
    page.keyboard.press("5")  # disgust on, surprise stays
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Changed your last answer to surprise, disgust")
    assert Vote.objects.get().label_set == ["surprise", "disgust"]
    assert page.locator("#modality").inner_text() == "audio only"
