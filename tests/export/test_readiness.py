"""An export refuses to start with nothing usable, and says how many utterances are usable and
why the others are not: in the service, so the command and the admin say the same."""

import pytest
from django.core.management import CommandError, ManagementUtility

from labeling.emotions import EMOTIONS, MODALITIES
from labeling.models import ExportJob
from labeling.selectors.exports import export_readiness, select_pool_records
from labeling.services.campaigns import create_campaign
from labeling.services.exports import create_export
from labeling.services.label_import import import_labels
from tests.factories import rendered_corpus
from training.dataset import ExportError

from .conftest import EXPORTED, decided_campaign, run_export_cherma

pytestmark = pytest.mark.django_db


def test_readiness_counts_usable_utterances_and_every_reason_for_the_others(built, tmp_path):
    rows = ["utterance_id,modality,label"] + [f"labels-only,{m},{EMOTIONS[0]}" for m in MODALITIES]
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    import_labels(built.campaign, tmp_path / "labels.csv", create_utterances=True)

    readiness = export_readiness(built.campaign)
    assert (readiness.total, readiness.usable) == (EXPORTED + 3, EXPORTED)
    assert readiness.still_open == {"t": 0, "a": 0, "v": 0, "m": 1}  # the skipped m job
    assert readiness.excluded == 1 and readiness.without_media == 1
    # What a pool export would take: the utterance open in m (not the excluded one).
    assert readiness.waiting == 1 == len(select_pool_records(built.campaign).records)
    assert readiness.sentence() == (
        f"{EXPORTED} of {EXPORTED + 3} utterances have all of t, a, v, m decided: 1 still open "
        "in m, 1 excluded, 1 decided but without media (labels only)."
    )


def test_an_export_with_no_usable_utterance_is_refused_saying_why(tmp_path):
    campaign = create_campaign(name="fresh", corpus=rendered_corpus(3))
    with pytest.raises(ExportError) as refused:
        create_export(campaign=campaign, out_dir=tmp_path / "o", enqueue=False)
    assert "0 of 3 utterances have all of t, a, v, m decided: 3 still open in t, 3 still " in (
        str(refused.value)
    )
    assert "Let the annotators finish" in str(refused.value)
    assert not ExportJob.objects.exists()


def test_discarded_jobs_are_named_as_a_reason(tmp_path):
    campaign = decided_campaign("split votes", 2, undecided=1)
    campaign.jobs.filter(modality="a", state="open").update(state="discarded")
    readiness = export_readiness(campaign)
    assert readiness.usable == 1
    assert "1 still open in t" in readiness.sentence()
    assert "1 discarded in a" in readiness.sentence()


def test_export_cherma_refuses_nothing_usable_and_exits_non_zero(tmp_path, capsys, monkeypatch):
    # manage.py closes the database connections on its way out; the test's transaction needs its.
    monkeypatch.setattr("django.core.management.base.connections.close_all", lambda: None)
    campaign = create_campaign(name="nothing yet", corpus=rendered_corpus(2))
    with pytest.raises(CommandError, match="0 of 2 utterances have all of t, a, v, m decided"):
        run_export_cherma(campaign, tmp_path / "o", "--local")
    utility = ManagementUtility(
        [
            "manage.py",
            "export_cherma",
            "--campaign",
            campaign.name,
            "--out",
            str(tmp_path / "o"),
            "--local",
        ]
    )
    with pytest.raises(SystemExit) as exited:
        utility.execute()
    assert exited.value.code == 1
    assert "0 of 2 utterances" in capsys.readouterr().err
    assert not ExportJob.objects.exists() and not (tmp_path / "o").exists()
