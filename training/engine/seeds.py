"""Several seeds of one configuration, summarised as mean ± std, as the paper reports (five
seeds, §5.1.2). Seed s trains in `out_dir/seed-<s>`; with `resume=True`, seeds that already
finished are read back from their result.json and unfinished ones continue from last.pt.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torch.utils.data import Dataset

from training.metrics import format_table, summarize_seeds

from .config import TrainConfig
from .distributed import distributed_context
from .result import Callback, RunResult
from .trainer import train


@dataclass
class SeedsResult:
    results: dict[int, RunResult]  # seed -> its run
    summary: dict[str, dict[str, Any]] | None  # summarize_seeds of the test reports

    def table(self, title: str | None = None) -> str:
        """Per-head test table, cells "mean ± std" over the seeds."""
        if self.summary is None:
            raise ValueError("These runs had no test set, so there is nothing to tabulate.")
        classes = next(iter(self.results.values())).classes
        return format_table(self.summary, classes=classes, title=title)

    def to_dict(self) -> dict[str, Any]:
        return {
            "seeds": list(self.results),
            "summary": self.summary,
            "runs": {str(s): r.out_dir for s, r in self.results.items()},
        }


def train_seeds(
    config: TrainConfig,
    seeds: Sequence[int],
    train_set: Dataset,
    val_set: Dataset | None,
    test_set: Dataset | None,
    out_dir: str | Path,
    *,
    callbacks_for: Callable[[int], Sequence[Callback]] | None = None,
    should_stop: Callable[[], bool] | None = None,
    resume: bool = False,
    classes: Sequence[str] | None = None,
) -> SeedsResult:
    """Train `config` once per seed; writes summary.json and report.txt to `out_dir`.

    `callbacks_for(seed)` gives the callbacks of one seed's run (e.g. a progress bar each).
    """
    out_dir = Path(out_dir)
    results: dict[int, RunResult] = {}
    with distributed_context(config.device) as ctx:  # one process group for all seeds
        for seed in seeds:
            run_dir = out_dir / f"seed-{seed}"
            done = run_dir / "result.json"
            if resume and done.exists():
                results[seed] = RunResult.load(done)
                continue
            results[seed] = train(
                config.replace(seed=seed),
                train_set,
                val_set,
                test_set,
                run_dir,
                callbacks=callbacks_for(seed) if callbacks_for else None,
                should_stop=should_stop,
                resume=resume,
                classes=classes,
            )
        has_test = all(r.test is not None for r in results.values())
        outcome = SeedsResult(results, summarize_seeds(results.values()) if has_test else None)
        if ctx.is_main:
            out_dir.mkdir(parents=True, exist_ok=True)
            (out_dir / "summary.json").write_text(json.dumps(outcome.to_dict(), indent=1))
            if outcome.summary is not None:
                title = f"{config.model} test set, mean ± std over seeds {list(seeds)}, per head"
                (out_dir / "report.txt").write_text(outcome.table(title) + "\n")
    return outcome
