"""Automatic screening: measuring stored clips, and campaigns judging them into jobs or not."""

import pytest

from labeling.models import ClipScreening, Job, Lease, ScreeningStatus, Utterance
from labeling.screening import Thresholds
from labeling.services.assignment import next_task
from labeling.services.campaigns import add_missing_jobs, create_campaign
from labeling.services.screening import judge_campaign, measure_utterance
from labeling.storage import media_path
from tests.factories import annotators, rendered_corpus

pytestmark = pytest.mark.django_db

Status = ClipScreening.Status


def screened_campaign(corpus, **options):
    options.setdefault("automatic_screening", True)
    return create_campaign(
        name=f"screened {corpus.pk}", corpus=corpus, annotators=annotators(1), **options
    )


def statuses(campaign) -> dict[str, str]:
    return dict(campaign.screenings.values_list("utterance__external_id", "status"))


def jobs_of(campaign) -> set[str]:
    return set(campaign.jobs.values_list("utterance__external_id", flat=True))


def set_measures(utterance, **changes):
    """Hand-written measures (a passing clip unless changed), as measuring would store them."""
    from tests.screening.test_judge import measures

    Utterance.objects.filter(pk=utterance.pk).update(
        screening_status=ScreeningStatus.MEASURED, screening=measures(**changes)
    )


def test_measuring_records_what_the_clip_holds(import_clips):
    utterance = import_clips("good")["good"]
    assert utterance.screening_status == ScreeningStatus.PENDING

    measure_utterance(utterance.pk)

    utterance.refresh_from_db()
    assert utterance.screening_status == ScreeningStatus.MEASURED
    assert utterance.screening["faces"] == [1] * 16
    assert utterance.screening["has_audio"] and utterance.screening_error == ""


def test_a_damaged_stored_clip_fails_measuring_and_is_rejected_not_crashing(import_clips):
    utterance = import_clips("good")["good"]
    campaign = screened_campaign(utterance.corpus)
    media_path(utterance.source_file).write_bytes(b"not a video any more")

    measure_utterance(utterance.pk)

    utterance.refresh_from_db()
    assert utterance.screening_status == ScreeningStatus.FAILED
    assert "can't be read as video or audio" in utterance.screening_error
    screening = campaign.screenings.get()
    assert screening.status == Status.REJECTED_AUTO
    assert screening.automatic_reasons[0].startswith("could not be measured: ")
    assert not campaign.jobs.exists()


def test_automatic_screening_gives_jobs_only_to_passing_clips(import_clips):
    clips = import_clips("good", "no_face", "two_faces", "silent")
    for utterance in clips.values():
        measure_utterance(utterance.pk)

    campaign = screened_campaign(clips["good"].corpus, modalities="tavm")

    assert statuses(campaign) == {
        "good": Status.ACCEPTED,
        "no_face": Status.REJECTED_AUTO,
        "two_faces": Status.REJECTED_AUTO,
        "silent": Status.REJECTED_AUTO,
    }
    assert jobs_of(campaign) == {"good"} and campaign.jobs.count() == 4
    reasons = dict(campaign.screenings.values_list("utterance__external_id", "automatic_reasons"))
    assert reasons["two_faces"] == [
        "exactly one face in 0 of 16 sampled frames (0 %; two or more in 16), need 60 %"
    ]
    assert reasons["silent"] == ["audio is silent (\u2212100 dBFS, quieter than \u221245 dBFS)"]
    add_missing_jobs(campaign)  # "add jobs for utterances imported since" respects screening
    assert jobs_of(campaign) == {"good"}


def test_clips_measured_after_the_campaign_began_are_judged_when_measured(import_clips):
    clips = import_clips("good", "no_face")
    campaign = screened_campaign(clips["good"].corpus)
    assert statuses(campaign) == {"good": Status.PENDING, "no_face": Status.PENDING}
    assert not campaign.jobs.exists()

    for utterance in clips.values():
        measure_utterance(utterance.pk)

    assert statuses(campaign) == {"good": Status.ACCEPTED, "no_face": Status.REJECTED_AUTO}
    assert jobs_of(campaign) == {"good"}


def test_a_campaign_without_screening_gives_every_clip_jobs():
    corpus = rendered_corpus(3)
    campaign = create_campaign(name="plain", corpus=corpus, annotators=annotators(1))
    assert campaign.jobs.count() == 12 and not campaign.screenings.exists()


def test_changed_thresholds_rejudge_without_measuring_again():
    corpus = rendered_corpus(2)
    short, long = corpus.utterances.order_by("pk")
    set_measures(short, duration_seconds=1.5)
    set_measures(long, duration_seconds=6.0)
    campaign = screened_campaign(corpus, thresholds=Thresholds(min_seconds=2.0))
    assert statuses(campaign) == {"u0": Status.REJECTED_AUTO, "u1": Status.ACCEPTED}

    campaign.screen_min_seconds, campaign.screen_max_seconds = 1.0, 5.0
    campaign.save()
    assert judge_campaign(campaign) == {Status.ACCEPTED: 1, Status.REJECTED_AUTO: 1}

    assert statuses(campaign) == {"u0": Status.ACCEPTED, "u1": Status.REJECTED_AUTO}
    assert jobs_of(campaign) == {"u0"}  # u1's untouched jobs went with its acceptance
    assert campaign.screenings.get(utterance=long).automatic_reasons == [
        "lasts 6.0 s, longer than 5 s"
    ]


def test_an_accepted_clip_with_leased_jobs_stays_accepted_when_thresholds_tighten():
    corpus = rendered_corpus(1)
    utterance = corpus.utterances.get()
    set_measures(utterance, duration_seconds=3.0)
    campaign = screened_campaign(corpus)
    lease = next_task(campaign.annotators.get(), campaign)
    assert lease is not None

    campaign.screen_max_seconds = 2.0
    campaign.save()
    judge_campaign(campaign)

    screening = campaign.screenings.get()
    assert screening.status == Status.ACCEPTED
    assert screening.automatic_reasons == ["lasts 3.0 s, longer than 2 s"]  # shown, not applied
    assert Lease.objects.filter(pk=lease.pk).exists() and campaign.jobs.count() == 4


def test_only_the_campaign_corpus_is_screened():
    corpus, other = rendered_corpus(2), rendered_corpus(1)
    for utterance in [*corpus.utterances.all(), *other.utterances.all()]:
        set_measures(utterance)
    campaign = screened_campaign(corpus)
    assert campaign.screenings.count() == 2
    assert set(Job.objects.values_list("utterance__corpus", flat=True)) == {corpus.pk}
