"""The dashboard's counters, kept in the transaction of every vote and verdict: vote counts
per job and label (`LabelTally`), and each vote's agreement with its job's final label
(`Vote.agrees`), which annotator quality counts without joining the votes to their jobs.

One function keeps them: `recount(job)`, called by whoever changes a job's votes or its
final label (a vote cast or revised, a re-opened job's verdict, imported raw votes, a
reviewer's label, an exclusion), under the job's lock. It recounts the job from its own
votes (a handful), so nothing can drift from the votes the way increments could; rows are
per job, so concurrent voters on different jobs never wait for each other.
`recount_campaign` fills a campaign's at once (after a bulk load, or to repair). Design
note: tallies.md beside this file.
"""

from __future__ import annotations

from django.db import connection

from labeling.models import Campaign, ImportedVote, Job, LabelTally, Vote
from labeling.verdicts import State

FIRST_VOTES = 3  # Fleiss' κ takes each job's first three votes


def _recount_sql(where: str) -> str:
    """INSERT the tallies of the jobs `where` selects (over alias `j`) from their votes.

    A job's votes in order: cast here by id, then imported ones in file order (by id).
    Multi-label votes (label "") have no tallies: their statistics read the label sets.
    Each row also carries the job's votes over every label (`job_votes`), which the
    statistics group by instead of summing a window over every tally of the campaign.
    """
    tally, vote = LabelTally._meta.db_table, Vote._meta.db_table
    imported, job = ImportedVote._meta.db_table, Job._meta.db_table
    return f"""
        INSERT INTO {tally} (job_id, label, votes, first_votes, job_votes)
        SELECT ranked.job_id, ranked.label, COUNT(*),
               SUM(CASE WHEN ranked.position <= {FIRST_VOTES} THEN 1 ELSE 0 END),
               MAX(ranked.job_votes)
        FROM (
            SELECT cast_votes.job_id, cast_votes.label, ROW_NUMBER() OVER (
                       PARTITION BY cast_votes.job_id ORDER BY cast_votes.source, cast_votes.id
                   ) AS position,
                   SUM(CASE WHEN cast_votes.label <> '' THEN 1 ELSE 0 END) OVER (
                       PARTITION BY cast_votes.job_id
                   ) AS job_votes
            FROM (SELECT job_id, label, id, 0 AS source FROM {vote}
                  UNION ALL SELECT job_id, label, id, 1 AS source FROM {imported}) AS cast_votes
            JOIN {job} AS j ON j.id = cast_votes.job_id
            WHERE {where}
        ) AS ranked
        WHERE ranked.label <> ''
        GROUP BY ranked.job_id, ranked.label
    """


# Single-label votes: `vote_agrees` in SQL. A vote whose agreement is and stays empty (the
# first votes of a job) is not rewritten: no dead row per vote for the scans to step over.
_AGREES = """(
    SELECT CASE WHEN j.excluded THEN NULL
                WHEN j.override_label <> '' THEN {vote}.label = j.override_label
                WHEN j.state = %(decided)s THEN {vote}.label = j.label
                ELSE NULL END
    FROM {job} AS j WHERE j.id = {vote}.job_id
)"""
_AGREES_SQL = """
    UPDATE {vote} SET agrees = {agrees}
    WHERE {where} AND ({vote}.agrees IS NOT NULL OR {agrees} IS NOT NULL)
"""


def vote_agrees(job: Job, label: str, label_set: list[str] | None) -> bool | None:
    """Whether a vote names the job's final label (a reviewer's, else the decided verdict):
    None while the job has none or is excluded. Multi-label: exactly its set, in any order."""
    if label_set is None:
        final = job.final_label
        return None if not final else label == final
    final_set = job.final_label_set
    return None if final_set is None else frozenset(label_set) == frozenset(final_set)


def recount(job: Job) -> None:
    """Make the job's tallies and its votes' agreement equal its votes and final label. The
    caller holds the job's lock (or is the only writer) inside the transaction that changed
    them; `job` carries its campaign and current fields."""
    if job.campaign.is_multi_label:
        LabelTally.objects.filter(job_id=job.pk).delete()
        _agree_in_python(Vote.objects.filter(job_id=job.pk), {job.pk: job})
    else:  # the old tallies deleted beside the update: one statement on PostgreSQL
        _agree_in_sql(f"{Vote._meta.db_table}.job_id = %(id)s", {"id": job.pk}, clear=job.pk)
    with connection.cursor() as cursor:
        cursor.execute(_recount_sql("j.id = %s"), [job.pk])


def recount_campaign(campaign: Campaign) -> None:
    """Every job's tallies and every vote's agreement in the campaign, in one statement each
    (a backfill or a repair; votes bulk-loaded without the services need it)."""
    LabelTally.objects.filter(job__campaign=campaign).delete()
    with connection.cursor() as cursor:
        cursor.execute(_recount_sql("j.campaign_id = %s"), [campaign.pk])
    if campaign.is_multi_label:
        jobs = Job.objects.filter(campaign=campaign).select_related("campaign").in_bulk()
        _agree_in_python(Vote.objects.filter(campaign=campaign), jobs)
    else:
        _agree_in_sql(f"{Vote._meta.db_table}.campaign_id = %(id)s", {"id": campaign.pk})


def _agree_in_sql(where: str, params: dict, clear: int | None = None) -> None:
    """Single-label votes' agreement where `where`; with `clear`, that job's tallies are
    deleted first (in the same statement on PostgreSQL), for `recount` to insert anew."""
    vote, job = Vote._meta.db_table, Job._meta.db_table
    agrees = _AGREES.format(vote=vote, job=job)
    sql = _AGREES_SQL.format(vote=vote, agrees=agrees, where=where)
    params = {**params, "decided": State.DECIDED.value, "cleared": clear}
    delete = f"DELETE FROM {LabelTally._meta.db_table} WHERE job_id = %(cleared)s"
    with connection.cursor() as cursor:
        if clear is not None and connection.vendor == "postgresql":
            cursor.execute(f"WITH cleared AS ({delete}) {sql}", params)
            return
        if clear is not None:
            cursor.execute(delete, params)
        cursor.execute(sql, params)


def _agree_in_python(votes, jobs: dict[int, Job]) -> None:
    """Multi-label: sets compared as sets (stored orders may differ after the campaign's
    label order changed), so in Python; only the votes whose agreement changed are written."""
    changed = []
    for vote in votes.only("pk", "job_id", "label", "label_set", "agrees"):
        agrees = vote_agrees(jobs[vote.job_id], vote.label, vote.label_set)
        if agrees != vote.agrees:
            vote.agrees = agrees
            changed.append(vote)
    Vote.objects.bulk_update(changed, ["agrees"], batch_size=2000)
