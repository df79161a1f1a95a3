"""Simulated annotators work campaigns through the services people use, on PostgreSQL."""

from collections import Counter

import pytest
from django.contrib.auth.models import User

from labeling.models import ExamAttempt, GoldAnswer, Job, Lease, SyntheticTruth, Vote
from labeling.selectors.integrity import campaign_integrity
from labeling.selectors.statistics import progress
from labeling.services.simulation import (
    SimulationInvalid,
    parse_accuracy,
    simulate,
    simulated_annotators,
)
from labeling.verdicts import State, VotingRule
from tests.simulation.campaigns import qualified_campaign, simulated_campaign, synthetic_corpus

pytestmark = pytest.mark.django_db

PERFECT = parse_accuracy("1")


def assert_rules_held(campaign) -> None:
    integrity = campaign_integrity(campaign)
    assert integrity == {**integrity, "over_voted_jobs": 0, "double_votes": 0}
    assert integrity["votes_after_final"] == integrity["wrong_verdicts"] == 0
    assert integrity["guard_breaches"] == 0


def test_perfect_simulated_annotators_finish_a_guarded_campaign_n_of_n_usable_with_the_truth():
    campaign = simulated_campaign(6)
    report = simulate(campaign, accuracy=PERFECT)
    assert progress(campaign)["usable_utterances"] == progress(campaign)["utterances"] == 6
    assert (report.usable, report.utterances, report.stuck) == (6, 6, [])
    truths = {t.utterance_id: t for t in SyntheticTruth.objects.all()}
    for job in Job.objects.filter(campaign=campaign):
        assert job.state == State.DECIDED and job.votes_count == 3
        assert job.label == truths[job.utterance_id].emotion(job.modality)
    assert report.votes == Vote.objects.count() == 6 * 4 * 3
    assert_rules_held(campaign)


def test_the_guarded_pool_is_modalities_times_max_votes_and_nobody_sees_an_utterance_twice():
    campaign = simulated_campaign(8)
    report = simulate(campaign, accuracy=parse_accuracy("t=0.5,a=0.5,v=0.5,m=0.5"), seed=4)
    sims = simulated_annotators(campaign)
    assert report.annotators == report.created == len(sims) == 4 * 4
    assert all(u.first_name == "Simulated" and not u.has_usable_password() for u in sims)
    assert set(campaign.annotators.all()) == set(sims)
    assert all(u.groups.filter(name="annotator").exists() for u in sims)
    states = Counter(Job.objects.filter(campaign=campaign).values_list("state", flat=True))
    assert set(states) <= {State.DECIDED, State.DISCARDED} and states[State.DISCARDED] > 0
    assert report.jobs == dict(states) and report.stuck == []
    per_utterance = Counter(Lease.objects.values_list("annotator_id", "job__utterance_id"))
    assert max(per_utterance.values()) == 1
    assert max(Job.objects.values_list("votes_count", flat=True)) == 4
    assert_rules_held(campaign)


def test_without_the_guard_max_votes_simulated_annotators_finish_and_vote_across_modalities():
    campaign = simulated_campaign(5, independence_guard=False)
    report = simulate(campaign, accuracy=PERFECT)
    assert report.annotators == 4 and report.stuck == []
    assert progress(campaign)["usable_utterances"] == 5
    per_utterance = Counter(Vote.objects.values_list("annotator_id", "job__utterance_id"))
    assert max(per_utterance.values()) > 1


def test_a_seeded_run_is_reproducible_on_the_same_work():
    corpus = synthetic_corpus(5)
    runs, turns = [], {}
    for name in ("first", "second"):
        campaign = simulated_campaign(corpus=corpus, name=name)
        # The same work: each campaign shuffles its hand-out order with its own seed, so
        # the second is given the first one's order.
        jobs = list(campaign.jobs.all())
        for job in jobs:
            job.turn = turns.setdefault((job.utterance_id, job.modality), job.turn)
        Job.objects.bulk_update(jobs, ["turn"])
        simulate(campaign, accuracy=parse_accuracy("0.6"), seed=11)
        runs.append(
            sorted(
                (vote.job.utterance_id, vote.job.modality, vote.annotator.username[-2:], vote.label)
                for vote in Vote.objects.filter(job__campaign=campaign).select_related(
                    "job", "annotator"
                )
            )
        )
    assert runs[0] == runs[1]


def test_votes_stops_after_that_many_votes_and_a_second_run_finishes():
    campaign = simulated_campaign(4)
    report = simulate(campaign, votes=7)
    assert (report.votes, report.stopped, Vote.objects.count()) == (7, "votes", 7)
    again = simulate(campaign, accuracy=PERFECT)
    assert again.created == 0 and again.stopped == "done"
    assert not Job.objects.filter(campaign=campaign, priority__lt=Job.Priority.FINAL).exists()


def test_simulated_annotators_pass_the_exams_answer_checks_and_finish_a_qualified_campaign():
    campaign = qualified_campaign()
    report = simulate(campaign, accuracy=PERFECT)
    sims = simulated_annotators(campaign)
    assert len(sims) == 2 * 4
    assert report.exams_passed == ExamAttempt.objects.filter(passed=True).count() == 2 * len(sims)
    assert report.exams_failed == 0 and report.training_answers == 2 * len(sims)
    checks = GoldAnswer.objects.filter(lease__kind=Lease.Kind.CHECK)
    assert report.gold_checks == checks.count() > 0 and all(a.correct for a in checks)
    assert progress(campaign)["usable_utterances"] == 14 - 8  # the gold utterances get no jobs
    assert report.stuck == []
    assert_rules_held(campaign)


def test_failed_exams_bring_in_more_annotators_and_what_stays_stuck_is_named():
    campaign = qualified_campaign(max_attempts=1)
    report = simulate(campaign, accuracy=parse_accuracy("t=0,a=1"))
    assert report.exams_failed >= 8 and report.annotators == 2 * 8  # topped up to the limit
    assert not Job.objects.filter(modality="t", votes_count__gt=0).exists()
    assert not Job.objects.filter(modality="a", priority__lt=Job.Priority.FINAL).exists()
    (stuck,) = report.stuck
    assert stuck.startswith("6 jobs no simulated annotator may take")
    assert any("not qualified in t" in why for why in report.idle.values())
    assert any(
        line.startswith("Simulated annotator sim-") and "not qualified in t" in line
        for line in report.lines()
    )


def test_a_simulated_annotator_paused_by_gold_checks_gets_no_more_tasks_and_is_reported():
    from labeling.models import AnnotatorPause, Utterance
    from labeling.services.qualification import add_gold_item

    campaign = simulated_campaign(9, modalities="t")
    for utterance in Utterance.objects.order_by("pk")[:3]:
        add_gold_item(campaign, utterance=utterance, modality="t", purpose="check", label="anger")
    campaign.gold_share, campaign.gold_pause_below, campaign.gold_min_answers = 0.5, 1.0, 1
    campaign.save()
    report = simulate(campaign, accuracy=parse_accuracy("0"))
    pauses = list(AnnotatorPause.objects.select_related("annotator"))
    assert pauses  # half of all tasks are checks and every check is answered wrong
    for pause in pauses:
        assert "paused" in report.idle[pause.annotator.username]
        later = Vote.objects.filter(annotator=pause.annotator, created_at__gt=pause.created_at)
        assert not later.exists()
    assert_rules_held(campaign)


def test_a_corpus_without_truth_gets_uniform_answers_and_the_report_says_so():
    campaign = simulated_campaign(3, rule=VotingRule(1, 1, 1))
    SyntheticTruth.objects.all().delete()
    report = simulate(campaign)
    assert report.truth == "none" and report.votes == 12
    assert any("drawn uniformly at random" in line for line in report.lines())


def test_a_real_annotators_votes_count_and_their_live_lease_is_reported_as_stuck():
    from labeling.services.assignment import next_task, submit_vote
    from tests.factories import annotators

    (person,) = annotators(1, prefix="person")
    campaign = simulated_campaign(3, annotators=[person], rule=VotingRule(1, 1, 1))
    submit_vote(person, next_task(person, campaign).pk, "anger")
    held = next_task(person, campaign)
    report = simulate(campaign, accuracy=PERFECT)
    assert report.votes == 3 * 4 - 2
    assert report.stuck == [
        "1 jobs are leased to someone; they return to the pool when the lease is answered, "
        "skipped or expires, then run the simulation again."
    ]
    assert Job.objects.get(pk=held.job_id).votes_count == 0


@pytest.mark.parametrize(
    "text, fragment",
    [("t=1.5", "between 0 and 1"), ("x=0.5", "is not MODALITY=ACCURACY"), ("t=high", "t")],
)
def test_bad_accuracies_are_refused_with_the_form_to_use(text, fragment):
    with pytest.raises(SimulationInvalid, match="t=0.8,a=0.7,v=0.6,m=0.9") as caught:
        parse_accuracy(text)
    assert fragment in str(caught.value)


def test_unnamed_modalities_keep_the_default_accuracy():
    assert parse_accuracy("t=0.8, v=0.6") == {"t": 0.8, "a": 0.85, "v": 0.6, "m": 0.85}


def test_a_closed_campaign_is_refused():
    campaign = simulated_campaign(2)
    campaign.is_active = False
    campaign.save()
    with pytest.raises(SimulationInvalid, match="make it active again"):
        simulate(campaign)
    assert not User.objects.filter(first_name="Simulated").exists()
