"""manage.py create_campaign: a campaign from the command line, through the service."""

import pytest
from django.core.management import CommandError, call_command, execute_from_command_line

from labeling.emotions import EMOTIONS
from labeling.models import Campaign
from tests.factories import annotators, rendered_corpus


@pytest.mark.django_db
def test_it_creates_a_campaign_with_a_preset_rule_and_pool_and_prints_the_pool_warning(capsys):
    corpus, team = rendered_corpus(3, name="demo corpus"), annotators(6)
    call_command(
        "create_campaign",
        "--corpus", "demo corpus",
        "--name", "sims",
        "--modalities", "tavm",
        "--preset", "ch-sims",
        "--rule", "3/3/4",
        "--lease-seconds", "120",
        "--annotators", "annotator1,annotator2",
        "--annotator-group", "annotator",
    )  # fmt: skip
    campaign = Campaign.objects.get(name="sims")
    assert campaign.corpus == corpus and campaign.jobs.count() == 12
    assert [label["name"] for label in campaign.labels] == [
        "strongly negative",
        "weakly negative",
        "neutral",
        "weakly positive",
        "strongly positive",
    ]
    assert campaign.labels[0]["key"] == "1" and campaign.labels[4]["key"] == "5"
    assert (campaign.initial_votes, campaign.agreement, campaign.max_votes) == (3, 3, 4)
    assert campaign.lease_seconds == 120 and campaign.independence_guard
    assert set(campaign.annotators.all()) == set(team)
    out, err = capsys.readouterr()
    assert "Created campaign 'sims'" in out and "12 jobs" in out
    assert "Warning: Campaign 'sims' cannot finish with its pool" in err
    assert "needs 16 different annotators" in err and "Add 10 annotators" in err


@pytest.mark.django_db
def test_labels_by_name_and_key_and_no_guard_give_no_warning_when_the_pool_suffices(capsys):
    rendered_corpus(2, name="c")
    annotators(2)
    call_command(
        "create_campaign",
        "--corpus", "c",
        "--name", "labels only",
        "--modalities", "ta",
        "--labels", "positive:p,negative:n",
        "--rule", "2/2/2",
        "--no-independence-guard",
        "--annotators", "annotator1,annotator2",
    )  # fmt: skip
    campaign = Campaign.objects.get()
    assert campaign.labels == [{"name": "positive", "key": "p"}, {"name": "negative", "key": "n"}]
    assert not campaign.independence_guard and campaign.modalities == "ta"
    assert "Warning" not in capsys.readouterr().err


@pytest.mark.django_db
def test_the_default_label_set_is_chermas_seven_emotions_on_keys_one_to_seven():
    rendered_corpus(1, name="c")
    call_command("create_campaign", "--corpus", "c", "--name", "x")
    labels = Campaign.objects.get().labels
    assert [label["name"] for label in labels] == list(EMOTIONS)
    assert [label["key"] for label in labels] == list("1234567")


REFUSALS = [
    (["--corpus", "nowhere"], "No corpus named 'nowhere'; import it first or use one of: c."),
    (["--preset", "iemocap"], "No label preset 'iemocap'; use one of cherma"),
    (["--labels", "positive,negative"], "Give --labels as name:key pairs"),
    (["--labels", "a:1,b:1"], "Each label needs its own one-character keyboard key."),
    (["--annotators", "annotator1,ghost"], "No user 'ghost'; create them first"),
    (["--annotator-group", "judges"], "No group 'judges'; the roles are annotator"),
    (["--rule", "3-3-4"], "Give --rule as initial/agreement/max, e.g. 3/3/4"),
    (["--rule", "3/5/4"], "Rule 3/5/4: agreement must be between 1 and max_votes."),
    (["--modalities", "tx"], "Unknown modalities 'x'; use any of t, a, v, m"),
    (["--name", "taken"], "A campaign named 'taken' exists; choose another name."),
]


@pytest.mark.django_db
@pytest.mark.parametrize(("options", "message"), REFUSALS)
def test_bad_input_is_refused_with_a_sentence_and_nothing_is_created(options, message):
    from labeling.services.campaigns import create_campaign

    corpus = rendered_corpus(1, name="c")
    annotators(1)
    create_campaign(name="taken", corpus=corpus)
    base = {"--corpus": "c", "--name": "new"}
    base.update(dict(zip(options[::2], options[1::2], strict=True)))
    with pytest.raises(CommandError) as refused:
        call_command("create_campaign", *[part for pair in base.items() for part in pair])
    assert message in str(refused.value)
    assert list(Campaign.objects.values_list("name", flat=True)) == ["taken"]


@pytest.mark.django_db(transaction=True)
def test_the_command_exits_zero_on_success_and_one_on_a_refusal(capsys):
    rendered_corpus(1, name="c")
    with pytest.raises(SystemExit) as refused:
        execute_from_command_line(["manage.py", "create_campaign", "--corpus", "x", "--name", "n"])
    assert refused.value.code == 1
    assert "No corpus named 'x'" in capsys.readouterr().err
    execute_from_command_line(["manage.py", "create_campaign", "--corpus", "c", "--name", "n"])
    assert Campaign.objects.filter(name="n").exists()  # returned normally: exit status 0
