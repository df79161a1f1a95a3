"""The model in review: predictions beside verdicts, the disagreement filter, suspect votes
and annotators, and pausing on the suspect rate; hand-made cases on PostgreSQL."""

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.urls import reverse

from labeling.models import AnnotatorPause, Campaign, Prediction, ReviewAction, TrainingRun
from labeling.roles import REVIEWER
from labeling.selectors.predictions import model_disagreement_job_ids, suspect_rates
from labeling.selectors.statistics import annotator_quality, disagreement_queue
from labeling.services import review
from labeling.services.assignment import Paused, next_task, submit_vote
from labeling.services.campaigns import create_campaign
from labeling.services.suspects import pause_suspect_annotators
from labeling.verdicts import VotingRule
from tests.factories import annotators, rendered_corpus

pytestmark = pytest.mark.django_db

# Three votes per job, two agreeing decide it. Per utterance: the three votes (a0, a1, a2)
# and the model's t-head prediction (label, confidence).
PLAN = {
    "u0": (("anger", "anger", "sadness"), ("anger", 0.95)),  # a2 suspect
    "u1": (("anger", "anger", "fear"), ("fear", 0.90)),  # model backs a2; doubts the verdict
    "u2": (("sadness", "anger", "anger"), ("anger", 0.50)),  # model unsure: nobody suspect
    "u3": (("anger", "anger", "sadness"), ("fear", 0.90)),  # a2 against both: suspect
}


@pytest.fixture
def team():
    return annotators(3)


@pytest.fixture
def reviewer():
    user = User.objects.create_user("rita", password="pw")
    user.groups.add(Group.objects.get(name=REVIEWER))
    return user


def make_run() -> TrainingRun:
    return TrainingRun.objects.create(model="lfmim", preset="tiny", config={}, dataset_path="x")


def planned_campaign(team, *, predictions=True, **fields):
    campaign = create_campaign(
        name="assist",
        corpus=rendered_corpus(len(PLAN)),
        annotators=team,
        modalities="t",
        rule=VotingRule(3, 2, 3),
    )
    campaign.assistant_run = make_run()
    for name, value in fields.items():
        setattr(campaign, name, value)
    campaign.save()
    if predictions:
        predict(campaign)
    return campaign


def predict(campaign, plan=PLAN):
    by_name = {u.external_id: u for u in campaign.corpus.utterances.all()}
    Prediction.objects.bulk_create(
        Prediction(
            run=campaign.assistant_run,
            utterance=by_name[name],
            head="t",
            probabilities=[confidence, 1 - confidence],
            label=label,
            confidence=confidence,
            entropy=0.5,
        )
        for name, (_, (label, confidence)) in plan.items()
    )


def vote_all(campaign, team, plan=PLAN):
    """Each annotator in turn answers every job they are given, as the plan says."""
    for index, annotator in enumerate(team):
        while (lease := next_task(annotator, campaign)) is not None:
            submit_vote(annotator, lease.pk, plan[lease.job.utterance.external_id][0][index])


def job_of(campaign, name):
    return campaign.jobs.get(utterance__external_id=name)


def test_suspect_rates_per_annotator_and_modality_on_hand_made_votes(team):
    campaign = planned_campaign(team)
    vote_all(campaign, team)
    rates = suspect_rates(campaign)
    a0, a1, a2 = (a.pk for a in team)
    assert {who: (r["t"].decided, r["t"].suspect) for who, r in rates.items()} == {
        a0: (4, 0),
        a1: (4, 0),
        a2: (4, 2),
    }
    # A lower τ lets the unsure prediction on u2 count: a0's sadness there is suspect.
    assert suspect_rates(campaign, tau=0.4)[a0]["t"].suspect == 1
    quality = {row["username"]: row for row in annotator_quality(campaign)}
    assert quality["annotator3"]["suspects"] == {"t": {"decided": 4, "suspect": 2, "rate": 0.5}}
    assert quality["annotator3"]["agreement"] == 0.25  # beside agreement, not instead of it


def test_a_reviewers_label_is_the_final_label_suspects_are_judged_against(team, reviewer):
    campaign = planned_campaign(team)
    vote_all(campaign, team)
    review.set_label(reviewer, job_of(campaign, "u1").pk, "sadness", "the voice is sad")
    rates = suspect_rates(campaign)
    # u1 (votes anger, anger, fear; model fear): now a0 and a1 differ from both; a2 does not.
    assert [rates[a.pk]["t"].suspect for a in team] == [1, 1, 2]


def test_without_an_assistant_run_nothing_is_suspect(team):
    campaign = planned_campaign(team)
    vote_all(campaign, team)
    campaign.assistant_run = None
    campaign.save()
    assert all(r["t"].suspect == 0 for r in suspect_rates(campaign).values())
    assert model_disagreement_job_ids(campaign, 0.0) == []
    assert all(row["suspects"] == {} for row in annotator_quality(campaign))


def test_the_review_filter_keeps_jobs_the_model_contradicts_at_tau(team):
    campaign = planned_campaign(team)
    vote_all(campaign, team)
    names = lambda tau: {  # noqa: E731
        job.utterance.external_id for job in disagreement_queue(campaign, model_disagrees_at=tau)
    }
    assert names(0.8) == {"u1", "u3"}  # unanimous or split alike
    assert names(0.95) == set()
    assert names(0.5) == {"u1", "u3"}  # u2's model agrees with the verdict
    other = make_run()  # another run's predictions do not count
    Prediction.objects.filter(utterance__external_id="u3").update(run=other)
    assert names(0.8) == {"u1"}


def test_pausing_on_the_suspect_rate_when_a_verdict_is_decided(
    team, django_capture_on_commit_callbacks
):
    campaign = planned_campaign(team, suspect_pause_above=0.4, suspect_min_votes=4)
    with django_capture_on_commit_callbacks(execute=True):
        vote_all(campaign, team)
    pause = AnnotatorPause.objects.get()
    assert pause.annotator == team[2] and pause.paused_by is None
    assert "2 of 4 decided votes in text (transcript only) are suspect (50%" in pause.reason
    log = ReviewAction.objects.get(kind=ReviewAction.Kind.AUTO_PAUSE)
    assert log.after["suspect_votes"] == 2 and log.after["run"] == campaign.assistant_run_id
    with pytest.raises(Paused):
        next_task(team[2], campaign)
    shown = {row["username"]: row for row in annotator_quality(campaign)}["annotator3"]
    assert shown["paused"] and shown["pause_reason"] == pause.reason  # reviewers read why


@pytest.mark.parametrize(
    "fields",
    [
        {"suspect_pause_above": 0.0, "suspect_min_votes": 1},  # switched off
        {"suspect_pause_above": 0.4, "suspect_min_votes": 5},  # not enough decided votes
        {"suspect_pause_above": 0.5, "suspect_min_votes": 4},  # 50% is not above 50%
    ],
)
def test_no_pause_below_the_threshold(team, django_capture_on_commit_callbacks, fields):
    campaign = planned_campaign(team, **fields)
    with django_capture_on_commit_callbacks(execute=True):
        vote_all(campaign, team)
    assert not AnnotatorPause.objects.exists()


def test_predictions_arriving_later_pause_and_a_resume_starts_afresh(
    team, reviewer, django_capture_on_commit_callbacks
):
    campaign = planned_campaign(
        team, predictions=False, suspect_pause_above=0.4, suspect_min_votes=4
    )
    with django_capture_on_commit_callbacks(execute=True):
        vote_all(campaign, team)
    assert not AnnotatorPause.objects.exists()  # no predictions yet: nothing suspect
    predict(campaign)
    assert pause_suspect_annotators(campaign.pk) == [team[2].pk]
    assert pause_suspect_annotators(campaign.pk) == []  # already paused
    review.resume_annotator(reviewer, campaign, team[2].pk, "talked it through")
    assert pause_suspect_annotators(campaign.pk) == []  # old votes do not count again


def review_client(user):
    client = Client()
    client.force_login(user)
    return client


def test_the_queue_shows_the_models_prediction_and_filters_on_it(
    team, reviewer, django_assert_max_num_queries
):
    campaign = planned_campaign(team)
    vote_all(campaign, team)
    client, url = review_client(reviewer), reverse("review-queue", args=[campaign.pk])
    page = client.get(url).content.decode()  # split votes: u0, u1, u2 and u3 are all 2:1
    assert "anger (0.95)" in page and "fear (0.90)" in page and "anger (0.50)" in page
    assert f'href="/runs/{campaign.assistant_run_id}/"' in page
    filtered = client.get(url, {"model": "disagrees", "tau": "0.85"}).content.decode()
    assert filtered.count('class="model disagrees"') == 2 and "anger (0.95)" not in filtered
    assert (
        client.get(url, {"model": "disagrees", "tau": "0.95"})
        .content.decode()
        .count('class="model disagrees"')
        == 0
    )
    with django_assert_max_num_queries(10):  # the page's predictions in one query, not per job
        client.get(url, {"model": "disagrees"})


def test_the_job_page_shows_the_prediction_and_marks_suspect_votes(
    team, reviewer, django_assert_max_num_queries
):
    campaign = planned_campaign(team)
    vote_all(campaign, team)
    client = review_client(reviewer)
    with django_assert_max_num_queries(10):  # one query for the prediction, none per vote
        client.get(reverse("review-job", args=[job_of(campaign, "u0").pk]))
    page = client.get(reverse("review-job", args=[job_of(campaign, "u3").pk])).content.decode()
    assert "fear, confidence 0.90" in page and "disagrees with the label used" in page
    assert page.count("suspect: differs from the label used and from the model") == 1
    row = next(line for line in page.splitlines() if "suspect: differs" in line)
    assert "annotator3" in row
    calm = client.get(reverse("review-job", args=[job_of(campaign, "u2").pk])).content.decode()
    assert "anger, confidence 0.50" in calm and "suspect: differs" not in calm


def test_the_dashboard_shows_suspect_rates_beside_agreement(team, reviewer):
    campaign = planned_campaign(team)
    vote_all(campaign, team)
    page = review_client(reviewer).get(reverse("review-dashboard", args=[campaign.pk]))
    assert "t 2/4 (0.50)" in page.content.decode()
    assert "?model=disagrees" in page.content.decode()


def test_multi_label_suspects_compare_sets_in_any_class_order(team):
    campaign = create_campaign(
        name="assist ml",
        corpus=rendered_corpus(2),
        annotators=team,
        modalities="t",
        rule=VotingRule(3, 2, 3),
        label_mode=Campaign.LabelMode.MULTI,
        allow_none=True,
    )
    campaign.assistant_run = make_run()
    campaign.save()
    plan = {  # votes of a0, a1, a2; the model's set (in another order than the campaign's)
        "u0": ((["anger"], ["anger"], ["fear"]), ["anger"]),
        "u1": ((["anger", "fear"], ["fear", "anger"], ["anger"]), ["fear", "anger"]),
    }
    for u in campaign.corpus.utterances.all():
        Prediction.objects.create(
            run=campaign.assistant_run, utterance=u, head="t", probabilities=[0.9] * 6,
            label_set=plan[u.external_id][1], confidence=0.9, entropy=0.5,
        )  # fmt: skip
    for index, annotator in enumerate(team):
        while (lease := next_task(annotator, campaign)) is not None:
            submit_vote(annotator, lease.pk, plan[lease.job.utterance.external_id][0][index])
    assert {j.utterance.external_id: set(j.final_label_set) for j in campaign.jobs.all()} == {
        "u0": {"anger"},
        "u1": {"anger", "fear"},
    }
    rates = suspect_rates(campaign)
    assert [(rates[a.pk]["t"].decided, rates[a.pk]["t"].suspect) for a in team] == [
        (2, 0),
        (2, 0),
        (2, 2),
    ]
    assert model_disagreement_job_ids(campaign, 0.5) == []  # the sets agree, order aside
