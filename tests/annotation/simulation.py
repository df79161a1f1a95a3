"""Many annotators working one campaign to completion at once, then every invariant checked.

Used in-process by the PostgreSQL test and as `python -m tests.annotation.simulation` on a
fresh SQLite file by the SQLite test (separate connections, one per thread, either way).
"""

from __future__ import annotations

import json
import random
import sys
import threading
import time
from collections import Counter, defaultdict

from django.db import close_old_connections, connection


def run(n_annotators: int = 32, n_utterances: int = 12, seed: int = 0) -> dict:
    from labeling.models import Job, Lease, Vote
    from labeling.services.assignment import AnnotationError, next_task, skip_task, submit_vote
    from labeling.services.campaigns import create_campaign
    from labeling.verdicts import verdict
    from tests.factories import annotators, rendered_corpus

    team = annotators(n_annotators, prefix=f"sim{seed}-")
    campaign = create_campaign(
        name=f"simulation {seed}", corpus=rendered_corpus(n_utterances), annotators=team
    )
    labels = campaign.label_names
    truth = {job.pk: random.Random(job.pk).choice(labels) for job in campaign.jobs.all()}
    accepted: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()

    def work(annotator, rng: random.Random) -> None:
        idle = 0
        try:
            while idle < 200:
                lease = next_task(annotator, campaign)
                if lease is None:
                    if not Lease.objects.filter(job__campaign=campaign, status="active").exists():
                        return
                    idle += 1
                    time.sleep(0.01)
                    continue
                idle = 0
                if rng.random() < 0.05:
                    skip_task(annotator, lease.pk, reason="simulated skip")
                    continue
                label = truth[lease.job_id] if rng.random() < 0.75 else rng.choice(labels)
                try:
                    submission = submit_vote(annotator, lease.pk, label, seconds_spent=1.0)
                    if rng.random() < 0.1:  # a double click
                        assert submit_vote(annotator, lease.pk, label).vote.pk == submission.vote.pk
                except AnnotationError as exc:
                    with lock:
                        errors.append(f"{type(exc).__name__}: {exc}")
                    continue
                with lock:
                    accepted.append(submission.vote.pk)
        except Exception as exc:  # report, don't hang the other threads
            with lock:
                errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=work, args=(a, random.Random(seed * 1000 + i)))
        for i, a in enumerate(team)
    ]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    close_old_connections()

    report = {
        "annotators": n_annotators,
        "jobs": campaign.jobs.count(),
        "seconds": round(elapsed, 2),
        "errors": errors,
        "over_voted_jobs": 0,
        "votes_after_final": 0,
        "double_votes": 0,
        "guard_breaches": 0,
        "lost_votes": 0,
        "wrong_verdicts": 0,
        "unfinished_jobs": 0,
        "states": {},
    }
    votes_by_job = defaultdict(list)
    for vote in Vote.objects.filter(job__campaign=campaign).order_by("created_at", "pk"):
        votes_by_job[vote.job_id].append(vote)
    rule = campaign.rule
    for job in Job.objects.filter(campaign=campaign):
        votes = votes_by_job[job.pk]
        labels_cast = [v.label for v in votes]
        report["states"][job.state] = report["states"].get(job.state, 0) + 1
        if len(votes) > rule.max_votes:
            report["over_voted_jobs"] += 1
        if any(verdict(labels_cast[:i], rule).is_final for i in range(1, len(votes))):
            report["votes_after_final"] += 1
        if len({v.annotator_id for v in votes}) != len(votes):
            report["double_votes"] += 1
        result = verdict(labels_cast, rule)
        if (result.state.value, result.label or "", len(votes)) != (
            job.state,
            job.label,
            job.votes_count,
        ):
            report["wrong_verdicts"] += 1
        if not result.is_final:
            report["unfinished_jobs"] += 1
    seen = Counter(
        Lease.objects.filter(job__campaign=campaign).values_list(
            "annotator_id", "job__utterance_id"
        )
    )
    report["guard_breaches"] = sum(1 for count in seen.values() if count > 1)
    stored = set(Vote.objects.filter(job__campaign=campaign).values_list("pk", flat=True))
    report["lost_votes"] = len(set(accepted) - stored)
    report["votes"] = len(stored)
    report["accepted"] = len(set(accepted))
    return report


def main() -> None:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    n_annotators, n_utterances = int(sys.argv[1]), int(sys.argv[2])
    print(json.dumps(run(n_annotators, n_utterances)))


if __name__ == "__main__":
    main()
