"""Campaign statistics: query the database, hand plain frames to `labeling.statistics`.

Counts are aggregated in SQL: the dashboard's figures read grouped rows (combinations of
final labels with how many utterances have each, tallies summed per modality, label and
job size, votes grouped per annotator), never a row per job or vote, except Table 1 (a
row per utterance, its words counted when its transcript was saved). The pure functions
compute the rest.
"""

from __future__ import annotations

import functools
from collections.abc import Collection
from statistics import median
from typing import Any

import numpy as np
import pandas as pd
from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import (
    Aggregate,
    Case,
    CharField,
    Count,
    F,
    FloatField,
    Max,
    Q,
    Sum,
    Value,
    When,
)

from labeling import statistics
from labeling.emotions import MODALITIES
from labeling.models import Campaign, Job, LabelTally, Lease, Vote
from labeling.selectors.predictions import model_disagreement_job_ids, suspect_table
from labeling.selectors.qualification import gold_accuracy_table
from labeling.verdicts import State

Utterances = Collection[int] | None  # utterance pks a figure covers; None: the whole campaign

# PostgreSQL's default work_mem (4 MB) spilled the 387k-vote hash join of `vote_quality` to
# disk in two batches (0.45 s; 0.32 s in memory); the grouped statistics read a campaign's
# jobs and votes at once, for the few reviewers who open a dashboard.
STATISTICS_WORK_MEM = "32MB"


def _in_memory(function):
    """Run `function`'s statistics queries with `STATISTICS_WORK_MEM` (PostgreSQL; until the
    transaction ends: its own, or the caller's when it is in one)."""

    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        if connection.vendor != "postgresql":
            return function(*args, **kwargs)
        with transaction.atomic(savepoint=False):
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('work_mem', %s, true)", [STATISTICS_WORK_MEM])
            return function(*args, **kwargs)

    return wrapper


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


def _grouped(rows, outer: str) -> list[tuple]:
    """The result of `outer`, SQL grouping the queryset `rows` (in place of `{rows}`): for
    aggregates the ORM cannot express, over its aggregates or windows."""
    inner, params = rows.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(outer.format(rows=inner), params)
        return cursor.fetchall()


def label_combinations(campaign: Campaign, utterances: Utterances = None) -> pd.DataFrame:
    """`decided_labels` grouped in the database: one row per distinct combination of final
    labels (columns t a v m) with `utterances`, how many utterances have it. A few hundred
    rows where `decided_labels` has one per utterance, built from one per job; every figure
    read from the labels takes them with these counts as weights."""
    decided = Q(state=State.DECIDED.value)
    final = Case(
        When(~Q(override_label=""), then=F("override_label")),
        When(decided, then=F("label")),
        default=Value(None),
        output_field=CharField(),
    )
    per_utterance = (
        _jobs(campaign, utterances)
        .filter(excluded=False)
        .values("utterance_id")
        .annotate(**{m: Max(Case(When(modality=m, then=final))) for m in MODALITIES})
        .order_by()
    )
    columns = ", ".join(connection.ops.quote_name(m) for m in MODALITIES)
    rows = _grouped(
        per_utterance, f"SELECT {columns}, COUNT(*) FROM ({{rows}}) AS grouped GROUP BY {columns}"
    )
    return pd.DataFrame(rows, columns=[*MODALITIES, "utterances"], dtype=object).astype(
        {"utterances": "int64"}
    )


def decided_labels(campaign: Campaign, jobs: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per utterance, columns t a v m: the label the dataset uses, or None."""
    frame = final_labels(campaign) if jobs is None else jobs
    if frame.empty:
        return pd.DataFrame(columns=list(MODALITIES), dtype=object)
    table = frame.pivot(index="utterance", columns="modality", values="final")
    return table.reindex(columns=list(MODALITIES))


def tally_sums(campaign: Campaign, utterances: Utterances = None) -> pd.DataFrame:
    """The tallies kept with every vote (`services.tallies`), summed per modality, label and
    job size: what Fleiss' κ and Krippendorff's α need (`statistics.agreement_sums`), in a
    few dozen rows instead of one per job and label. Excluded jobs don't count.

    κ takes each job's first three votes (in a fixed order: votes cast here by id, then
    imported ones in file order) and α all of them. Per (modality, label, `job_votes`: the
    job's votes over every label, kept on each tally): `n` the votes, `pairs` Σ n (n − 1),
    `first` the votes among the first three and `squares` Σ first². One join and a hash
    aggregate (a window summing each job's tallies took twice as long at 387k votes).
    """
    tallies = LabelTally.objects.filter(job__campaign=campaign, job__excluded=False)
    if utterances is not None:
        tallies = tallies.filter(job__utterance_id__in=list(utterances))
    rows = (
        tallies.values_list("job__modality", "label", "job_votes")
        .annotate(
            n=Sum("votes"),
            pairs=Sum(F("votes") * (F("votes") - 1)),
            first=Sum("first_votes"),
            squares=Sum(F("first_votes") * F("first_votes")),
        )
        .order_by()
    )
    return pd.DataFrame(list(rows), columns=list(statistics.TALLY_SUMS))


def utterances_frame(campaign: Campaign, utterances: Utterances = None) -> pd.DataFrame:
    excluded = Job.objects.filter(campaign=campaign, excluded=True).values("utterance_id")
    chosen = campaign.corpus.utterances.exclude(pk__in=excluded)
    if utterances is not None:
        chosen = chosen.filter(pk__in=list(utterances))
    columns = ["duration_seconds", "words", "speaker_gender", "age_group"]  # words kept per save
    rows = chosen.order_by().values_list("pk", *columns)
    return pd.DataFrame(list(rows), columns=["utterance", *columns]).set_index("utterance")


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
    campaign: Campaign,
    labels: pd.DataFrame | None = None,
    utterances: Utterances = None,
    weights: pd.Series | None = None,
) -> dict[str, Any]:
    """Jobs per modality and state, and utterances with all collected labels decided
    (`labels` one row per utterance, or per combination with `weights` as in
    `label_combinations`)."""
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
        combinations = label_combinations(campaign, utterances)
        labels, weights = combinations[list(MODALITIES)], combinations["utterances"]
    collected = [m for m in MODALITIES if m in campaign.modalities]
    every = labels[collected].notna().all(axis=1)
    complete = int(every.sum() if weights is None else weights[every].sum()) if len(labels) else 0
    excluded = _jobs(campaign, utterances).filter(excluded=True).values("utterance_id")
    return {
        "jobs": statistics.agreement_progress(list(states), modalities=collected),
        "utterances": (
            campaign.corpus.utterances.count() if utterances is None else len(set(utterances))
        ),
        "usable_utterances": complete,
        "excluded_utterances": excluded.distinct().count(),
    }


@_in_memory
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
    combinations = label_combinations(campaign, utterances)
    labels, weights = combinations[list(MODALITIES)], combinations["utterances"]
    kappa_sums, alpha_sums = statistics.agreement_sums(tally_sums(campaign, utterances))
    incon = statistics.inconsistency_matrix(labels, weights=weights)
    return statistics.to_jsonable(
        {
            "campaign": {
                "id": campaign.pk,
                "name": campaign.name,
                "corpus": campaign.corpus.name,
                "classes": classes,
                "modalities": campaign.modalities,
            },
            "progress": progress(campaign, labels, utterances, weights),
            "label_sources": label_sources(campaign, utterances),
            "label_distribution": statistics.label_distribution(labels, classes, weights=weights),
            "inconsistency": {"matrix": incon.matrix, "pairs": incon.pairs},
            "per_emotion_inconsistency": statistics.per_emotion_inconsistency(
                labels, classes, weights=weights
            ),
            "fleiss_kappa": statistics.fleiss_kappa_from_sums(kappa_sums, classes),
            "krippendorff_alpha": statistics.krippendorff_alpha_from_sums(alpha_sums, classes),
            "dataset": statistics.dataset_table(utterances_frame(campaign, utterances)),
        }
    )


class Median(Aggregate):
    """A column's median as pandas takes it: the middle value, or (a + b) / 2 of the two
    middle ones.

    PostgreSQL: the group's values packed into one byte string (`float8send` of each,
    joined by `string_agg`, a hash aggregate over the group's rows in any order) and the
    median taken by NumPy from it on the way out. `percentile_disc` would sort every vote
    again inside each group after sorting them into groups, spilling past the default
    `work_mem` (about twice as slow at 387k votes); the bytes carry the exact doubles, so
    the figure is the same. SQLite has no such functions: a Python aggregate."""

    template = "STRING_AGG(FLOAT8SEND(%(expressions)s), '')"
    output_field = FloatField()

    def as_sqlite(self, compiler, connection, **extra_context):
        connection.ensure_connection()
        connection.connection.create_aggregate("MEDIAN", 1, _MedianOfValues)
        return self.as_sql(compiler, connection, template="MEDIAN(%(expressions)s)")

    def convert_value(self, value, expression, connection) -> float | None:
        if isinstance(value, bytes | memoryview):  # PostgreSQL: big-endian doubles
            return float(np.median(np.frombuffer(value, dtype=">f8")))
        return None if value is None else float(value)


class _MedianOfValues:
    """SQLite's MEDIAN aggregate (`Median`)."""

    def __init__(self) -> None:
        self.values: list[float] = []

    def step(self, value: float | None) -> None:
        if value is not None:
            self.values.append(value)

    def finalize(self) -> float | None:
        return float(median(self.values)) if self.values else None


@_in_memory
def vote_quality(campaign: Campaign) -> dict[int, dict[str, Any]]:
    """Annotator id → what their quality reads from votes and verdicts: username, votes,
    agreement with the final labels (over `judged` votes), median seconds, and suspect votes
    per modality against the assistant run (selectors/predictions.py; {} without one). It
    changes only with the dashboard's data version, which caches it (`dashboard_cache`).

    One row per annotator, grouped from the campaign's votes alone: each vote carries its
    campaign and whether it names its job's final label (`Vote.agrees`, kept with every
    vote and verdict by services/tallies.py; empty while the job has none or is excluded),
    so no join with the jobs (that join was most of the dashboard's cold time at 387k)."""
    rows = list(
        Vote.objects.filter(campaign=campaign)
        .values("annotator_id")
        .annotate(
            votes=Count("pk"),
            median_seconds=Median("seconds_spent"),
            judged=Count("pk", filter=Q(agrees__isnull=False)),
            agreeing=Count("pk", filter=Q(agrees=True)),
        )
        .order_by()
    )
    # Names apart: grouping by them too sorted every vote by name (no hash aggregate).
    voters = get_user_model().objects.filter(pk__in=[row["annotator_id"] for row in rows])
    names = dict(voters.values_list("pk", "username"))
    suspects = suspect_table(campaign)
    return {
        row["annotator_id"]: {
            "username": names[row["annotator_id"]],
            "votes": row["votes"],
            "agreement": row["agreeing"] / row["judged"] if row["judged"] else None,
            "judged": row["judged"],
            "median_seconds": float(row["median_seconds"]),
            "suspects": suspects.get(row["annotator_id"], {}),
        }
        for row in rows
    }


def annotator_quality(
    campaign: Campaign, voted: dict[int, dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Per annotator who voted: `vote_quality` (computed unless given, as the dashboard's
    cache gives it), with the skip rate, pause, accuracy on hidden gold checks per modality
    and outlier flag, read now (skips and gold answers change no job: not in the cache)."""
    voted = vote_quality(campaign) if voted is None else voted
    leases = {
        annotator: (n, skipped)
        for annotator, n, skipped in Lease.objects.filter(campaign=campaign, kind=Lease.Kind.JOB)
        .values_list("annotator_id")
        .annotate(n=Count("pk"), skipped=Count("pk", filter=Q(status=Lease.Status.SKIPPED)))
        .order_by()
    }
    paused = dict(campaign.pauses.values_list("annotator_id", "reason"))
    gold = gold_accuracy_table(campaign)
    rows = []
    for annotator, mine in voted.items():
        n_leases, skipped = leases.get(annotator, (1, 0))
        rows.append(
            {
                "annotator": annotator,
                **mine,
                "skip_rate": skipped / n_leases,
                "paused": annotator in paused,
                "pause_reason": paused.get(annotator, ""),
                "gold": {
                    modality: {"right": right, "answered": answered, "accuracy": right / answered}
                    for (who, modality), (right, answered) in sorted(gold.items())
                    if who == annotator and answered
                },
            }
        )
    _flag_outliers(rows)
    return sorted(rows, key=lambda row: row["username"])


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


def _a_vote_names(campaign: Campaign, emotion: str) -> Q:
    """Jobs with a vote for `emotion`: its label, or (multi-label) among its set."""
    if not campaign.is_multi_label:
        return Q(votes__label=emotion)
    if connection.features.supports_json_field_contains:
        return Q(votes__label_set__contains=[emotion])
    # SQLite has no JSON containment: the campaign's sets are read (embedded-size data)
    sets = Vote.objects.filter(campaign=campaign).values_list("job_id", "label_set")
    return Q(pk__in={job for job, labels in sets if emotion in (labels or ())})


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
    if emotion:
        jobs = jobs.filter(_a_vote_names(campaign, emotion)).distinct()
    if annotator:
        jobs = jobs.filter(votes__annotator_id=annotator).distinct()
    return jobs
