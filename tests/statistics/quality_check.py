"""Annotator quality against a recount vote by vote, on hand-made campaigns (`python -m
tests.statistics.quality_check` prints the mismatches as JSON, for the SQLite test).

The recount is the per-vote computation the dashboard did before it grouped votes in the
database: each vote against its job's final label (`Job.final_label`, or the final set of a
multi-label job, order-free), the median of the annotator's seconds, skips over leases.
"""

from __future__ import annotations

import json
import statistics
from collections import defaultdict

SINGLE, MULTI = "single", "multi"
SET_LABELS = [{"name": "happy", "key": "1"}, {"name": "sad", "key": "2"}]


def recounted(campaign) -> dict[str, dict]:
    """Username → votes, judged, agreement, median seconds and skip rate, vote by vote."""
    from labeling.models import Lease, Vote

    mine: dict[str, list] = defaultdict(list)
    for vote in Vote.objects.filter(job__campaign=campaign).select_related("job", "annotator"):
        if campaign.is_multi_label:
            final = vote.job.final_label_set
            final = None if final is None else set(final)
            answer = set(vote.label_set)
        else:
            final, answer = vote.job.final_label or None, vote.label
        mine[vote.annotator.username].append((final, answer, vote.seconds_spent))
    leases: dict[str, list[str]] = defaultdict(list)
    for lease in Lease.objects.filter(job__campaign=campaign).select_related("annotator"):
        leases[lease.annotator.username].append(lease.status)
    result = {}
    for username, votes in mine.items():
        judged = [answer == final for final, answer, _ in votes if final is not None]
        result[username] = {
            "votes": len(votes),
            "judged": len(judged),
            "agreement": sum(judged) / len(judged) if judged else None,
            "median_seconds": statistics.median(seconds for _, _, seconds in votes),
            "skip_rate": leases[username].count(Lease.Status.SKIPPED) / len(leases[username]),
        }
    return result


def mismatches(campaign) -> list:
    """[username, shown, recounted] wherever `annotator_quality` differs from the recount."""
    from labeling.selectors.statistics import annotator_quality

    shown = {
        row["username"]: {key: row[key] for key in ("votes", "judged", "agreement")}
        | {key: row[key] for key in ("median_seconds", "skip_rate")}
        for row in annotator_quality(campaign)
    }
    expected = recounted(campaign)
    return sorted(
        [name, shown.get(name), expected.get(name)]
        for name in set(shown) | set(expected)
        if shown.get(name) != expected.get(name)
    )


def answer_of(mode: str, job_index: int, annotator_index: int):
    """The scripted answer: the job's usual answer, but some annotators depart from it."""
    departs = (job_index + annotator_index) % 4 == 0
    if mode == SINGLE:
        return ["fear", "anger", "sadness"][(job_index + departs) % 3]
    usual = [["happy", "sad"], ["happy"], []][job_index % 3]
    return ["sad"] if departs else usual


def build(mode: str, name: str = ""):
    """A campaign of 4 utterances × t, m voted by 5 annotators taking turns: the usual
    answer with some departures (2:1 splits take a fourth vote, 2:2 ones are discarded), a
    skip, a reviewer's label or set, an excluded utterance, and (multi-label) a vote whose
    set was stored in another order."""
    from django.contrib.auth.models import User

    from labeling.models import Campaign, Vote
    from labeling.services import review
    from labeling.services.assignment import next_task, skip_task, submit_vote
    from labeling.services.campaigns import create_campaign
    from tests.factories import annotators, rendered_corpus

    name = name or f"quality {mode}"
    team = annotators(5, prefix=f"{name}-")
    options = (
        {"labels": SET_LABELS, "label_mode": Campaign.LabelMode.MULTI, "allow_none": True}
        if mode == MULTI
        else {}
    )
    campaign = create_campaign(
        name=name,
        corpus=rendered_corpus(4),
        annotators=team,
        modalities="tm",
        independence_guard=False,
        job_order=Campaign.JobOrder.ID,  # the same votes on every run
        **options,
    )
    jobs = list(campaign.jobs.order_by("pk").values_list("pk", flat=True))
    skipped = False
    while True:
        leases = [(i, who, next_task(who, campaign)) for i, who in enumerate(team)]
        if all(lease is None for _, _, lease in leases):
            break
        for i, who, lease in leases:
            if lease is None:
                continue
            if i == 4 and not skipped:  # the fifth annotator skips their first task
                skip_task(who, lease.pk, "unclear")
                skipped = True
                continue
            submit_vote(who, lease.pk, answer_of(mode, jobs.index(lease.job_id), i))
    reviewer = User.objects.create_user(f"{name}-reviewer")
    if mode == MULTI:
        review.set_label_set(reviewer, jobs[0], ["sad"], "only sadness is visible")
    else:
        review.set_label(reviewer, jobs[0], "sadness", "the face is sad")
    utterance = campaign.jobs.order_by("pk").last().utterance_id
    review.exclude_utterance(reviewer, campaign, utterance, "noisy clip")
    if mode == MULTI:  # a vote naming the final set in another order still agrees
        vote = next(
            vote
            for vote in Vote.objects.filter(job_id__in=jobs).select_related("job").order_by("pk")
            if len(vote.label_set) == 2
            and set(vote.job.final_label_set or ()) == set(vote.label_set)
        )
        Vote.objects.filter(pk=vote.pk).update(label_set=list(reversed(vote.label_set)))
    return campaign


def main() -> None:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    found = {}
    for mode in (SINGLE, MULTI):
        campaign = build(mode)
        found[mode] = {"annotators": len(recounted(campaign)), "mismatches": mismatches(campaign)}
    print(json.dumps(found))


if __name__ == "__main__":
    main()
