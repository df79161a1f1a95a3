"""manage.py import_gold FILE --campaign X: training, exam and hidden-check gold items."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from labeling.manifest import ManifestError
from labeling.selectors.annotation import find_campaign
from labeling.services.qualification import import_gold_items


class Command(BaseCommand):
    help = (
        "Add gold items (utterance, modality, purpose, label, explanation) from a CSV or "
        "JSONL file to a campaign: training questions, exam questions and hidden checks. "
        "Nothing is added if any row is bad."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--campaign", required=True, help="Campaign name or id.")

    def handle(self, *args, **options):
        key = options["campaign"]
        campaign = find_campaign(key)
        if campaign is None:
            raise CommandError(f"No campaign {key!r}; create it in the admin first.")
        try:
            report = import_gold_items(campaign, options["file"])
        except ManifestError as exc:
            raise CommandError(str(exc)) from exc
        for problem in report.rejected:
            self.stderr.write(f"line {problem['line']}: {problem['reason']}")
        if report.rejected:
            raise CommandError(f"{len(report.rejected)} bad rows; no gold item was added.")
        self.stdout.write(f"{report.items} gold items added or updated in {campaign.name}.")
