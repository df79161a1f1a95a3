"""manage.py import_labels FILE --campaign X: labels or raw votes made outside this tool."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from labeling.manifest import ManifestError
from labeling.selectors.annotation import find_campaign
from labeling.services.label_import import import_labels


class Command(BaseCommand):
    help = (
        "Import decided labels (utterance_id, modality, label) or raw votes (… , rater) from a "
        "CSV or JSONL file into a campaign, without media, so the statistics cover them."
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
            report = import_labels(campaign, options["file"])
        except ManifestError as exc:
            raise CommandError(str(exc)) from exc
        for problem in report.rejected:
            self.stderr.write(f"line {problem['line']}: {problem['reason']}")
        self.stdout.write(
            f"{report.labels} labels set, {report.votes} raw votes stored, {report.unchanged} "
            f"unchanged, {report.new_utterances} new labels-only utterances, "
            f"{len(report.rejected)} rows rejected."
        )
