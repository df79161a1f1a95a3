"""Jobs are handed out interleaved across modalities and utterances, in a per-campaign
random order, under the priorities of assignment.md (fourth votes, then closest to a verdict)."""

from collections import Counter

import pytest

from labeling.interleave import ROUND, interleaved_turns
from labeling.services.assignment import next_task, skip_task, submit_vote
from labeling.services.campaigns import add_missing_jobs, create_campaign
from tests.factories import annotators, rendered_corpus

pytestmark = pytest.mark.django_db


def first_tasks(annotator, campaign, n):
    """The (utterance, modality) of the first n tasks the annotator gets, skipping each."""
    served = []
    for _ in range(n):
        lease = next_task(annotator, campaign)
        served.append((lease.job.utterance_id, lease.job.modality))
        skip_task(annotator, lease.pk)
    return served


def test_a_new_annotator_gets_every_modality_evenly_from_the_start(db):
    team = annotators(1)
    campaign = create_campaign(name="even", corpus=rendered_corpus(40), annotators=team)
    served = first_tasks(team[0], campaign, 20)
    assert Counter(m for _, m in served) == {"t": 5, "a": 5, "v": 5, "m": 5}
    for start in range(0, 20, 4):  # every four tasks in a row cover the four modalities
        assert {m for _, m in served[start : start + 4]} == set("tavm")
    utterances = [u for u, _ in served]
    assert len(set(utterances)) == 20 and utterances != sorted(utterances)


def test_without_the_guard_an_utterance_comes_back_only_after_every_other_one(db):
    team = annotators(1)
    corpus = rendered_corpus(6)
    campaign = create_campaign(
        name="spread", corpus=corpus, annotators=team, independence_guard=False
    )
    served = first_tasks(team[0], campaign, 24)
    for round_start in range(0, 24, 6):
        assert len({u for u, _ in served[round_start : round_start + 6]}) == 6
    assert len(set(served)) == 24


def test_the_order_is_random_per_campaign_and_fixed_by_its_seed(db):
    corpus = rendered_corpus(30)
    team = annotators(2)
    one = create_campaign(name="one", corpus=corpus, annotators=team[:1], modalities="t")
    two = create_campaign(name="two", corpus=corpus, annotators=team[1:], modalities="t")
    assert one.assignment_seed != two.assignment_seed
    order_one = [u for u, _ in first_tasks(team[0], one, 10)]
    order_two = [u for u, _ in first_tasks(team[1], two, 10)]
    assert order_one != order_two
    ids = sorted(corpus.utterances.values_list("pk", flat=True))
    assert interleaved_turns(ids, "t", one.assignment_seed) == interleaved_turns(
        ids, "t", one.assignment_seed
    )


def test_utterances_added_later_join_each_round_after_the_earlier_ones(db):
    corpus = rendered_corpus(4)
    campaign = create_campaign(name="grow", corpus=corpus, modalities="ta")
    before = dict(campaign.jobs.values_list("pk", "turn"))
    for utterance in rendered_corpus(3).utterances.all():  # imported since
        utterance.corpus, utterance.external_id = corpus, f"later-{utterance.pk}"
        utterance.content_hash = f"later-{utterance.pk}"
        utterance.save()
    assert add_missing_jobs(campaign) == 6
    assert dict(campaign.jobs.filter(pk__in=before).values_list("pk", "turn")) == before
    last_before = {}
    for turn in before.values():
        last_before[turn // ROUND] = max(last_before.get(turn // ROUND, -1), turn % ROUND)
    added = campaign.jobs.exclude(pk__in=before).values_list("turn", flat=True)
    assert {turn // ROUND for turn in added} == {0, 1}
    assert all(turn % ROUND > last_before[turn // ROUND] for turn in added)


def test_the_priorities_still_come_before_the_interleaving(db):
    team = annotators(3)
    campaign = create_campaign(
        name="priorities", corpus=rendered_corpus(10), annotators=team, modalities="ta"
    )
    lease = next_task(team[0], campaign)
    submit_vote(team[0], lease.pk, "anger")
    assert next_task(team[1], campaign).job_id == lease.job_id  # closest to a verdict first
