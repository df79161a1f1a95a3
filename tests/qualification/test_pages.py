"""What reviewers and admins see of qualification, and what annotators may not reach."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from labeling.models import Exam, GoldItem
from labeling.selectors.statistics import annotator_quality
from labeling.services.assignment import next_task, submit_vote
from tests.qualification.test_exams import answer_training, sit_exam


@pytest.fixture
def boss(client, db):
    client.force_login(User.objects.create_superuser("boss", password="x"))
    return client


def test_reviewers_see_attempts_scores_and_gold_accuracy(campaign, team, boss):
    answer_training(team[0], campaign, ["anger", "anger"])
    sit_exam(team[0], campaign, "fear")
    campaign.gold_share = 1.0
    campaign.save()
    lease = next_task(team[1], campaign)  # audio needs no exam; checks are on t only
    submit_vote(team[1], lease.pk, "fear")

    page = boss.get(reverse("review-qualification", args=[campaign.pk])).content.decode()
    assert "exam: 0 %" in page and "not taken" in page
    attempts = boss.get(reverse("admin:labeling_examattempt_changelist")).content.decode()
    assert "annotator1" in attempts and "0%" in attempts


def test_annotator_quality_reports_gold_accuracy_per_modality(campaign, team):
    for annotator in team[:2]:
        answer_training(annotator, campaign, ["anger", "anger"])
        sit_exam(annotator, campaign, "anger")
    campaign.gold_share = 1.0
    campaign.save()
    for annotator, answer in [(team[0], "anger"), (team[1], "fear")]:
        for _ in range(2):
            lease = next_task(annotator, campaign)
            submit_vote(annotator, lease.pk, answer if lease.gold_item_id else "fear")
        lease = next_task(annotator, campaign)  # checks used up: a job now
        submit_vote(annotator, lease.pk, "fear")
    quality = {row["username"]: row["gold"] for row in annotator_quality(campaign)}
    assert quality["annotator1"] == {"t": {"right": 2, "answered": 2, "accuracy": 1.0}}
    assert quality["annotator2"] == {"t": {"right": 0, "answered": 2, "accuracy": 0.0}}


def test_annotators_reach_neither_the_review_page_nor_the_gold_admin(campaign, team, client):
    client.force_login(team[0])
    assert client.get(reverse("review-qualification", args=[campaign.pk])).status_code == 403
    admin = client.get(reverse("admin:labeling_golditem_changelist"))
    assert admin.status_code == 302  # to the admin login
    api = client.get(reverse("api-qualification", args=[campaign.pk])).json()
    # Their own status only: no expected labels of any gold item in it.
    assert "anger" not in str(api)


def test_the_admin_adds_gold_through_the_service_rules(campaign, boss):
    utterance = campaign.corpus.utterances.order_by("pk").last()
    url = reverse("admin:labeling_golditem_add")
    form = {
        "campaign": campaign.pk,
        "utterance": utterance.pk,
        "modality": "t",
        "purpose": "check",
        "label": "joy",
        "explanation": "",
    }
    refused = boss.post(url, form)
    assert "is not a label of this campaign" in refused.content.decode()
    boss.post(url, {**form, "label": "sadness"})
    assert GoldItem.objects.filter(utterance=utterance, purpose="check").exists()
    assert not campaign.jobs.filter(utterance=utterance).exists()


def test_exams_are_set_on_the_campaign_page(campaign, boss):
    page = boss.get(reverse("admin:labeling_campaign_change", args=[campaign.pk]))
    assert page.status_code == 200 and "pass mark" in page.content.decode().lower()
    assert Exam.objects.filter(campaign=campaign).count() == 1


def test_admins_upload_gold_items_and_labels_on_the_campaign(campaign, boss):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from labeling.models import Job

    url = reverse("admin:labeling_campaign_import_file", args=[campaign.pk])
    assert (
        "Import labels or gold items"
        in boss.get(reverse("admin:labeling_campaign_change", args=[campaign.pk])).content.decode()
    )
    gold = SimpleUploadedFile(
        "gold.csv", b"utterance,modality,purpose,label\nu7,t,check,fear\nu8,t,check,joy\n"
    )
    page = boss.post(url, {"kind": "gold", "file": gold}).content.decode()
    assert "joy" in page and 'id="rejected"' in page
    assert not GoldItem.objects.filter(utterance__external_id="u7").exists()  # all or none

    labels = SimpleUploadedFile("labels.csv", b"utterance_id,modality,label\nu9,t,fear\n")
    response = boss.post(url, {"kind": "labels", "file": labels})
    assert response.status_code == 302
    job = Job.objects.get(campaign=campaign, utterance__external_id="u9", modality="t")
    assert (job.label, job.source) == ("fear", "imported")

    bad = SimpleUploadedFile("labels.txt", b"x")
    assert (
        "Upload a .csv or .jsonl file"
        in boss.post(url, {"kind": "labels", "file": bad}).content.decode()
    )


def test_the_dashboard_links_qualification_and_shows_screening_counts(campaign, boss):
    page = boss.get(reverse("review-dashboard", args=[campaign.pk])).content.decode()
    title = page.split("<title>")[1].split("</title>")[0]
    assert "<" not in title and "dashboard" in title
    assert reverse("review-qualification", args=[campaign.pk]) in page
    assert 'id="screening"' not in page  # this campaign does not screen

    campaign.human_screening = True
    campaign.save()
    from labeling.models import ClipScreening

    ClipScreening.objects.create(
        campaign=campaign, utterance=campaign.corpus.utterances.first(), status="awaiting_human"
    )
    page = boss.get(reverse("review-dashboard", args=[campaign.pk])).content.decode()
    table = page.split('id="screening"')[1].split("</table>")[0]
    assert "waiting for a screener" in table and "<td>1</td>" in table


def test_the_home_page_says_which_exams_are_still_to_pass(campaign, team, client):
    client.force_login(team[0])
    assert "Exam to pass first: text (transcript only)." in client.get("/").content.decode()
    answer_training(team[0], campaign, ["anger", "anger"])
    sit_exam(team[0], campaign, "anger")
    assert "Exam to pass first" not in client.get("/").content.decode()
