"""manage.py export_votes --campaign X --out DIR: every vote and every job's verdict."""

import os
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from labeling.management.campaign_files import add_campaign_argument, named_campaign
from labeling.models import ImportedVote, Vote
from labeling.report import FORMATS, table_lines
from labeling.selectors.votes import TABLES, raw_rows


class Command(BaseCommand):
    help = (
        "Write every vote (utterance, modality, annotator pseudonym, label, seconds, lease "
        "times, verdict) and every job's verdict of a campaign as votes.csv/.jsonl and "
        "verdicts.csv/.jsonl in DIR: the same tables as the dashboard's downloads."
    )

    def add_arguments(self, parser):
        add_campaign_argument(parser)
        parser.add_argument("--out", required=True, type=Path, help="A new directory.")
        parser.add_argument(
            "--format", choices=[*FORMATS, "both"], default="both", help="Default: both."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def handle(self, *args, **options):
        campaign = named_campaign(options["campaign"])
        out = Path(options["out"]).expanduser()
        if out.exists():
            raise CommandError(f"{out} already exists; choose a new directory with --out.")
        formats = list(FORMATS) if options["format"] == "both" else [options["format"]]
        sizes = {
            "votes": Vote.objects.filter(job__campaign=campaign).count()
            + ImportedVote.objects.filter(job__campaign=campaign).count(),
            "verdicts": campaign.jobs.count(),
        }
        partial = out.with_name(f".{out.name}.partial")
        partial.mkdir(parents=True, exist_ok=True)
        for table, columns in TABLES.items():
            for fmt in formats:
                rows = tqdm(
                    raw_rows(campaign, table),
                    total=sizes[table],
                    desc=f"{table}.{fmt}",
                    unit="row",
                    file=self.stderr,
                    disable=options["no_progress"],
                )
                with open(partial / f"{table}.{fmt}", "w", encoding="utf-8", newline="") as f:
                    f.writelines(table_lines(columns, rows, fmt))
        os.replace(partial, out)  # a directory appears only when complete
        self.stdout.write(
            f"Wrote {sizes['votes']} votes and {sizes['verdicts']} verdicts of {campaign.name} "
            f"({', '.join(formats)}) to {out}."
        )
