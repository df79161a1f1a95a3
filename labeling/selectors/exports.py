"""Reads for an export: which utterances a campaign can export, and the datasheet's numbers.

An utterance is exported when its t, a, v and m labels are all final (``Job.final_label``)
and it has media to extract features from.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pandas as pd

from labeling import statistics
from labeling.emotions import EMOTIONS, MODALITIES
from labeling.models import Campaign
from labeling.selectors.statistics import campaign_statistics, decided_labels
from labeling.storage import media_path
from training.dataset.records import ExportError, ExportRecord


def check_exportable(campaign: Campaign) -> None:
    """An export needs the four CHERMA labels (t, a, v, m) from the seven emotions."""
    missing = [m for m in MODALITIES if m not in campaign.modalities]
    if missing:
        raise ExportError(
            f"Campaign {campaign.name!r} does not collect {', '.join(missing)}; an exported "
            "utterance needs a decided label for each of t, a, v and m."
        )
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


def select_export_records(campaign: Campaign) -> Selection:
    """The utterances whose t, a, v and m labels are all final, as ``ExportRecord``s.

    A label is final as ``Job.final_label`` says (a reviewer's override, else the decided
    verdict; excluded utterances have none), read for the whole campaign at once by
    ``decided_labels``. Features are extracted from the stored original (the source file,
    with its sound and picture), not from a rendition.
    """
    check_exportable(campaign)
    labels = decided_labels(campaign)
    complete = labels[labels[list(MODALITIES)].notna().all(axis=1)] if len(labels) else labels
    final = {int(pk): row for pk, row in complete.iterrows()}
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
        if pk not in final:
            continue
        uid = utterance_id(external, pk)
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
                labels={m: str(final[pk][m]) for m in MODALITIES},
                transcript=transcript,
                media_path=media_path(source),
                duration_seconds=seconds,
                speaker_gender=gender,
                age_group=age,
                programme=programme,
                scenario=scenario,
            )
        )
    if not records:
        raise ExportError(
            f"Campaign {campaign.name!r} has no utterance with media whose t, a, v and m labels "
            "are all decided yet; collect or import labels first (cherma_stats shows progress)."
        )
    return Selection(records, without_media, total - len(final), owner)


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


def datasheet_statistics(
    campaign: Campaign, selection: Selection, exported: Mapping[str, str]
) -> dict:
    """The datasheet's ``statistics``: the curation figures and Table 1 per split, over the
    exported utterances only (``exported``: id → split of those with features, which the
    exporter knows once media was read); what was left out is counted in ``left_out``."""
    figures = campaign_statistics(campaign, utterances=[selection.pks[uid] for uid in exported])
    records = [r for r in selection.records if r.utterance_id in exported]
    return {
        **{key: figures[key] for key in CAMPAIGN_KEYS},
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
