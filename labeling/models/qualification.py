"""Qualification: training questions, exams per modality, and hidden gold checks.

A gold item is an utterance seen through one modality with a known label. Its answers
are GoldAnswers, never Votes, and a campaign makes no jobs of its gold utterances, so
gold can reach neither a verdict nor an export.
"""

from django.conf import settings
from django.db import models

from labeling.models.annotation import Campaign, Lease
from labeling.models.corpus import Modality, Utterance


class GoldItem(models.Model):
    class Purpose(models.TextChoices):
        TRAINING = "training", "training (answer and explanation shown)"
        EXAM = "exam", "exam question"
        CHECK = "check", "hidden check among real tasks"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="gold_items")
    utterance = models.ForeignKey(Utterance, on_delete=models.PROTECT, related_name="gold_items")
    modality = models.CharField(max_length=1, choices=Modality.choices)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    label = models.CharField(max_length=64, help_text="The expected answer.")
    explanation = models.TextField(blank=True, help_text="Shown after a training answer.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "utterance", "modality", "purpose"], name="one_gold_item"
            )
        ]
        ordering = ["campaign", "purpose", "modality", "id"]

    def __str__(self) -> str:
        return f"{self.purpose} {self.utterance} [{self.modality}] = {self.label}"


class Exam(models.Model):
    """The exam an annotator passes before getting real jobs in one modality."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="exams")
    modality = models.CharField(max_length=1, choices=Modality.choices)
    questions = models.PositiveSmallIntegerField(
        default=10, help_text="Questions per attempt, drawn from the exam items (0: all)."
    )
    pass_mark = models.FloatField(default=0.8, help_text="Share of right answers to pass.")
    max_attempts = models.PositiveSmallIntegerField(default=3)
    cooldown_minutes = models.PositiveIntegerField(
        default=60, help_text="Wait after a failed attempt before the next one."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "modality"], name="one_exam_per_modality"),
            models.CheckConstraint(
                condition=models.Q(pass_mark__gt=0, pass_mark__lte=1)
                & models.Q(max_attempts__gte=1),
                name="exam_settings_are_valid",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.campaign} exam [{self.modality}]"


class ExamAttempt(models.Model):
    exam = models.ForeignKey(Exam, on_delete=models.CASCADE, related_name="attempts")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="exam_attempts"
    )
    number = models.PositiveSmallIntegerField()
    questions = models.JSONField(help_text="Gold item ids in the order they are asked.")
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    correct = models.PositiveSmallIntegerField(default=0)
    score = models.FloatField(null=True, blank=True)
    passed = models.BooleanField(null=True, blank=True)
    counts = models.BooleanField(
        default=True,
        help_text="Off when an admin allowed another try: it no longer uses up an attempt.",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["exam", "annotator", "number"], name="attempts_numbered_per_annotator"
            )
        ]
        ordering = ["exam", "annotator", "number"]

    def __str__(self) -> str:
        return f"{self.annotator} attempt {self.number} at {self.exam}"


class GoldAnswer(models.Model):
    """An answer on a gold item (training, exam or hidden check). Never a dataset vote."""

    lease = models.OneToOneField(Lease, on_delete=models.CASCADE, related_name="gold_answer")
    gold_item = models.ForeignKey(GoldItem, on_delete=models.CASCADE, related_name="answers")
    annotator = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="gold_answers"
    )
    label = models.CharField(max_length=64)
    correct = models.BooleanField()
    seconds_spent = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.annotator} → {self.label} on {self.gold_item}"
