"""Campaign statistics: query the database, hand plain frames to `labeling.statistics`.

Counts are aggregated in SQL; the per-utterance tables (one row per job or vote) are read
once with `values_list` and everything else is computed in pandas by the pure functions.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import pandas as pd
from django.db import connection
from django.db.models import Count, Q

from labeling import statistics
from labeling.emotions import MODALITIES
from labeling.models import Campaign, Job, LabelTally, Lease, Vote
from labeling.selectors.predictions import (
    _JOB_FIELDS,
    _final,
    model_disagreement_job_ids,
    suspect_table,
)
from labeling.selectors.qualification import gold_accuracy_table
from labeling.suspects import as_answer
from labeling.verdicts import State

Utterances = Collection[int] | None  # utterance pks a figure covers; None: the whole campaign


def _jobs(campaign: Campaign, utterances: Utterances = None):
    jobs = Job.objects.filter(campaign=campaign)
    return jobs if utterances is None else jobs.filter(utterance_id__in=list(utterances))


def final_labels(campaign: Campaign, utterances: Utterances = None) -> pd.DataFrame:
    """One row per job not excluded: job, utterance, modality and its final label (or None).

    The final label is a reviewer's override, else the decided verdict (`Job.final_label`).
    """
    rows = (
        _jobs(campaign, utterances)
        .filter(excluded=False)
        .values_list("pk", "utterance_id", "modality", "state", "label", "override_label")
    )
    frame = pd.DataFrame(
        list(rows), columns=["job", "utterance", "modality", "state", "label", "override"]
    )
    decided = frame["label"].where(frame["state"] == State.DECIDED.value, None)
    frame["final"] = frame["override"].where(frame["override"] != "", decided)
    return frame[["job", "utterance", "modality", "final"]]


def decided_labels(campaign: Campaign, jobs: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per utterance, columns t a v m: the label the dataset uses, or None."""
    frame = final_labels(campaign) if jobs is None else jobs
    if frame.empty:
        return pd.DataFrame(columns=list(MODALITIES), dtype=object)
    table = frame.pivot(index="utterance", columns="modality", values="final")
    return table.reindex(columns=list(MODALITIES))


def vote_counts(campaign: Campaign) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Votes per (modality, job, label): (among each job's first three, all), read from the
    tallies kept with every vote (`services.tallies`).

    κ takes each job's first three votes (in a fixed order: votes cast here by id, then
    imported ones in file order) and α all of them; neither needs more than these counts,
    kept current when votes are written, so reading them costs one row per job and label
    instead of a pass over every vote. Excluded jobs don't count.
    """
    rows = LabelTally.objects.filter(job__campaign=campaign, job__excluded=False).values_list(
        "job__modality", "job_id", "label", "votes", "first_votes"
    )
    counts = pd.DataFrame(list(rows), columns=["modality", "job", "label", "every", "first"])
    every = counts[["modality", "job", "label", "every"]].rename(columns={"every": "n"})
    first = counts[counts["first"] > 0][["modality", "job", "label", "first"]]
    return first.rename(columns={"first": "n"}), every


def utterances_frame(campaign: Campaign, utterances: Utterances = None) -> pd.DataFrame:
    excluded = Job.objects.filter(campaign=campaign, excluded=True).values("utterance_id")
    chosen = campaign.corpus.utterances.exclude(pk__in=excluded)
    if utterances is not None:
        chosen = chosen.filter(pk__in=list(utterances))
    rows = chosen.values_list("pk", "duration_seconds", "transcript", "speaker_gender", "age_group")
    return pd.DataFrame(
        list(rows),
        columns=["utterance", "duration_seconds", "transcript", "speaker_gender", "age_group"],
    ).set_index("utterance")


def label_sources(campaign: Campaign, utterances: Utterances = None) -> dict[str, dict[str, int]]:
    """Per modality, how many labels were voted here, imported, or set by a reviewer."""
    # A reviewer's label (single-label) or set of emotions (multi-label).
    overridden = ~Q(override_label="") | Q(override_label_set__isnull=False)
    counts = (
        _jobs(campaign, utterances)
        .filter(excluded=False)
        .values("modality")
        .annotate(
            voted=Count("pk", filter=Q(source="votes", state=State.DECIDED.value) & ~overridden),
            imported=Count("pk", filter=Q(source="imported") & ~overridden),
            reviewer=Count("pk", filter=overridden),
        )
    )
    result = {m: {"voted": 0, "imported": 0, "reviewer": 0} for m in campaign.modalities}
    for row in counts:
        result[row.pop("modality")] = row
    return result


def progress(
    campaign: Campaign, labels: pd.DataFrame | None = None, utterances: Utterances = None
) -> dict[str, Any]:
    """Jobs per modality and state, and utterances with all collected labels decided."""
    states = (
        _jobs(campaign, utterances)
        .filter(excluded=False)
        .values_list("modality", "state")
        .annotate(n=Count("pk"))
        .order_by()
    )
    if labels is None and campaign.is_multi_label:  # complete label sets only
        from labeling.selectors.multilabel_statistics import complete_label_sets, final_label_sets

        labels = complete_label_sets(final_label_sets(campaign, utterances))
    elif labels is None:
        labels = decided_labels(campaign, final_labels(campaign, utterances))
    collected = [m for m in MODALITIES if m in campaign.modalities]
    complete = int(labels[collected].notna().all(axis=1).sum()) if len(labels) else 0
    excluded = _jobs(campaign, utterances).filter(excluded=True).values("utterance_id")
    return {
        "jobs": statistics.agreement_progress(list(states), modalities=collected),
        "utterances": (
            campaign.corpus.utterances.count() if utterances is None else len(set(utterances))
        ),
        "usable_utterances": complete,
        "excluded_utterances": excluded.distinct().count(),
    }


def campaign_statistics(campaign: Campaign, utterances: Utterances = None) -> dict[str, Any]:
    """Every figure of the dashboard and of `cherma_stats`, as JSON-able data.

    `utterances` (pks) limits every figure to those utterances (a datasheet covers what was
    exported); None covers the whole campaign. A multi-label campaign has its own figures
    (`selectors.multilabel_statistics`).
    """
    if campaign.is_multi_label:
        from labeling.selectors.multilabel_statistics import multilabel_campaign_statistics

        return multilabel_campaign_statistics(campaign, utterances)
    classes = campaign.label_names
    jobs = final_labels(campaign, utterances)
    labels = decided_labels(campaign, jobs)
    first_votes, all_votes = vote_counts(campaign)
    if utterances is not None:
        chosen = set(jobs["job"])
        first_votes = first_votes[first_votes["job"].isin(chosen)]
        all_votes = all_votes[all_votes["job"].isin(chosen)]
    incon = statistics.inconsistency_matrix(labels)
    return statistics.to_jsonable(
        {
            "campaign": {
                "id": campaign.pk,
                "name": campaign.name,
                "corpus": campaign.corpus.name,
                "classes": classes,
                "modalities": campaign.modalities,
            },
            "progress": progress(campaign, labels, utterances),
            "label_sources": label_sources(campaign, utterances),
            "label_distribution": statistics.label_distribution(labels, classes),
            "inconsistency": {"matrix": incon.matrix, "pairs": incon.pairs},
            "per_emotion_inconsistency": statistics.per_emotion_inconsistency(labels, classes),
            "fleiss_kappa": statistics.fleiss_kappa_from_counts(first_votes, classes),
            "krippendorff_alpha": statistics.krippendorff_alpha_from_counts(all_votes, classes),
            "dataset": statistics.dataset_table(utterances_frame(campaign, utterances)),
        }
    )


def annotator_quality(campaign: Campaign) -> list[dict[str, Any]]:
    """Per annotator: volume, agreement with the final labels, median time, skip rate,
    outlier flag, accuracy on hidden gold checks per modality, and suspect votes per
    modality against the assistant run (selectors/predictions.py; {} without one).

    Grouped in the database, never read vote by vote: votes per annotator and pair of
    (their answer, the job's final fields) — a few rows per annotator and label — and each
    annotator's median time (`_median_seconds`). The final answer and the comparison stay in
    Python (`_final`, `as_answer`: a multi-label vote agrees when it names exactly the final
    set, whatever the order the lists were stored in)."""
    pairs = (
        Vote.objects.filter(job__campaign=campaign)
        .values_list("annotator_id", "annotator__username", "label", "label_set", *_JOB_FIELDS)
        .annotate(n=Count("pk"))
        .order_by()
    )
    tallies: dict[int, dict[str, Any]] = {}
    for annotator, username, label, label_set, *job, n in pairs:
        tally = tallies.setdefault(
            annotator, {"username": username, "votes": 0, "judged": 0, "agrees": 0}
        )
        final = _final(*job)
        tally["votes"] += n
        if final is not None:
            tally["judged"] += n
            tally["agrees"] += n * (as_answer(label, label_set) == final)
    medians = _median_seconds(campaign)
    leases = {
        annotator: (n, skipped)
        for annotator, n, skipped in Lease.objects.filter(job__campaign=campaign)
        .values_list("annotator_id")
        .annotate(n=Count("pk"), skipped=Count("pk", filter=Q(status=Lease.Status.SKIPPED)))
        .order_by()
    }
    paused = dict(campaign.pauses.values_list("annotator_id", "reason"))
    gold = gold_accuracy_table(campaign)
    suspects = suspect_table(campaign)
    rows = []
    for annotator, tally in tallies.items():
        judged = tally["judged"]
        n_leases, skipped = leases.get(annotator, (1, 0))
        rows.append(
            {
                "annotator": annotator,
                "username": tally["username"],
                "votes": tally["votes"],
                "agreement": tally["agrees"] / judged if judged else None,
                "judged": judged,
                "median_seconds": medians[annotator],
                "skip_rate": skipped / n_leases,
                "paused": annotator in paused,
                "pause_reason": paused.get(annotator, ""),
                "gold": {
                    modality: {"right": right, "answered": answered, "accuracy": right / answered}
                    for (who, modality), (right, answered) in sorted(gold.items())
                    if who == annotator and answered
                },
                "suspects": suspects.get(annotator, {}),
            }
        )
    _flag_outliers(rows)
    return sorted(rows, key=lambda row: row["username"])


def _median_seconds(campaign: Campaign) -> dict[int, float]:
    """Annotator id → the median of their votes' seconds, in one statement that returns a
    row per annotator: the middle vote (or the mean of the two middle ones) in time order.
    Window functions run on PostgreSQL and SQLite alike (percentile_cont is PostgreSQL's)."""
    vote, job = Vote._meta.db_table, Job._meta.db_table
    sql = f"""
        SELECT annotator_id, AVG(seconds_spent) FROM (
            SELECT v.annotator_id, v.seconds_spent,
                   ROW_NUMBER() OVER (
                       PARTITION BY v.annotator_id ORDER BY v.seconds_spent
                   ) AS position,
                   COUNT(*) OVER (PARTITION BY v.annotator_id) AS n
            FROM {vote} v JOIN {job} j ON j.id = v.job_id
            WHERE j.campaign_id = %s
        ) AS ranked
        WHERE position IN ((n + 1) / 2, (n + 2) / 2)
        GROUP BY annotator_id
    """
    with connection.cursor() as cursor:
        cursor.execute(sql, [campaign.pk])
        return {annotator: float(median) for annotator, median in cursor.fetchall()}


def _flag_outliers(rows: list[dict[str, Any]]) -> None:
    """Flag annotators far below the others' agreement, or implausibly fast.

    Agreement more than two standard deviations below the mean (with at least 10 judged
    votes), or a median time under a quarter of the campaign's median.
    """
    agreements = pd.Series(
        [r["agreement"] for r in rows if r["agreement"] is not None and r["judged"] >= 10]
    )
    times = pd.Series([r["median_seconds"] for r in rows])
    floor = agreements.mean() - 2 * agreements.std() if len(agreements) >= 3 else None
    fast = times.median() / 4 if len(times) else None
    for row in rows:
        reasons = []
        if floor is not None and row["judged"] >= 10 and row["agreement"] < floor:
            reasons.append("low agreement")
        if fast is not None and len(rows) >= 3 and row["median_seconds"] < fast:
            reasons.append("very fast")
        row["outlier"] = ", ".join(reasons)


def disagreement_queue(
    campaign: Campaign,
    *,
    modality: str = "",
    emotion: str = "",
    annotator: int | None = None,
    model_disagrees_at: float | None = None,
):
    """Jobs a reviewer should look at: split votes (waiting or decided 3:1) and discarded ones.

    With `model_disagrees_at` (a confidence τ): instead, every job with a final label that
    the assistant run's prediction for its modality contradicts at confidence ≥ τ, split or
    unanimous (a unanimous verdict the model doubts is worth a look too)."""
    jobs = Job.objects.filter(campaign=campaign, excluded=False)
    if model_disagrees_at is None:
        jobs = jobs.filter(
            Q(state__in=[State.NEEDS_VOTE.value, State.DISCARDED.value])
            | Q(state=State.DECIDED.value, votes_count__gt=campaign.agreement)
        )
    else:
        jobs = jobs.filter(pk__in=model_disagreement_job_ids(campaign, model_disagrees_at))
    jobs = jobs.select_related("utterance").order_by("-updated_at", "pk")
    if modality:
        jobs = jobs.filter(modality=modality)
    if emotion:  # a vote for it: its label, or (multi-label) among its set
        named = Q(votes__label=emotion) | Q(votes__label_set__contains=[emotion])
        jobs = jobs.filter(named).distinct()
    if annotator:
        jobs = jobs.filter(votes__annotator_id=annotator).distinct()
    return jobs
