"""Gold items are shown only when they play, and never give one answer away for another."""

import pytest

from labeling.models import GoldItem, Rendition
from labeling.services.assignment import next_task, submit_vote
from labeling.services.qualification import (
    GoldInvalid,
    add_gold_item,
    import_gold_items,
    next_exam_question,
    next_training_question,
    start_exam,
)
from tests.qualification.test_exams import answer_training
from tests.qualification.test_gold_checks import text_campaign_with_checks


def break_rendition(item: GoldItem, status=Rendition.Status.FAILED) -> None:
    Rendition.objects.filter(utterance=item.utterance, modality=item.modality).update(status=status)


def test_a_hidden_check_whose_rendition_is_not_ready_is_never_served(db):
    campaign, team = text_campaign_with_checks(8, 4, gold_share=1.0)
    checks = list(campaign.gold_items.order_by("pk"))
    for item, status in zip(checks[:3], ["failed", "pending", "running"], strict=True):
        break_rendition(item, status)
    served = []
    while (lease := next_task(team[0], campaign)) is not None:
        served.append(lease.gold_item_id)
        submit_vote(team[0], lease.pk, "fear")
    assert checks[3].pk in served
    assert not {item.pk for item in checks[:3]} & set(served)


def test_a_training_question_whose_rendition_is_not_ready_is_neither_asked_nor_required(
    campaign, team
):
    first, second = campaign.gold_items.filter(purpose="training").order_by("pk")
    break_rendition(first)
    lease = next_training_question(team[0], campaign, "t")
    assert lease.gold_item_id == second.pk
    submit_vote(team[0], lease.pk, "anger")
    assert next_training_question(team[0], campaign, "t") is None
    start_exam(team[0], campaign, "t")  # the broken question does not block the exam


def test_an_exam_asks_only_questions_whose_rendition_is_ready(campaign, team):
    first, second = campaign.gold_items.filter(purpose="exam").order_by("pk")
    break_rendition(first)
    answer_training(team[0], campaign, ["anger", "anger"])
    attempt = start_exam(team[0], campaign, "t")
    assert attempt.questions == [second.pk]
    attempt, lease = next_exam_question(team[0], attempt.pk)
    assert lease.gold_item_id == second.pk


@pytest.mark.parametrize(
    ("existing", "new", "modality"),
    [
        ("training", "exam", "t"),
        ("exam", "training", "t"),
        ("training", "check", "t"),
        ("check", "exam", "t"),
        ("training", "exam", "a"),  # training on the text gives the audio's answer away too
    ],
)
def test_one_utterance_serves_one_gold_purpose(campaign, existing, new, modality):
    item = campaign.gold_items.filter(purpose=existing).first()
    with pytest.raises(GoldInvalid, match=f"already a {existing} item"):
        add_gold_item(
            campaign, utterance=item.utterance, modality=modality, purpose=new, label="fear"
        )
    assert not campaign.gold_items.filter(utterance=item.utterance, purpose=new).exists()


def test_the_same_purpose_may_cover_several_modalities_and_be_relabelled(campaign):
    item = campaign.gold_items.filter(purpose="exam").first()
    add_gold_item(campaign, utterance=item.utterance, modality="a", purpose="exam", label="fear")
    add_gold_item(campaign, utterance=item.utterance, modality="t", purpose="exam", label="fear")
    assert campaign.gold_items.filter(utterance=item.utterance).count() == 2


def test_a_gold_file_mixing_purposes_on_one_utterance_is_refused_with_its_line(campaign, tmp_path):
    path = tmp_path / "gold.csv"
    path.write_text(
        "utterance,modality,purpose,label\nu7,t,training,fear\nu7,t,exam,fear\n",
        encoding="utf-8",
    )
    before = GoldItem.objects.count()
    report = import_gold_items(campaign, path)
    assert [row["line"] for row in report.rejected] == [3]
    assert "already a training item" in report.rejected[0]["reason"]
    assert GoldItem.objects.count() == before
