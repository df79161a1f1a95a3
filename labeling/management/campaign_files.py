"""What the commands that load a file into a campaign share: arguments, lookup, the report."""

from abc import ABC, abstractmethod
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from labeling.manifest import ManifestError
from labeling.selectors.annotation import find_campaign


class CampaignFileCommand(BaseCommand, ABC):
    """`manage.py <command> FILE --campaign X`; subclasses load the file and summarise."""

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--campaign", required=True, help="Campaign name or id.")

    @abstractmethod
    def load(self, campaign, path: Path):
        """Load the file; return a report with `rejected` rows ({line, reason})."""

    @abstractmethod
    def summary(self, campaign, report) -> str:
        """The line printed after the rejected rows."""

    def handle(self, *args, **options):
        key = options["campaign"]
        campaign = find_campaign(key)
        if campaign is None:
            raise CommandError(f"No campaign {key!r}; create it in the admin first.")
        try:
            report = self.load(campaign, options["file"])
        except ManifestError as exc:
            raise CommandError(str(exc)) from exc
        for problem in report.rejected:
            self.stderr.write(f"line {problem['line']}: {problem['reason']}")
        self.stdout.write(self.summary(campaign, report))
