"""Assignment at CHERMA scale, over HTTP.

A campaign of 28,717 utterances × 4 modalities (114,868 jobs) in PostgreSQL, served by
gunicorn; N simulated annotators (threads spread over client processes, each annotator with
its own keep-alive connection and API token) do next-task + submit in a loop. Prints
throughput, p50/p95/p99 latency per endpoint, and the rule-breach counters (all must be 0).

    .venv/bin/python bench/assignment.py                      # N = 8, 32, 64
    .venv/bin/python bench/assignment.py --annotators 64 --think 5
    .venv/bin/python bench/assignment.py --annotators 64 --order uncertainty

How it measures (so that it measures the server, not the client or the start):
- The server is warmed up first (every worker has its database connection and code loaded).
- With think time, annotators start at random moments over one mean think time, as people
  of a pool arrive, instead of all 64 at the same instant; `--burst` starts them together.
- The annotators run in `--clients` processes (threads within each), so that their timing is
  not held up waiting for one client process's GIL.
- `--order` sets the campaign's job order first (labeling/job_order.py); the orders that
  rank by the model get synthetic predictions of a stored run (seeded, made once).

Needs PostgreSQL (default: a database `cherma_bench` on 127.0.0.1:5432, created if missing),
or the embedded SQLite: `--database-url sqlite:///var/bench.sqlite3`. Prints the machine's load
average (uptime) beside each row: the figures mean little on a busy machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
UTTERANCES = 28_717


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q / 100 * (len(ordered) - 1))))]


def ensure_database(url: str) -> None:
    if url.startswith("sqlite"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        return
    import psycopg

    name = url.rsplit("/", 1)[1]
    admin = url.rsplit("/", 1)[0] + "/postgres"
    with psycopg.connect(admin, autocommit=True) as connection:
        exists = connection.execute(
            "SELECT 1 FROM pg_database WHERE datname = %s", [name]
        ).fetchone()
        if not exists:
            connection.execute(f'CREATE DATABASE "{name}"')


def seed(max_annotators: int):
    """The CHERMA-scale corpus and campaign (built once, reused), and the annotators' tokens."""
    from django.contrib.auth.models import User
    from rest_framework.authtoken.models import Token

    from labeling.models import Campaign, Corpus, Modality, Rendition, Utterance
    from labeling.services.campaigns import create_campaign

    corpus, created = Corpus.objects.get_or_create(name="bench: CHERMA scale")
    if created or corpus.utterances.count() != UTTERANCES:
        corpus.utterances.all().delete()
        print(f"seeding {UTTERANCES} utterances × 4 renditions …", flush=True)
        for start in range(0, UTTERANCES, 5000):
            batch = Utterance.objects.bulk_create(
                [
                    Utterance(
                        corpus=corpus,
                        external_id=f"b{i}",
                        source_file=f"sources/{i}.mp4",
                        original_name=f"{i}.mp4",
                        transcript="基准测试句子",
                        duration_seconds=4.6,
                        content_hash=f"{i:064d}",
                    )
                    for i in range(start, min(start + 5000, UTTERANCES))
                ]
            )
            Rendition.objects.bulk_create(
                [
                    Rendition(utterance=u, modality=m, status="done", file=f"r/{u.pk}/{m}")
                    for u in batch
                    for m in Modality.values
                ]
            )
    users = []
    for i in range(1, max_annotators + 1):
        user, _ = User.objects.get_or_create(username=f"bench{i}")
        users.append(user)
    campaign = Campaign.objects.filter(name="bench campaign").first()
    if campaign is None:
        print("creating the campaign's 114,868 jobs …", flush=True)
        campaign = create_campaign(name="bench campaign", corpus=corpus, annotators=users)
    campaign.annotators.set(users)
    tokens = [Token.objects.get_or_create(user=u)[0].key for u in users]
    return campaign, tokens


def reset(campaign) -> None:
    from django.db import connection

    from labeling.models import Job, LabelTally, Lease

    Lease.objects.filter(job__campaign=campaign).delete()  # votes go with their leases
    LabelTally.objects.filter(job__campaign=campaign).delete()
    Job.objects.filter(campaign=campaign).update(state="open", priority=1, label="", votes_count=0)
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "VACUUM ANALYZE labeling_job, labeling_lease, labeling_vote, labeling_rendition"
            )
        else:
            cursor.execute("ANALYZE")


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def set_order(campaign, order: str) -> None:
    """Put the bench campaign in `order`; the model's orders need an assistant run with
    predictions: synthetic ones, one per utterance and head, made once (a seeded Dirichlet
    draw per head, so entropies and the heads' disagreement spread as a model's do)."""
    from labeling.models import Prediction, TrainingRun
    from labeling.services.job_order import MODEL_ORDERS, set_job_order
    from training.engine.scoring import summarise

    run = None
    if order in MODEL_ORDERS:
        run, created = TrainingRun.objects.get_or_create(
            name="bench/assignment predictions",
            defaults=dict(
                model="lfmim", preset="quick", config={}, dataset_path="-", out_dir="-",
                status=TrainingRun.Status.DONE,
            ),
        )  # fmt: skip
        if created or not run.predictions.exists():
            print("seeding synthetic predictions …", flush=True)
            rng = random.Random(14)
            classes = campaign.label_names
            made = []
            for utterance_id in campaign.corpus.utterances.values_list("pk", flat=True):
                for head in "tavm":
                    weights = [rng.gammavariate(0.5, 1.0) for _ in classes]
                    p = [w / sum(weights) for w in weights]
                    decided = summarise(p, classes, "single-label")  # as predict stores it
                    made.append(
                        Prediction(
                            run=run,
                            utterance_id=utterance_id,
                            head=head,
                            probabilities=p,
                            **decided._asdict(),
                        )
                    )
            Prediction.objects.bulk_create(made, batch_size=5000)
    if campaign.job_order != order or campaign.assistant_run_id != (run and run.pk):
        print(f"setting the job order to {order} …", flush=True)
        set_job_order(campaign, order, run)


class Annotator(threading.Thread):
    def __init__(self, port, campaign_id, token, labels, tasks, think, seed, start_at):
        super().__init__()
        self.port, self.campaign_id, self.token = port, campaign_id, token
        self.labels, self.tasks, self.think = labels, tasks, think
        self.rng = random.Random(seed)
        self.start_at = start_at  # seconds after the common start
        self.latency = {"next": [], "submit": []}
        self.errors: list[str] = []
        self.accepted: list[int] = []

    def call(self, connection, path, body):
        started = time.perf_counter()
        connection.request(
            "POST",
            path,
            body=json.dumps(body),
            headers={
                "Authorization": f"Token {self.token}",
                "Content-Type": "application/json",
                "Host": "127.0.0.1",
            },
        )
        response = connection.getresponse()
        data = response.read()
        return time.perf_counter() - started, response.status, data

    def run(self):
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        time.sleep(self.start_at)
        try:
            for _ in range(self.tasks):
                took, status, data = self.call(
                    connection, f"/api/campaigns/{self.campaign_id}/next/", {}
                )
                self.latency["next"].append(took)
                task = json.loads(data).get("task") if status == 200 else None
                if status != 200 or task is None:
                    self.errors.append(f"next {status}")
                    break
                if self.think:
                    time.sleep(self.rng.expovariate(1 / self.think))
                # Mostly agreeing annotators, as in a real campaign; some disagreement.
                label = (
                    self.labels[task["lease"] % 3]
                    if self.rng.random() < 0.8
                    else self.rng.choice(self.labels)
                )
                took, status, data = self.call(
                    connection, f"/api/tasks/{task['lease']}/submit/", {"label": label}
                )
                self.latency["submit"].append(took)
                if status == 201:
                    self.accepted.append(json.loads(data)["lease"])
                else:
                    self.errors.append(f"submit {status}: {data[:200]!r}")
        except Exception as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")
        finally:
            connection.close()


def client_process(specs: list[dict], begin: float, results) -> None:
    """One client process: its share of the annotators as threads, started at `begin`
    (time.time, shared by all client processes); sends back what each measured."""
    annotators = [Annotator(**spec) for spec in specs]
    time.sleep(max(0.0, begin - time.time()))
    for annotator in annotators:
        annotator.start()
    for annotator in annotators:
        annotator.join()
    results.put([(a.latency, a.errors, a.accepted) for a in annotators])


def run_annotators(specs: list[dict], clients: int) -> tuple[list, float]:
    """Run the annotators in `clients` processes; (per annotator (latency, errors, accepted),
    seconds from the common start until the last finished)."""
    from django.db import connections

    connections.close_all()  # the children fork from here and must not share a connection
    fork = multiprocessing.get_context("fork")
    results = fork.Queue()
    begin = time.time() + 1.0  # every process started and waiting
    shares = [specs[i::clients] for i in range(clients) if specs[i::clients]]
    processes = [
        fork.Process(target=client_process, args=(share, begin, results)) for share in shares
    ]
    for process in processes:
        process.start()
    measured = [row for _ in processes for row in results.get()]
    elapsed = time.time() - begin
    for process in processes:
        process.join()
    return measured, elapsed


def warm_up(port: int, token: str, workers: int) -> None:
    """Requests that are not measured, until every worker has answered several: its first
    ones open the database connection and load the code."""

    def hit():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        for _ in range(5):
            connection.request(
                "GET", "/api/campaigns/", headers={"Authorization": f"Token {token}"}
            )
            connection.getresponse().read()
        connection.close()

    threads = [threading.Thread(target=hit) for _ in range(4 * workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def profile(campaign, tokens, rounds: int = 200) -> None:
    """Where a request's time goes, in-process and one annotator at a time: the services
    alone, then the same through Django's test client (URL routing, middleware, DRF, token
    authentication, JSON), so the difference is the framework's share."""
    from django.contrib.auth.models import User
    from django.test import Client

    from labeling.services.assignment import next_task, submit_vote

    reset(campaign)
    label = campaign.label_names[0]
    user = User.objects.get(auth_token__key=tokens[0])
    times = {"next": [], "submit": []}
    for _ in range(rounds):
        started = time.perf_counter()
        lease = next_task(user, campaign)
        times["next"].append(time.perf_counter() - started)
        started = time.perf_counter()
        submit_vote(user, lease.pk, label)
        times["submit"].append(time.perf_counter() - started)
    client = Client(HTTP_AUTHORIZATION=f"Token {tokens[1]}", HTTP_HOST="127.0.0.1")
    http = {"next": [], "submit": []}
    for _ in range(rounds):
        started = time.perf_counter()
        task = client.post(f"/api/campaigns/{campaign.pk}/next/").json()["task"]
        http["next"].append(time.perf_counter() - started)
        started = time.perf_counter()
        client.post(
            f"/api/tasks/{task['lease']}/submit/", {"label": label}, content_type="application/json"
        )
        http["submit"].append(time.perf_counter() - started)
    for name in ("next", "submit"):
        service = statistics.median(times[name]) * 1000
        view = statistics.median(http[name]) * 1000
        print(
            f"  {name:>6}: service {service:.1f} ms, through the view {view:.1f} ms "
            f"(framework {view - service:.1f} ms), median of {rounds}"
        )


def start_server(port: int, workers: int, threads: int, env: dict) -> subprocess.Popen:
    server = subprocess.Popen(
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "annotator.wsgi",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            *(["--worker-class", "gthread", "--threads", str(threads)] if threads > 1 else []),
            # Idle keep-alive connections are kept 75 s (nginx's default towards browsers):
            # gunicorn's 2 s would close them during think time, and http.client, unlike a
            # browser, writes the next request into the closed socket.
            "--keep-alive",
            "75",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    for _ in range(100):
        try:
            http.client.HTTPConnection("127.0.0.1", port, timeout=1).request("GET", "/")
            return server
        except OSError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("gunicorn did not start")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--annotators", type=int, nargs="+", default=[8, 32, 64])
    parser.add_argument("--tasks", type=int, default=25, help="tasks per annotator")
    parser.add_argument(
        "--think", type=float, default=0.0, help="mean seconds an annotator looks at a task"
    )
    # 3 gthread workers × 4 threads, as docker-compose runs it: on 2 cores this gave 71-75
    # tasks/s where 4 sync workers gave 43-57 (a sync worker idles through every round trip
    # to the database, and closes the connection after each response).
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers")
    parser.add_argument(
        "--threads", type=int, default=4, help="threads per worker (gthread above 1, else sync)"
    )
    parser.add_argument(
        "--clients", type=int, default=8, help="client processes the annotators are spread over"
    )
    parser.add_argument(
        "--burst",
        action="store_true",
        help="the old start: no warm-up, every annotator's first request at the same instant",
    )
    parser.add_argument(
        "--order",
        choices=["id", "shuffled", "uncertainty", "disagreement", "utterances"],
        default="shuffled",
        help="the campaign's job order (labeling/job_order.py)",
    )
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/cherma_bench")
    parser.add_argument(
        "--profile", action="store_true", help="only time one annotator's requests in-process"
    )
    args = parser.parse_args()

    env = {
        **os.environ,
        "DATABASE_URL": args.database_url,
        "ANNOTATOR_ENV": "production",
        "SECRET_KEY": "bench-" + "x" * 40,
        "DEBUG": "0",
        # No TLS proxy in front of the benchmark's gunicorn: production settings would
        # redirect every request to HTTPS.
        "SECURE_SSL_REDIRECT": "0",
        "ALLOWED_HOSTS": "127.0.0.1",
        "DATABASE_CONN_MAX_AGE": "600",
        "DJANGO_SETTINGS_MODULE": "annotator.settings",
        "LOG_LEVEL": "WARNING",
        "STATIC_ROOT": str(ROOT / "var" / "static"),
    }
    Path(env["STATIC_ROOT"]).mkdir(parents=True, exist_ok=True)
    os.environ.update(env)
    ensure_database(args.database_url)
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    from labeling.models import Vote
    from labeling.selectors.integrity import campaign_integrity

    call_command("migrate", verbosity=0)
    campaign, tokens = seed(max(args.annotators))
    set_order(campaign, args.order)
    if args.profile:
        print(f"in-process profile, {connection.vendor}, load average {load_average()}")
        profile(campaign, tokens)
        return
    server = start_server(args.port, args.workers, args.threads, env)
    kind = f"gthread × {args.threads} threads" if args.threads > 1 else "sync"
    start = "burst start, no warm-up" if args.burst else "warm-up, staggered start"
    print(
        f"\nassignment benchmark: {campaign.jobs.count():,} jobs, order {args.order}, "
        f"gunicorn {args.workers} {kind} workers, think time {args.think}s, "
        f"{args.tasks} tasks per annotator, {args.clients} client processes, {start}, "
        f"{os.cpu_count()} CPUs, {connection.vendor}, load average {load_average()}"
    )
    print(
        f"{'N':>4} {'tasks/s':>8} {'next p50/p95/p99 ms':>22} "
        f"{'submit p50/p95/p99 ms':>24}  breaches"
    )
    try:
        for n in args.annotators:
            reset(campaign)
            if not args.burst:
                warm_up(args.port, tokens[0], args.workers)
            arrivals = random.Random(n)
            specs = [
                dict(
                    port=args.port,
                    campaign_id=campaign.pk,
                    token=tokens[i],
                    labels=campaign.label_names,
                    tasks=args.tasks,
                    think=args.think,
                    seed=i,
                    start_at=0.0 if args.burst else arrivals.uniform(0, args.think),
                )  # fmt: skip
                for i in range(n)
            ]
            measured, elapsed = run_annotators(specs, min(args.clients, n))
            nexts = [x * 1000 for latency, _, _ in measured for x in latency["next"]]
            submits = [x * 1000 for latency, _, _ in measured for x in latency["submit"]]
            accepted = {v for _, _, votes in measured for v in votes}
            stored = set(
                Vote.objects.filter(job__campaign=campaign).values_list("lease_id", flat=True)
            )
            integrity = campaign_integrity(campaign)
            integrity.pop("unfinished_jobs")
            integrity["lost_votes"] = len(accepted - stored)
            integrity["errors"] = sum(len(errors) for _, errors, _ in measured)
            breaches = sum(integrity.values())
            fmt = lambda xs: "/".join(f"{percentile(xs, q):.0f}" for q in (50, 95, 99))  # noqa: E731
            print(
                f"{n:>4} {len(submits) / elapsed:>8.1f} {fmt(nexts):>22} {fmt(submits):>24}  "
                f"{breaches} {json.dumps(integrity)}  load {load_average()}",
                flush=True,
            )
            if breaches:
                print("  errors:", [e for _, errors, _ in measured for e in errors][:5])
            if nexts and submits:
                print(
                    f"       mean next {statistics.mean(nexts):.1f} ms, "
                    f"submit {statistics.mean(submits):.1f} ms, {len(accepted)} votes",
                    flush=True,
                )
    finally:
        server.terminate()
        server.wait()


if __name__ == "__main__":
    main()
