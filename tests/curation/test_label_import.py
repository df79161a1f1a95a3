"""Labels made elsewhere (e.g. CH-SIMS's five sentiment classes) are analysed like verdicts."""

import io

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse

from labeling.models import Corpus, ImportedVote, Job
from labeling.selectors.statistics import campaign_statistics
from labeling.services.campaigns import create_campaign
from labeling.services.label_import import import_labels
from tests.factories import rendered_corpus

pytestmark = pytest.mark.django_db

SIMS = ["negative", "weakly negative", "neutral", "weakly positive", "positive"]


@pytest.fixture
def campaign():
    corpus = Corpus.objects.create(name="CH-SIMS labels")
    labels = [{"name": name, "key": str(i + 1)} for i, name in enumerate(SIMS)]
    return create_campaign(name="sims", corpus=corpus, labels=labels)


def test_decided_labels_and_raw_votes_import_without_media(campaign, tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text(
        "utterance_id,modality,label,rater,transcript\n"
        "v1,t,positive,,今天很好\n"
        "v1,m,weakly positive,,\n"
        "v2,a,negative,r1,\n"
        "v2,a,negative,r2,\n"
        "v2,a,negative,r3,\n"
        "v3,a,happy,,\n"
        "v3,x,neutral,,\n",
        encoding="utf-8",
    )
    report = import_labels(campaign, path)
    assert (report.labels, report.votes, report.new_utterances) == (3, 3, 2)
    assert [p["line"] for p in report.rejected] == [7, 8]
    assert "unknown label 'happy'" in report.rejected[0]["reason"]
    assert campaign.corpus.utterances.get(external_id="v1").source_file == ""
    job = Job.objects.get(utterance__external_id="v2", modality="a")
    assert (job.state, job.label, job.source) == ("decided", "negative", "imported")
    assert ImportedVote.objects.count() == 3
    stats = campaign_statistics(campaign)
    assert stats["label_sources"]["t"]["imported"] == 1
    assert stats["inconsistency"]["matrix"]["t"]["m"] == 1.0
    assert stats["krippendorff_alpha"]["a"][1] == 1


def test_importing_the_same_labels_again_changes_nothing(campaign, tmp_path):
    path = tmp_path / "labels.jsonl"
    path.write_text(
        '{"utterance_id": "v1", "modality": "t", "label": "neutral"}\n', encoding="utf-8"
    )
    import_labels(campaign, path)
    again = import_labels(campaign, path)
    assert (again.labels, again.unchanged, again.new_utterances) == (0, 1, 0)
    assert Job.objects.filter(source="imported").count() == 1


def test_conflicting_decided_labels_are_reported(campaign, tmp_path):
    path = tmp_path / "labels.csv"
    path.write_text("utterance_id,modality,label\nv1,t,neutral\nv1,t,positive\n", encoding="utf-8")
    report = import_labels(campaign, path)
    assert [p["line"] for p in report.rejected] == [2, 3]  # neither row wins


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def media_campaign():
    """A campaign over a corpus with media: unknown ids there are typos, not new utterances."""
    return create_campaign(
        name="with media", corpus=rendered_corpus(2), labels=LABELS, modalities="tavm"
    )


LABELS = [{"name": name, "key": str(i + 1)} for i, name in enumerate(SIMS)]


def test_raw_votes_beyond_max_votes_are_refused_with_their_line_and_file_order_is_kept(
    campaign, tmp_path
):
    raters = ["r5", "r4", "r3", "r2", "r1"]  # file order is not alphabetical order
    labels = ["positive", "negative", "negative", "negative", "positive"]
    rows = [f"v1,a,{label},{rater}" for rater, label in zip(raters, labels, strict=True)]
    path = write(tmp_path, "votes.csv", "utterance_id,modality,label,rater\n" + "\n".join(rows))
    report = import_labels(campaign, path)
    assert [p["line"] for p in report.rejected] == [6]
    assert "at most 4 votes" in report.rejected[0]["reason"]
    job = Job.objects.get(utterance__external_id="v1", modality="a")
    assert list(job.imported_votes.order_by("pk").values_list("rater", flat=True)) == raters[:4]
    assert (job.state, job.label) == ("decided", "negative")
    more = write(tmp_path, "more.csv", "utterance_id,modality,label,rater\nv1,a,positive,r9\n")
    assert [p["line"] for p in import_labels(campaign, more).rejected] == [2]
    assert job.imported_votes.count() == 4


def test_an_unknown_utterance_id_is_refused_unless_creating_utterances_is_asked(
    media_campaign, tmp_path
):
    path = write(
        tmp_path, "labels.csv", "utterance_id,modality,label\nu0,t,neutral\nu9,t,neutral\n"
    )
    report = import_labels(media_campaign, path)
    assert [p["line"] for p in report.rejected] == [3]
    assert "no utterance 'u9'" in report.rejected[0]["reason"]
    assert "create" in report.rejected[0]["reason"]
    assert media_campaign.corpus.utterances.count() == 2
    assert Job.objects.get(utterance__external_id="u0", modality="t").label == "neutral"
    again = import_labels(media_campaign, path, create_utterances=True)
    assert (again.rejected, again.new_utterances) == ([], 1)
    assert media_campaign.corpus.utterances.get(external_id="u9").source_file == ""


def test_conflicting_rows_are_both_refused_and_name_each_other(campaign, tmp_path):
    path = write(
        tmp_path,
        "labels.csv",
        "utterance_id,modality,label,rater\n"
        "v1,t,neutral,\nv1,t,positive,\nv1,t,neutral,\n"
        "v2,a,negative,r1\nv2,a,positive,r1\n",
    )
    report = import_labels(campaign, path)
    assert sorted((p["line"], p["reason"]) for p in report.rejected) == [
        (2, "v1 [t]: a different label for the same utterance and modality is on line 3"),
        (3, "v1 [t]: a different label for the same utterance and modality is on lines 2, 4"),
        (4, "v1 [t]: a different label for the same utterance and modality is on line 3"),
        (5, "v2 [a]: rater 'r1' gives a different label on line 6"),
        (6, "v2 [a]: rater 'r1' gives a different label on line 5"),
    ]
    assert not Job.objects.filter(source="imported").exists()
    assert not ImportedVote.objects.exists()


def test_a_label_differing_from_an_earlier_import_is_refused_not_overwritten(campaign, tmp_path):
    import_labels(campaign, write(tmp_path, "a.csv", "utterance_id,modality,label\nv1,t,neutral\n"))
    report = import_labels(
        campaign, write(tmp_path, "b.csv", "utterance_id,modality,label\nv1,t,positive\n")
    )
    assert [p["line"] for p in report.rejected] == [2]
    assert "already has the label 'neutral'" in report.rejected[0]["reason"]
    assert Job.objects.get(utterance__external_id="v1", modality="t").label == "neutral"


def test_strict_imports_nothing_when_any_row_is_rejected(campaign, tmp_path):
    path = write(tmp_path, "labels.csv", "utterance_id,modality,label\nv1,t,neutral\nv2,t,happy\n")
    report = import_labels(campaign, path, strict=True)
    assert [p["line"] for p in report.rejected] == [3]
    assert (report.labels, report.new_utterances, report.written) == (0, 0, False)
    assert not campaign.corpus.utterances.exists() and not Job.objects.exists()


def test_the_command_exits_non_zero_when_rows_were_rejected(campaign, tmp_path):
    path = write(tmp_path, "labels.csv", "utterance_id,modality,label\nv1,t,neutral\nv2,t,happy\n")
    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError, match="1 rows rejected"):
        call_command("import_labels", str(path), campaign=campaign.name, stdout=out, stderr=err)
    assert "line 3: unknown label 'happy'" in err.getvalue()
    assert Job.objects.get(utterance__external_id="v1").label == "neutral"  # good rows kept
    with pytest.raises(CommandError, match="nothing was written"):
        call_command(
            "import_labels", str(path), campaign=campaign.name, strict=True, stdout=out, stderr=err
        )


def test_the_command_shows_progress_while_it_writes(campaign, tmp_path):
    rows = "".join(f"v{i},t,neutral\n" for i in range(300))
    path = write(tmp_path, "labels.csv", "utterance_id,modality,label\n" + rows)
    err = io.StringIO()
    call_command(
        "import_labels", str(path), campaign=campaign.name, stdout=io.StringIO(), stderr=err
    )
    assert "300/300" in err.getvalue()
    seen = []
    import_labels(campaign, path, progress=lambda done, total: seen.append((done, total)))
    assert seen[-1] == (300, 300)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        (
            "wide.csv",
            "utterance_id,t,a,v,m\nv1,positive,negative,,neutral\nv2,neutral,,,\n",
        ),
        (
            "wide.jsonl",
            '{"utterance_id": "v1", "t": "positive", "a": "negative", "m": "neutral"}\n'
            '{"utterance_id": "v2", "t": "neutral", "v": ""}\n',
        ),
    ],
)
def test_the_wide_layout_gives_one_label_per_modality_column(campaign, tmp_path, name, text):
    report = import_labels(campaign, write(tmp_path, name, text))
    assert (report.labels, report.rejected) == (4, [])
    labels = set(Job.objects.values_list("utterance__external_id", "modality", "label"))
    assert labels == {
        ("v1", "t", "positive"),
        ("v1", "a", "negative"),
        ("v1", "m", "neutral"),
        ("v2", "t", "neutral"),
    }


def test_a_wide_row_with_a_bad_cell_names_its_line_and_modality(campaign, tmp_path):
    path = write(tmp_path, "wide.csv", "utterance_id,rater,t,a\nv1,r1,positive,happy\n")
    report = import_labels(campaign, path)
    assert report.rejected == [
        {"line": 2, "reason": "a: unknown label 'happy': use one of " + ", ".join(SIMS)}
    ]
    assert ImportedVote.objects.get().label == "positive"


def test_the_admin_upload_creates_utterances_only_when_its_box_is_ticked(media_campaign, client):
    client.force_login(User.objects.create_superuser("boss", password="x"))
    url = reverse("admin:labeling_campaign_import_file", args=[media_campaign.pk])
    rows = b"utterance_id,modality,label\nu77,t,neutral\n"
    page = client.post(url, {"kind": "labels", "file": SimpleUploadedFile("l.csv", rows)})
    assert "no utterance &#x27;u77&#x27;" in page.content.decode()
    assert not media_campaign.corpus.utterances.filter(external_id="u77").exists()
    ticked = {
        "kind": "labels",
        "create_utterances": "on",
        "file": SimpleUploadedFile("l.csv", rows),
    }
    assert client.post(url, ticked).status_code == 302
    assert media_campaign.corpus.utterances.filter(external_id="u77", source_file="").exists()


def test_a_job_with_more_raw_votes_than_the_rule_allows_from_an_old_import_takes_the_first(
    campaign, tmp_path
):
    import_labels(campaign, write(tmp_path, "a.csv", "utterance_id,modality,label\nv1,t,neutral\n"))
    job = Job.objects.get()
    job.state, job.label = "open", ""
    job.save()
    for rater, label in [("r1", "negative"), ("r2", "neutral"), ("r3", "neutral"),
                         ("r4", "neutral"), ("r5", "negative")]:  # fmt: skip
        ImportedVote.objects.create(job=job, rater=rater, label=label)
    again = write(tmp_path, "b.csv", "utterance_id,modality,label,rater\nv1,t,neutral,r2\n")
    assert import_labels(campaign, again).rejected == []
    job.refresh_from_db()
    assert (job.state, job.label) == ("decided", "neutral")  # r1..r4: 3:1
