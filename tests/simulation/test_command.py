"""manage.py simulate_annotators: what it prints, and what it refuses."""

import pytest
from django.core.management import CommandError, call_command

from labeling.models import Job, SyntheticTruth, Vote
from labeling.verdicts import VotingRule
from tests.simulation.campaigns import simulated_campaign

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    from io import StringIO

    out = StringIO()
    call_command("simulate_annotators", *args, "--no-progress", stdout=out)
    return out.getvalue()


def test_the_command_finishes_the_campaign_and_says_what_it_did():
    campaign = simulated_campaign(4)
    output = run("--campaign", campaign.name, "--accuracy", "1", "--until", "done")
    assert "synthetic ground truth with accuracy t 1.00, a 1.00, v 1.00, m 1.00." in output
    assert f"Campaign {campaign.name!r}: 16 simulated annotators (16 new) cast 48 votes" in output
    assert "Jobs: 16 decided. Usable utterances: 4 of 4." in output
    assert "Stuck" not in output and "uniformly" not in output


def test_the_command_takes_the_campaign_by_id_and_stops_after_votes():
    campaign = simulated_campaign(3)
    output = run("--campaign", str(campaign.pk), "--votes", "5", "--annotators", "12")
    assert "12 simulated annotators (12 new) cast 5 votes" in output
    assert "Stopped after the number of votes asked for." in output
    assert Vote.objects.count() == 5


def test_the_command_names_what_is_stuck_when_the_pool_asked_for_is_too_small():
    campaign = simulated_campaign(3)
    output = run("--campaign", campaign.name, "--annotators", "3", "--accuracy", "1")
    assert "Usable utterances: 0 of 3." in output
    unfinished = Job.objects.filter(priority__lt=Job.Priority.FINAL).count()
    assert f"Stuck: {unfinished} jobs no simulated annotator may take" in output
    assert "add annotators (--annotators) or turn the guard off" in output


def test_the_command_warns_that_answers_are_random_without_ground_truth():
    campaign = simulated_campaign(2, rule=VotingRule(1, 1, 1))
    SyntheticTruth.objects.all().delete()
    output = run("--campaign", campaign.name)
    assert "no ground truth: every simulated answer was drawn uniformly at random" in output


def test_an_unknown_campaign_is_refused_with_where_to_look():
    with pytest.raises(CommandError, match="No campaign 'nope'; give its exact name or its id"):
        run("--campaign", "nope")


def test_a_bad_accuracy_is_refused_before_any_account_is_made():
    campaign = simulated_campaign(2)
    with pytest.raises(CommandError, match="is not MODALITY=ACCURACY; write e.g. t=0.8"):
        run("--campaign", campaign.name, "--accuracy", "t=0.8,q=0.1")
    assert campaign.annotators.count() == 0


def test_votes_and_until_cannot_both_be_given():
    campaign = simulated_campaign(2)
    with pytest.raises(CommandError, match="not allowed with argument"):
        run("--campaign", campaign.name, "--votes", "3", "--until", "done")
