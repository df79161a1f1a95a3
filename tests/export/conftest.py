"""A small campaign built the way users build one (import, render, vote, review) and the
tiny save_pretrained models of the dataset tests, for exporting through Django."""

from __future__ import annotations

import contextlib
import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils.text import slugify

from annotator.celery import app
from labeling.emotions import EMOTIONS, MODALITIES
from labeling.models import Campaign, Corpus, Utterance
from labeling.services import review
from labeling.services.assignment import next_task, skip_task, submit_vote
from labeling.services.campaigns import create_campaign
from labeling.services.imports import import_manifest
from labeling.services.renditions import render_pending
from labeling.storage import media_path
from labeling.verdicts import VotingRule
from tests.clips import write_clip
from tests.dataset.conftest import _single_torch_thread, model_dirs  # noqa: F401 - fixtures
from tests.factories import annotators, rendered_corpus

EXPORTED = 11  # utterances with all four labels final: 10 whose media decodes, 1 corrupt
SHARD = 4  # shards of 4, 4, 3
TRANSCRIPTS = ("我今天很高兴", "你说什么", "他不想去了", "我们明天来看你", "这个人好吗", "天啊")


def script(index: int) -> dict[str, str]:
    """Utterance ``index``'s labels per modality; they differ across modalities as CHERMA's do."""
    return {m: EMOTIONS[(index + 2 * j) % len(EMOTIONS)] for j, m in enumerate(MODALITIES)}


@dataclass
class Built:
    campaign: Campaign
    ids: list[str]  # exported utterance ids, in import order
    labels: dict[str, dict[str, str]]  # id -> final label per modality
    corrupt: str  # id of the utterance whose stored clip no longer decodes
    undecided: str  # id whose m job was skipped (not decided)
    excluded: str  # id a reviewer excluded
    no_external_id: str  # u<pk>: imported without an id


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> Path:
    """13 short clips and their manifest (the last row has no id)."""
    folder = tmp_path_factory.mktemp("export-clips")
    rows = []
    for i in range(EXPORTED + 2):
        name = f"c{i:02d}.mp4"
        write_clip(folder / name, seconds=0.6 + 0.08 * i, size=(64, 48), shade=19 * i)
        rows.append(
            {
                "media": name,
                "transcript": TRANSCRIPTS[i % len(TRANSCRIPTS)],
                "id": f"c{i:02d}" if i < EXPORTED + 1 else "",
                "speaker_gender": ("female", "male")[i % 2],
                "age_group": ("teen", "middle-age", "old")[i % 3],
                "programme": "合成剧 1",
                "scenario": "household",
            }
        )
    with open(folder / "manifest.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return folder


@contextlib.contextmanager
def eager_tasks():
    """Renditions queued by the import render in this process (transactional tests commit)."""
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


def build_campaign(clips: Path) -> Built:
    """Import, render, an annotator votes every job but one m job (skipped), a reviewer excludes
    one utterance and overrides one m label, one stored clip is corrupted afterwards."""
    corpus = Corpus.objects.create(name="export corpus")
    with eager_tasks():
        batch = import_manifest(
            corpus=corpus, manifest_path=clips / "manifest.csv", media_root=clips
        )
    assert batch.rows_imported == EXPORTED + 2, batch.rejected
    render_pending(corpus.pk)
    (annotator,) = annotators(1, prefix="exp")
    campaign = create_campaign(  # one vote decides: the export does not care how many
        name="export campaign",
        corpus=corpus,
        annotators=[annotator],
        rule=VotingRule(1, 1, 1),
        independence_guard=False,
    )
    utterances = list(Utterance.objects.filter(corpus=corpus).order_by("pk"))
    ids = [u.external_id or f"u{u.pk}" for u in utterances]
    undecided, excluded = ids[3], ids[7]
    while (lease := next_task(annotator, campaign)) is not None:
        index = utterances.index(lease.job.utterance)
        if ids[index] == undecided and lease.job.modality == "m":
            skip_task(annotator, lease.pk, "cannot tell")  # its m label stays undecided
        else:
            submit_vote(annotator, lease.pk, script(index)[lease.job.modality])
    reviewer = User.objects.create_user("exp-reviewer")
    review.exclude_utterance(reviewer, campaign, utterances[7].pk, "speaker off screen")
    overridden = campaign.jobs.get(utterance=utterances[0], modality="m")
    review.set_label(reviewer, overridden.pk, "surprise", "the laugh is a surprised one")
    labels = {uid: script(i) for i, uid in enumerate(ids)}
    labels[ids[0]]["m"] = "surprise"
    corrupt = ids[5]
    source = media_path(utterances[5].source_file)
    source.write_bytes(np.random.default_rng(1).bytes(4096))
    exported = [uid for uid in ids if uid not in (undecided, excluded)]
    assert len(exported) == EXPORTED
    return Built(
        campaign=campaign,
        ids=exported,
        labels={uid: labels[uid] for uid in exported},
        corrupt=corrupt,
        undecided=undecided,
        excluded=excluded,
        no_external_id=ids[-1],
    )


def decided_campaign(name: str, utterances: int = 1, *, undecided: int = 0) -> Campaign:
    """A campaign over a rendered corpus (no real media) whose labels one vote decides, all
    voted but the last ``undecided`` utterances': enough for an export to be accepted."""
    (annotator,) = annotators(1, prefix=f"{slugify(name)}-")
    campaign = create_campaign(
        name=name,
        corpus=rendered_corpus(utterances),
        annotators=[annotator],
        rule=VotingRule(1, 1, 1),
        independence_guard=False,
    )
    open_ids = set(
        campaign.corpus.utterances.order_by("-pk").values_list("pk", flat=True)[:undecided]
    )
    leases = iter(lambda: next_task(annotator, campaign), None)
    for lease in leases:
        if lease.job.utterance_id in open_ids:
            skip_task(annotator, lease.pk, "left open")
        else:
            submit_vote(annotator, lease.pk, EMOTIONS[0])
    return campaign


@pytest.fixture
def built(db, media_root, clips) -> Built:
    return build_campaign(clips)


@pytest.fixture(scope="session")
def tiny_options(model_dirs) -> dict:  # noqa: F811 - the imported fixture, by name
    """Export options naming the tiny models, with few small frames so tests stay fast."""
    return {
        "text_model": str(model_dirs["text"]),
        "audio_model": str(model_dirs["audio"]),
        "vision_model": str(model_dirs["vision"]),
        "device": "cpu",
        "segments": 2,
        "per_segment": 2,
        "crop_size": 32,
        "shard_size": SHARD,
        "seed": 3,
    }


def run_export_cherma(campaign: Campaign, out: Path, *args: str, options: dict | None = None):
    """Run ``manage.py export_cherma --campaign … --out … --no-progress`` with ``options``."""
    flags = ("--campaign", campaign.name, "--out", str(out), "--no-progress")
    call_command("export_cherma", *flags, *cli_args(options or {}), *args)


def cli_args(options: dict) -> list[str]:
    """The export_cherma flags that give ``options``."""
    args = []
    for key, value in options.items():
        flag = "--" + key.replace("_", "-")
        if value is True:
            args.append(flag)
        elif value is not False and value is not None:
            args += [flag, str(value)]
    return args
