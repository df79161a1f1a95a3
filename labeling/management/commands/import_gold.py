"""manage.py import_gold FILE --campaign X: training, exam and hidden-check gold items."""

from labeling.management.campaign_files import CampaignFileCommand
from labeling.services.qualification import import_gold_items


class Command(CampaignFileCommand):
    help = (
        "Add gold items (utterance, modality, purpose, label, explanation) from a CSV or "
        "JSONL file to a campaign: training questions, exam questions and hidden checks. "
        "Nothing is added if any row is bad."
    )

    def load(self, campaign, path, options):
        return import_gold_items(campaign, path)

    def summary(self, campaign, report) -> str:
        if report.rejected:
            return f"{len(report.rejected)} bad rows; no gold item was added."
        return f"{report.items} gold items added or updated in {campaign.name}."
