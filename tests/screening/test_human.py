"""Human screening: leases on clips, decisions, and what each person may do and see."""

import datetime

import pytest
from django.utils import timezone

from labeling.models import ClipScreening, Rendition
from labeling.services.campaigns import CampaignInvalid, add_missing_jobs, create_campaign
from labeling.services.screening import (
    AlreadyDecided,
    ClipNotLeased,
    NoHumanScreening,
    NotScreener,
    ReasonRequired,
    ScreeningLeaseExpired,
    judge_campaign,
    next_clip_to_screen,
    screen_clip,
)
from tests.factories import annotators, rendered_corpus

pytestmark = pytest.mark.django_db

Status = ClipScreening.Status
Reason = ClipScreening.Reason


@pytest.fixture
def team():
    return {"annotators": annotators(2), "screeners": annotators(2, prefix="screener")}


def human_campaign(team, n_clips: int = 3, **options):
    return create_campaign(
        name="human screening",
        corpus=rendered_corpus(n_clips),
        annotators=team["annotators"],
        human_screening=True,
        screeners=team["screeners"],
        **options,
    )


def test_clips_wait_for_a_screener_and_have_no_jobs(team):
    campaign = human_campaign(team)
    assert set(campaign.screenings.values_list("status", flat=True)) == {Status.AWAITING_HUMAN}
    assert not campaign.jobs.exists()


def test_a_screener_holds_one_clip_at_a_time(team):
    campaign = human_campaign(team)
    screener = team["screeners"][0]
    first = next_clip_to_screen(screener, campaign)
    assert first.leased_to == screener and first.lease_expires_at > timezone.now()
    assert next_clip_to_screen(screener, campaign).pk == first.pk
    other = next_clip_to_screen(team["screeners"][1], campaign)
    assert other.pk != first.pk


def test_accepting_a_clip_creates_its_jobs(team):
    campaign = human_campaign(team, modalities="tavm")
    screener = team["screeners"][0]
    clip = next_clip_to_screen(screener, campaign)

    decision = screen_clip(screener, clip.pk, accept=True, note="clear")

    clip.refresh_from_db()
    assert not decision.repeated
    assert (clip.status, clip.screener, clip.leased_to) == (Status.ACCEPTED, screener, None)
    assert clip.decided_at is not None
    assert set(campaign.jobs.values_list("utterance_id", "modality")) == {
        (clip.utterance_id, m) for m in "tavm"
    }
    assert next_clip_to_screen(screener, campaign).pk != clip.pk


def test_a_rejected_clip_never_becomes_jobs(team):
    campaign = human_campaign(team, n_clips=1)
    screener = team["screeners"][0]
    clip = next_clip_to_screen(screener, campaign)

    screen_clip(screener, clip.pk, accept=False, reason=Reason.SEVERAL_SPEAKERS)

    clip.refresh_from_db()
    assert (clip.status, clip.reason) == (Status.REJECTED, Reason.SEVERAL_SPEAKERS)
    add_missing_jobs(campaign)
    judge_campaign(campaign)
    campaign.human_screening = False  # even when the campaign stops asking screeners
    campaign.save()
    judge_campaign(campaign)
    add_missing_jobs(campaign)
    assert campaign.screenings.get().status == Status.REJECTED
    assert not campaign.jobs.exists()
    campaign.human_screening = True
    campaign.save()
    assert next_clip_to_screen(screener, campaign) is None


def test_rejecting_needs_a_reason_and_other_needs_a_note(team):
    campaign = human_campaign(team)
    screener = team["screeners"][0]
    clip = next_clip_to_screen(screener, campaign)
    with pytest.raises(ReasonRequired, match="Say why"):
        screen_clip(screener, clip.pk, accept=False)
    with pytest.raises(ReasonRequired, match="Say why"):
        screen_clip(screener, clip.pk, accept=False, reason="boring")
    with pytest.raises(ReasonRequired, match="note"):
        screen_clip(screener, clip.pk, accept=False, reason=Reason.OTHER, note="  ")
    screen_clip(screener, clip.pk, accept=False, reason=Reason.OTHER, note="music over speech")
    clip.refresh_from_db()
    assert (clip.reason, clip.note) == (Reason.OTHER, "music over speech")


def test_the_same_decision_again_is_idempotent_and_a_different_one_refused(team):
    campaign = human_campaign(team)
    screener = team["screeners"][0]
    clip = next_clip_to_screen(screener, campaign)
    screen_clip(screener, clip.pk, accept=False, reason=Reason.BAD_AUDIO)

    again = screen_clip(screener, clip.pk, accept=False, reason=Reason.BAD_AUDIO)
    assert again.repeated and again.screening.status == Status.REJECTED
    with pytest.raises(AlreadyDecided, match="already rejected"):
        screen_clip(screener, clip.pk, accept=True)
    with pytest.raises(AlreadyDecided):
        screen_clip(screener, clip.pk, accept=False, reason=Reason.WRONG_LANGUAGE)
    assert not campaign.jobs.exists()


def test_another_screener_cannot_decide_a_clip_leased_to_someone_else(team):
    campaign = human_campaign(team)
    holder, other = team["screeners"]
    clip = next_clip_to_screen(holder, campaign)
    with pytest.raises(ClipNotLeased) as refused:
        screen_clip(other, clip.pk, accept=True)
    assert refused.value.status == 404
    clip.refresh_from_db()
    assert clip.status == Status.AWAITING_HUMAN and not campaign.jobs.exists()


def test_an_expired_lease_is_refused_and_the_clip_goes_to_the_next_screener(team):
    campaign = human_campaign(team, n_clips=1)
    holder, other = team["screeners"]
    clip = next_clip_to_screen(holder, campaign)
    ClipScreening.objects.filter(pk=clip.pk).update(
        lease_expires_at=timezone.now() - datetime.timedelta(seconds=1)
    )
    with pytest.raises(ScreeningLeaseExpired) as refused:
        screen_clip(holder, clip.pk, accept=True)
    assert refused.value.status == 409

    assert next_clip_to_screen(other, campaign).pk == clip.pk
    with pytest.raises(ClipNotLeased):
        screen_clip(holder, clip.pk, accept=True)
    screen_clip(other, clip.pk, accept=True)
    assert campaign.jobs.count() == 4


def test_only_the_campaign_screeners_may_screen(team):
    campaign = human_campaign(team)
    annotator = team["annotators"][0]
    with pytest.raises(NotScreener) as refused:
        next_clip_to_screen(annotator, campaign)
    assert refused.value.status == 403
    clip = next_clip_to_screen(team["screeners"][0], campaign)
    with pytest.raises(NotScreener):
        screen_clip(annotator, clip.pk, accept=True)


def test_a_campaign_without_human_screening_has_nothing_to_screen(team):
    campaign = create_campaign(
        name="no humans", corpus=rendered_corpus(1), annotators=team["annotators"]
    )
    campaign.screeners.set(team["screeners"])
    with pytest.raises(NoHumanScreening):
        next_clip_to_screen(team["screeners"][0], campaign)


def test_clips_whose_video_is_not_ready_are_not_handed_out(team):
    campaign = human_campaign(team, n_clips=1)
    Rendition.objects.filter(modality="m").update(status=Rendition.Status.PENDING)
    assert next_clip_to_screen(team["screeners"][0], campaign) is None
    Rendition.objects.filter(modality="m").update(status=Rendition.Status.DONE)
    assert next_clip_to_screen(team["screeners"][0], campaign) is not None


def test_automatic_checks_come_before_the_screener():
    from labeling.models import ScreeningStatus, Utterance
    from tests.screening.test_judge import measures

    corpus = rendered_corpus(2)
    good, silent = corpus.utterances.order_by("pk")
    Utterance.objects.filter(pk=good.pk).update(
        screening_status=ScreeningStatus.MEASURED, screening=measures()
    )
    Utterance.objects.filter(pk=silent.pk).update(
        screening_status=ScreeningStatus.MEASURED, screening=measures(loudness_db=-90.0)
    )
    screener = annotators(1, prefix="screener")[0]
    campaign = create_campaign(
        name="both",
        corpus=corpus,
        annotators=annotators(1),
        automatic_screening=True,
        human_screening=True,
        screeners=[screener],
    )
    assert dict(campaign.screenings.values_list("utterance_id", "status")) == {
        good.pk: Status.AWAITING_HUMAN,
        silent.pk: Status.REJECTED_AUTO,
    }
    assert next_clip_to_screen(screener, campaign).utterance_id == good.pk
    screen_clip(screener, campaign.screenings.get(utterance=good).pk, accept=True)
    assert next_clip_to_screen(screener, campaign) is None
    judge_campaign(campaign)  # a screener's acceptance stands when nothing changed
    assert campaign.screenings.get(utterance=good).status == Status.ACCEPTED


def test_screeners_cannot_also_annotate_under_the_independence_guard(team):
    with pytest.raises(CampaignInvalid, match="independence guard"):
        create_campaign(
            name="overlap",
            corpus=rendered_corpus(1),
            annotators=team["annotators"],
            human_screening=True,
            screeners=team["annotators"][:1],
        )
    with pytest.raises(CampaignInvalid, match="at least one screener"):
        create_campaign(
            name="nobody", corpus=rendered_corpus(1), annotators=[], human_screening=True
        )


def test_a_clip_with_less_than_a_second_left_is_not_handed_back(team):
    campaign = human_campaign(team, n_clips=1)
    screener = team["screeners"][0]
    first = next_clip_to_screen(screener, campaign)
    almost = timezone.now() + datetime.timedelta(milliseconds=600)
    ClipScreening.objects.filter(pk=first.pk).update(lease_expires_at=almost)
    again = next_clip_to_screen(screener, campaign)
    # The page would show it at 0:00 and ask again at once: a fresh lease instead.
    assert again.pk == first.pk and again.lease_expires_at > almost
