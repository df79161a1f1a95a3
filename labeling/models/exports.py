"""Dataset exports: one row per run of the exporter (what was asked, how far it got, the outcome).

The work is done by `labeling.services.exports`; the row is how the admin, the
`export_cherma` command and a worker on another machine see the same export.
"""

from django.db import models

from labeling.models.annotation import Campaign
from labeling.models.long_jobs import LongJob


class ExportJob(LongJob):
    campaign = models.ForeignKey(Campaign, on_delete=models.PROTECT, related_name="export_jobs")
    out_dir = models.CharField(
        max_length=1000, help_text="Absolute path the dataset is written to (on the worker)."
    )
    options = models.JSONField(
        default=dict,
        blank=True,
        help_text="Models (paths or hub ids), seed, stratify, dtype, shard_size, class_order, "
        "released_layout, text and frame settings: see labeling.services.exports.",
    )
    done = models.PositiveIntegerField(default=0, help_text="Utterances processed so far.")
    total = models.PositiveIntegerField(default=0, help_text="Utterances selected.")
    attempts = models.PositiveSmallIntegerField(
        default=0, help_text="Runs started; a re-run continues from the finished shards."
    )
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last sign of life of the worker running it."
    )
    result = models.JSONField(
        default=dict,
        blank=True,
        help_text="sizes, failed utterances, shards reused, utterances without media.",
    )

    def __str__(self) -> str:
        return f"export {self.pk} of {self.campaign} ({self.status})"
