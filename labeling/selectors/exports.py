"""Reads for an export: which utterances a campaign can export, and the datasheet's numbers.

An utterance is exported when its t, a, v and m labels are all final (``Job.final_label``;
multi-label campaigns: ``Job.final_label_set`` with no emotion left undecided) and it has
media to extract features from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from django.db.models import Count

from labeling import statistics
from labeling.emotions import EMOTIONS, MODALITIES
from labeling.models import Campaign, ExportJob, Job
from labeling.roles import reviewable_campaigns
from labeling.selectors.multilabel_statistics import (
    FIGURE_KEYS,
    complete_label_sets,
    final_label_sets,
)
from labeling.selectors.statistics import campaign_statistics, decided_labels
from labeling.storage import media_path
from labeling.verdicts import State
from training.dataset.records import ExportError, ExportRecord


def check_exportable(campaign: Campaign) -> None:
    """An export needs the four CHERMA labels (t, a, v, m); single-label, from the seven
    emotions; multi-label, from the campaign's own label set (exported in its order)."""
    missing = [m for m in MODALITIES if m not in campaign.modalities]
    if missing:
        raise ExportError(
            f"Campaign {campaign.name!r} does not collect {', '.join(missing)}; an exported "
            "utterance needs a decided label for each of t, a, v and m."
        )
    if campaign.is_multi_label:
        return
    unknown = [name for name in campaign.label_names if name not in EMOTIONS]
    if unknown:
        raise ExportError(
            f"Campaign {campaign.name!r} has labels the dataset format does not know "
            f"({', '.join(unknown)}); exported labels must be among {', '.join(EMOTIONS)}."
        )


@dataclass(frozen=True)
class Selection:
    records: list[ExportRecord]  # utterances with all four labels decided and media
    without_media: list[str]  # decided, but imported as labels only: nothing to extract from
    not_decided: int  # utterances of the corpus left out: a label undecided, or excluded
    pks: dict[str, int] = field(default_factory=dict)  # exported id -> utterance pk


def utterance_id(external_id: str, pk: int) -> str:
    """The id an utterance has in an exported dataset: the corpus's own id, else ``u<pk>``."""
    return external_id or f"u{pk}"


def final_labels_table(campaign: Campaign) -> pd.DataFrame:
    """One row per utterance, columns t a v m: its final label (single-label), or its complete
    final label set, a frozenset (multi-label); None where there is none."""
    if campaign.is_multi_label:
        return complete_label_sets(final_label_sets(campaign))
    return decided_labels(campaign)


def select_export_records(campaign: Campaign) -> Selection:
    """The utterances whose t, a, v and m labels are all final, as ``ExportRecord``s.

    A label is final as ``Job.final_label`` says (a reviewer's override, else the decided
    verdict; excluded utterances have none), read for the whole campaign at once by
    ``decided_labels``. Multi-label: the final label set (``Job.final_label_set``) as a
    frozenset, only when no emotion of it is left undecided (a multi-hot vector has no
    "unknown"). Features are extracted from the stored original (the source file, with its
    sound and picture), not from a rendition.
    """
    check_exportable(campaign)
    final = _complete_labels(campaign)
    as_label = frozenset if campaign.is_multi_label else str
    selection = _records(
        campaign,
        lambda pk, uid: pk in final,
        lambda pk: {m: as_label(final[pk][m]) for m in MODALITIES},
    )
    if not selection.records:
        raise ExportError(export_readiness(campaign).refusal())
    return selection


def select_pool_records(campaign: Campaign, *, leave_out: set[str] | None = None) -> Selection:
    """The campaign's utterances with jobs that are not exported, as label-less
    ``ExportRecord``s for a pool: those without all four labels final, or (``leave_out``)
    those whose exported id is not in that set, e.g. not in a run's dataset. Utterances a
    reviewer excluded are left out: nobody will label them."""
    with_jobs = set(
        campaign.jobs.filter(excluded=False).values_list("utterance_id", flat=True).distinct()
    )
    final = _complete_labels(campaign) if leave_out is None else {}

    def chosen(pk: int, uid: str) -> bool:
        left_out = pk in final if leave_out is None else uid in leave_out
        return pk in with_jobs and not left_out

    return _records(campaign, chosen, lambda pk: {})


def _complete_labels(campaign: Campaign) -> dict[int, pd.Series]:
    """Utterance pk -> its row of final t, a, v, m labels, for utterances with all four."""
    labels = final_labels_table(campaign)
    complete = labels[labels[list(MODALITIES)].notna().all(axis=1)] if len(labels) else labels
    return {int(pk): row for pk, row in complete.iterrows()}


def _records(campaign: Campaign, chosen, labels_of) -> Selection:
    """The corpus's utterances `chosen(pk, exported id)` says, as records with `labels_of(pk)`;
    ids are checked unique, utterances imported without media are listed apart."""
    rows = campaign.corpus.utterances.order_by("pk").values_list(
        "pk",
        "external_id",
        "source_file",
        "transcript",
        "duration_seconds",
        "speaker_gender",
        "age_group",
        "programme",
        "scenario",
    )
    records, without_media, owner, total = [], [], {}, 0
    for pk, external, source, transcript, seconds, gender, age, programme, scenario in rows:
        total += 1
        uid = utterance_id(external, pk)
        if not chosen(pk, uid):
            continue
        if uid in owner:
            raise ExportError(
                f"Utterances {owner[uid]} and {pk} would both be exported as {uid!r} (one has "
                f"that external id, the other none); give utterance {pk} an external id."
            )
        owner[uid] = pk
        if not source:
            without_media.append(uid)
            continue
        records.append(
            ExportRecord(
                utterance_id=uid,
                labels=labels_of(pk),
                transcript=transcript,
                media_path=media_path(source),
                duration_seconds=seconds,
                speaker_gender=gender,
                age_group=age,
                programme=programme,
                scenario=scenario,
            )
        )
    return Selection(records, without_media, total - len(owner), owner)


def finished_exports(user) -> list[ExportJob]:
    """Exports a user may train on, newest first: done, labelled (not a pool), their dataset
    still on disk (its SHA256SUMS is there), of a campaign the user may see
    (``reviewable_campaigns``)."""
    jobs = (
        ExportJob.objects.filter(
            status=ExportJob.Status.DONE, campaign__in=reviewable_campaigns(user)
        )
        .select_related("campaign")
        .order_by("-finished_at", "-pk")
    )
    return [
        job
        for job in jobs
        if not job.options.get("pool") and (Path(job.out_dir) / "SHA256SUMS").is_file()
    ]


# --- how many utterances an export would take, and why not the others -----------------------


@dataclass(frozen=True)
class Readiness:
    """How many of a campaign's utterances an export takes (``usable``), and why the others
    are left out. An utterance may be left out for several reasons at once (open in v and
    discarded in a), so the reasons need not add up to ``total - usable``."""

    campaign: str
    total: int  # utterances in the corpus
    usable: int  # t, a, v and m final, and media to extract features from
    still_open: dict[str, int] = field(default_factory=dict)  # per modality: collecting votes
    discarded: dict[str, int] = field(default_factory=dict)  # per modality: no majority
    without_job: dict[str, int] = field(default_factory=dict)  # screened out or added later
    excluded: int = 0  # excluded by a reviewer
    without_media: int = 0  # decided, but imported as labels only
    # multi-label, "mark" policy: decided with an emotion left undecided (2:2), per modality
    undecided: dict[str, int] = field(default_factory=dict)
    waiting: int = 0  # with jobs and media, not all four labels final: what a pool takes

    def sentence(self) -> str:
        """E.g. "0 of 40 utterances have all of t, a, v, m decided: 40 still open in v, …"."""
        reasons = [
            *(f"{n} still open in {m}" for m, n in self.still_open.items() if n),
            *(f"{n} discarded in {m}" for m, n in self.discarded.items() if n),
            *(f"{n} without a {m} job" for m, n in self.without_job.items() if n),
            *(f"{n} with an emotion undecided in {m}" for m, n in self.undecided.items() if n),
        ]
        if self.excluded:
            reasons.append(f"{self.excluded} excluded")
        if self.without_media:
            reasons.append(f"{self.without_media} decided but without media (labels only)")
        head = f"{self.usable} of {self.total} utterances have all of t, a, v, m decided"
        return f"{head}: {', '.join(reasons)}." if reasons else f"{head}."

    def refusal(self) -> str:
        """Why an export with nothing usable does not start, and what to do."""
        return (
            f"Campaign {self.campaign!r} has nothing to export yet. {self.sentence()} Let the "
            "annotators finish (the dashboard shows progress), review what is open, or import "
            "labels first."
        )


def export_readiness(campaign: Campaign) -> Readiness:
    """Counted by the database (grouped queries, the ids of utterances with jobs and with
    media, and the labels ``final_labels_table`` reads once), so the admin's export page can
    show it at CHERMA scale."""
    utterances = campaign.corpus.utterances
    total = utterances.count()
    excluded_ids = set(
        Job.objects.filter(campaign=campaign, excluded=True).values_list("utterance_id", flat=True)
    )
    complete = set(_complete_labels(campaign))
    decided = complete - excluded_ids
    media = set(utterances.exclude(source_file="").values_list("pk", flat=True))
    with_media = decided & media
    with_jobs = set(
        campaign.jobs.filter(excluded=False).values_list("utterance_id", flat=True).distinct()
    )
    # Jobs whose label is not final: neither decided nor set by a reviewer.
    unsettled = (
        Job.objects.filter(
            campaign=campaign, excluded=False, override_label="", override_label_set__isnull=True
        )
        .exclude(state=State.DECIDED.value)
        .values("modality", "state")
        .annotate(n=Count("pk"))
    )
    still_open = dict.fromkeys(MODALITIES, 0)
    discarded = dict.fromkeys(MODALITIES, 0)
    for row in unsettled:
        target = discarded if row["state"] == State.DISCARDED.value else still_open
        target[row["modality"]] += row["n"]
    jobs = dict(
        Job.objects.filter(campaign=campaign, excluded=False)
        .values("modality")
        .annotate(n=Count("pk"))
        .values_list("modality", "n")
    )
    kept = total - len(excluded_ids)
    return Readiness(
        campaign=campaign.name,
        total=total,
        usable=len(with_media),
        still_open=still_open,
        discarded=discarded,
        without_job={m: max(kept - jobs.get(m, 0), 0) for m in MODALITIES},
        excluded=len(excluded_ids),
        without_media=len(decided - with_media),
        undecided=_undecided_jobs(campaign) if campaign.is_multi_label else {},
        waiting=len((with_jobs - complete) & media),  # as select_pool_records chooses
    )


def _undecided_jobs(campaign: Campaign) -> dict[str, int]:
    """Per modality, decided multi-label jobs with an emotion left undecided and no
    reviewer's set (which would settle them)."""
    counts = dict(
        Job.objects.filter(
            campaign=campaign,
            excluded=False,
            state=State.DECIDED.value,
            override_label_set__isnull=True,
        )
        .exclude(undecided_labels=[])
        .values("modality")
        .annotate(n=Count("pk"))
        .values_list("modality", "n")
    )
    return {m: counts.get(m, 0) for m in MODALITIES}


# --- the datasheet's curation statistics -----------------------------------------------------

CAMPAIGN_KEYS = (
    "campaign",
    "progress",
    "label_sources",
    "label_distribution",
    "inconsistency",
    "per_emotion_inconsistency",
    "fleiss_kappa",
    "krippendorff_alpha",
    "dataset",
)
MULTILABEL_CAMPAIGN_KEYS = (
    "campaign",
    "progress",
    "label_sources",
    *FIGURE_KEYS,
    "undecided_emotions",
    "dataset",
)


def datasheet_statistics(
    campaign: Campaign, selection: Selection, exported: Mapping[str, str]
) -> dict:
    """The datasheet's ``statistics``: the curation figures and Table 1 per split, over the
    exported utterances only (``exported``: id → split of those with features, which the
    exporter knows once media was read); what was left out is counted in ``left_out``."""
    figures = campaign_statistics(campaign, utterances=[selection.pks[uid] for uid in exported])
    records = [r for r in selection.records if r.utterance_id in exported]
    keys = MULTILABEL_CAMPAIGN_KEYS if campaign.is_multi_label else CAMPAIGN_KEYS
    return {
        **{key: figures[key] for key in keys},
        "dataset_by_split": statistics.to_jsonable(
            statistics.dataset_table_by_split(_with_splits(records, exported))
        ),
        "covers": f"the {len(exported)} exported utterances with features",
        "left_out": {
            "not_decided": selection.not_decided,
            "without_media": selection.without_media,
            "failed": len(selection.records) - len(records),
        },
        "utterances_without_media": selection.without_media,
    }


def _with_splits(records: list[ExportRecord], splits: Mapping[str, str]) -> pd.DataFrame:
    """The records' Table 1 columns with the split each was exported in."""
    return pd.DataFrame(
        [
            {
                "utterance_id": r.utterance_id,
                "split": splits[r.utterance_id],
                "duration_seconds": r.duration_seconds,
                "transcript": r.transcript,
                "speaker_gender": r.speaker_gender,
                "age_group": r.age_group,
            }
            for r in records
        ],
        columns=[
            "utterance_id",
            "split",
            "duration_seconds",
            "transcript",
            "speaker_gender",
            "age_group",
        ],
    )
