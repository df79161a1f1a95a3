"""Multi-label campaigns through the same services: creation, votes, verdicts, revisions."""

import pytest

from labeling.emotions import preset_labels
from labeling.manifest import ManifestError
from labeling.models import Campaign, Job, Vote
from labeling.services.assignment import (
    InvalidLabel,
    LeaseClosed,
    next_task,
    revise_answer,
    submit_vote,
)
from labeling.services.campaigns import CampaignInvalid, check_mode_change, create_campaign
from labeling.services.label_import import import_labels
from labeling.services.qualification import GoldInvalid, add_gold_item
from labeling.verdicts import State
from tests.factories import annotators, rendered_corpus

pytestmark = pytest.mark.django_db
MOSEI = preset_labels("mosei")


def multi_campaign(team, n_utterances=1, **options):
    options = {"modalities": "t", "independence_guard": False, **options}
    return create_campaign(
        name="ml",
        corpus=rendered_corpus(n_utterances),
        annotators=team,
        labels=MOSEI,
        label_mode=Campaign.LabelMode.MULTI,
        **options,
    )


def vote_in(campaign, team, answers):
    """Each annotator in turn takes the next task and answers it; the leases."""
    leases = []
    for annotator, answer in zip(team, answers, strict=False):
        lease = next_task(annotator, campaign)
        submit_vote(annotator, lease.pk, answer)
        leases.append(lease)
    return leases


def test_the_mosei_preset_has_cmu_moseis_six_emotions_in_its_order():
    assert [label["name"] for label in MOSEI] == [
        "happy",
        "sad",
        "anger",
        "surprise",
        "disgust",
        "fear",
    ]


def test_a_multi_label_campaign_decides_each_emotion_and_stores_the_set_in_label_order():
    team = annotators(3)
    campaign = multi_campaign(team)
    vote_in(campaign, team, [["fear", "happy"], {"happy", "fear"}, ("fear", "happy")])
    job = Job.objects.get()
    assert (job.state, job.label_set, job.undecided_labels) == ("decided", ["happy", "fear"], [])
    assert job.label == "" and job.final_label_set == ["happy", "fear"]
    assert sorted(Vote.objects.values_list("label_set", flat=True)) == [["happy", "fear"]] * 3
    assert set(Vote.objects.values_list("label", flat=True)) == {""}


def test_a_two_one_split_on_one_emotion_brings_one_fourth_vote_for_the_whole_item():
    team = annotators(5)
    campaign = multi_campaign(team)
    vote_in(campaign, team, [["happy", "sad"], ["happy", "sad"], ["happy"]])
    job = Job.objects.get()
    assert job.state == State.NEEDS_VOTE and job.label_set is None
    lease = next_task(team[3], campaign)
    assert lease.job == job
    assert next_task(team[4], campaign) is None  # one slot only while a split waits
    submit_vote(team[3], lease.pk, ["happy", "sad"])
    job.refresh_from_db()
    assert (job.state, job.label_set, job.votes_count) == ("decided", ["happy", "sad"], 4)


@pytest.mark.parametrize(
    ("policy", "state", "label_set", "undecided"),
    [("discard", "discarded", None, []), ("mark", "decided", ["happy"], ["sad"])],
)
def test_an_emotion_ending_two_two_discards_the_item_or_is_marked_undecided(
    policy, state, label_set, undecided
):
    team = annotators(4)
    campaign = multi_campaign(team, undecided_policy=policy)
    vote_in(campaign, team, [["happy", "sad"], ["happy", "sad"], ["happy"], ["happy"]])
    job = Job.objects.get()
    assert (job.state, job.label_set, job.undecided_labels) == (state, label_set, undecided)
    assert job.priority == Job.Priority.FINAL


def test_none_of_these_is_an_answer_only_where_the_campaign_allows_it():
    team = annotators(3)
    campaign = multi_campaign(team)
    lease = next_task(team[0], campaign)
    with pytest.raises(InvalidLabel, match='no "none of these" answer'):
        submit_vote(team[0], lease.pk, [])
    Campaign.objects.filter(pk=campaign.pk).update(allow_none=True)
    submit_vote(team[0], lease.pk, [])
    vote_in(campaign, team[1:], [[], []])
    job = Job.objects.get()
    assert (job.state, job.label_set) == ("decided", [])


def test_wrong_answers_are_refused_with_sentences_that_say_what_to_send():
    team = annotators(2)
    multi = multi_campaign(team)
    lease = next_task(team[0], multi)
    with pytest.raises(InvalidLabel, match="'joy' is not a label of this campaign; use any of"):
        submit_vote(team[0], lease.pk, ["happy", "joy"])
    with pytest.raises(InvalidLabel, match="multi-label: answer with the list"):
        submit_vote(team[0], lease.pk, "happy")
    single = create_campaign(name="single", corpus=rendered_corpus(1), annotators=team)
    other = next_task(team[1], single)
    with pytest.raises(InvalidLabel, match="single-label: answer with one label"):
        submit_vote(team[1], other.pk, ["anger"])
    assert not Vote.objects.exists()


def test_resubmitting_the_same_set_changes_nothing_and_another_set_is_refused():
    team = annotators(1)
    campaign = multi_campaign(team)
    lease = next_task(team[0], campaign)
    first = submit_vote(team[0], lease.pk, ["sad", "happy"])
    again = submit_vote(team[0], lease.pk, ["happy", "sad", "happy"])
    assert not first.repeated and again.repeated and again.vote == first.vote
    assert again.label_set == ["happy", "sad"]
    with pytest.raises(LeaseClosed, match="already answered this task with 'happy, sad'"):
        submit_vote(team[0], lease.pk, ["happy"])
    assert Vote.objects.count() == 1


def test_revising_a_set_recomputes_the_verdict():
    team = annotators(3)
    campaign = multi_campaign(team)
    leases = vote_in(campaign, team, [["anger"], ["anger"], ["anger", "fear"]])
    job = Job.objects.get()
    assert job.state == State.NEEDS_VOTE
    revised = revise_answer(team[2], leases[2].pk, ["anger"])
    job.refresh_from_db()
    assert not revised.repeated and revised.label_set == ["anger"]
    assert (job.state, job.label_set) == ("decided", ["anger"])
    assert Vote.objects.get(lease=leases[2]).revised_at is not None


def test_mode_settings_that_do_not_apply_or_exist_are_refused():
    team = annotators(1)
    with pytest.raises(CampaignInvalid, match="belong to multi-label campaigns"):
        create_campaign(name="x", corpus=rendered_corpus(1), annotators=team, allow_none=True)
    with pytest.raises(CampaignInvalid, match="Unknown label mode 'many'"):
        create_campaign(name="x", corpus=rendered_corpus(1), label_mode="many")
    with pytest.raises(CampaignInvalid, match="Unknown undecided policy"):
        multi_campaign(team, undecided_policy="keep")


def test_the_mode_is_fixed_once_the_campaign_has_jobs():
    campaign = multi_campaign(annotators(1))
    with pytest.raises(CampaignInvalid, match="already has jobs or gold items, so its label mode"):
        check_mode_change(campaign, Campaign.LabelMode.SINGLE, False, "discard")
    with pytest.raises(CampaignInvalid, match="already has jobs"):
        check_mode_change(campaign, Campaign.LabelMode.MULTI, True, "discard")
    check_mode_change(campaign, Campaign.LabelMode.MULTI, False, "discard")
    empty = create_campaign(name="empty", corpus=rendered_corpus(0))
    check_mode_change(empty, Campaign.LabelMode.MULTI, True, "mark")


def test_gold_items_and_label_imports_are_refused_on_multi_label_campaigns(tmp_path):
    campaign = multi_campaign(annotators(1))
    utterance = campaign.corpus.utterances.get()
    with pytest.raises(GoldInvalid, match="multi-label campaign cannot have training"):
        add_gold_item(campaign, utterance=utterance, modality="t", purpose="exam", label="sad")
    table = tmp_path / "labels.csv"
    table.write_text("utterance_id,modality,label\nu0,t,sad\n")
    with pytest.raises(ManifestError, match="importing sets of labels is not supported"):
        import_labels(campaign, table)
