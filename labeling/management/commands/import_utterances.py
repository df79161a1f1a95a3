"""manage.py import_utterances MANIFEST --media-root DIR [--corpus NAME]"""

from collections.abc import Callable
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from labeling.models import Corpus, ImportBatch
from labeling.services.imports import ImportFailed, Progress, import_manifest
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
        add_import_options(parser)

    def handle(self, *args, **options):
        media_root: Path = options["media_root"]
        if not media_root.is_dir():
            raise CommandError(f"--media-root {media_root} is not a directory.")
        corpus = corpus_named(self, options["corpus"])
        import_with_progress(
            self,
            corpus,
            lambda progress: import_manifest(
                corpus=corpus,
                manifest_path=options["manifest"],
                media_root=media_root,
                strict=options["strict"],
                progress=progress,
            ),
            desc="checking",
            disable=options["no_progress"],
        )
        if options["render_now"]:
            render_with_progress(corpus, self.stdout, disable=options["no_progress"])


def add_import_options(parser) -> None:
    """The options every import command shares."""
    parser.add_argument("--corpus", default="default", help="Corpus name (created if new).")
    parser.add_argument("--strict", action="store_true", help="Import nothing if any row is bad.")
    parser.add_argument(
        "--render-now",
        action="store_true",
        help="Also render the modalities here, without a worker.",
    )
    parser.add_argument("--no-progress", action="store_true")


def corpus_named(command: BaseCommand, name: str) -> Corpus:
    corpus, created = Corpus.objects.get_or_create(name=name)
    if created:
        command.stdout.write(f"Created corpus {corpus.name!r}.")
    return corpus


def import_with_progress(
    command: BaseCommand,
    corpus: Corpus,
    run: Callable[[Progress], ImportBatch],
    *,
    desc: str,
    disable: bool = False,
    imported: str = "imported",
) -> ImportBatch:
    """Run an import behind a progress bar, then print each rejected row (file and line) and
    the outcome; CommandError when the import failed as a whole or, strict, imported nothing."""
    with tqdm(total=0, unit="row", desc=desc, disable=disable) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        try:
            batch = run(progress)
        except ImportFailed as exc:
            raise CommandError(str(exc)) from exc
    for problem in batch.rejected:
        where = f"{problem['file']} " if problem.get("file") else ""
        command.stderr.write(f"{where}line {problem['line']}: {problem['reason']}")
    command.stdout.write(
        f"Import {batch.pk} into {corpus.name!r}: {batch.rows_imported} {imported}, "
        f"{batch.rows_unchanged} unchanged, {batch.rows_rejected} rejected."
    )
    if batch.error:
        raise CommandError(batch.error)
    return batch


def render_with_progress(corpus: Corpus, stdout, disable: bool = False) -> None:
    """Render a corpus's pending renditions in this process, with a progress bar."""
    with tqdm(total=0, unit="utterance", desc="rendering", disable=disable) as bar:

        def progress(done: int, total: int) -> None:
            bar.total = total
            bar.n = done
            bar.refresh()

        rendered, failed = render_pending(corpus.pk, progress=progress)
    stdout.write(f"Rendered {rendered} utterances; {failed} renditions failed.")
