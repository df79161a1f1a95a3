"""manage.py import_utterances MANIFEST --media-root DIR [--corpus NAME]"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from labeling.models import Corpus
from labeling.services.imports import ImportFailed, import_manifest
from labeling.services.renditions import render_pending


class Command(BaseCommand):
    help = (
        "Import utterances from a CSV or JSONL manifest (columns: media, transcript, id, "
        "speaker_gender, age_group, programme, scenario) whose media paths are relative to "
        "--media-root. Bad rows are reported by line; good rows are imported in one "
        "transaction and their renditions are queued for the workers."
    )

    def add_arguments(self, parser):
        parser.add_argument("manifest", type=Path)
        parser.add_argument("--media-root", type=Path, required=True)
        parser.add_argument("--corpus", default="default", help="Corpus name (created if new).")
        parser.add_argument(
            "--strict", action="store_true", help="Import nothing if any row is bad."
        )
        parser.add_argument(
            "--render-now",
            action="store_true",
            help="Also render the modalities here, without a worker.",
        )
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        media_root: Path = options["media_root"]
        if not media_root.is_dir():
            raise CommandError(f"--media-root {media_root} is not a directory.")
        corpus, created = Corpus.objects.get_or_create(name=options["corpus"])
        if created:
            self.stdout.write(f"Created corpus {corpus.name!r}.")
        with tqdm(total=0, unit="row", desc="checking", disable=options["no_progress"]) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.n = done
                bar.refresh()

            try:
                batch = import_manifest(
                    corpus=corpus,
                    manifest_path=options["manifest"],
                    media_root=media_root,
                    strict=options["strict"],
                    progress=progress,
                )
            except ImportFailed as exc:
                raise CommandError(str(exc)) from exc
        for problem in batch.rejected:
            self.stderr.write(f"line {problem['line']}: {problem['reason']}")
        self.stdout.write(
            f"Import {batch.pk} into {corpus.name!r}: {batch.rows_imported} imported, "
            f"{batch.rows_unchanged} unchanged, {batch.rows_rejected} rejected."
        )
        if batch.error:
            raise CommandError(batch.error)
        if options["render_now"]:
            render_with_progress(corpus, self.stdout, disable=options["no_progress"])


def render_with_progress(corpus: Corpus, stdout, disable: bool = False) -> None:
    """Render a corpus's pending renditions in this process, with a progress bar."""
    with tqdm(total=0, unit="utterance", desc="rendering", disable=disable) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        rendered, failed = render_pending(corpus.pk, progress=progress)
    stdout.write(f"Rendered {rendered} utterances; {failed} renditions failed.")
