"""The SQL behind a next-task on its common path (assignment.md, "Three statements"): the
annotator's lock and context, and the claim, which picks the first eligible job and inserts
the lease in one statement; and behind a vote (assignment.md, "Submit"): the lease and its
job locked and read with the campaign and membership in one statement, the vote cast with
the job's votes read back, the verdict written with the lease closed.

Both are written once for PostgreSQL and SQLite; only the lock clauses differ. SQLite has no
row locks and needs none: every transaction starts with BEGIN IMMEDIATE (settings), so writers
are serialised and each statement sees every committed lease.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache

from django.contrib.auth import get_user_model
from django.db import connection

from labeling import rows
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
    Vote,
)
from labeling.verdicts import State


@cache
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
        "campaign": Campaign._meta.db_table,
        "vote": Vote._meta.db_table,
    }


def _membership(user: str, campaign: str) -> str:
    """Two columns: whether `user` is in `campaign`'s pool, and the reason of their pause
    there (NULL when not paused); SQL expressions over the enclosing query's rows."""
    t = _tables()
    return f"""
          EXISTS (SELECT 1 FROM {t["member"]} m
                  WHERE m.campaign_id = {campaign} AND m.user_id = {user}),
          (SELECT p.reason FROM {t["pause"]} p
            WHERE p.campaign_id = {campaign} AND p.annotator_id = {user} LIMIT 1)"""


def lock_annotator(annotator) -> None:
    """Statement 1: `SELECT … FOR UPDATE` on the annotator's user row, which serialises one
    person's own requests (the guard, one lease at a time, exams, screening). None on SQLite:
    every transaction there already holds the database's write lock from BEGIN IMMEDIATE."""
    if not connection.features.has_select_for_update:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {_tables()['user']} WHERE id = %s FOR UPDATE", [annotator.pk]
        )


def membership(annotator, campaign: Campaign) -> tuple[bool, str | None]:
    """(in the pool, pause reason or None), one statement."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_membership('%(a)s', '%(c)s')}", {"a": annotator.pk, "c": campaign.pk}
        )
        member, pause = cursor.fetchone()
    return bool(member), pause


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
        SELECT {_membership("u.id", "%(c)s")},
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


def _usually_true(condition: str) -> str:
    """`condition` as PostgreSQL's planner should weigh it: a comparison with a subquery is
    estimated true for 1 row in 200, and two of them made it expect no eligible job at all
    in a fresh campaign of 115k. Then the claim's LIMIT 1 could not pay for the walk down the
    assignment-order index, and depending on the statistics of the day it sorted every job
    instead, running each subquery per job: 2.8–3.4 s per claim where the walk takes 0.5 ms
    (bench/assignment.py). A CASE is an expression it cannot look into, weighed 1 in 2."""
    return f"CASE WHEN {condition} THEN TRUE ELSE FALSE END"


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
    playable = _usually_true(
        f"""(SELECT r.status FROM {t["rendition"]} r
               WHERE r.utterance_id = j.utterance_id AND r.modality = j.modality LIMIT 1)
             = '{Rendition.Status.DONE.value}'"""
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
          AND {playable}
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
    current = f"j.xmin = (SELECT v.xmin FROM {t['job']} v WHERE v.id = j.id)"
    version = f" AND {_usually_true(current)}" if postgres else ""
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


@dataclass(frozen=True)
class HeldJobLease:
    lease: Lease  # with its campaign
    job: Job  # locked, its newest version
    member: bool
    pause: str | None


@cache
def _lock_job_lease_sql(vendor: str) -> str:
    t = _tables()
    lock = " FOR UPDATE OF l, j" if connection.features.has_select_for_update_of else ""
    return f"""
        SELECT {rows.columns(Lease, "l")}, {rows.columns(Campaign, "c")}, {rows.columns(Job, "j")},
          {_membership("l.annotator_id", "l.campaign_id")}
        FROM {t["lease"]} l JOIN {t["campaign"]} c ON c.id = l.campaign_id
          JOIN {t["job"]} j ON j.id = l.job_id
        WHERE l.id = %s AND l.annotator_id = %s{lock}"""


def lock_job_lease(annotator, lease_id: int) -> HeldJobLease | None:
    """Submit's first statement: the annotator's lease on a job, locked with its job (lease
    first, then job, the order every vote takes them), its campaign, and the annotator's
    membership and pause there; None when it is no job lease of theirs.

    The job's row is the newest version after any wait for its lock (PostgreSQL re-reads
    locked rows), so its state and votes are current; the job's votes are read by the next
    statement, which sees what committed before the lock was granted. Membership is read in
    the statement's snapshot, as a statement of its own before the lock would have been."""
    with connection.cursor() as cursor:
        cursor.execute(_lock_job_lease_sql(connection.vendor), [lease_id, annotator.pk])
        row = cursor.fetchone()
    if row is None:
        return None
    a, b = rows.width(Lease), rows.width(Lease) + rows.width(Campaign)
    c = b + rows.width(Job)
    lease, campaign, job = (
        rows.load(Lease, row[:a]),
        rows.load(Campaign, row[a:b]),
        rows.load(Job, row[b:c]),
    )
    lease.campaign = job.campaign = campaign
    lease.job = job
    return HeldJobLease(lease, job, bool(row[c]), row[c + 1])


Answers = list[tuple[str, list[str] | None]]  # a job's votes: (label, label_set) each


def _answers(found) -> Answers:
    return [(label, rows.convert(Vote, "label_set", label_set)) for label, label_set in found]


def cast_vote(vote: Vote) -> Answers:
    """Insert the vote (its id is set) and read back all the job's votes, this one included:
    one statement on PostgreSQL, two on SQLite (no INSERT inside a WITH there). Run under
    the job's lock, so the read sees every vote committed before it."""
    t = _tables()
    params = {
        "job": vote.job_id,
        "campaign": vote.campaign_id,
        "annotator": vote.annotator_id,
        "lease": vote.lease_id,
        "label": vote.label,
        "label_set": rows.prepare(Vote, "label_set", vote.label_set),
        "spent": vote.seconds_spent,
        "created": rows.prepare(Vote, "created_at", vote.created_at),
    }
    insert = f"""INSERT INTO {t["vote"]}
          (job_id, campaign_id, annotator_id, lease_id, label, label_set, seconds_spent,
           created_at)
        VALUES (%(job)s, %(campaign)s, %(annotator)s, %(lease)s, %(label)s, %(label_set)s,
                %(spent)s, %(created)s)
        RETURNING id, label, label_set"""
    others = f"SELECT id, label, label_set FROM {t['vote']} WHERE job_id = %(job)s"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # The WITH's insert is not in the statement's snapshot: the others are read apart.
            cursor.execute(
                f"WITH cast_vote AS ({insert}) SELECT id, label, label_set FROM cast_vote "
                f"UNION ALL SELECT -1, label, label_set FROM ({others}) AS others",
                params,
            )
            found = cursor.fetchall()
            vote.pk = next(pk for pk, _, _ in found if pk != -1)
        else:
            cursor.execute(insert, params)
            vote.pk = cursor.fetchone()[0]
            cursor.execute(others, params)
            found = cursor.fetchall()
    vote._state.adding, vote._state.db = False, connection.alias
    return _answers((label, label_set) for _, label, label_set in found)


def job_answers(job_id: int) -> Answers:
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT label, label_set FROM {_tables()['vote']} WHERE job_id = %s", [job_id]
        )
        return _answers(cursor.fetchall())


def write_verdict(job: Job, closing: Lease | None = None) -> None:
    """Store the job's verdict fields (set on `job`, with `updated_at`) and, with a vote,
    close its lease (`closing`: status and closed_at as set) in the same statement on
    PostgreSQL; two on SQLite."""
    t = _tables()
    params = {
        "id": job.pk,
        "state": job.state,
        "label": job.label,
        "label_set": rows.prepare(Job, "label_set", job.label_set),
        "undecided": rows.prepare(Job, "undecided_labels", job.undecided_labels),
        "votes": job.votes_count,
        "priority": job.priority,
        "updated": rows.prepare(Job, "updated_at", job.updated_at),
    }
    update = f"""UPDATE {t["job"]} SET state = %(state)s, label = %(label)s,
          label_set = %(label_set)s, undecided_labels = %(undecided)s, votes_count = %(votes)s,
          priority = %(priority)s, updated_at = %(updated)s
        WHERE id = %(id)s"""
    if closing is not None:
        params.update(
            lease=closing.pk,
            status=closing.status,
            closed=rows.prepare(Lease, "closed_at", closing.closed_at),
        )
    close = (
        f"UPDATE {t['lease']} SET status = %(status)s, closed_at = %(closed)s WHERE id = %(lease)s"
    )
    with connection.cursor() as cursor:
        if closing is None:
            cursor.execute(update, params)
        elif connection.vendor == "postgresql":
            cursor.execute(f"WITH closed AS ({close}) {update}", params)
        else:
            cursor.execute(update, params)
            cursor.execute(close, params)
