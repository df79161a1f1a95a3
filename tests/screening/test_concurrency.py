"""Many screeners asking for clips at the same moment, on the real PostgreSQL."""

import threading
from collections import Counter

import pytest
from django.db import close_old_connections, connection

from labeling.models import ClipScreening
from labeling.services.campaigns import create_campaign
from labeling.services.screening import next_clip_to_screen, screen_clip
from tests.factories import annotators, rendered_corpus

pytestmark = pytest.mark.django_db(transaction=True)


def run_at_once(workers, work):
    start = threading.Barrier(len(workers))
    errors = []

    def wrapped(worker):
        try:
            start.wait()
            work(worker)
        except Exception as exc:  # report, don't hang the other threads
            errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()

    threads = [threading.Thread(target=wrapped, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    close_old_connections()
    return errors


def screened_by(n_screeners: int, *, clips: int, modalities: str = "tavm"):
    screeners = annotators(n_screeners, prefix="screener")
    campaign = create_campaign(
        name=f"{n_screeners} screeners",
        corpus=rendered_corpus(clips),
        annotators=annotators(1),
        modalities=modalities,
        human_screening=True,
        screeners=screeners,
    )
    return screeners, campaign


@pytest.mark.postgresql
def test_screeners_asking_at_once_never_get_the_same_clip():
    screeners, campaign = screened_by(12, clips=8)
    got = {}
    errors = run_at_once(screeners, lambda s: got.update({s.pk: next_clip_to_screen(s, campaign)}))
    assert errors == []
    leased = [clip.pk for clip in got.values() if clip is not None]
    assert len(leased) == 8 == len(set(leased))  # every clip once; four screeners got none
    holders = Counter(
        ClipScreening.objects.filter(leased_to__isnull=False).values_list("leased_to", flat=True)
    )
    assert len(holders) == 8 and set(holders.values()) == {1}


@pytest.mark.postgresql
def test_screeners_working_through_a_queue_decide_every_clip_once():
    screeners, campaign = screened_by(6, clips=20, modalities="tm")
    decided = Counter()

    def work(screener):
        while (clip := next_clip_to_screen(screener, campaign)) is not None:
            accept = clip.utterance_id % 2 == 0
            decision = screen_clip(screener, clip.pk, accept=accept, reason="bad_audio")
            assert not decision.repeated
            decided[clip.pk] += 1

    assert run_at_once(screeners, work) == []
    assert len(decided) == 20 and set(decided.values()) == {1}
    accepted = campaign.screenings.filter(status=ClipScreening.Status.ACCEPTED)
    assert campaign.jobs.count() == 2 * accepted.count() == 20
    assert not campaign.screenings.filter(status=ClipScreening.Status.AWAITING_HUMAN).exists()
