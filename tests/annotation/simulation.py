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
from collections import Counter

from django.db import close_old_connections, connection


def run(
    n_annotators: int = 32,
    n_utterances: int = 12,
    seed: int = 0,
    multi_label: bool = False,
    job_order: str = "shuffled",
    prefetch: bool = False,
) -> dict:
    """`multi_label`: a multi-label campaign (CMU-MOSEI's emotions, "none of these" allowed),
    answered with sets. `job_order`: the campaign's order; the model orders get an assistant
    run with random predictions for all but one utterance (whose jobs come last).
    `prefetch`: annotators fetch the next task ahead of the shown one most of the time and
    now and then give it back unused; the report then counts how often anyone held more
    than two live leases (`over_held`)."""
    from django.utils import timezone

    from labeling.emotions import preset_labels
    from labeling.models import Lease, Vote
    from labeling.selectors.integrity import campaign_integrity
    from labeling.services.assignment import (
        AnnotationError,
        next_task,
        release_task,
        skip_task,
        submit_vote,
    )
    from labeling.services.campaigns import create_campaign
    from tests.factories import annotators, rendered_corpus

    team = annotators(n_annotators, prefix=f"sim{seed}-")
    mode = {"labels": preset_labels("mosei"), "label_mode": "multi-label", "allow_none": True}
    campaign = create_campaign(
        name=f"simulation {seed}",
        corpus=rendered_corpus(n_utterances),
        annotators=team,
        **(mode if multi_label else {}),
    )
    labels = campaign.label_names
    if job_order != "shuffled":
        from labeling.services.job_order import set_job_order

        set_job_order(campaign, job_order, random_predictions(campaign, seed))

    def answer(rng: random.Random):
        if not multi_label:
            return rng.choice(labels)
        return sorted(rng.sample(labels, rng.choice((0, 1, 1, 2))))

    truth = {job.pk: answer(random.Random(job.pk)) for job in campaign.jobs.all()}
    accepted: list[int] = []
    errors: list[str] = []
    over_held = [0]
    lock = threading.Lock()

    def fetch_ahead(annotator, lease, rng: random.Random) -> None:
        if not prefetch or rng.random() < 0.3:
            return
        upcoming = next_task(annotator, campaign, ahead_of=lease.pk)
        if upcoming is not None and rng.random() < 0.1:  # the page was left
            release_task(annotator, upcoming.pk)
        held = Lease.objects.filter(
            annotator=annotator, status="active", expires_at__gt=timezone.now()
        ).count()
        if held > 2:
            with lock:
                over_held[0] += 1

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
                fetch_ahead(annotator, lease, rng)
                if rng.random() < 0.05:
                    skip_task(annotator, lease.pk, reason="simulated skip")
                    continue
                label = truth[lease.job_id] if rng.random() < 0.75 else answer(rng)
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
        "states": dict(Counter(campaign.jobs.values_list("state", flat=True))),
        **campaign_integrity(campaign),
    }
    stored = set(Vote.objects.filter(job__campaign=campaign).values_list("pk", flat=True))
    report["lost_votes"] = len(set(accepted) - stored)
    report["votes"] = len(stored)
    report["accepted"] = len(set(accepted))
    if prefetch:
        report["over_held"] = over_held[0]
        report["released"] = Lease.objects.filter(campaign=campaign, status="released").count()
    return report


def random_predictions(campaign, seed: int):
    """A finished TrainingRun with a random distribution per head for every utterance but the
    last (so the model orders also place unpredicted jobs)."""
    import math

    from labeling.models import Prediction, TrainingRun

    rng = random.Random(seed)
    run = TrainingRun.objects.create(
        name=f"simulation {seed}", model="lfmim", preset="quick", config={},
        dataset_path="-", status=TrainingRun.Status.DONE,
    )  # fmt: skip
    classes = campaign.label_names
    rows = []
    for utterance_id in list(
        campaign.corpus.utterances.order_by("pk").values_list("pk", flat=True)
    )[:-1]:
        for head in "tavm":
            raw = [rng.random() + 1e-3 for _ in classes]
            p = [x / sum(raw) for x in raw]
            best = max(range(len(p)), key=p.__getitem__)
            rows.append(
                Prediction(
                    run=run,
                    utterance_id=utterance_id,
                    head=head,
                    probabilities=p,
                    label=classes[best],
                    confidence=p[best],
                    entropy=-sum(x * math.log(x) for x in p),
                )  # fmt: skip
            )
    Prediction.objects.bulk_create(rows)
    return run


def main() -> None:
    import os

    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    n_annotators, n_utterances = int(sys.argv[1]), int(sys.argv[2])
    prefetch = "--prefetch" in sys.argv[3:]
    print(json.dumps(run(n_annotators, n_utterances, prefetch=prefetch)))


if __name__ == "__main__":
    main()
