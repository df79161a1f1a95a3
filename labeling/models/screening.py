"""Screening: whether a clip of the corpus may become jobs of a campaign.

The automatic measurements live on the utterance (they do not depend on the campaign);
the decision depends on the campaign's thresholds and its screeners, so it lives here.
"""

from django.conf import settings
from django.db import models

from labeling.models.annotation import Campaign
from labeling.models.corpus import Utterance


class ClipScreening(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "waiting for automatic measurements"
        REJECTED_AUTO = "rejected_auto", "rejected by automatic checks"
        AWAITING_HUMAN = "awaiting_human", "waiting for a screener"
        ACCEPTED = "accepted", "accepted"
        REJECTED = "rejected", "rejected by a screener"

    class Reason(models.TextChoices):
        SEVERAL_SPEAKERS = "several_speakers", "several speakers"
        FACE_NOT_CLEAR = "face_not_clear", "face not clear"
        BAD_AUDIO = "bad_audio", "bad audio"
        WRONG_LANGUAGE = "wrong_language", "wrong language"
        OTHER = "other", "other (see note)"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="screenings")
    utterance = models.ForeignKey(Utterance, on_delete=models.CASCADE, related_name="screenings")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    automatic_reasons = models.JSONField(
        default=list, blank=True, help_text="Why the automatic checks rejected the clip."
    )
    screener = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=32, choices=Reason.choices, blank=True)
    note = models.CharField(max_length=500, blank=True)
    leased_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "utterance"], name="one_screening_per_campaign_clip"
            )
        ]
        indexes = [models.Index(fields=["campaign", "status", "id"], name="screening_queue")]

    def __str__(self) -> str:
        return f"{self.utterance} in {self.campaign}: {self.status}"
