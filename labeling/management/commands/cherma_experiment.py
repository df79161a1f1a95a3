"""manage.py cherma_experiment: the paper's comparison (Table 2) end to end on the synthetic corpus.

1. `make_demo` builds (or reuses) a synthetic corpus of N utterances;
2. its ground truth becomes decided labels (t = text_emotion, a = voice_emotion,
   v = face_emotion, m = underlying) through the labels import service, in a campaign of
   their own;
3. the campaign is exported through the export service (ExportJob, features from the three
   given models);
4. LFMIM, LFMIM-ML and PMR are trained over the given seeds as recorded runs;
5. the Table 2-style comparison (m head) and LFMIM's Table 4 (per head) are printed and saved.

Everything is synthetic. With `--tiny-random-models` the feature models are randomly
initialised base-shaped BERT / wav2vec 2.0 / ResNet-18 (no download): the numbers then say
that the pipeline works, not how well LFMIM recognises emotions.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from labeling.management.commands.train_lfmim import add_set_option
from labeling.models import Campaign, Corpus, ExportJob, SyntheticTruth, TrainingRun
from labeling.services import training as runs
from labeling.services.campaigns import create_campaign
from labeling.services.exports import create_export, run_export
from labeling.services.label_import import import_labels
from training.__main__ import ProgressBar
from training.features.random_models import save_random_models
from training.metrics import agreement_with_labels, format_agreement_table, format_table
from training.options import RECIPES

MODELS = ("lfmim", "lfmim-ml", "pmr")
RANDOM_WARNING = (
    "RANDOM WEIGHTS: the text, audio and vision feature models are randomly initialised "
    "(--tiny-random-models), not pre-trained; these scores only show the pipeline runs."
)


class Command(BaseCommand):
    help = (
        "Build a synthetic corpus, label it with its ground truth, export it and train LFMIM, "
        "LFMIM-ML and PMR over several seeds; print the Table 2-style comparison."
    )

    def add_arguments(self, parser):
        parser.add_argument("--utterances", type=int, default=200)
        parser.add_argument("--inconsistency", type=float, default=0.35)
        parser.add_argument("--corpus-seed", type=int, default=0, help="make_demo's --seed")
        parser.add_argument("--seeds", type=int, default=5, help="training seeds 0..N-1")
        parser.add_argument("--epochs", type=int, default=20)
        parser.add_argument("--models", default=",".join(MODELS), help="comma-separated")
        parser.add_argument("--preset", default="paper")
        parser.add_argument(
            "--recipe",
            choices=sorted(RECIPES),
            default="quick",
            help="quick (default): AdamW lr 1e-3, batch 16, d_model 64, 2 layers, 4 heads, 50 "
            "audio frames; paper: the paper's settings (SGD lr 0.005, d 128, 4 layers)",
        )
        add_set_option(parser, " for every model")
        parser.add_argument("--text-model", help="BERT directory (save_pretrained)")
        parser.add_argument("--audio-model", help="wav2vec 2.0 directory")
        parser.add_argument("--vision-model", help="ResNet directory")
        parser.add_argument(
            "--tiny-random-models",
            action="store_true",
            help="build randomly initialised base-shaped BERT, wav2vec 2.0 and ResNet-18 in "
            "OUT/models instead (no download; the scores then mean nothing)",
        )
        parser.add_argument(
            "--segments", type=int, default=4, help="vision: segments per clip (paper: 8)"
        )
        parser.add_argument(
            "--per-segment",
            type=int,
            default=4,
            help="vision: frames sampled per segment (paper: 8; 4 × 4 = the released code's 16)",
        )
        parser.add_argument("--device", help="feature extraction device (default: auto)")
        parser.add_argument("--out", required=True, type=Path, help="experiment folder")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        out: Path = options["out"].expanduser().absolute()
        out.mkdir(parents=True, exist_ok=True)
        models = [m.strip() for m in options["models"].split(",") if m.strip()]
        configs = {model: self._config(model, options) for model in models}  # checked first
        paths = self._feature_models(out, options)
        campaign = self._labelled_campaign(options)
        dataset = self._export(campaign, out / "dataset", paths, options)
        done = [self._train(model, configs[model], dataset, out, options) for model in models]

        lines = []
        if options["tiny_random_models"]:
            lines += [RANDOM_WARNING, ""]
        lines.append(runs.comparison_table(done))
        lfmim = next((r for r in done if r.model == "lfmim"), None)
        if lfmim is not None:
            title = f"LFMIM per head (like Table 4), test set, seeds {lfmim.seeds}"
            table = format_table(
                runs.head_rows(lfmim), classes=lfmim.report["classes"], title=title
            )
            lines += ["", table]
            title = (
                "Modality independence: LFMIM's heads against every modality's labels "
                f"(test set, mean over seeds {lfmim.seeds})"
            )
            lines += ["", format_agreement_table(head_agreement(lfmim), title=title)]
            lines += ["", "Curves: " + ", ".join(str(p) for p in save_curves(lfmim, out))]
        lines += [
            "",
            f"Synthetic corpus {campaign.corpus.name!r}: {options['utterances']} utterances, "
            f"inconsistency {options['inconsistency']}; dataset {dataset} "
            f"(sizes {json.loads((dataset / 'datasheet.json').read_text())['sizes']}).",
            "Runs: " + ", ".join(f"#{r.pk} {r.model} ({r.out_dir})" for r in done),
        ]
        if options["tiny_random_models"]:
            lines += ["", RANDOM_WARNING]
        text = "\n".join(lines)
        (out / "report.txt").write_text(text + "\n", encoding="utf-8")
        self.stdout.write(text)
        self.stdout.write(f"Saved to {out / 'report.txt'}.")

    def _config(self, model: str, options):
        try:
            return runs.make_config(
                model,
                preset=options["preset"],
                epochs=options["epochs"],
                options={**RECIPES[options["recipe"]], **dict(options["options"])},
            )
        except runs.RunRefused as exc:
            raise CommandError(str(exc)) from exc

    # --- 0. feature models ---------------------------------------------------------------

    def _feature_models(self, out: Path, options) -> dict[str, str]:
        given = {role: options[f"{role}_model"] for role in ("text", "audio", "vision")}
        if options["tiny_random_models"]:
            if any(given.values()):
                raise CommandError("Give either --tiny-random-models or the three model paths.")
            self.stdout.write(RANDOM_WARNING)
            return save_random_models(out / "models", size="tiny")
        missing = [f"--{role}-model" for role, path in given.items() if not path]
        if missing:
            raise CommandError(
                f"Give {', '.join(missing)} (directories saved with save_pretrained: Chinese "
                "BERT, a wav2vec 2.0, a ResNet-18), or --tiny-random-models to try the "
                "pipeline with randomly initialised ones."
            )
        return {role: str(Path(path).expanduser().absolute()) for role, path in given.items()}

    # --- 1-2. corpus and labels ----------------------------------------------------------

    def _labelled_campaign(self, options) -> Campaign:
        name = f"Synthetic experiment corpus ({options['utterances']} utterances, seed "
        name += f"{options['corpus_seed']}, inconsistency {options['inconsistency']})"
        call_command(
            "make_demo",
            utterances=options["utterances"],
            inconsistency=options["inconsistency"],
            seed=options["corpus_seed"],
            corpus=name,
            no_progress=options["no_progress"],
            stdout=self.stdout,
        )
        corpus = Corpus.objects.get(name=name)
        campaign = Campaign.objects.filter(name=f"{name}: ground truth").first()
        if campaign is None:
            campaign = create_campaign(name=f"{name}: ground truth", corpus=corpus)
        truths = SyntheticTruth.objects.filter(utterance__corpus=corpus).select_related("utterance")
        labels = Path(options["out"]).expanduser().absolute() / "ground-truth-labels.csv"
        with open(labels, "w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["utterance_id", "modality", "label"])
            for truth in truths.order_by("utterance__external_id"):
                for modality in SyntheticTruth.FIELD_OF_MODALITY:
                    writer.writerow(
                        [truth.utterance.external_id, modality, truth.emotion(modality)]
                    )
        report = import_labels(campaign, labels)
        if report.rejected:
            raise CommandError(f"The ground-truth labels were refused: {report.rejected[:3]}")
        self.stdout.write(
            f"Campaign {campaign.name!r}: {report.labels} decided labels imported, "
            f"{report.unchanged} unchanged (from {labels.name})."
        )
        return campaign

    # --- 3. export -----------------------------------------------------------------------

    def _export(self, campaign: Campaign, directory: Path, paths: dict, options) -> Path:
        if (directory / "SHA256SUMS").is_file():
            self.stdout.write(f"Reusing the dataset exported before in {directory}.")
            return directory
        job = create_export(
            campaign=campaign,
            out_dir=directory,
            options={
                "text_model": paths["text"],
                "audio_model": paths["audio"],
                "vision_model": paths["vision"],
                "device": options["device"],
                "segments": options["segments"],
                "per_segment": options["per_segment"],
                "name": campaign.name,
            },
            enqueue=False,
        )
        with tqdm(desc="export", unit="utt", disable=options["no_progress"]) as bar:

            def progress(done: int, total: int) -> None:
                bar.total = total
                bar.update(done - bar.n)

            job = run_export(job.pk, progress=progress)
        if job.status != ExportJob.Status.DONE:
            raise CommandError(f"Export {job.pk} {job.status}: {job.error}")
        self.stdout.write(f"Exported {job.result['sizes']} to {directory}.")
        return directory

    # --- 4. training ---------------------------------------------------------------------

    def _train(self, model: str, config, dataset: Path, out: Path, options) -> TrainingRun:
        number = 1
        while (out / "runs" / f"{model}-{number}").exists():
            number += 1
        try:
            run = runs.start_run(
                dataset_path=dataset,
                config=config,
                seeds=options["seeds"],
                name=f"experiment {model}",
                out_dir=out / "runs" / f"{model}-{number}",
                enqueue=False,
            )
        except runs.RunRefused as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Run {run.pk}: {model}, seeds {run.seeds}, {config.epochs} epochs.")
        runs.run_training(
            run.pk,
            callbacks_for=lambda seed: [ProgressBar(seed, not options["no_progress"])],
        )
        run.refresh_from_db()
        if run.status != TrainingRun.Status.DONE:
            raise CommandError(f"Run {run.pk} ({model}) {run.status}: {run.error}")
        return run


def head_agreement(run: TrainingRun) -> dict[str, dict[str, float]]:
    """`agreement_with_labels` of each seed's test predictions, averaged over the seeds."""
    per_seed = []
    for path in sorted(Path(run.out_dir).glob("seed-*/test_predictions.csv")):
        with open(path, newline="", encoding="utf-8") as handle:
            per_seed.append(agreement_with_labels(csv.DictReader(handle)))
    if not per_seed:
        raise CommandError(f"Run {run.pk} wrote no test predictions under {run.out_dir}.")
    return {
        head: {u: sum(s[head][u] for s in per_seed) / len(per_seed) for u in per_seed[0][head]}
        for head in per_seed[0]
    }


def save_curves(run: TrainingRun, out: Path) -> list[Path]:
    """The run page's loss and accuracy figures (every head, train and validation) as PNG."""
    from labeling.run_views import CURVES, curves_figure

    paths = []
    for kind in CURVES:
        path = out / f"{run.model}-{kind}.png"
        figure = curves_figure(run.epochs.all(), kind, seeds=len(run.seeds))
        figure.savefig(path, dpi=110, bbox_inches="tight")
        paths.append(path)
    return paths
