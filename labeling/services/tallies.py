"""Vote counts per job and label (`LabelTally`), written in the transaction of every vote.

One function keeps them: `recount(job_id)`, called by whoever changes a job's votes (a vote
cast or revised, a re-opened job's verdict, imported raw votes), under the job's lock. It
recounts the job from its own votes (a handful), so a tally can never drift from the votes
the way increments could; rows are per job, so concurrent voters on different jobs never
wait for each other. `recount_campaign` fills a campaign's tallies at once (after a bulk
load, or to repair). Design note: tallies.md beside this file.
"""

from __future__ import annotations

from django.db import connection

from labeling.models import Campaign, ImportedVote, Job, LabelTally, Vote

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


def recount(job_id: int) -> None:
    """Make the job's tallies equal its votes. The caller holds the job's lock (or is the
    only writer) inside the transaction that changed the votes."""
    LabelTally.objects.filter(job_id=job_id).delete()
    with connection.cursor() as cursor:
        cursor.execute(_recount_sql("j.id = %s"), [job_id])


def recount_campaign(campaign: Campaign) -> None:
    """Every job's tallies of the campaign, recounted in one statement (a backfill or a
    repair; votes bulk-loaded without the services need it)."""
    LabelTally.objects.filter(job__campaign=campaign).delete()
    with connection.cursor() as cursor:
        cursor.execute(_recount_sql("j.campaign_id = %s"), [campaign.pk])
