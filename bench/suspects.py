"""Suspect-vote flags against known errors, on the synthetic corpus (issue 15).

The chain (bench/demo_chain.py's phases, in a kept ANNOTATOR_VAR_DIR on the embedded
defaults): make_demo's synthetic corpus (each modality's true emotion is known:
SyntheticTruth), simulated annotators with per-modality accuracies (so every wrong vote is
known), export with the demo's tiny random feature models, LFMIM trained briefly (quick
recipe, 1 seed), then the product's `manage.py predict` with that run on the campaign (every
utterance with jobs, those outside the dataset on a pool extracted with its models), which
becomes the campaign's assistant run. Then the suspect rule (labeling/suspects.py) flags
votes; a flag is right when the vote is a simulated error (vote != the modality's truth).
Printed: per τ, flags, precision and recall, over all decided votes that have a prediction,
and the same for the baseline "disagrees with the final label" (no model).

    .venv/bin/python bench/suspects.py --keep /tmp/suspects [--utterances 150] [--epochs 15]
        [--accuracy t=0.9,a=0.75,v=0.8,m=0.85]
    .venv/bin/python bench/suspects.py --reuse /tmp/suspects   # measure a kept chain again
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.demo_chain import (  # noqa: E402
    _load,
    chain_environment,
    demo_names,
    machine,
    phases,
    run_phase,
)

TAUS = (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
SIMULATED_ACCURACY = "t=0.9,a=0.75,v=0.8,m=0.85"


def prepare(
    var_dir: Path, utterances: int, epochs: int, accuracy: str, rule: tuple[int, int, int] | None
) -> dict[str, float]:
    """Run the chain into var_dir (new or empty); each phase's seconds. `rule`: the demo
    campaign's (initial votes, agreement, max votes) instead of the paper's 3, 3, 4."""
    env = chain_environment(var_dir)
    os.environ.clear()
    os.environ.update(env)
    campaign, recipe, models = demo_names()
    times = {}
    for name, arguments in phases(var_dir, campaign, recipe, models, utterances, epochs):
        if name == "simulate_annotators":
            if rule:  # the demo campaign's rule, before any vote
                initial, agreement, most = rule
                code = (
                    "from labeling.models import Campaign; Campaign.objects.filter(name="
                    f"{campaign!r}).update(initial_votes={initial}, agreement={agreement}, "
                    f"max_votes={most})"
                )
                times["set rule"] = run_phase("set rule", ["shell", "-c", code], env)
            arguments = [*arguments, "--accuracy", accuracy]
        times[name] = run_phase(name, arguments, env)
        print(f"{name}: {times[name]:.1f} s", file=sys.stderr, flush=True)
    return times


def setup_django(var_dir: Path) -> str:
    """Django on the chain's embedded database; the demo campaign's name."""
    env = chain_environment(var_dir)
    os.environ.clear()
    os.environ.update(env)
    campaign, _, _ = demo_names()
    return campaign


def predict_with_the_run(campaign_name: str, var_dir: Path):
    """The product's own predict (`manage.py predict --local`, as a user runs it) with the
    chain's trained run on the campaign, which then takes it as its assistant run; the
    campaign. Utterances outside the run's dataset (a modality discarded) are scored on a
    pool extracted with the dataset's models, as the product does."""
    from labeling.models import Campaign, TrainingRun

    campaign = Campaign.objects.get(name=campaign_name)
    run = TrainingRun.objects.filter(status=TrainingRun.Status.DONE).latest("pk")
    if not run.predictions.exists():
        seconds = run_phase(
            "predict",
            ["predict", "--run", str(run.pk), "--campaign", campaign_name, "--local",
             "--no-progress"],
            chain_environment(var_dir),
        )  # fmt: skip
        print(f"predict: {seconds:.1f} s", file=sys.stderr, flush=True)
    campaign.assistant_run = run
    campaign.save(update_fields=["assistant_run"])
    return campaign


def trained_on(var_dir: Path) -> set[str]:
    """Exported ids of the utterances the run trained on (the dataset's train split)."""
    from training.dataset import CHERMASplit

    return set(CHERMASplit(var_dir / "dataset", "train").utterance_ids)


def vote_table(campaign, trained: set[str]) -> list[tuple]:
    """(modality, vote, final, guess, wrong, unseen) per vote on a job with a final label and
    an utterance the run scored; wrong: the vote is not the modality's synthetic truth;
    unseen: the utterance is not in `trained`, the run's train split (the run never trained
    on its labels: validation, test, or outside the dataset)."""
    from labeling.models import SyntheticTruth, Vote
    from labeling.selectors.exports import utterance_id
    from labeling.selectors.predictions import assistant_predictions, final_answer, guess_of
    from labeling.suspects import as_answer

    predictions = assistant_predictions(campaign)
    truths = {
        t.utterance_id: t for t in SyntheticTruth.objects.filter(utterance__corpus=campaign.corpus)
    }
    rows = []
    for vote in Vote.objects.filter(job__campaign=campaign).select_related(
        "job__campaign", "job__utterance"
    ):
        job = vote.job
        final = final_answer(job)
        guess = guess_of(predictions.get((job.utterance_id, job.modality)))
        if final is None or guess is None:
            continue
        answer = as_answer(vote.label, vote.label_set)
        wrong = answer != truths[job.utterance_id].emotion(job.modality)
        unseen = utterance_id(job.utterance.external_id, job.utterance_id) not in trained
        rows.append((job.modality, answer, final, guess, wrong, unseen))
    return rows


def flag_table(rows: list[tuple], taus=TAUS) -> list[tuple]:
    """Per τ: flags, right flags, precision and recall against the wrong votes."""
    from labeling.suspects import is_suspect

    errors = sum(row[4] for row in rows)
    table = []
    for tau in taus:
        flagged = [row for row in rows if is_suspect(row[1], row[2], row[3], tau)]
        right = sum(row[4] for row in flagged)
        table.append(
            (tau, len(flagged), right, right / len(flagged) if flagged else None,
             right / errors if errors else None)
        )  # fmt: skip
    baseline = [row for row in rows if row[1] != row[2]]  # differs from the final label only
    right = sum(row[4] for row in baseline)
    table.append(("final only", len(baseline), right, right / len(baseline) if baseline else None,
                  right / errors if errors else None))  # fmt: skip
    return table


def _pct(value) -> str:
    return "–" if value is None else f"{100 * value:.1f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--keep", type=Path, metavar="DIR", help="run the chain into DIR (new)")
    where.add_argument("--reuse", type=Path, metavar="DIR", help="measure a kept chain again")
    parser.add_argument("--utterances", type=int, default=150)
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--accuracy", default=SIMULATED_ACCURACY)
    parser.add_argument(
        "--rule",
        default="",
        help="initial,agreement,max votes of the demo campaign (default: the paper's 3,3,4)",
    )
    args = parser.parse_args(argv)
    var_dir = (args.keep or args.reuse).absolute()
    rule = tuple(int(n) for n in args.rule.split(",")) if args.rule else None
    print(machine())
    print(f"load average before {_load()}", flush=True)
    began = time.perf_counter()
    if args.keep:
        if var_dir.exists() and any(var_dir.iterdir()):
            parser.error(f"--keep {var_dir} is not empty; give a new folder, or --reuse it.")
        var_dir.mkdir(parents=True, exist_ok=True)
        times = prepare(var_dir, args.utterances, args.epochs, args.accuracy, rule)
        for name, seconds in times.items():
            print(f"{name:<20} {seconds:>8.1f} s")
    campaign = predict_with_the_run(setup_django(var_dir), var_dir)
    rows = vote_table(campaign, trained_on(var_dir))
    errors = sum(row[4] for row in rows)
    scored = campaign.assistant_run.predictions.values("utterance_id").distinct().count()
    print(
        f"\n{campaign.corpus.utterances.count()} utterances, {scored} scored by the run; "
        f"simulated accuracy {args.accuracy}; {len(rows)} decided votes with a prediction, "
        f"{errors} of them wrong ({_pct(errors / len(rows) if rows else None)} %)"
    )
    for modality in "tavm":
        mine = [row for row in rows if row[0] == modality]
        wrong = sum(row[4] for row in mine)
        print(f"  {modality}: {len(mine)} votes, {wrong} wrong")
    unseen = [row for row in rows if row[5]]
    for title, subset in (
        ("all decided votes with a prediction", rows),
        (f"votes on utterances the run did not train on ({len(unseen)})", unseen),
    ):
        print(f"\n{title}")
        print(f"{'tau':>10} {'flags':>6} {'right':>6} {'precision %':>12} {'recall %':>9}")
        for tau, flags, right, precision, recall in flag_table(subset):
            shown = tau if isinstance(tau, str) else f"{tau:.2f}"
            print(f"{shown:>10} {flags:>6} {right:>6} {_pct(precision):>12} {_pct(recall):>9}")
    print(f"\n{time.perf_counter() - began:.0f} s in all; load average after {_load()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
