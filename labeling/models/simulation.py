"""Simulation runs: simulated annotators finishing a campaign on a worker (admin action).

The work is done by `labeling.services.simulation`; the row is how the admin follows it.
"""

from django.db import models

from labeling.models.annotation import Campaign
from labeling.models.long_jobs import LongJob


class SimulationRun(LongJob):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="simulation_runs")
    options = models.JSONField(
        default=dict,
        blank=True,
        help_text="accuracy per modality, annotators, votes (empty: until done), seed.",
    )
    done = models.PositiveIntegerField(default=0, help_text="Votes cast so far.")
    total = models.PositiveIntegerField(
        default=0, help_text="Votes the campaign still wanted (at least) when the run began."
    )
    result = models.JSONField(
        default=dict, blank=True, help_text="What the run did and anything left stuck."
    )

    def __str__(self) -> str:
        return f"simulation {self.pk} of {self.campaign} ({self.status})"
