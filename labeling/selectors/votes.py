"""Raw annotations out: every vote and every job's verdict of a campaign, as rows.

Annotators appear under a pseudonym, never their username: a keyed hash of the campaign
and the user, the same in every download of that campaign (so tables can be joined) and
different in another campaign. Imported raw votes keep the rater name their file gave.
Rows are streamed (`iterator`), so a CHERMA-sized campaign (380k votes) is not held in memory.
In a multi-label campaign a label cell holds a set of emotions as their names joined by ";" in
the campaign's label order ("" = none of them), as an export's manifest writes them; the
verdict column says whether a verdict's cell means "none" or "not decided".
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterator

from django.conf import settings

from labeling.models import Campaign, ImportedVote, Job, Vote
from labeling.selectors.exports import utterance_id

VOTE_COLUMNS = (
    "utterance_id",
    "modality",
    "annotator",
    "source",  # votes: cast here; imported: a raw vote from a file
    "label",
    "seconds_spent",
    "leased_at",
    "lease_expires_at",
    "submitted_at",
    "verdict",  # the job's automatic verdict: open, needs_vote, decided, discarded
    "verdict_label",
    "final_label",  # what the dataset uses: a reviewer's label, else the decided one
)
VERDICT_COLUMNS = (
    "utterance_id",
    "modality",
    "verdict",
    "verdict_label",
    "votes",
    "extra_votes",
    "override_label",
    "final_label",
    "excluded",
    "source",
)
TABLES = {"votes": VOTE_COLUMNS, "verdicts": VERDICT_COLUMNS}
CHUNK = 2000


def pseudonym(campaign: Campaign, user_id: int) -> str:
    """The annotator's name in this campaign's downloads (keyed by the site's SECRET_KEY)."""
    message = f"{campaign.pk}:{user_id}".encode()
    digest = hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()
    return f"annotator-{digest[:10]}"


def joined(label_set: list[str] | None) -> str | None:
    """A multi-label cell: the names joined by ";" (stored in label order); None for none."""
    return None if label_set is None else ";".join(label_set)


def _job_columns(job: Job, multi: bool = False) -> dict:
    return {
        "utterance_id": utterance_id(job.utterance.external_id, job.utterance_id),
        "modality": job.modality,
        "verdict": job.state,
        "verdict_label": joined(job.label_set) if multi else job.label,
        "final_label": joined(job.final_label_set) if multi else job.final_label,
    }


def vote_rows(campaign: Campaign) -> Iterator[dict]:
    """Every vote cast here, then every imported raw vote, by job and in the order given."""
    votes = (
        Vote.objects.filter(job__campaign=campaign)
        .select_related("job__utterance", "lease")
        .order_by("job_id", "created_at", "pk")
    )
    for vote in votes.iterator(chunk_size=CHUNK):
        job = _job_columns(vote.job, campaign.is_multi_label)
        yield {
            "utterance_id": job["utterance_id"],
            "modality": job["modality"],
            "annotator": pseudonym(campaign, vote.annotator_id),
            "source": "votes",
            "label": vote.label if vote.label_set is None else joined(vote.label_set),
            "seconds_spent": vote.seconds_spent,
            "leased_at": vote.lease.created_at,
            "lease_expires_at": vote.lease.expires_at,
            "submitted_at": vote.created_at,
            **{key: job[key] for key in ("verdict", "verdict_label", "final_label")},
        }
    imported = (
        ImportedVote.objects.filter(job__campaign=campaign)
        .select_related("job__utterance")
        .order_by("job_id", "pk")
    )
    for vote in imported.iterator(chunk_size=CHUNK):
        job = _job_columns(vote.job, campaign.is_multi_label)
        yield {
            "utterance_id": job["utterance_id"],
            "modality": job["modality"],
            "annotator": vote.rater,
            "source": "imported",
            "label": vote.label,
            "seconds_spent": None,
            "leased_at": None,
            "lease_expires_at": None,
            "submitted_at": None,
            **{key: job[key] for key in ("verdict", "verdict_label", "final_label")},
        }


def verdict_rows(campaign: Campaign) -> Iterator[dict]:
    """Every job of the campaign with its automatic verdict and the label the dataset uses."""
    jobs = campaign.jobs.select_related("utterance").order_by("utterance_id", "pk")
    for job in jobs.iterator(chunk_size=CHUNK):
        yield {
            **_job_columns(job, campaign.is_multi_label),
            "votes": job.votes_count,
            "extra_votes": job.extra_votes,
            "override_label": (
                job.override_label
                if job.override_label_set is None
                else joined(job.override_label_set)
            ),
            "excluded": job.excluded,
            "source": job.source,
        }


def raw_rows(campaign: Campaign, table: str) -> Iterator[dict]:
    """The rows of `table` (votes or verdicts)."""
    return vote_rows(campaign) if table == "votes" else verdict_rows(campaign)
