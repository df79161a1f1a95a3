"""Vote counts per job and label, kept current by `labeling.services.tallies`.

What Fleiss' κ and Krippendorff's α need of the votes (`selectors.statistics.tally_sums`),
counted when a vote is written instead of over every vote at read time. One row per job
and label voted; rows of a job are only ever written under that job's lock.
"""

from django.db import models

from labeling.models.annotation import Job


class LabelTally(models.Model):
    job = models.ForeignKey(Job, on_delete=models.CASCADE, related_name="tallies")
    label = models.CharField(max_length=64)
    votes = models.PositiveIntegerField(help_text="Votes for the label: cast here and imported.")
    first_votes = models.PositiveSmallIntegerField(
        help_text="Of those, among the job's first three (cast here by id, then imported)."
    )
    job_votes = models.PositiveIntegerField(
        help_text="The job's votes over every label (the same on each of its rows): its size, "
        "which Krippendorff's α weighs its pairs of votes by."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "label"], name="one_tally_per_job_label")
        ]

    def __str__(self) -> str:
        return f"{self.label}: {self.votes} ({self.first_votes} first) on job {self.job_id}"
