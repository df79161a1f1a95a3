"""A real Celery worker over the real Redis measures what an import queues, and campaigns judge."""

import time

import pytest

from labeling.models import ClipScreening, Corpus, ScreeningStatus, Utterance
from labeling.services.campaigns import create_campaign
from labeling.tasks import screen_utterance_task
from tests.factories import annotators
from tests.labeling.test_worker import redis_worker  # noqa: F401 (fixture)

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]


def wait_until_measured(utterances, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        pending = Utterance.objects.filter(
            pk__in=[u.pk for u in utterances], screening_status=ScreeningStatus.PENDING
        )
        if not pending.exists():
            return
        time.sleep(0.2)
    pytest.fail("the worker did not measure the clips in time")


def test_worker_measures_imported_clips_and_the_campaign_judges_them(
    redis_worker,  # noqa: F811
    import_clips,
):
    corpus = Corpus.objects.create(name="worker screening")
    campaign = create_campaign(
        name="worker screening", corpus=corpus, annotators=annotators(1), automatic_screening=True
    )
    clips = import_clips("good", "two_faces", corpus=corpus.name)  # after_import queues it all

    wait_until_measured(clips.values())

    statuses = dict(campaign.screenings.values_list("utterance__external_id", "status"))
    assert statuses == {"good": ClipScreening.Status.ACCEPTED, "two_faces": "rejected_auto"}
    assert set(campaign.jobs.values_list("utterance__external_id", flat=True)) == {"good"}


def test_the_task_records_a_missing_clip_as_failed(media_root, import_clips):
    utterance = import_clips("good")["good"]
    (media_root / utterance.source_file).unlink()

    assert screen_utterance_task.apply(args=[utterance.pk]).get() == ScreeningStatus.FAILED
    utterance.refresh_from_db()
    assert "There is no file" in utterance.screening_error
    assert screen_utterance_task.apply(args=[10**9]).get() == "missing"
