"""Labels made elsewhere (e.g. CH-SIMS's five sentiment classes) are analysed like verdicts."""

import pytest

from labeling.models import Corpus, ImportedVote, Job
from labeling.selectors.statistics import campaign_statistics
from labeling.services.campaigns import create_campaign
from labeling.services.label_import import import_labels

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
    assert report.rejected == [
        {"line": 3, "reason": "a different label for the same utterance and modality is on line 2"}
    ]
