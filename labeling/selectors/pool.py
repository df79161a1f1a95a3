"""Reads about a campaign's pool: who may vote where, the pool check, and stuck jobs.

What counts (design note: labeling/services/assignment.md, "The pool and stuck jobs"): a
pool member may vote unless paused in the campaign, or, with the independence guard on,
one of its screeners; in a modality with an exam only once they passed it. A job is
*stuck* when it still wants votes, nobody holds a live lease on it, and no such member
may be given it: every one of them already had it (voted, skipped or let it expire) or,
with the guard, saw its utterance otherwise (another modality, a gold item, screening).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import connection
from django.db.models import Exists, OuterRef
from django.utils import timezone

from labeling.models import (
    AnnotatorPause,
    Campaign,
    ClipScreening,
    ExamAttempt,
    GoldItem,
    Job,
    Lease,
)
from labeling.pool import PoolCheck, annotators, check_pool

REASONS = {
    "nobody": "nobody in the pool may vote in this modality (paused, or its exam not passed)",
    "had_it": "everyone in the pool who may vote here has already voted on it or skipped it",
    "guard": "the independence guard: everyone else in the pool has already seen the "
    "utterance in another modality",
}


def pool_members(campaign: Campaign) -> dict[int, str]:
    """Pool member id → the collected modalities they may vote in now ("" for none yet),
    for every member who is neither paused nor, with the guard on, a screener."""
    members = campaign.annotators.annotate(
        paused=Exists(AnnotatorPause.objects.filter(campaign=campaign, annotator=OuterRef("pk"))),
        screens=Exists(
            Campaign.screeners.through.objects.filter(campaign=campaign, user=OuterRef("pk"))
        ),
    ).values_list("pk", "paused", "screens")
    ids = [
        pk
        for pk, paused, screens in members
        if not paused and not (screens and campaign.independence_guard)
    ]
    examined = set(campaign.exams.values_list("modality", flat=True))
    passed: dict[int, set[str]] = {}
    if examined:
        for annotator, modality in ExamAttempt.objects.filter(
            exam__campaign=campaign, passed=True
        ).values_list("annotator_id", "exam__modality"):
            passed.setdefault(annotator, set()).add(modality)
    return {
        pk: "".join(m for m in campaign.modalities if m not in examined or m in passed.get(pk, ()))
        for pk in ids
    }


def pool_check(campaign: Campaign, members: dict[int, str] | None = None) -> PoolCheck:
    """The campaign's need (labeling/pool.py) beside the members who may vote."""
    members = pool_members(campaign) if members is None else members
    return check_pool(
        campaign.rule,
        campaign.modalities,
        campaign.independence_guard,
        list(members.values()),
        name=f"Campaign {campaign.name!r}",
    )


@dataclass(frozen=True)
class StuckJobs:
    """Jobs no remaining pool member may vote on, per modality and reason."""

    independence_guard: bool
    per_modality: dict[str, dict[str, int]] = field(default_factory=dict)
    add_annotators: int = 0  # new members, free to vote everywhere, that unstick them all

    @property
    def total(self) -> int:
        return sum(sum(reasons.values()) for reasons in self.per_modality.values())

    def rows(self) -> list[dict]:
        """For the dashboard: one row per modality with stuck jobs, reasons in words."""
        return [
            {
                "modality": modality,
                "jobs": sum(reasons.values()),
                "reasons": [(REASONS[r], n) for r, n in reasons.items()],
            }
            for modality, reasons in self.per_modality.items()
        ]

    @property
    def fix(self) -> str:
        if not self.total:
            return ""
        reasons = {r for per in self.per_modality.values() for r in per}
        fix = f"Add {annotators(self.add_annotators)} to the pool"
        if "guard" in reasons:
            fix += ", or turn the independence guard off"
        if "nobody" in reasons:
            fix += "; resuming paused annotators or more passed exams help too"
        return fix + "."

    def as_dict(self) -> dict:
        return {
            "total": self.total,
            "per_modality": self.per_modality,
            "add_annotators": self.add_annotators,
            "fix": self.fix,
        }


def stuck_jobs(campaign: Campaign, members: dict[int, str] | None = None) -> StuckJobs:
    """Count the campaign's stuck jobs in one SQL statement (any size of campaign).

    `add_annotators`: with the guard a new member votes on one modality per utterance, so
    the most votes the stuck jobs of one utterance may still take, summed; without it the
    most any stuck job may take.
    """
    members = pool_members(campaign) if members is None else members
    eligible = [(pk, m) for pk, allowed in members.items() for m in allowed]
    eligible_sql = " UNION ALL ".join(
        ["SELECT CAST(%s AS BIGINT) AS annotator_id, CAST(%s AS VARCHAR(1)) AS modality"]
        * len(eligible)
    ) or (
        "SELECT CAST(NULL AS BIGINT) AS annotator_id, CAST(NULL AS VARCHAR(1)) AS modality "
        "WHERE 1 = 0"
    )
    job, lease = Job._meta.db_table, Lease._meta.db_table
    gold, screening = GoldItem._meta.db_table, ClipScreening._meta.db_table
    blocked = "COALESCE(saw.n, 0)" if campaign.independence_guard else "COALESCE(had.n, 0)"
    per_utterance = "SUM(needed)" if campaign.independence_guard else "MAX(needed)"
    sql = f"""
        WITH eligible AS ({eligible_sql}),
        sizes AS (SELECT modality, COUNT(*) AS n FROM eligible GROUP BY modality),
        wanting AS (
            SELECT j.id, j.utterance_id, j.modality,
                   %s + j.extra_votes - j.votes_count AS needed
            FROM {job} j
            WHERE j.campaign_id = %s AND j.priority < %s AND NOT j.excluded
        ),
        live AS (
            SELECT DISTINCT l.job_id FROM {lease} l JOIN wanting w ON w.id = l.job_id
            WHERE l.status = %s AND l.expires_at > %s
        ),
        had AS (
            SELECT l.job_id, COUNT(*) AS n FROM {lease} l
            JOIN wanting w ON w.id = l.job_id
            JOIN eligible e ON e.annotator_id = l.annotator_id AND e.modality = w.modality
            GROUP BY l.job_id
        ),
        seen AS (
            SELECT l.annotator_id, COALESCE(sj.utterance_id, g.utterance_id) AS utterance_id
            FROM {lease} l
            LEFT JOIN {job} sj ON sj.id = l.job_id
            LEFT JOIN {gold} g ON g.id = l.gold_item_id
            WHERE l.annotator_id IN (SELECT annotator_id FROM eligible)
            UNION
            SELECT s.screener_id, s.utterance_id FROM {screening} s
            WHERE s.screener_id IN (SELECT annotator_id FROM eligible)
            UNION
            SELECT s.leased_to_id, s.utterance_id FROM {screening} s
            WHERE s.leased_to_id IN (SELECT annotator_id FROM eligible)
        ),
        saw AS (
            SELECT seen.utterance_id, e.modality, COUNT(*) AS n
            FROM seen JOIN eligible e ON e.annotator_id = seen.annotator_id
            WHERE seen.utterance_id IN (SELECT utterance_id FROM wanting)
            GROUP BY seen.utterance_id, e.modality
        ),
        stuck AS (
            SELECT w.utterance_id, w.modality, w.needed,
                   CASE WHEN z.n IS NULL THEN 'nobody'
                        WHEN COALESCE(had.n, 0) >= z.n THEN 'had_it'
                        ELSE 'guard' END AS reason
            FROM wanting w
            LEFT JOIN sizes z ON z.modality = w.modality
            LEFT JOIN had ON had.job_id = w.id
            LEFT JOIN saw ON saw.utterance_id = w.utterance_id AND saw.modality = w.modality
            WHERE w.id NOT IN (SELECT job_id FROM live) AND {blocked} >= COALESCE(z.n, 0)
        )
        SELECT modality, reason, COUNT(*) FROM stuck GROUP BY modality, reason
        UNION ALL
        SELECT '', '', MAX(votes) FROM (
            SELECT {per_utterance} AS votes FROM stuck GROUP BY utterance_id
        ) AS per_utterance
    """
    params = [
        *(value for pair in eligible for value in pair),
        campaign.max_votes,
        campaign.pk,
        Job.Priority.FINAL,
        Lease.Status.ACTIVE,
        timezone.now(),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    per_modality: dict[str, dict[str, int]] = {}
    add = 0
    for modality, reason, n in rows:
        if not modality:
            add = int(n or 0)
        else:
            per_modality.setdefault(modality, {})[reason] = int(n)
    ordered = {m: per_modality[m] for m in campaign.modalities if m in per_modality}
    return StuckJobs(campaign.independence_guard, ordered, add)


def campaign_is_stuck(campaign: Campaign) -> bool:
    """Whether some job needs votes nobody left in the pool may give (no labels revealed)."""
    return stuck_jobs(campaign).total > 0
