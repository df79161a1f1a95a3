"""manage.py screen_clips (--corpus NAME | --campaign KEY) [--again failed|all]"""

from contextlib import contextmanager

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from labeling.models import ClipScreening, Corpus, ScreeningStatus
from labeling.selectors.annotation import find_campaign
from labeling.selectors.screening import status_counts
from labeling.services.screening import judge_campaign, measure_corpus, screens


class Command(BaseCommand):
    help = (
        "Measure clips for screening here, without a worker: those not measured yet, or "
        "--again failed|all. Each measured clip is judged in every screening campaign of its "
        "corpus. With --campaign, every clip of that campaign is also judged again with its "
        "current thresholds, and its screening statuses are printed."
    )

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--corpus", help="Corpus name.")
        target.add_argument("--campaign", help="Campaign id or name.")
        parser.add_argument("--again", choices=["failed", "all"], default="")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        campaign = None
        if options["campaign"]:
            campaign = find_campaign(options["campaign"])
            if campaign is None:
                raise CommandError(f"No campaign {options['campaign']!r}; give its id or name.")
            corpus = campaign.corpus
        else:
            corpus = Corpus.objects.filter(name=options["corpus"]).first()
            if corpus is None:
                raise CommandError(f"No corpus named {options['corpus']!r}.")
        with progress_bar("measuring", options["no_progress"]) as progress:
            measured = measure_corpus(corpus.pk, options["again"], progress)
        labels = dict(ScreeningStatus.choices)
        summary = ", ".join(f"{n} {labels.get(s, s)}" for s, n in sorted(measured.items()))
        self.stdout.write(
            f"Measured {sum(measured.values())} clips of {corpus.name}: {summary or '—'}."
        )
        if campaign is None:
            return
        if not screens(campaign):
            raise CommandError(f"Campaign {campaign.name!r} does not screen its clips.")
        with progress_bar("judging", options["no_progress"]) as progress:
            judge_campaign(campaign, progress)
        for status, count in status_counts(campaign).items():
            self.stdout.write(f"{ClipScreening.Status(status).label}: {count}")


@contextmanager
def progress_bar(desc: str, disable: bool):
    """A tqdm bar over clips, driven by a (done, total) callback."""
    with tqdm(total=0, unit="clip", desc=desc, disable=disable) as bar:

        def progress(done: int, total: int) -> None:
            bar.total, bar.n = total, done
            bar.refresh()

        yield progress
