"""manage.py cherma_stats --campaign X [--out DIR]: the paper's statistics for a campaign."""

import json
from pathlib import Path

from django.core.management.base import BaseCommand

from labeling import plots
from labeling.management.campaign_files import add_campaign_argument, named_campaign
from labeling.report import figure_from_statistics, figures_of, is_multi_label
from labeling.selectors.statistics import campaign_statistics


def _fmt(value, digits=3, missing="–") -> str:
    if value is None:
        return missing
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


class Command(BaseCommand):
    help = (
        "Print a campaign's label distribution, inconsistency Incon(u1,u2) and Incon(u,m;y), "
        "agreement (Fleiss' kappa, Krippendorff's alpha) and Table-1 statistics; with --out, "
        "also write every plot as PNG and SVG and every figure as JSON."
    )

    def add_arguments(self, parser):
        add_campaign_argument(parser)
        parser.add_argument("--out", type=Path)

    def handle(self, *args, **options):
        campaign = named_campaign(options["campaign"])
        stats = campaign_statistics(campaign)
        self._print(stats)
        if options["out"]:
            out: Path = options["out"]
            out.mkdir(parents=True, exist_ok=True)
            (out / "statistics.json").write_text(json.dumps(stats, indent=2, ensure_ascii=False))
            figures = figures_of(stats)
            for name in figures:
                plots.save_figure(figure_from_statistics(stats, name), out / name)
            self.stdout.write(
                f"Wrote statistics.json and {len(figures)} plots (PNG, SVG) to {out}."
            )

    def _print(self, stats) -> None:
        write = self.stdout.write
        write(f"Campaign {stats['campaign']['name']} (corpus {stats['campaign']['corpus']})\n")
        progress = stats["progress"]
        write("Progress (jobs)        open  needs_vote  decided  discarded  total")
        for modality, row in progress["jobs"].items():
            write(
                f"  {modality:<20} {row['open']:>5} {row['needs_vote']:>11} {row['decided']:>8} "
                f"{row['discarded']:>10} {row['total']:>6}"
            )
        write(
            f"  usable utterances (all labels decided): {progress['usable_utterances']} "
            f"of {progress['utterances']}\n"
        )
        if is_multi_label(stats):
            self._print_multilabel(stats)
        else:
            self._print_single(stats)
        self._print_dataset(stats["dataset"])

    def _print_single(self, stats) -> None:
        write = self.stdout.write
        classes = stats["campaign"]["classes"]
        width = max(len(c) for c in classes) + 2
        write("Label distribution (Figure 1a)")
        write("  " + "".ljust(width) + "".join(f"{m:>7}" for m in stats["label_distribution"]))
        for label in classes:
            counts = "".join(
                f"{stats['label_distribution'][m][label]:>7}" for m in stats["label_distribution"]
            )
            write("  " + label.ljust(width) + counts)
        write("\nInconsistency Incon(u1,u2) (Figure 1b)")
        matrix = stats["inconsistency"]["matrix"]
        write("     " + "".join(f"{m:>8}" for m in matrix))
        for row, values in matrix.items():
            write(f"  {row}  " + "".join(f"{_fmt(v):>8}" for v in values.values()))
        write("\nPer-emotion inconsistency Incon(u,m;y) (Figure 1c)")
        write(
            "  " + "".ljust(width) + "".join(f"{u:>8}" for u in stats["per_emotion_inconsistency"])
        )
        for label in classes:
            values = "".join(
                f"{_fmt(stats['per_emotion_inconsistency'][u][label]):>8}"
                for u in stats["per_emotion_inconsistency"]
            )
            write("  " + label.ljust(width) + values)
        write("\nAgreement       Fleiss kappa (jobs)   Krippendorff alpha (jobs)")
        for modality, (kappa, n) in stats["fleiss_kappa"].items():
            alpha, n_alpha = stats["krippendorff_alpha"][modality]
            write(f"  {modality:<12} {_fmt(kappa):>10} ({n})   {_fmt(alpha):>14} ({n_alpha})")

    def _print_multilabel(self, stats) -> None:
        write = self.stdout.write
        classes = stats["campaign"]["classes"]
        width = max([len(c) for c in classes] + [len("none of these")]) + 2
        frequencies, sizes = stats["label_frequencies"], stats["label_set_sizes"]
        write(f"Multi-label (undecided emotions: {stats['campaign']['undecided_policy']})\n")
        write("Emotions present (utterances; one may have several)")
        write("  " + "".ljust(width) + "".join(f"{m:>7}" for m in frequencies))
        for label in classes:
            write(
                "  "
                + label.ljust(width)
                + "".join(f"{frequencies[m][label]:>7}" for m in frequencies)
            )
        write("  " + "none of these".ljust(width) + "".join(f"{sizes[m]['0']:>7}" for m in sizes))
        for m, table in stats["co_occurrence"].items():
            if not any(table[y][y] for y in classes):
                continue
            write(f"\nCo-occurrence in {m} (utterances with both)")
            write("  " + "".ljust(width) + "".join(f"{y[:8]:>9}" for y in classes))
            for y1 in classes:
                write("  " + y1.ljust(width) + "".join(f"{table[y1][y2]:>9}" for y2 in classes))
        for part, title in (
            ("differ", "share of utterances whose label sets differ"),
            ("jaccard", "mean Jaccard distance, empty vs empty = 0"),
        ):
            write(f"\nInconsistency between label sets: {title}")
            matrix = stats["inconsistency"][part]
            write("     " + "".join(f"{m:>8}" for m in matrix))
            for row, values in matrix.items():
                write(f"  {row}  " + "".join(f"{_fmt(v):>8}" for v in values.values()))
        values, support = (stats["per_emotion_inconsistency"][k] for k in ("values", "support"))
        write("\nPer-emotion inconsistency Incon(u,m;y) over label sets (n utterances m says y)")
        write("  " + "".ljust(width) + "".join(f"{u:>14}" for u in values))
        for label in classes:
            cells = "".join(f"{_fmt(values[u][label]):>7} ({support[u][label]:>4})" for u in values)
            write("  " + label.ljust(width) + cells)
        write("\nAgreement: Krippendorff alpha with MASI distance over label sets (jobs)")
        for modality, (alpha, n) in stats["krippendorff_alpha_masi"].items():
            write(f"  {modality:<12} {_fmt(alpha):>10} ({n})")
        write("\nAgreement per emotion (present/absent): Fleiss kappa (jobs) / Krippendorff alpha")
        kappa, alpha = stats["fleiss_kappa_per_emotion"], stats["krippendorff_alpha_per_emotion"]
        write("  " + "".ljust(width) + "".join(f"{m:>20}" for m in kappa))
        for label in classes:
            cells = "".join(
                f"{_fmt(kappa[m][label][0]):>9}/{_fmt(alpha[m][label][0]):>6} "
                f"({kappa[m][label][1]:>3})"
                for m in kappa
            )
            write("  " + label.ljust(width) + cells)

    def _print_dataset(self, dataset) -> None:
        write = self.stdout.write
        write("\nDataset (Table 1)")
        words = (
            "n/a"
            if dataset["min_words"] is None
            else f"{dataset['min_words']}–{dataset['max_words']}"
        )
        write(
            f"  utterances {dataset['utterances']}, "
            f"{_fmt(dataset['total_minutes'], 2, 'n/a')} minutes, "
            f"mean {_fmt(dataset['mean_seconds'], 1, 'n/a')} s, words {words} (lengths over "
            f"{dataset['timed_utterances']} with media, words over "
            f"{dataset['transcribed_utterances']} with a transcript)"
        )
        write(
            "  "
            + ", ".join(
                f"{k} {v}" for k, v in {**dataset["gender"], **dataset["age_group"]}.items()
            )
        )
