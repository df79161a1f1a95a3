"""A new annotator trains, takes the text exam, and only then gets real text tasks."""

import pytest

from labeling.models import Exam, ExamAttempt, GoldAnswer, Vote
from labeling.services.campaigns import create_campaign
from labeling.services.qualification import add_gold_item
from tests.browser.conftest import log_in
from tests.factories import annotators, rendered_corpus

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def campaign():
    corpus = rendered_corpus(5)
    campaign = create_campaign(
        name="exam campaign", corpus=corpus, annotators=annotators(1), modalities="t"
    )
    utterances = list(corpus.utterances.order_by("pk"))
    add_gold_item(
        campaign,
        utterance=utterances[0],
        modality="t",
        purpose="training",
        label="anger",
        explanation="The speaker insults someone.",
    )
    for utterance in utterances[1:3]:
        add_gold_item(campaign, utterance=utterance, modality="t", purpose="exam", label="fear")
    Exam.objects.create(campaign=campaign, modality="t", questions=0, pass_mark=1.0)
    return campaign


def test_training_explains_answers_and_the_exam_opens_real_tasks(campaign, live_server, page):
    log_in(page, live_server, "annotator1")
    page.click("text=Start")
    page.wait_for_selector("#qualification")  # nothing to annotate before an exam
    assert page.locator("text=Start the exam").count() == 0  # training first
    page.click("#qualification a.train")

    page.wait_for_selector(".transcript")
    page.keyboard.press("1")  # happiness, but the expected answer is anger
    page.wait_for_selector("#feedback")
    assert "The expected answer is anger." in page.inner_text("#feedback")
    assert "insults someone" in page.inner_text("#feedback")
    page.keyboard.press("Enter")
    page.wait_for_selector("text=Training done")

    page.click("text=Back to qualification")
    page.click("text=Start the exam")
    page.wait_for_function("() => document.getElementById('counter').textContent === '0 of 2'")
    for answered in (1, 2):
        page.wait_for_selector(".transcript")
        page.keyboard.press("3")  # fear
        page.wait_for_function(
            "n => document.getElementById('counter').textContent === `${n} of 2`", arg=answered
        )
    assert GoldAnswer.objects.filter(lease__kind="exam").count() == 2
    page.wait_for_selector("text=Passed: 100 %")
    assert ExamAttempt.objects.get().passed

    page.click("text=Back to qualification")
    assert "passed" in page.inner_text("#qualification")
    page.click("#annotate-link")
    page.wait_for_selector(".transcript")
    page.keyboard.press("2")
    page.wait_for_function("() => document.getElementById('counter').textContent === '1'")
    assert Vote.objects.get().label == "sadness"
