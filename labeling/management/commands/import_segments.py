"""manage.py import_segments TABLE_OR_SRT_OR_DIR --media-root DIR [--corpus NAME] [--strict]"""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from labeling.management.commands.import_utterances import (
    add_import_options,
    corpus_named,
    import_with_progress,
    render_with_progress,
)
from labeling.services.segments import import_segments


class Command(BaseCommand):
    help = (
        "Cut utterances out of whole episodes. The input is a segment table (CSV or JSONL: "
        "source, start, end, transcript, and optionally id, speaker_gender, age_group, "
        "programme, scenario), an .srt file beside its same-name episode, or a folder of "
        "episodes with their .srt files. Bad rows (overlapping, past the episode's end, bad "
        "times, paths outside --media-root) are reported by line; good rows are cut and "
        "imported in one transaction and their renditions are queued for the workers."
    )

    def add_arguments(self, parser):
        parser.add_argument("table", type=Path, help="A .csv/.jsonl table, an .srt, or a folder.")
        parser.add_argument(
            "--media-root",
            type=Path,
            help="The folder episode paths are relative to (default: the folder of an .srt, "
            "or the folder itself; required for tables).",
        )
        add_import_options(parser)

    def handle(self, *args, **options):
        table = Path(options["table"])
        if not table.exists():
            raise CommandError(f"{table} does not exist.")
        media_root = Path(options["media_root"] or _default_media_root(table))
        if not media_root.is_dir():
            raise CommandError(f"--media-root {media_root} is not a directory.")
        corpus = corpus_named(self, options["corpus"])
        import_with_progress(
            self,
            corpus,
            lambda progress: import_segments(
                corpus=corpus,
                table_path=table,
                media_root=media_root,
                strict=options["strict"],
                progress=progress,
            ),
            desc="cutting",
            disable=options["no_progress"],
            imported="cut and imported",
        )
        if options["render_now"]:
            render_with_progress(corpus, self.stdout, disable=options["no_progress"])


def _default_media_root(table: Path) -> Path:
    if table.is_dir():
        return table
    if table.suffix.lower() == ".srt":
        return table.parent
    raise CommandError("Give --media-root: the folder the table's source paths are relative to.")
