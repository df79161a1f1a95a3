"""manage.py predict --run R --campaign C: a finished run scores the campaign's utterances.

The predictions (per utterance and head) order jobs by uncertainty or disagreement, show
beside votes in review and flag suspect votes; annotators never see them. Queued on the gpu
queue and followed here, or run here with --local. See labeling/services/predictions.md.
"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from tqdm import tqdm

from labeling.models import PredictionJob, TrainingRun
from labeling.selectors.annotation import find_campaign
from labeling.services.predictions import PredictionRefused, run_prediction, start_prediction


class Command(BaseCommand):
    help = (
        "Score a campaign's utterances with a finished training run (its best checkpoint of "
        "one seed): those in the run's dataset on their exported features, the others on "
        "features extracted now with the dataset's own models and settings (kept as a pool "
        "beside the exports). Class probabilities per head are stored with the run. Make the "
        "run the campaign's assistant run to use them."
    )

    def add_arguments(self, parser):
        parser.add_argument("--run", type=int, required=True, help="Training run id.")
        parser.add_argument("--campaign", required=True, help="Campaign name or id.")
        parser.add_argument("--seed", type=int, help="Which seed's checkpoint (default: first).")
        parser.add_argument("--local", action="store_true", help="Run here, not on a worker.")
        parser.add_argument("--no-wait", action="store_true", help="Queue it and return its id.")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        campaign = find_campaign(options["campaign"])
        if campaign is None:
            raise CommandError(f"No campaign {options['campaign']!r}; give its name or id.")
        run = TrainingRun.objects.filter(pk=options["run"]).first()
        if run is None:
            raise CommandError(f"No training run {options['run']}; the runs page lists them.")
        try:
            with transaction.atomic():
                job = start_prediction(
                    run=run, campaign=campaign, seed=options["seed"], enqueue=not options["local"]
                )
        except PredictionRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"prediction {job.pk}: run {run.pk} on {campaign}")
        if options["no_wait"] and not options["local"]:
            return
        with tqdm(desc="utterances scored", unit="utt", disable=options["no_progress"]) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            if options["local"]:
                run_prediction(job.pk, progress=progress)
            while not job.is_finished:  # a worker scores it; follow its row
                time.sleep(0.5)
                job.refresh_from_db()
                progress(job.done, job.total)
            job.refresh_from_db()
        if job.status != PredictionJob.Status.DONE:
            raise CommandError(f"prediction {job.pk} {job.status}: {job.error}")
        result = job.result
        self.stdout.write(
            f"scored {result['scored']} utterances (heads {', '.join(result['heads'])}); "
            f"{result['extracted']} of them are outside run {run.pk}'s dataset and scored on "
            f"the pool {result['pool'] or '(none)'}, {result.get('extracted_now', 0)} of those "
            "extracted now."
        )
        for failed in result["failed"]:
            self.stderr.write(f"not scored: {failed['utterance_id']}: {failed['error']}")
        for uid in result["without_media"]:
            self.stderr.write(f"not scored: {uid}: imported without media")
