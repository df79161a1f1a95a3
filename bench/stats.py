"""Campaign statistics at CHERMA scale.

Seeds campaigns in PostgreSQL whose votes follow the paper's rule (3 votes, a 4th on a 2:1
split) with realistic disagreement between annotators and inconsistency between modalities
(the synthetic corpus planner: each uni-modal emotion departs from the utterance's with
probability 0.35), at about 540 (`demo`: 40 utterances, as many as the demo campaign),
10k, 100k and 380k votes, then times every statistic of the dashboard and of
`cherma_stats`, annotator quality alone, and the review dashboard as a reviewer gets it
through Django's test client: the page cold (empty cache: statistics computed, then cached
for the data version) and warm, and its figures after the cold page (each rendered once)
and warm (median of 3 runs; load average printed beside each row).

    .venv/bin/python bench/stats.py [--database-url URL] [--sizes demo,10k,100k,380k]
        [--downloads]   # also the raw votes and verdicts downloads (CSV, JSONL), once each

Campaigns are seeded once per database and reused by later runs (found by name).

(URL defaults to postgres://postgres@127.0.0.1:5432/cherma_bench.)
"""

from __future__ import annotations

import argparse
import os
import random
import statistics as stats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
SIZES = {"demo": 40, "10k": 760, "100k": 7_560, "380k": 28_717}  # utterances → ~votes
ANNOTATORS = 60


def seed_campaign(label: str, n_utterances: int, users):
    from django.db import transaction

    from labeling import synthetic
    from labeling.models import Campaign, Corpus, Job, Lease, Utterance, Vote
    from labeling.services import tallies
    from labeling.services.campaigns import create_campaign
    from labeling.verdicts import verdict

    name = f"stats bench {label}"
    campaign = Campaign.objects.filter(name=name).first()
    if campaign is not None:
        return campaign
    print(f"seeding {name}: {n_utterances} utterances …", flush=True)
    plan = synthetic.plan_corpus(n_utterances, inconsistency=0.35, seed=7)
    corpus = Corpus.objects.create(name=name, is_synthetic=True)
    Utterance.objects.bulk_create(
        [
            Utterance(
                corpus=corpus,
                external_id=f"s{i}",
                source_file="",
                original_name="",
                transcript=item.transcript,
                duration_seconds=item.seconds,
                speaker_gender=item.speaker_gender,
                age_group=item.age_group,
            )
            for i, item in enumerate(plan)
        ],
        batch_size=5000,
    )
    campaign = create_campaign(name=name, corpus=corpus, annotators=users)
    truth = {
        u: plan[i]
        for i, u in enumerate(corpus.utterances.order_by("pk").values_list("pk", flat=True))
    }
    labels = campaign.label_names
    rng = random.Random(11)
    leases, votes, updates = [], [], []
    jobs = list(Job.objects.filter(campaign=campaign).only("pk", "utterance_id", "modality"))
    for job in jobs:
        item = truth[job.utterance_id]
        shown = {
            "t": item.text_emotion,
            "a": item.voice_emotion,
            "v": item.face_emotion,
            "m": item.underlying,
        }[job.modality]
        cast, raters = [], rng.sample(users, 4)
        while not verdict(cast).is_final:
            cast.append(shown if rng.random() < 0.8 else rng.choice(labels))
        result = verdict(cast)
        for rater, choice in zip(raters, cast, strict=False):
            lease = Lease(
                campaign=campaign,
                job=job,
                annotator=rater,
                status="submitted",
                expires_at=campaign.created_at,
            )
            leases.append(lease)
            votes.append((lease, choice, rng.uniform(2, 12)))
        job.state, job.label, job.votes_count, job.priority = (
            result.state.value,
            result.label or "",
            len(cast),
            Job.Priority.FINAL,
        )
        updates.append(job)
    with transaction.atomic():
        Lease.objects.bulk_create(leases, batch_size=5000)
        Vote.objects.bulk_create(
            [
                Vote(
                    job_id=lease.job_id,
                    campaign=campaign,
                    annotator_id=lease.annotator_id,
                    lease=lease,
                    label=choice,
                    seconds_spent=seconds,
                )
                for lease, choice, seconds in votes
            ],
            batch_size=5000,
        )
        Job.objects.bulk_update(
            updates, ["state", "label", "votes_count", "priority"], batch_size=5000
        )
        tallies.recount_campaign(campaign)  # votes bulk-loaded past the services
    return campaign


def timed(function, *args, repeat: int = 3) -> float:
    runs = []
    for _ in range(repeat):
        started = time.perf_counter()
        function(*args)
        runs.append(time.perf_counter() - started)
    return stats.median(runs)


def agreement_of(campaign) -> None:
    """κ and α as the dashboard computes them: sums from the database, then the formulas."""
    from labeling import statistics
    from labeling.selectors.statistics import tally_sums

    kappa, alpha = statistics.agreement_sums(tally_sums(campaign))
    statistics.fleiss_kappa_from_sums(kappa, campaign.label_names)
    statistics.krippendorff_alpha_from_sums(alpha, campaign.label_names)


def dashboard_client():
    """A test client logged in as a reviewer (a superuser made for the benchmark)."""
    from django.contrib.auth.models import User
    from django.test import Client

    reviewer = User.objects.filter(username="stats-reviewer").first()
    if reviewer is None:
        reviewer = User.objects.create_superuser("stats-reviewer", password="stats-reviewer")
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(reviewer)
    return client


def get(client, url: str) -> None:
    response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)


def dashboard_times(client, campaign) -> dict[str, float]:
    """The page cold and warm, and all its figures after a cold page and warm (seconds)."""
    from django.core.cache import cache
    from django.urls import reverse

    from labeling.report import FIGURES

    page = reverse("review-dashboard", args=[campaign.pk])
    figures = [reverse("review-figure", args=[campaign.pk, name]) for name in FIGURES]

    def cold_page() -> None:
        cache.clear()
        get(client, page)

    def all_figures() -> None:
        for url in figures:
            get(client, url)

    def figures_after_cold_page() -> float:
        cold_page()
        started = time.perf_counter()
        all_figures()
        return time.perf_counter() - started

    times = {"page cold": timed(cold_page)}
    get(client, page)
    times["page warm"] = timed(get, client, page)
    times["figures cold"] = stats.median(figures_after_cold_page() for _ in range(3))
    all_figures()
    times["figures warm"] = timed(all_figures)
    return times


def download_times(client, campaign) -> str:
    """The raw tables as a reviewer downloads them (the page's links), once each: seconds,
    size and rows per second."""
    from django.urls import reverse

    from labeling.models import Vote

    parts = []
    rows = {
        "votes": Vote.objects.filter(campaign=campaign).count(),
        "verdicts": campaign.jobs.count(),
    }
    for table, count in rows.items():
        for fmt in ("csv", "jsonl"):
            started = time.perf_counter()
            response = client.get(reverse("review-raw", args=[campaign.pk, table, fmt]))
            size = sum(len(piece) for piece in response.streaming_content)
            seconds = time.perf_counter() - started
            rate = f"{count / seconds:,.0f} rows/s"
            parts.append(f"{table}.{fmt} {seconds:.1f} s ({size / 1e6:.0f} MB, {rate})")
    return "; ".join(parts)


def load() -> str:
    return " ".join(f"{n:.1f}" for n in os.getloadavg())


def queue_count(campaign) -> int:
    from labeling.selectors.statistics import disagreement_queue

    return disagreement_queue(campaign).count()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/cherma_bench")
    parser.add_argument(
        "--sizes", default=",".join(SIZES), help=f"which campaigns, of {', '.join(SIZES)}"
    )
    parser.add_argument(
        "--downloads", action="store_true", help="also time the raw votes and verdicts downloads"
    )
    args = parser.parse_args()
    os.environ.update(
        DATABASE_URL=args.database_url,
        DJANGO_SETTINGS_MODULE="annotator.settings",
        DEBUG="0",
        LOG_LEVEL="WARNING",
        SECURE_SSL_REDIRECT="0",  # the test client speaks plain HTTP
        SECURE_COOKIES="0",
    )
    from assignment import ensure_database  # bench/assignment.py

    ensure_database(args.database_url)
    import django

    django.setup()
    from django.contrib.auth.models import User
    from django.core.management import call_command
    from django.db import connection

    from labeling.models import Vote
    from labeling.selectors import statistics as selectors

    call_command("migrate", verbosity=0)
    users = [User.objects.get_or_create(username=f"stats{i}")[0] for i in range(ANNOTATORS)]
    print(f"\nstatistics benchmark, {os.cpu_count()} CPUs, PostgreSQL; seconds, median of 3")
    columns = (
        "all statistics", "of which agreement", "annotator quality", "queue count",
        "page cold", "page warm", "figures cold", "figures warm",
    )  # fmt: skip
    print(f"{'votes':>8} {'jobs':>7} " + " ".join(f"{c:>{len(c)}}" for c in columns) + "  load")
    chosen = args.sizes.split(",")
    campaigns = {
        label: seed_campaign(label, n, users) for label, n in SIZES.items() if label in chosen
    }
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # fresh bulk-loaded tables, as autovacuum would leave them
    client = dashboard_client()
    for campaign in campaigns.values():
        before = load()
        n_votes = Vote.objects.filter(job__campaign=campaign).count()
        figures = {
            "all statistics": timed(selectors.campaign_statistics, campaign),
            "of which agreement": timed(agreement_of, campaign),
            "annotator quality": timed(selectors.annotator_quality, campaign),
            "queue count": timed(queue_count, campaign),
            **dashboard_times(client, campaign),
        }
        print(
            f"{n_votes:>8} {campaign.jobs.count():>7} "
            + " ".join(f"{figures[c]:>{len(c)}.3f}" for c in columns)
            + f"  {before} → {load()}",
            flush=True,
        )
        if args.downloads:
            print(f"    downloads: {download_times(client, campaign)}", flush=True)


if __name__ == "__main__":
    main()
