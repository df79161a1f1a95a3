"""manage.py import_labels FILE --campaign X: labels or raw votes made outside this tool."""

from labeling.management.campaign_files import CampaignFileCommand
from labeling.services.label_import import import_labels


class Command(CampaignFileCommand):
    help = (
        "Import decided labels (utterance_id, modality, label) or raw votes (… , rater) from a "
        "CSV or JSONL file into a campaign, without media, so the statistics cover them."
    )

    def load(self, campaign, path):
        return import_labels(campaign, path)

    def summary(self, campaign, report) -> str:
        return (
            f"{report.labels} labels set, {report.votes} raw votes stored, {report.unchanged} "
            f"unchanged, {report.new_utterances} new labels-only utterances, "
            f"{len(report.rejected)} rows rejected."
        )
