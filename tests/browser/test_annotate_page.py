"""An annotator works through tasks with the keyboard; each page shows only its modality."""

import pytest

from labeling import media
from labeling.models import Corpus, Lease, Utterance, Vote
from labeling.services.campaigns import create_campaign
from labeling.services.imports import import_manifest
from labeling.services.renditions import render_utterance
from tests.browser.conftest import leave, log_in
from tests.factories import annotators

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

TRANSCRIPT = "这件事让我非常生气"


def one_clip_corpus(clip_dir, make_clip, seconds: float) -> Corpus:
    """A corpus of one imported and rendered clip whose transcript is TRANSCRIPT."""
    make_clip("a.mp4", seconds=seconds)
    (clip_dir / "m.csv").write_text(f"media,transcript\na.mp4,{TRANSCRIPT}\n", encoding="utf-8")
    corpus = Corpus.objects.create(name="browser")
    import_manifest(corpus=corpus, manifest_path=clip_dir / "m.csv", media_root=clip_dir)
    render_utterance(Utterance.objects.get().pk)
    return corpus


@pytest.fixture
def campaign(media_root, clip_dir, make_clip):
    corpus = one_clip_corpus(clip_dir, make_clip, seconds=2.0)
    # Without the guard one annotator meets all four modalities of the one utterance; the
    # tests walk them in the paper's order rather than the campaign's shuffled one.
    campaign = create_campaign(
        name="browser campaign", corpus=corpus, annotators=annotators(1), independence_guard=False
    )
    for job in campaign.jobs.all():
        job.turn = "tavm".index(job.modality)
        job.save(update_fields=["turn"])
    return campaign


def wait_for_task(page, modality_name: str) -> None:
    page.wait_for_function(
        "name => document.getElementById('modality').textContent === name", arg=modality_name
    )


def played(page, selector: str) -> dict:
    """Wait until the player has played a moment; return what it decoded."""
    page.wait_for_function(
        "s => { const m = document.querySelector(s); return m && m.currentTime > 0.3; }",
        arg=selector,
        timeout=15000,
    )
    return page.evaluate(
        """s => {
            const m = document.querySelector(s);
            return {audioBytes: m.webkitAudioDecodedByteCount,
                    videoBytes: m.webkitVideoDecodedByteCount, src: m.currentSrc};
        }""",
        selector,
    )


def test_annotator_completes_tasks_with_the_keyboard_and_sees_only_each_modality(
    campaign, live_server, page, tmp_path
):
    log_in(page, live_server, "annotator1")
    page.click("text=Start")

    wait_for_task(page, "text (transcript only)")
    assert page.locator(".transcript").inner_text() == TRANSCRIPT
    assert page.locator("audio, video").count() == 0
    page.keyboard.press("4")  # anger

    wait_for_task(page, "audio only")
    assert page.locator("video").count() == 0
    assert page.locator("audio").count() == 1
    assert TRANSCRIPT not in page.content()
    audio = played(page, "audio")
    assert audio["audioBytes"] > 0
    page.keyboard.press("2")  # sadness

    wait_for_task(page, "vision (silent video)")
    assert TRANSCRIPT not in page.content()
    assert page.locator("audio").count() == 0
    silent = played(page, "video")
    assert silent["videoBytes"] > 0 and silent["audioBytes"] == 0
    # The file itself, fetched with the annotator's session, has no audio stream at all.
    body = page.request.get(silent["src"]).body()
    (tmp_path / "v.mp4").write_bytes(body)
    probe = media.probe(tmp_path / "v.mp4")
    assert probe.has_video and not probe.has_audio
    page.keyboard.press("s")  # skip: the page asks why first
    page.wait_for_selector("#skip-reasons:not([hidden])")
    page.keyboard.press("3")  # not one speaker / no face

    wait_for_task(page, "multimodal (original video)")
    full = played(page, "video")
    assert full["audioBytes"] > 0  # the same check sees sound when there is some
    assert page.locator("video track[kind=subtitles]").count() == 1
    page.keyboard.press("1")  # happiness

    page.wait_for_selector("text=No tasks left for you")
    # One annotator cannot give the three votes each job needs: the page says so plainly.
    done = page.locator(".done").inner_text()
    assert "nothing left here that you may annotate" in done
    assert "cannot finish with its current annotators; its organisers have been told" in done
    assert "reopen when others skip" not in done
    page.wait_for_function("() => document.getElementById('counter').textContent === '3'")
    assert sorted(Vote.objects.values_list("job__modality", "label")) == [
        ("a", "sadness"),
        ("m", "happiness"),
        ("t", "anger"),
    ]
    assert Lease.objects.get(status="skipped").skip_reason == "Not one speaker, or no clear face"


def test_skip_takes_a_written_reason_and_escape_goes_back(campaign, live_server, page):
    log_in(page, live_server, "annotator1")
    page.click("text=Start")
    wait_for_task(page, "text (transcript only)")
    page.click("#skip")
    page.keyboard.press("Escape")
    assert page.locator("#skip-reasons").is_hidden()
    page.keyboard.press("4")  # the label keys work again: anger
    wait_for_task(page, "audio only")
    page.keyboard.press("s")
    page.fill("#skip-other", "the speaker whispers")
    page.keyboard.press("Enter")
    wait_for_task(page, "vision (silent video)")
    assert Lease.objects.get(status="skipped").skip_reason == "the speaker whispers"
    assert Vote.objects.get().label == "anger"


def test_the_last_answer_can_be_changed_while_its_task_is_open(campaign, live_server, page):
    log_in(page, live_server, "annotator1")
    page.click("text=Start")
    wait_for_task(page, "text (transcript only)")
    page.keyboard.press("4")  # anger
    wait_for_task(page, "audio only")
    page.keyboard.press("c")
    page.wait_for_selector("#revise-panel:not([hidden])")
    assert "anger" in page.locator("#revise-current").inner_text()
    page.keyboard.press("2")  # sadness
    page.wait_for_selector("text=Changed your last answer to sadness")
    assert Vote.objects.get().label == "sadness"
    assert page.locator("#modality").inner_text() == "audio only"  # still on the next task


def test_the_task_page_fits_a_tablet(campaign, live_server, browser):
    context = browser.new_context(viewport={"width": 768, "height": 1024}, has_touch=True)
    page = context.new_page()
    log_in(page, live_server, "annotator1")
    page.goto(f"{live_server.url}/annotate/{campaign.pk}/")
    wait_for_task(page, "text (transcript only)")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 768  # no sideways scrolling
    buttons = page.locator("button.label")
    assert buttons.count() == 7
    assert all(box["height"] >= 44 for box in (buttons.nth(i).bounding_box() for i in range(7)))
    buttons.nth(5).tap()  # disgust, by touch
    wait_for_task(page, "audio only")
    page.wait_for_selector("text=Saved: disgust")  # the next task shows before the answer lands
    assert Vote.objects.get().label == "disgust"
    leave(page)
    context.close()
