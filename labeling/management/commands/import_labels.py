"""manage.py import_labels FILE --campaign X: labels or raw votes made outside this tool."""

from tqdm import tqdm

from labeling.management.campaign_files import CampaignFileCommand
from labeling.services.label_import import import_labels


class Command(CampaignFileCommand):
    help = (
        "Import decided labels (utterance_id, modality, label) or raw votes (… , rater) from a "
        "CSV or JSONL file into a campaign, without media, so the statistics cover them. The "
        "wide layout (utterance_id, t, a, v, m: one row per utterance) works too. Exits "
        "non-zero when any row was rejected."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.add_argument(
            "--create-utterances",
            action="store_true",
            help="Add a labels-only utterance (no media) for each id the corpus does not have; "
            "without it such rows are rejected as likely typos (unless the corpus is "
            "labels-only).",
        )
        parser.add_argument(
            "--strict", action="store_true", help="Write nothing if any row is rejected."
        )
        parser.add_argument("--no-progress", action="store_true", help="No progress bar.")

    def load(self, campaign, path, options):
        with tqdm(
            desc="labels", unit="job", file=self.stderr, disable=options["no_progress"]
        ) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            return import_labels(
                campaign,
                path,
                create_utterances=options["create_utterances"],
                strict=options["strict"],
                progress=progress,
            )

    def summary(self, campaign, report) -> str:
        if not report.written:
            return f"{len(report.rejected)} rows rejected; nothing was written (--strict)."
        return (
            f"{report.labels} labels set, {report.votes} raw votes stored, {report.unchanged} "
            f"unchanged, {report.new_utterances} new labels-only utterances, "
            f"{len(report.rejected)} rows rejected."
        )
