"""Campaign job orders on PostgreSQL: set, refused, recomputed (labeling/services/job_order.py)."""

import json
import math
import re

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F

from labeling.job_order import JobKey, job_turns
from labeling.models import Campaign, Prediction, TrainingRun
from labeling.services.campaigns import CampaignInvalid, add_missing_jobs, create_campaign
from labeling.services.job_order import after_predictions, set_job_order
from tests.factories import annotators, rendered_corpus

CLASSES = 3


def make_run(name="assistant") -> TrainingRun:
    return TrainingRun.objects.create(
        name=name, model="lfmim", preset="quick", config={}, dataset_path="/nowhere",
        status=TrainingRun.Status.DONE,
    )  # fmt: skip


def predict(run, utterances, heads="tavm", seed=0):
    """Hand-made predictions: a different distribution per utterance and head."""
    import random

    rng = random.Random(seed)
    rows = []
    for u in utterances:
        for h in heads:
            raw = [rng.random() + 0.01 for _ in range(CLASSES)]
            p = [x / sum(raw) for x in raw]
            best = max(range(CLASSES), key=p.__getitem__)
            rows.append(
                Prediction(
                    run=run,
                    utterance=u,
                    head=h,
                    probabilities=p,
                    label=str(best),
                    confidence=p[best],
                    entropy=-sum(x * math.log(x) for x in p),
                )  # fmt: skip
            )
    Prediction.objects.bulk_create(rows)


def hand_out(campaign):
    """Job ids in the order assignment hands them out among equal priority and votes."""
    return list(
        campaign.jobs.order_by("priority", "-votes_count", "turn", "id").values_list(
            "id", flat=True
        )
    )


def keys(campaign):
    return [JobKey(*r) for r in campaign.jobs.values_list("id", "utterance_id", "modality")]


def discard_first_job(campaign, team, job):
    """`team`'s three votes on `job`, handed out first, split 1:1:1: the rule discards it."""
    from labeling.services.assignment import next_task, submit_vote

    for annotator, label in zip(team, ("happiness", "sadness", "anger"), strict=True):
        lease = next_task(annotator, campaign)
        assert lease.job_id == job.pk
        submit_vote(annotator, lease.pk, label)
    job.refresh_from_db()
    assert job.state == "discarded"


def utterances_campaign(name: str):
    """Three annotators (no guard) on 3 utterances under the utterances order."""
    team = annotators(3, prefix=f"{name}-")
    campaign = create_campaign(
        name=name, corpus=rendered_corpus(3), annotators=team, independence_guard=False
    )
    run = make_run()
    predict(run, campaign.corpus.utterances.all())
    set_job_order(campaign, "utterances", run)
    return campaign, team


@pytest.fixture
def campaign(db):
    return create_campaign(name="ordered", corpus=rendered_corpus(5), annotators=annotators(16))


@pytest.mark.django_db
def test_uncertainty_order_hands_out_the_most_uncertain_head_first(campaign):
    run = make_run()
    predict(run, campaign.corpus.utterances.all())
    assert set_job_order(campaign, "uncertainty", run) == 20
    entropy = {(p.utterance_id, p.head): p.entropy for p in Prediction.objects.filter(run=run)}
    order = hand_out(campaign)
    jobs = {j.id: j for j in campaign.jobs.all()}
    got = [entropy[jobs[i].utterance_id, jobs[i].modality] for i in order]
    assert got == sorted(got, reverse=True)
    campaign.refresh_from_db()
    assert campaign.job_order == "uncertainty" and campaign.assistant_run == run


@pytest.mark.django_db
def test_disagreement_order_stores_the_pure_functions_turns(campaign):
    run = make_run()
    predict(run, campaign.corpus.utterances.all(), seed=3)
    set_job_order(campaign, "disagreement", run)
    probabilities = {
        (p.utterance_id, p.head): p.probabilities for p in Prediction.objects.filter(run=run)
    }
    expected = job_turns(
        "disagreement", keys(campaign), campaign.modalities, campaign.assignment_seed,
        probabilities=probabilities,
    )  # fmt: skip
    assert dict(campaign.jobs.values_list("id", "turn")) == expected


@pytest.mark.django_db
def test_id_and_shuffled_orders_need_no_model_and_shuffled_restores_the_interleaving(campaign):
    before = dict(campaign.jobs.values_list("id", "turn"))  # dealt at creation
    set_job_order(campaign, "id")
    assert hand_out(campaign) == sorted(before)
    set_job_order(campaign, "shuffled")
    assert dict(campaign.jobs.values_list("id", "turn")) == before


@pytest.mark.django_db
def test_model_orders_are_refused_without_an_assistant_run_with_predictions(campaign):
    before = dict(campaign.jobs.values_list("id", "turn"))
    with pytest.raises(CampaignInvalid, match="needs an assistant run"):
        set_job_order(campaign, "uncertainty")
    with pytest.raises(CampaignInvalid, match="has no predictions yet"):
        set_job_order(campaign, "disagreement", make_run())
    campaign.refresh_from_db()
    assert campaign.job_order == "shuffled" and campaign.assistant_run is None
    assert dict(campaign.jobs.values_list("id", "turn")) == before


@pytest.mark.django_db
def test_unpredicted_jobs_come_after_predicted_ones(campaign):
    run = make_run()
    utterances = list(campaign.corpus.utterances.order_by("pk"))
    predict(run, utterances[:2])
    set_job_order(campaign, "uncertainty", run)
    order = hand_out(campaign)
    predicted = set(campaign.jobs.filter(utterance__in=utterances[:2]).values_list("id", flat=True))
    assert set(order[:8]) == predicted


@pytest.mark.django_db
def test_turns_are_recomputed_after_new_predictions_arrive(campaign):
    run = make_run()
    utterances = list(campaign.corpus.utterances.order_by("pk"))
    predict(run, utterances[:1])
    set_job_order(campaign, "uncertainty", run)
    predict(run, utterances[1:], seed=9)
    assert after_predictions(run.pk) == [campaign.pk]
    entropy = {(p.utterance_id, p.head): p.entropy for p in Prediction.objects.filter(run=run)}
    assert dict(campaign.jobs.values_list("id", "turn")) == job_turns(
        "uncertainty", keys(campaign), campaign.modalities, campaign.assignment_seed,
        entropy=entropy,
    )  # fmt: skip


@pytest.mark.django_db
def test_jobs_added_later_take_their_rank_in_a_model_order(campaign):
    run = make_run()
    predict(run, campaign.corpus.utterances.all())
    set_job_order(campaign, "uncertainty", run)
    campaign.jobs.filter(utterance__external_id="u4").delete()
    assert add_missing_jobs(campaign) == 4
    assert sorted(campaign.jobs.values_list("turn", flat=True)) == list(range(20))


@pytest.mark.django_db
def test_create_campaign_command_takes_an_order_and_refuses_a_model_order_without_a_run():
    corpus = rendered_corpus(3, name="ordered corpus")
    run = make_run()
    predict(run, corpus.utterances.all())
    call_command(
        "create_campaign", "--corpus", "ordered corpus", "--name", "by uncertainty",
        "--order", "uncertainty", "--assistant-run", str(run.pk),
    )  # fmt: skip
    campaign = Campaign.objects.get(name="by uncertainty")
    assert campaign.job_order == "uncertainty" and campaign.assistant_run == run
    assert sorted(campaign.jobs.values_list("turn", flat=True)) == list(range(12))
    with pytest.raises(CommandError, match="needs an assistant run"):
        call_command(
            "create_campaign", "--corpus", "ordered corpus", "--name", "refused",
            "--order", "disagreement",
        )  # fmt: skip
    assert not Campaign.objects.filter(name="refused").exists()


@pytest.mark.django_db
def test_admin_form_reorders_on_change_and_refuses_a_model_order_without_predictions(
    campaign, admin_client
):
    from django.forms.models import model_to_dict

    run = make_run()
    url = f"/admin/labeling/campaign/{campaign.pk}/change/"
    data = {
        k: v for k, v in model_to_dict(campaign).items()
        if v is not None and k not in ("corpus", "modalities", "initial_votes", "agreement",
                                       "max_votes", "label_mode", "allow_none",
                                       "undecided_policy")
    }  # fmt: skip
    data["labels"] = json.dumps(campaign.labels)
    data["annotators"] = [u.pk for u in campaign.annotators.all()]
    data["screeners"] = []
    page = admin_client.get(url).content.decode()
    for prefix in set(re.findall(r'name="([\w-]+)-TOTAL_FORMS"', page)):  # inlines, none kept
        data |= {f"{prefix}-TOTAL_FORMS": 0, f"{prefix}-INITIAL_FORMS": 0}
    response = admin_client.post(url, {**data, "job_order": "uncertainty", "assistant_run": run.pk})
    assert response.status_code == 200 and "has no predictions yet" in response.content.decode()
    predict(run, campaign.corpus.utterances.all())
    response = admin_client.post(url, {**data, "job_order": "uncertainty", "assistant_run": run.pk})
    assert response.status_code == 302
    campaign.refresh_from_db()
    assert campaign.job_order == "uncertainty"
    entropy = {(p.utterance_id, p.head): p.entropy for p in Prediction.objects.filter(run=run)}
    assert dict(campaign.jobs.values_list("id", "turn")) == job_turns(
        "uncertainty", keys(campaign), campaign.modalities, campaign.assignment_seed,
        entropy=entropy,
    )  # fmt: skip


@pytest.mark.django_db
def test_under_the_utterances_order_a_discard_sends_the_utterances_other_jobs_last():
    """Votes go where they help: an utterance with a discarded job cannot enter the dataset,
    so its remaining jobs wait behind every other utterance's, at once and after a
    recomputation, until a reviewer sets the discarded label."""
    from labeling.services import review
    from labeling.services.assignment import next_task
    from labeling.services.job_order import LOST_OFFSET, recompute_turns

    campaign, team = utterances_campaign("lost")
    first = campaign.jobs.get(pk=hand_out(campaign)[0])  # the most uncertain utterance's
    discard_first_job(campaign, team, first)
    siblings = campaign.jobs.filter(utterance_id=first.utterance_id).exclude(pk=first.pk)
    others = campaign.jobs.exclude(utterance_id=first.utterance_id)
    assert min(j.turn for j in siblings) >= LOST_OFFSET > max(j.turn for j in others)
    assert next_task(team[0], campaign).job.utterance_id != first.utterance_id

    recompute_turns(campaign.pk)  # e.g. new predictions: the utterance stays last
    by_turn = list(campaign.jobs.order_by("turn").values_list("utterance_id", flat=True))
    assert by_turn[-4:] == [first.utterance_id] * 4 and first.utterance_id not in by_turn[:-4]

    reviewer = annotators(1, prefix="lost-reviewer-")[0]
    review.set_label(reviewer, first.pk, "anger", "the voice is angry")
    recompute_turns(campaign.pk)
    assert max(j.turn for j in campaign.jobs.all()) < LOST_OFFSET


@pytest.mark.django_db
def test_under_the_utterances_order_each_utterance_starts_with_its_most_discarded_modality():
    """If an utterance will be lost, it should be lost on its first job: the recomputation
    counts the campaign's discards per modality and puts that modality first in every
    utterance."""
    from labeling.services.job_order import discard_rates, recompute_turns

    campaign, team = utterances_campaign("fail-fast")
    audio = campaign.jobs.filter(modality="a").order_by("turn").first()
    campaign.jobs.update(turn=F("turn") + 1)
    campaign.jobs.filter(pk=audio.pk).update(turn=0)  # so the audio job is handed out first
    discard_first_job(campaign, team, audio)
    assert discard_rates(campaign) == {"t": 0.5, "a": 2 / 3, "v": 0.5, "m": 0.5}

    recompute_turns(campaign.pk)
    open_jobs = campaign.jobs.exclude(utterance_id=audio.utterance_id).order_by("turn")
    by_utterance = {}
    for job in open_jobs:
        by_utterance.setdefault(job.utterance_id, []).append(job.modality)
    assert len(by_utterance) == 2
    assert all(modalities[0] == "a" for modalities in by_utterance.values())


@pytest.mark.django_db
def test_utterances_order_before_any_model_completes_utterances_in_shuffled_order(campaign):
    """Before the first run there is nothing to rank by, but whole utterances still come
    first (so a first training run has trainable utterances early), in shuffled order."""
    set_job_order(campaign, "utterances")
    campaign.refresh_from_db()
    assert campaign.job_order == "utterances" and campaign.assistant_run is None
    jobs = {j.id: j for j in keys(campaign)}
    handed = [jobs[i].utterance_id for i in hand_out(campaign)]
    runs = [u for i, u in enumerate(handed) if i == 0 or u != handed[i - 1]]
    assert len(runs) == len(set(handed)) == 5  # each utterance's jobs together
    shuffled = job_turns(
        "shuffled", list(jobs.values()), campaign.modalities, campaign.assignment_seed
    )
    first = {}
    for job_id, turn in shuffled.items():
        u = jobs[job_id].utterance_id
        first[u] = min(first.get(u, turn), turn)
    assert runs == sorted(first, key=first.get)
    # A run given for it must have predictions, as for the orders that need one.
    with pytest.raises(CampaignInvalid, match="has no predictions yet"):
        set_job_order(campaign, "utterances", make_run())


@pytest.mark.django_db
def test_utterances_order_stores_the_pure_functions_turns_with_the_m_heads_labels(campaign):
    from labeling.services.job_order import discard_rates

    run = make_run()
    predict(run, campaign.corpus.utterances.all())
    set_job_order(campaign, "utterances", run)
    found = Prediction.objects.filter(run=run)
    assert dict(campaign.jobs.values_list("id", "turn")) == job_turns(
        "utterances", keys(campaign), campaign.modalities, campaign.assignment_seed,
        entropy={(p.utterance_id, p.head): p.entropy for p in found},
        m_labels={p.utterance_id: p.label for p in found if p.head == "m"},
        discard_rates=discard_rates(campaign),
    )  # fmt: skip
