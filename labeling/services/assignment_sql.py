"""The SQL behind a next-task on its common path (assignment.md, "Three statements"): the
annotator's context, read under their row lock, and the claim, which picks the first
eligible job and inserts the lease in one statement.

Both are written once for PostgreSQL and SQLite; only the lock clauses differ. SQLite has no
row locks and needs none: every transaction starts with BEGIN IMMEDIATE (settings), so writers
are serialised and each statement sees every committed lease.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import connection

from labeling.models import (
    AnnotatorPause,
    Campaign,
    ClipScreening,
    Exam,
    ExamAttempt,
    GoldItem,
    Job,
    Lease,
    Rendition,
)
from labeling.verdicts import State


def _tables() -> dict[str, str]:
    return {
        "user": get_user_model()._meta.db_table,
        "job": Job._meta.db_table,
        "lease": Lease._meta.db_table,
        "rendition": Rendition._meta.db_table,
        "screening": ClipScreening._meta.db_table,
        "gold": GoldItem._meta.db_table,
        "exam": Exam._meta.db_table,
        "attempt": ExamAttempt._meta.db_table,
        "pause": AnnotatorPause._meta.db_table,
        "member": Campaign.annotators.through._meta.db_table,
    }


def open_slots_sql(initial_votes: str = "%(initial)s") -> str:
    """`labeling.verdicts.open_slots` as a SQL expression over a job row `j` (a test checks
    they agree for every state and vote count): open jobs take votes up to the initial count,
    a split one one at a time, a settled one none."""
    return (
        f"CASE j.state WHEN '{State.OPEN.value}' THEN "
        f"CASE WHEN {initial_votes} > j.votes_count THEN {initial_votes} - j.votes_count "
        f"ELSE 0 END "
        f"WHEN '{State.NEEDS_VOTE.value}' THEN 1 ELSE 0 END"
    )


@dataclass(frozen=True)
class Context:
    member: bool
    pause: str | None
    locked: str  # modalities whose exam the annotator has not passed
    live: int  # their active job/check leases in the campaign (any left: the slow path)


def read_context(annotator, campaign: Campaign) -> Context:
    """Statement 2, under the annotator's row lock (statement 1, `lock_annotator`: it
    serialises their own requests, so the guard and "at most current + next" hold): their
    membership, pause, exams not passed and whether they hold any live task, in one round
    trip. Not folded into the locking statement: a statement that waits for a row lock still
    reads in the snapshot taken before the wait, so it would miss the lease the request it
    waited for has just committed."""
    t = _tables()
    exams = ", ".join(
        f"EXISTS (SELECT 1 FROM {t['exam']} e WHERE e.campaign_id = %(c)s "
        f"AND e.modality = '{m}' AND NOT EXISTS (SELECT 1 FROM {t['attempt']} x "
        f"WHERE x.exam_id = e.id AND x.annotator_id = %(a)s AND x.passed))"
        for m in campaign.modalities
    )
    sql = f"""
        SELECT
          EXISTS (SELECT 1 FROM {t["member"]} m WHERE m.campaign_id = %(c)s AND m.user_id = u.id),
          (SELECT p.reason FROM {t["pause"]} p
            WHERE p.campaign_id = %(c)s AND p.annotator_id = u.id LIMIT 1),
          (SELECT COUNT(*) FROM {t["lease"]} l
            WHERE l.annotator_id = u.id AND l.campaign_id = %(c)s
              AND l.status = '{Lease.Status.ACTIVE.value}'
              AND l.kind IN ('{Lease.Kind.JOB.value}', '{Lease.Kind.CHECK.value}')),
          {exams}
        FROM {t["user"]} u WHERE u.id = %(a)s"""
    with connection.cursor() as cursor:
        cursor.execute(sql, {"a": annotator.pk, "c": campaign.pk})
        member, pause, live, *locked = cursor.fetchone()
    modalities = "".join(m for m, no in zip(campaign.modalities, locked, strict=True) if no)
    return Context(bool(member), pause, modalities, int(live))


def _eligible_jobs(t: dict[str, str], guard: bool, modality_filter: str) -> str:
    """The WHERE of jobs this annotator may be given now, over `j` (one place: the claim and
    the probe before a gold check both use it)."""
    seen_utterances = (
        f"""
          AND j.utterance_id NOT IN (
            SELECT sj.utterance_id FROM {t["lease"]} s JOIN {t["job"]} sj ON sj.id = s.job_id
              WHERE s.annotator_id = %(a)s
            UNION SELECT g.utterance_id FROM {t["lease"]} s JOIN {t["gold"]} g
              ON g.id = s.gold_item_id WHERE s.annotator_id = %(a)s
            UNION SELECT cs.utterance_id FROM {t["screening"]} cs
              WHERE cs.screener_id = %(a)s OR cs.leased_to_id = %(a)s)"""
        if guard
        else ""
    )
    return f"""
        j.campaign_id = %(c)s AND j.priority < {Job.Priority.FINAL}{modality_filter}
          -- never a job this annotator had (voted, skipped, expired, released)
          AND j.id NOT IN (SELECT s.job_id FROM {t["lease"]} s
                           WHERE s.annotator_id = %(a)s AND s.job_id IS NOT NULL)
          -- the independence guard: no utterance they were shown in any way{seen_utterances}
          -- its media is ready to play (a scalar subquery, not EXISTS: PostgreSQL would turn
          -- EXISTS into a join driven from renditions and score every job before sorting;
          -- this keeps the walk down the assignment-order index, stopping at the first)
          AND (SELECT r.status FROM {t["rendition"]} r WHERE r.utterance_id = j.utterance_id
               AND r.modality = j.modality LIMIT 1) = '{Rendition.Status.DONE.value}'
          -- a slot is free: live leases (shown or ahead) below the open slots
          AND (SELECT COUNT(*) FROM {t["lease"]} o WHERE o.job_id = j.id
               AND o.status = '{Lease.Status.ACTIVE.value}' AND o.expires_at > %(now)s)
              < {open_slots_sql()}"""


def _params(annotator, campaign: Campaign, allowed: str, now: datetime) -> tuple[dict, str]:
    params = {
        "a": annotator.pk,
        "c": campaign.pk,
        "initial": campaign.initial_votes,
        "now": connection.ops.adapt_datetimefield_value(now),
    }
    if allowed == campaign.modalities:
        return params, ""
    params.update({f"m{i}": m for i, m in enumerate(allowed)})
    return params, f" AND j.modality IN ({', '.join(f'%(m{i})s' for i in range(len(allowed)))})"


ORDER = "ORDER BY j.priority, j.votes_count DESC, j.turn, j.id"  # index job_assignment_order


def any_job_left(annotator, campaign: Campaign, allowed: str, now: datetime) -> bool:
    """Whether a claim would find a job (asked only before a hidden gold check, so checks
    stop with the jobs and never tell themselves apart by coming alone)."""
    t = _tables()
    params, modality_filter = _params(annotator, campaign, allowed, now)
    sql = f"""SELECT 1 FROM {t["job"]} j
        WHERE {_eligible_jobs(t, campaign.independence_guard, modality_filter)} LIMIT 1"""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone() is not None


def claim_job(annotator, campaign: Campaign, allowed: str, ahead: bool, now: datetime):
    """Statement 3: pick the first eligible job in assignment order and insert the lease on
    it, in one statement; the new lease's id, or None when no job is left for them.

    PostgreSQL, concurrent claims (READ COMMITTED): `FOR UPDATE OF j SKIP LOCKED` makes a
    claimer pass over a job another is claiming (or voting on) right now instead of waiting.
    The conditions are read in the statement's snapshot, which is older than the lock: a
    claimer who committed a lease on the same job after the snapshot would not be counted.
    So every claim also *updates* the job row (`pick`→`bump`), and `j.xmin` (the row
    version) must equal the version in the snapshot: when the row changed since, PostgreSQL
    re-checks the locked row's newest version (EvalPlanQual), the versions differ, the row
    fails the check and the scan moves on to the next job. Votes and a lease ahead being
    shown (`show_ahead`) update the row too; closing a lease only frees a slot, so reading
    it stale errs on the safe side. The clock is read before the statement, so a lease
    expiring meanwhile still counts as live: safe too.
    """
    t = _tables()
    params, modality_filter = _params(annotator, campaign, allowed, now)
    params.update(
        {
            "ahead": ahead,
            "expires": connection.ops.adapt_datetimefield_value(
                now + timedelta(seconds=campaign.lease_seconds)
            ),
            "kind": Lease.Kind.JOB.value,
            "active": Lease.Status.ACTIVE.value,
        }
    )
    postgres = connection.vendor == "postgresql"
    version = (
        f" AND j.xmin = (SELECT v.xmin FROM {t['job']} v WHERE v.id = j.id)" if postgres else ""
    )
    lock = " FOR UPDATE OF j SKIP LOCKED" if postgres else ""
    pick = f"""SELECT j.id FROM {t["job"]} j
        WHERE {_eligible_jobs(t, campaign.independence_guard, modality_filter)}{version}
        {ORDER} LIMIT 1{lock}"""
    insert = f"""INSERT INTO {t["lease"]}
          (campaign_id, kind, job_id, annotator_id, status, created_at, expires_at, ahead,
           shown_at, skip_reason)
        SELECT %(c)s, %(kind)s, id, %(a)s, %(active)s, %(now)s, %(expires)s, %(ahead)s,
               %(now)s, '' FROM {{source}}
        RETURNING id, job_id"""
    if postgres:
        sql = f"""WITH pick AS ({pick}),
            bump AS (UPDATE {t["job"]} SET votes_count = votes_count
                     WHERE id IN (SELECT id FROM pick) RETURNING id)
            {insert.format(source="bump")}"""
    else:
        sql = insert.format(source=f"({pick}) AS pick")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    return row  # (lease id, job id) or None


def touch_job(job_id: int) -> None:
    """Lock and update a job's row (a new row version) before a live lease on it is
    extended: a concurrent claim then re-checks the job instead of trusting its snapshot
    (see claim_job)."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {Job._meta.db_table} SET votes_count = votes_count WHERE id = %s", [job_id]
        )
