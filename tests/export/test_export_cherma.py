"""export_cherma --local: a campaign's decided utterances become a training-ready dataset."""

import json
import time
from collections import Counter

import pytest
from django.core.management import CommandError, call_command

from labeling.emotions import EMOTIONS, MODALITIES, RELEASED_CODE_ORDER
from labeling.management.commands import export_cherma
from labeling.models import ExportJob
from labeling.selectors.exports import select_export_records
from labeling.services.campaigns import create_campaign
from labeling.services.label_import import import_labels
from tests.factories import rendered_corpus
from training.dataset import CHERMASplit, open_dataset, split_utterances, verify_checksums

from .conftest import EXPORTED, SHARD, run_export_cherma

pytestmark = pytest.mark.django_db


def export(built, out, options, *extra) -> ExportJob:
    run_export_cherma(built.campaign, out, "--local", *extra, options=options)
    return ExportJob.objects.get(out_dir=str(out))


def test_local_export_writes_the_decided_utterances_with_features_split_and_checksums(
    built, tiny_options, tmp_path
):
    out = tmp_path / "cherma"
    job = export(built, out, tiny_options, "--class-order", "released")

    dataset = open_dataset(out)
    manifest = dataset.manifest.set_index("utterance_id")
    assert sorted(manifest.index) == sorted(built.ids)
    assert built.undecided not in manifest.index and built.excluded not in manifest.index
    assert built.no_external_id in manifest.index  # u<pk>
    splits = split_utterances(list(manifest.index), seed=dataset.datasheet["seed"])
    assert manifest["split"].to_dict() == splits  # each id by its hash ("u<pk>" ids vary)
    assert manifest.loc[built.corrupt, "status"] == "failed"
    assert [f["utterance_id"] for f in dataset.failed] == [built.corrupt]
    assert sum(dataset.sizes.values()) == EXPORTED - 1
    assert dataset.classes == RELEASED_CODE_ORDER
    for uid, labels in built.labels.items():
        for m in MODALITIES:
            assert manifest.loc[uid, f"label_{m}"] == labels[m]
            assert manifest.loc[uid, f"label_{m}_id"] == RELEASED_CODE_ORDER.index(labels[m])
    assert manifest.loc[built.ids[0], "label_m"] == "surprise"  # the reviewer's override

    item = CHERMASplit(out, "train")[0]
    assert item["text"].shape == (80, 32)  # 78 words + CLS + SEP, tiny BERT width
    assert item["audio"].shape == (100, 32)  # fixed to 100 frames at load time
    assert item["vision"].shape == (4, 16)  # 2 segments × 2 frames, tiny ResNet width
    assert verify_checksums(out) == []

    sheet = json.loads((out / "datasheet.json").read_text(encoding="utf-8"))
    assert sheet["num_shards"] == 3 and sheet["shard_size"] == SHARD
    assert sheet["extractors"]["text"]["model"] == tiny_options["text_model"]
    statistics = sheet["statistics"]
    by_split = statistics["dataset_by_split"]
    assert statistics["inconsistency"]["matrix"]["t"]["m"] is not None
    # Every curation figure covers the exported utterances only: not the undecided, the
    # excluded or the corrupt one (whose features failed).
    with_features = EXPORTED - 1
    assert statistics["dataset"]["utterances"] == with_features
    assert statistics["progress"]["utterances"] == with_features
    assert statistics["progress"]["usable_utterances"] == with_features
    for m in MODALITIES:
        assert sum(statistics["label_distribution"][m].values()) == with_features
        assert statistics["progress"]["jobs"][m]["total"] == with_features
        assert sum(statistics["label_sources"][m].values()) == with_features
    assert {s: t["utterances"] for s, t in by_split.items()} == dict(
        Counter(s for uid, s in splits.items() if uid != built.corrupt)
    )
    assert statistics["left_out"] == {"not_decided": 2, "without_media": [], "failed": 1}

    job.refresh_from_db()
    assert (job.status, job.done, job.total, job.attempts) == ("done", EXPORTED, EXPORTED, 1)
    assert job.result["sizes"] == dataset.sizes and job.result["failed_count"] == 1
    assert job.result["bytes"] > 0 and job.finished_at is not None


def test_the_same_seed_gives_the_same_manifest_bytes_and_another_seed_another_split(
    built, tiny_options, tmp_path
):
    export(built, tmp_path / "a", tiny_options)
    export(built, tmp_path / "b", tiny_options)
    export(built, tmp_path / "c", {**tiny_options, "seed": 4})
    first = (tmp_path / "a" / "manifest.csv").read_bytes()
    assert (tmp_path / "b" / "manifest.csv").read_bytes() == first
    splits = [open_dataset(tmp_path / d).manifest.set_index("utterance_id")["split"] for d in "ac"]
    assert not splits[0].sort_index().equals(splits[1].sort_index())


def test_selection_takes_only_utterances_whose_four_labels_are_final(built, tmp_path):
    rows = ["utterance_id,modality,label"] + [f"labels-only,{m},{EMOTIONS[0]}" for m in MODALITIES]
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    import_labels(built.campaign, tmp_path / "labels.csv", create_utterances=True)

    selection = select_export_records(built.campaign)
    assert [r.utterance_id for r in selection.records] == built.ids
    assert selection.without_media == ["labels-only"]
    assert selection.not_decided == 2  # the skipped m job and the excluded utterance
    first = selection.records[0]
    assert dict(first.labels) == built.labels[built.ids[0]]
    assert first.media_path.is_file() and "sources" in first.media_path.parts  # the original


def test_an_existing_out_dir_is_refused_before_anything_is_queued(tmp_path):
    campaign = create_campaign(name="twice", corpus=rendered_corpus(1))
    (tmp_path / "taken").mkdir()
    with pytest.raises(CommandError, match="already exists; choose another directory"):
        run_export_cherma(campaign, tmp_path / "taken", "--local")
    assert not ExportJob.objects.exists()


def test_without_an_export_worker_the_command_fails_fast_instead_of_waiting(tmp_path):
    campaign = create_campaign(name="no worker", corpus=rendered_corpus(1))
    started = time.monotonic()
    with pytest.raises(CommandError, match="No Celery worker consuming the 'export' queue") as e:
        run_export_cherma(campaign, tmp_path / "o", "--worker-timeout", "1")
    assert time.monotonic() - started < 10
    assert "--local" in str(e.value) and "celery -A annotator worker -Q export" in str(e.value)
    assert not ExportJob.objects.exists()  # nothing left queued behind


def test_when_the_broker_cannot_ask_workers_an_export_left_queued_is_cancelled(
    tmp_path, monkeypatch
):
    monkeypatch.setattr(export_cherma, "export_workers", lambda timeout: None)
    campaign = create_campaign(name="no remote control", corpus=rendered_corpus(1))
    with pytest.raises(CommandError, match="still queued after 0.5 s") as e:
        run_export_cherma(campaign, tmp_path / "o", "--worker-timeout", "0.5")
    assert "--local" in str(e.value)
    assert ExportJob.objects.get().status == "cancelled"


def test_no_wait_queues_and_cancel_and_follow_act_by_id(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(export_cherma, "export_workers", lambda timeout: set())
    campaign = create_campaign(name="later", corpus=rendered_corpus(1))
    run_export_cherma(campaign, tmp_path / "o", "--no-wait")
    job = ExportJob.objects.get()
    captured = capsys.readouterr()
    assert job.status == "queued" and f"--cancel {job.pk}" in captured.out
    assert "waits in the queue until a worker starts" in captured.err
    call_command("export_cherma", "--cancel", str(job.pk))
    job.refresh_from_db()
    assert job.status == "cancelled"
    with pytest.raises(CommandError, match=f"Export {job.pk} cancelled"):
        call_command("export_cherma", "--follow", str(job.pk), "--no-progress")
