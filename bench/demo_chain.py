"""Time of the whole demo chain, from `make demo` to a finished training run (issue 11).

In a fresh ANNOTATOR_VAR_DIR with the embedded defaults (SQLite, filesystem broker, no
Redis), it runs what a new user runs, each as a `manage.py` subprocess of this Python:

1. migrate;
2. make_demo --utterances N --render-now (renditions here instead of on a worker);
3. simulate_annotators on the demo campaign until it is done;
4. export_cherma --local with the tiny random feature models make_demo saves in
   FEATURE_MODELS_DIR (VAR_DIR/feature-models);
5. train_lfmim --local, LFMIM, one seed, with cherma_experiment's quick recipe.

It prints the seconds of each phase and the total, the run's test scores (weighted F1 and
accuracy per head, from the run's summary.json) and the machine. Environment variables that
would point the project elsewhere (DATABASE_URL, CELERY_*, MEDIA_ROOT, …) are dropped.

    .venv/bin/python bench/demo_chain.py [--utterances 40] [--epochs 20] [--keep DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

HEADS = ("t", "a", "v", "m")
# What settings reads to point the project at another database, broker or folder.
PROJECT_VARIABLES = (
    "ANNOTATOR_ENV",
    "DATABASE_URL",
    "FEATURE_MODELS_DIR",
    "MEDIA_ROOT",
    "STATIC_ROOT",
    "TRAINING_RUNS_ROOT",
    "TEST_DATABASE_NAME",
)
PROJECT_PREFIXES = ("CELERY_", "EXPORT_")


def chain_environment(var_dir: Path) -> dict[str, str]:
    """This process' environment with the project's own variables dropped, so the chain
    runs on the embedded defaults under `var_dir`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in PROJECT_VARIABLES and not key.startswith(PROJECT_PREFIXES)
    }
    env["ANNOTATOR_VAR_DIR"] = str(var_dir)
    return env


def demo_names() -> tuple[str, dict[str, object], dict[str, Path]]:
    """make_demo's campaign name, cherma_experiment's quick recipe and where make_demo saves
    the tiny feature models, read from the project (Django set up on the chain's
    environment) so the chain follows them when they change."""
    import django
    from django.conf import settings

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "annotator.settings")
    django.setup()
    from labeling.management.commands.cherma_experiment import RECIPES
    from labeling.management.commands.make_demo import DEMO_CORPUS
    from training.features.random_models import random_model_paths

    models = random_model_paths(settings.FEATURE_MODELS_DIR, size="tiny")
    return f"{DEMO_CORPUS}: emotions per modality", RECIPES["quick"], models


def phases(
    var_dir: Path,
    campaign: str,
    recipe: dict[str, object],
    models: dict[str, Path],
    utterances: int,
    epochs: int,
) -> list[tuple[str, list[str]]]:
    """(phase name, manage.py arguments) of the chain, in order."""
    dataset = var_dir / "dataset"
    settings = [f"--set={key}={value}" for key, value in recipe.items()]
    return [
        ("migrate", ["migrate", "--noinput"]),
        (
            "make_demo",
            ["make_demo", "--utterances", str(utterances), "--render-now", "--no-progress"],
        ),
        (
            "simulate_annotators",
            ["simulate_annotators", "--campaign", campaign, "--until", "done", "--no-progress"],
        ),
        (
            "export_cherma",
            [
                "export_cherma",
                "--campaign",
                campaign,
                "--out",
                str(dataset),
                "--local",
                "--no-progress",
                *(f"--{role}-model={path}" for role, path in models.items()),
            ],
        ),
        (
            "train_lfmim",
            [
                "train_lfmim",
                "--dataset",
                str(dataset),
                "--model",
                "lfmim",
                "--local",
                "--seeds",
                "1",
                "--epochs",
                str(epochs),
                *settings,
                "--out",
                str(var_dir / "run"),
                "--no-progress",
            ],
        ),
    ]


def run_phase(name: str, arguments: list[str], env: dict[str, str]) -> float:
    """Seconds one manage.py command took; stops the benchmark with its output on failure."""
    began = time.perf_counter()
    done = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    seconds = time.perf_counter() - began
    if done.returncode != 0:
        sys.exit(
            f"{name} failed (exit code {done.returncode}) after {seconds:.1f} s:\n"
            f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
        )
    return seconds


def read_test_scores(run_dir: Path) -> dict[str, dict[str, float]]:
    """Per head, the test split's weighted F1 and accuracy (means over the run's seeds) from
    the summary.json the trainer writes."""
    summary = json.loads((run_dir / "summary.json").read_text())["summary"]
    if not summary:
        raise ValueError(f"{run_dir / 'summary.json'} has no test scores.")
    return {
        head: {metric: summary[head][metric]["mean"] for metric in ("f1_weighted", "accuracy")}
        for head in HEADS
        if head in summary
    }


def machine() -> str:
    cpu, memory = "unknown CPU", ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            memory = f", {int(line.split()[1]) / 2**20:.0f} GB"
    return (
        f"{os.cpu_count()} cores, {cpu}{memory}; Python {platform.python_version()}, "
        f"torch {version('torch')}"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--utterances", type=int, default=40, help="demo corpus size (the Makefile's 40)"
    )
    parser.add_argument("--epochs", type=int, default=20)
    parser.add_argument(
        "--keep",
        type=Path,
        metavar="DIR",
        help="use DIR (new or empty) as ANNOTATOR_VAR_DIR and keep it (default: a temporary "
        "folder, removed)",
    )
    args = parser.parse_args(argv)
    if args.keep and args.keep.exists() and any(args.keep.iterdir()):
        parser.error(f"--keep {args.keep} is not empty; give a new or empty folder.")

    with tempfile.TemporaryDirectory(prefix="bench-demo-chain-") as tmp:
        var_dir = (args.keep or Path(tmp)).absolute()
        var_dir.mkdir(parents=True, exist_ok=True)
        env = chain_environment(var_dir)
        os.environ.clear()
        os.environ.update(env)
        campaign, recipe, models = demo_names()
        print(machine())
        print(
            f"{args.utterances} utterances, campaign {campaign!r}, LFMIM quick recipe, 1 seed, "
            f"{args.epochs} epochs; load average before {_load()}",
            flush=True,
        )
        times = {}
        chain = phases(var_dir, campaign, recipe, models, args.utterances, args.epochs)
        for name, arguments in chain:
            times[name] = run_phase(name, arguments, env)
            print(f"{name}: {times[name]:.1f} s", file=sys.stderr, flush=True)
        scores = read_test_scores(var_dir / "run")
    print(f"load average after {_load()}\n")
    print(f"{'phase':<20} {'seconds':>8}")
    for name, seconds in times.items():
        print(f"{name:<20} {seconds:>8.1f}")
    print(f"{'total':<20} {sum(times.values()):>8.1f}\n")
    print(f"{'head':<4} {'test weighted F1 %':>18} {'accuracy %':>10}")
    for head, row in scores.items():
        print(f"{head:<4} {100 * row['f1_weighted']:>18.2f} {100 * row['accuracy']:>10.2f}")
    if args.keep:
        print(f"\nThe chain's folder is kept in {var_dir}.")
    return 0


def _load() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


if __name__ == "__main__":
    sys.exit(main())
