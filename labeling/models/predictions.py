"""A trained run's predictions on a corpus: the model in the loop (services/predictions.py).

`PredictionJob` is one predict task (run × campaign) with its progress; `Prediction` is what
it leaves, per utterance and head: the class probabilities and the run they came from. They
order jobs, show beside votes in review and flag suspect votes; no annotator ever sees them.
"""

from django.db import models

from labeling.models.annotation import Campaign
from labeling.models.corpus import Modality, Utterance
from labeling.models.long_jobs import LongJob
from labeling.models.runs import TrainingRun


class PredictionJob(LongJob):
    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="prediction_jobs")
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="prediction_jobs")
    options = models.JSONField(
        default=dict, blank=True, help_text="seed (which of the run's checkpoints), batch size."
    )
    done = models.PositiveIntegerField(default=0, help_text="Utterances scored so far.")
    total = models.PositiveIntegerField(default=0, help_text="Utterances to score.")
    attempts = models.PositiveSmallIntegerField(default=0)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    result = models.JSONField(
        default=dict, blank=True, help_text="scored, features extracted, utterances without media."
    )

    def __str__(self) -> str:
        return f"prediction {self.pk} of {self.campaign} by run {self.run_id} ({self.status})"


class Prediction(models.Model):
    """One head's output for one utterance. Probabilities are in the run's class order:
    softmax over classes (single-label) or a sigmoid per class (multi-label)."""

    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="predictions")
    utterance = models.ForeignKey(Utterance, on_delete=models.CASCADE, related_name="predictions")
    head = models.CharField(max_length=1, choices=Modality.choices)
    probabilities = models.JSONField()
    label = models.CharField(
        max_length=64, blank=True, help_text="Single-label: the most probable class."
    )
    label_set = models.JSONField(
        null=True, blank=True, help_text="Multi-label: the classes at or above the threshold."
    )
    confidence = models.FloatField(help_text="Probability of the predicted class (max).")
    entropy = models.FloatField(help_text="Shannon entropy of the head's distribution, nats.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["run", "utterance", "head"], name="one_prediction_per_run_utterance_head"
            )
        ]
        indexes = [models.Index(fields=["utterance", "head"], name="prediction_by_utterance")]

    def __str__(self) -> str:
        return (
            f"run {self.run_id} {self.head} on {self.utterance_id}: {self.label or self.label_set}"
        )
