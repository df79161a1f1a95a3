"""manage.py simulate_annotators --campaign X: simulated annotators work the campaign here.

For demos and dry runs; the admin action "Finish with simulated annotators" runs the same
service on a worker. See labeling/services/simulation.md.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from labeling.selectors.annotation import find_campaign
from labeling.services.simulation import SimulationInvalid, parse_accuracy, simulate


class Command(BaseCommand):
    help = (
        "Let SIMULATED annotators (accounts sim-<campaign id>-NN) work a campaign through the "
        "same services as people: training and exams, leases, the independence guard, hidden "
        "gold checks and verdicts. Each answers the synthetic ground truth with its "
        "modality's accuracy, else another label; without ground truth, uniformly at random."
    )

    def add_arguments(self, parser):
        parser.add_argument("--campaign", required=True, help="Campaign name or id.")
        parser.add_argument(
            "--accuracy",
            default="",
            help="Per modality, e.g. t=0.8,a=0.7,v=0.6,m=0.9 (or one number for all; "
            "modalities not named: 0.85).",
        )
        parser.add_argument(
            "--annotators",
            type=int,
            help="How many simulated annotators (default: as many as the rule needs under "
            "the independence guard, more if some fail an exam or are paused).",
        )
        until = parser.add_mutually_exclusive_group()
        until.add_argument("--votes", type=int, help="Stop after this many votes.")
        until.add_argument(
            "--until",
            choices=["done"],
            help="done (the default without --votes): stop when no simulated annotator "
            "gets a task.",
        )
        parser.add_argument("--seed", type=int, default=0, help="Seed of the answers.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        campaign = find_campaign(options["campaign"])
        if campaign is None:
            raise CommandError(
                f"No campaign {options['campaign']!r}; give its exact name or its id "
                "(the admin's campaign list shows both)."
            )
        try:
            accuracy = parse_accuracy(options["accuracy"])
            with tqdm(desc="simulated votes", unit="vote", disable=options["no_progress"]) as bar:

                def progress(done: int, total: int) -> None:
                    bar.total = total
                    bar.update(done - bar.n)

                report = simulate(
                    campaign,
                    accuracy=accuracy,
                    annotators=options["annotators"],
                    votes=options["votes"],
                    seed=options["seed"],
                    progress=progress,
                )
        except SimulationInvalid as exc:
            raise CommandError(str(exc)) from exc
        for line in report.lines():
            self.stdout.write(line)
