"""Training runs: what was asked (model, config, dataset, seeds), how far it got, the outcome.

The work is done by `labeling.services.training` on a `gpu` worker (or in the foreground with
`train_lfmim --local`); the rows are how the pages, the admin and the command see one run.

Epochs are rows of their own (`TrainingEpoch`, one per run × seed × epoch) rather than a JSON
list on the run: each epoch is one insert, so recording it never rewrites (or races with) the
run row that progress and cancel requests update, a resumed seed re-records an epoch in place
(unique together), and the curve endpoint reads exactly the rows it plots.
"""

from django.db import models

from labeling.models.long_jobs import LongJob


class TrainingRun(LongJob):
    name = models.CharField(max_length=200, blank=True)
    model = models.CharField(max_length=32, help_text="One of training.models.MODEL_NAMES.")
    preset = models.CharField(max_length=32)
    config = models.JSONField(help_text="TrainConfig.to_dict() (its seed is set per seed).")
    dataset_path = models.CharField(max_length=1000, help_text="The exported dataset directory.")
    dataset_checksum = models.CharField(
        max_length=64, help_text="sha256 of the dataset's SHA256SUMS file when the run started."
    )
    seeds = models.JSONField(default=list, help_text="The seeds trained, in order.")
    current_seed = models.IntegerField(null=True, blank=True)
    step = models.PositiveIntegerField(default=0, help_text="Optimiser steps done, all seeds.")
    total_steps = models.PositiveIntegerField(default=0, help_text="Steps of all seeds.")
    report = models.JSONField(
        default=dict,
        blank=True,
        help_text='{"classes", "runs": {seed: RunResult.to_dict()}, "summary": summarize_seeds}',
    )
    out_dir = models.CharField(
        max_length=1000, blank=True, help_text="Checkpoints and reports (on the worker)."
    )
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Times a worker started it; later attempts resume from last.pt."
    )
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life of the worker running it."
    )

    def __str__(self) -> str:
        return f"run {self.pk} {self.name or self.model} ({self.status})"

    @property
    def percent(self) -> float:
        return 100.0 * self.step / self.total_steps if self.total_steps else 0.0


class TrainingEpoch(models.Model):
    """One epoch of one seed: its `RunResult.history` record (train and validation, per head)."""

    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="epochs")
    seed = models.IntegerField()
    epoch = models.PositiveIntegerField(help_text="From 1.")
    metrics = models.JSONField()
    recorded_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["run", "seed", "epoch"]
        constraints = [
            models.UniqueConstraint(
                fields=["run", "seed", "epoch"], name="training_epoch_once_per_seed"
            )
        ]

    def __str__(self) -> str:
        return f"run {self.run_id} seed {self.seed} epoch {self.epoch}"
