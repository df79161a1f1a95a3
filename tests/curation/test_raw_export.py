"""Every vote and every job's verdict, for a paper's appendix and other tools (CSV, JSONL)."""

import csv
import io
import json

import pytest
from django.contrib.auth.models import Group, User
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from labeling.models import Vote
from labeling.services import review
from labeling.services.assignment import next_task, submit_vote
from labeling.services.campaigns import create_campaign
from labeling.services.label_import import import_labels
from tests.factories import annotators, rendered_corpus

pytestmark = pytest.mark.django_db

VOTES = {"annotator1": "anger", "annotator2": "anger", "annotator3": "fear"}


@pytest.fixture
def campaign():
    """Two utterances, text only: u0 voted 2:1 (waiting for a fourth vote), u1 3:0."""
    team = annotators(3)
    campaign = create_campaign(
        name="raw", corpus=rendered_corpus(2), annotators=team, modalities="t"
    )
    for annotator in team:
        while (lease := next_task(annotator, campaign)) is not None:
            label = VOTES[annotator.username] if lease.job.utterance.external_id == "u0" else "fear"
            submit_vote(annotator, lease.pk, label)
    return campaign


@pytest.fixture
def reviewer_client():
    reviewer = User.objects.create_user("rev", password="pw")
    reviewer.groups.add(Group.objects.get_or_create(name="reviewer")[0])
    client = Client()
    client.force_login(reviewer)
    return client


def download(client, campaign, table, fmt):
    response = client.get(reverse("review-raw", args=[campaign.pk, table, fmt]))
    assert response.status_code == 200
    assert f"campaign-{campaign.pk}-{table}.{fmt}" in response["Content-Disposition"]
    return b"".join(response.streaming_content).decode()


def test_reviewers_download_every_vote_as_csv_with_pseudonyms_never_usernames(
    campaign, reviewer_client
):
    text = download(reviewer_client, campaign, "votes", "csv")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == Vote.objects.count() == 6
    assert set(rows[0]) == {
        "utterance_id", "modality", "annotator", "source", "label", "seconds_spent",
        "leased_at", "lease_expires_at", "submitted_at", "verdict", "verdict_label",
        "final_label",
    }  # fmt: skip
    for name in VOTES:
        assert name not in text
    u0 = [r for r in rows if r["utterance_id"] == "u0"]
    assert sorted(r["label"] for r in u0) == ["anger", "anger", "fear"]
    assert {r["verdict"] for r in u0} == {"needs_vote"} and {r["final_label"] for r in u0} == {""}
    assert len({r["annotator"] for r in u0}) == 3  # one pseudonym per annotator
    u1 = [r for r in rows if r["utterance_id"] == "u1"]
    assert {(r["verdict"], r["verdict_label"], r["final_label"]) for r in u1} == {
        ("decided", "fear", "fear")
    }
    assert {r["annotator"] for r in u0} == {r["annotator"] for r in u1}  # stable
    vote = Vote.objects.select_related("lease").get(job__utterance__external_id="u1",
                                                     annotator__username="annotator1")  # fmt: skip
    (mine,) = [r for r in u1 if r["submitted_at"] == vote.created_at.isoformat()]
    assert mine["leased_at"] == vote.lease.created_at.isoformat()
    assert mine["lease_expires_at"] == vote.lease.expires_at.isoformat()
    assert float(mine["seconds_spent"]) == pytest.approx(vote.seconds_spent)
    assert download(reviewer_client, campaign, "votes", "csv") == text  # same pseudonyms again


def test_every_jobs_verdict_downloads_as_jsonl_with_overrides_and_exclusions(
    campaign, reviewer_client
):
    reviewer = User.objects.get(username="rev")
    job = campaign.jobs.get(utterance__external_id="u0")
    review.set_label(reviewer, job.pk, "anger", "two of three and the words say so")
    text = download(reviewer_client, campaign, "verdicts", "jsonl")
    rows = {r["utterance_id"]: r for r in map(json.loads, text.splitlines())}
    assert set(rows) == {"u0", "u1"}
    assert rows["u0"] == {
        "utterance_id": "u0", "modality": "t", "verdict": "needs_vote", "verdict_label": "",
        "votes": 3, "extra_votes": 0, "override_label": "anger", "final_label": "anger",
        "excluded": False, "source": "votes",
    }  # fmt: skip
    assert rows["u1"]["final_label"] == "fear"
    votes = [
        json.loads(line)
        for line in download(reviewer_client, campaign, "votes", "jsonl").splitlines()
    ]
    assert len(votes) == 6 and all(isinstance(v["seconds_spent"], float) for v in votes)


def test_imported_raw_votes_are_exported_with_their_rater(reviewer_client, tmp_path):
    campaign = create_campaign(name="imp", corpus=rendered_corpus(0), modalities="a")
    path = tmp_path / "votes.csv"
    path.write_text("utterance_id,modality,label,rater\nx,a,fear,r1\nx,a,fear,r2\nx,a,fear,r3\n")
    import_labels(campaign, path)
    rows = list(csv.DictReader(io.StringIO(download(reviewer_client, campaign, "votes", "csv"))))
    assert [(r["annotator"], r["source"], r["verdict"], r["leased_at"]) for r in rows] == [
        ("r1", "imported", "decided", ""),
        ("r2", "imported", "decided", ""),
        ("r3", "imported", "decided", ""),
    ]


def test_annotators_cannot_download_votes(campaign):
    client = Client()
    client.force_login(User.objects.get(username="annotator1"))
    for table in ("votes", "verdicts"):
        for fmt in ("csv", "jsonl"):
            url = reverse("review-raw", args=[campaign.pk, table, fmt])
            assert client.get(url).status_code == 403


def test_an_unknown_table_or_format_is_not_found(campaign, reviewer_client):
    assert (
        reviewer_client.get(reverse("review-raw", args=[campaign.pk, "votes", "xlsx"])).status_code
        == 404
    )
    assert (
        reviewer_client.get(reverse("review-raw", args=[campaign.pk, "users", "csv"])).status_code
        == 404
    )


def test_export_votes_writes_the_same_tables_as_the_dashboard(campaign, reviewer_client, tmp_path):
    out = tmp_path / "raw"
    call_command("export_votes", campaign=campaign.name, out=str(out), stdout=io.StringIO(),
                 stderr=io.StringIO())  # fmt: skip
    for table in ("votes", "verdicts"):
        for fmt in ("csv", "jsonl"):
            written = (out / f"{table}.{fmt}").read_bytes().decode()
            assert written == download(reviewer_client, campaign, table, fmt)
    with pytest.raises(CommandError, match="already exists"):
        call_command("export_votes", campaign=campaign.name, out=str(out), stdout=io.StringIO())


def test_the_dashboard_links_every_raw_download(campaign, reviewer_client):
    page = reviewer_client.get(reverse("review-dashboard", args=[campaign.pk])).content.decode()
    for table in ("votes", "verdicts"):
        for fmt in ("csv", "jsonl"):
            assert f'href="{reverse("review-raw", args=[campaign.pk, table, fmt])}"' in page


def test_the_downloads_read_a_few_statements_however_many_votes(
    campaign, django_assert_max_num_queries
):
    """Votes are read beside their jobs, not a job (or its campaign) per row: at 380k votes a
    statement per row is minutes of download."""
    from labeling.selectors.votes import raw_rows

    (fourth,) = annotators(1, prefix="fourth")  # u0's 2:1 takes a fourth vote
    campaign.annotators.add(fourth)
    submit_vote(fourth, next_task(fourth, campaign).pk, "anger")
    # votes: the votes, their jobs beside them, the imported votes; verdicts: the jobs
    for table, statements in (("votes", 3), ("verdicts", 1)):
        with django_assert_max_num_queries(statements):
            rows = list(raw_rows(campaign, table))
        assert len(rows) == (7 if table == "votes" else 2)
