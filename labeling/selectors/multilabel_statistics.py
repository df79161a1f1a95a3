"""Statistics of a multi-label campaign: read `Job.label_set` / `Vote.label_set` and hand plain
data to `labeling.multilabel_statistics`.

Two reads carry every figure: one row per job (its final label set) and one per vote (its
label set); the rest are the grouped counts the single-label dashboard shares
(`labeling.selectors.statistics`). A job's final set is a reviewer's override
(`Job.override_label_set`), else the decided `Job.label_set`; emotions a verdict left
undecided (`Job.undecided_labels`, the campaign's "mark" policy) are passed on as such.
Imported raw votes are single-label only, so multi-label agreement is over the votes cast here.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pandas as pd

from labeling import multilabel_statistics as ml
from labeling import statistics
from labeling.emotions import MODALITIES
from labeling.models import Campaign, Job, Vote
from labeling.selectors.statistics import (
    Utterances,
    label_sources,
    progress,
    utterances_frame,
)
from labeling.verdicts import State

# The figures of a multi-label campaign's statistics, besides those every campaign has.
FIGURE_KEYS = (
    "label_frequencies",
    "label_set_sizes",
    "co_occurrence",
    "inconsistency",
    "per_emotion_inconsistency",
    "krippendorff_alpha_masi",
    "fleiss_kappa_per_emotion",
    "krippendorff_alpha_per_emotion",
)


def final_label_sets(campaign: Campaign, utterances: Utterances = None) -> pd.DataFrame:
    """One row per job not excluded: job, utterance, modality, its final label set (a
    frozenset, or None when it has none) and the emotions left undecided in it (a frozenset).

    A reviewer's set is complete (nothing undecided); a decided verdict's set comes with its
    `undecided_labels`; open, waiting and discarded jobs have none. One query.
    """
    jobs = Job.objects.filter(campaign=campaign, excluded=False)
    if utterances is not None:
        jobs = jobs.filter(utterance_id__in=list(utterances))
    rows = []
    for pk, utterance, modality, state, label_set, undecided, override in jobs.values_list(
        "pk", "utterance_id", "modality", "state", "label_set", "undecided_labels",
        "override_label_set",
    ):  # fmt: skip
        if override is not None:
            final, open_ = frozenset(override), frozenset()
        elif state == State.DECIDED.value and label_set is not None:
            final, open_ = frozenset(label_set), frozenset(undecided or ())
        else:
            final, open_ = None, frozenset()
        rows.append((pk, utterance, modality, final, open_))
    return pd.DataFrame(rows, columns=["job", "utterance", "modality", "final", "undecided"])


def verdicts_of(jobs: pd.DataFrame) -> tuple[ml.Verdicts, ml.Undecided]:
    """`final_label_sets` as the pure module's verdicts and undecided emotions."""
    verdicts: dict[int, dict[str, frozenset[str]]] = defaultdict(dict)
    undecided: dict[tuple[int, str], frozenset[str]] = {}
    for utterance, modality, final, open_ in jobs[
        ["utterance", "modality", "final", "undecided"]
    ].itertuples(index=False):
        if final is None:
            continue
        verdicts[int(utterance)][modality] = final
        if open_:
            undecided[(int(utterance), modality)] = open_
    return dict(verdicts), undecided


def complete_label_sets(jobs: pd.DataFrame) -> pd.DataFrame:
    """One row per utterance, columns t a v m: the final label set where it is complete (no
    emotion left undecided), else None. What an export can write as multi-hot labels."""
    if jobs.empty:
        return pd.DataFrame(columns=list(MODALITIES), dtype=object)
    complete = jobs["final"].where(jobs["undecided"].map(len) == 0, None)
    table = jobs.assign(final=complete).pivot(index="utterance", columns="modality", values="final")
    table = table.reindex(columns=list(MODALITIES)).astype(object)
    return table.where(table.notna(), None)


def vote_sets(campaign: Campaign, jobs: pd.DataFrame | None = None) -> ml.Votes:
    """Every multi-label vote on the campaign's jobs not excluded, in casting order:
    {(utterance, modality): [frozenset, ...]}; only the `jobs` given, when given. One query."""
    votes = (
        Vote.objects.filter(job__campaign=campaign, job__excluded=False, label_set__isnull=False)
        .order_by("job_id", "created_at", "pk")
        .values_list("job_id", "job__utterance_id", "job__modality", "label_set")
    )
    chosen = None if jobs is None else set(jobs["job"])
    result: dict[tuple[int, str], list[frozenset[str]]] = defaultdict(list)
    for job, utterance, modality, label_set in votes:
        if chosen is None or job in chosen:
            result[(utterance, modality)].append(frozenset(label_set))
    return dict(result)


def multilabel_campaign_statistics(
    campaign: Campaign, utterances: Utterances = None
) -> dict[str, Any]:
    """Every figure of a multi-label campaign's dashboard and `cherma_stats`, JSON-able.

    Shares `campaign`, `progress`, `label_sources` and `dataset` with single-label campaigns
    (`progress` counts an utterance usable when all its label sets are complete); the
    figures are `FIGURE_KEYS`. `utterances` (pks) limits every figure to those utterances.
    """
    classes = campaign.label_names
    modalities = [m for m in MODALITIES if m in campaign.modalities]
    jobs = final_label_sets(campaign, utterances)
    verdicts, undecided = verdicts_of(jobs)
    votes = vote_sets(campaign, None if utterances is None else jobs)
    sets = ml.inconsistency_matrix(verdicts, classes, undecided=undecided)
    per_emotion = ml.per_emotion_inconsistency(verdicts, classes, undecided=undecided)
    return statistics.to_jsonable(
        {
            "campaign": {
                "id": campaign.pk,
                "name": campaign.name,
                "corpus": campaign.corpus.name,
                "classes": classes,
                "modalities": campaign.modalities,
                "label_mode": campaign.label_mode,
                "undecided_policy": campaign.undecided_policy,
            },
            "progress": progress(campaign, complete_label_sets(jobs), utterances),
            "label_sources": label_sources(campaign, utterances),
            "label_frequencies": ml.label_frequencies(verdicts, classes, undecided=undecided),
            "label_set_sizes": ml.label_set_sizes(verdicts, classes, undecided=undecided),
            "undecided_emotions": _undecided_counts(undecided, classes, modalities),
            "co_occurrence": ml.co_occurrence(verdicts, classes, undecided=undecided),
            "inconsistency": {"differ": sets.differ, "jaccard": sets.jaccard, "pairs": sets.pairs},
            "per_emotion_inconsistency": {
                "values": per_emotion.values,
                "support": per_emotion.support,
            },
            "krippendorff_alpha_masi": ml.krippendorff_alpha_masi(votes, classes),
            "fleiss_kappa_per_emotion": ml.fleiss_kappa_per_emotion(
                votes,
                classes,
                raters=max(campaign.initial_votes, 2),  # κ needs two
            ),
            "krippendorff_alpha_per_emotion": ml.krippendorff_alpha_per_emotion(votes, classes),
            "dataset": statistics.dataset_table(utterances_frame(campaign, utterances)),
        }
    )


def _undecided_counts(
    undecided: ml.Undecided, classes: list[str], modalities: list[str]
) -> dict[str, dict[str, int]]:
    """Per modality, how many decided jobs left each emotion undecided ("mark" policy)."""
    counts = {m: dict.fromkeys(classes, 0) for m in modalities}
    for (_, modality), emotions in undecided.items():
        for emotion in emotions:
            counts.setdefault(modality, dict.fromkeys(classes, 0))[emotion] += 1
    return counts
