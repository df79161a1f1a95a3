"""What the commands that load a file into a campaign share: arguments, lookup, the report."""

from abc import ABC, abstractmethod
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from labeling.manifest import ManifestError
from labeling.models import Campaign
from labeling.selectors.annotation import find_campaign


def add_campaign_argument(parser) -> None:
    parser.add_argument("--campaign", required=True, help="Campaign name or id.")


def named_campaign(key: str) -> Campaign:
    """The campaign `--campaign` names (name or id), or a CommandError listing the others."""
    campaign = find_campaign(key)
    if campaign is None:
        names = ", ".join(Campaign.objects.order_by("name").values_list("name", flat=True))
        raise CommandError(
            f"No campaign {key!r}. Campaigns: {names or 'none yet; create one in the admin'}."
        )
    return campaign


class CampaignFileCommand(BaseCommand, ABC):
    """`manage.py <command> FILE --campaign X`; subclasses load the file and summarise.

    The command exits non-zero when any row was rejected."""

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        add_campaign_argument(parser)

    @abstractmethod
    def load(self, campaign, path: Path, options: dict):
        """Load the file; return a report with `rejected` rows ({line, reason})."""

    @abstractmethod
    def summary(self, campaign, report) -> str:
        """The line printed after the rejected rows (the error message when there are any)."""

    def handle(self, *args, **options):
        campaign = named_campaign(options["campaign"])
        try:
            report = self.load(campaign, options["file"], options)
        except ManifestError as exc:
            raise CommandError(str(exc)) from exc
        for problem in report.rejected:
            self.stderr.write(f"line {problem['line']}: {problem['reason']}")
        if report.rejected:  # scripts must see that the file was not taken whole
            raise CommandError(self.summary(campaign, report))
        self.stdout.write(self.summary(campaign, report))
