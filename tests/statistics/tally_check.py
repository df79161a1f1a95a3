"""Tallies against a recount from the votes, after concurrent annotators (`python -m
tests.statistics.tally_check N U` prints the mismatches as JSON, for the SQLite test)."""

from __future__ import annotations

import json
import sys
from collections import Counter


def recounted(campaign) -> dict[tuple[int, str], tuple[int, int, int]]:
    """(job, label) → (votes, among the first three, the job's votes), counted in Python
    from every vote."""
    from labeling.models import ImportedVote, Vote

    ordered: dict[int, list[str]] = {}
    for job, label in (
        Vote.objects.filter(job__campaign=campaign).order_by("pk").values_list("job_id", "label")
    ):
        ordered.setdefault(job, []).append(label)
    for job, label in (
        ImportedVote.objects.filter(job__campaign=campaign)
        .order_by("pk")
        .values_list("job_id", "label")
    ):
        ordered.setdefault(job, []).append(label)
    result = {}
    for job, labels in ordered.items():
        every, first = Counter(labels), Counter(labels[:3])
        for label, n in every.items():
            if label:
                result[(job, label)] = (n, first[label], sum(map(bool, labels)))
    return result


def agreement_mismatches(campaign) -> list:
    """Votes whose stored agreement differs from their job's final label read now: the
    reviewer's label, else the decided verdict, none when excluded (sets compared as sets)."""
    from labeling.models import Vote

    wrong = []
    for vote in Vote.objects.filter(job__campaign=campaign).select_related("job"):
        job = vote.job
        if vote.label_set is None:
            final = job.final_label or None
            expected = None if final is None else vote.label == final
        else:
            final = job.final_label_set
            expected = None if final is None else set(vote.label_set) == set(final)
        if vote.agrees != expected or vote.campaign_id != job.campaign_id:
            wrong.append([vote.pk, vote.agrees, expected, vote.campaign_id, job.campaign_id])
    return wrong


def mismatches(campaign) -> list:
    """Tallies and votes' agreement that differ from a recount (empty when all agree)."""
    from labeling.models import LabelTally

    stored = {
        (job, label): (votes, first, job_votes)
        for job, label, votes, first, job_votes in LabelTally.objects.filter(
            job__campaign=campaign
        ).values_list("job_id", "label", "votes", "first_votes", "job_votes")
    }
    expected = recounted(campaign)
    return sorted(
        [str(key), stored.get(key), expected.get(key)]
        for key in set(stored) | set(expected)
        if stored.get(key) != expected.get(key)
    ) + agreement_mismatches(campaign)


def run(n_annotators: int, n_utterances: int) -> dict:
    from labeling.models import Campaign, LabelTally
    from tests.annotation.simulation import run as simulate

    report = simulate(n_annotators=n_annotators, n_utterances=n_utterances, seed=5)
    campaign = Campaign.objects.get(name="simulation 5")
    return {
        "votes": report["votes"],
        "errors": report["errors"],
        "tallies": LabelTally.objects.filter(job__campaign=campaign).count(),
        "mismatches": mismatches(campaign),
    }


def main() -> None:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    print(json.dumps(run(int(sys.argv[1]), int(sys.argv[2]))))


if __name__ == "__main__":
    main()
