"""Training-run pages for reviewers and admins: list and start, one run live, runs side by side.

Thin: writes go through `labeling.services.training`; curves are matplotlib figures served as
SVG (like the dashboard's) and drawn from the run's `TrainingEpoch` rows, styled as the
curation figures are (`labeling.plots`).
"""

from __future__ import annotations

import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import numpy as np
from django import forms
from django.contrib import messages
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from labeling.models import Campaign, ExportJob, TrainingEpoch, TrainingRun
from labeling.review_views import reviewer_required
from labeling.selectors.exports import finished_exports
from labeling.services import predictions
from labeling.services import training as runs
from training.dataset.split import SPLITS
from training.models import ALL_HEADS, MODEL_NAMES
from training.options import parse_key_value, percent

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CURVES = ("loss", "accuracy")
# The figures after the per-emotion F1, per label mode: (column heading, report key).
SCORE_COLUMNS = {
    "single-label": (
        ("overall", "f1_weighted"),
        ("macro F1", "f1_macro"),
        ("accuracy", "accuracy"),
    ),
    "multi-label": (
        ("micro F1", "f1_micro"),
        ("micro precision", "precision_micro"),
        ("micro recall", "recall_micro"),
        ("macro F1", "f1_macro"),
        ("accuracy", "accuracy"),
        ("Hamming loss", "hamming_loss"),
    ),
}
F1_NOTES = {
    "single-label": (
        "F1 per emotion and overall in %. overall = support-weighted F1 (what the paper's "
        "tables call overall); macro F1 = unweighted mean of the per-emotion F1; accuracy = "
        "share of correct predictions. Test set, scored at the epoch with the best validation "
        "weighted F1 of the m head; each head against the label it is trained on."
    ),
    "multi-label": (
        "Multi-label, in %: an emotion is predicted present when its sigmoid exceeds the run's "
        "threshold. F1 per emotion; micro F1, precision and recall over every (utterance, "
        "emotion) decision; macro F1 = unweighted mean over emotions; accuracy = mean "
        "|y∩ŷ|/|y∪ŷ| per utterance (1 when both are empty); Hamming loss = share of wrong "
        "decisions (lower is better). Test set, scored at the epoch with the best validation "
        "weighted F1 of the m head; each head against the label set it is trained on."
    ),
}


def label_mode_of(runs: Sequence[TrainingRun]) -> str:
    """The runs' label mode (reports from before multi-label runs are single-label)."""
    modes = {r.report.get("label_mode", "single-label") for r in runs if r.report}
    return modes.pop() if len(modes) == 1 else "single-label"


class ExportChoice(forms.ModelChoiceField):
    def label_from_instance(self, job: ExportJob) -> str:
        sizes = job.result.get("sizes") or {}
        when = f"{job.finished_at:%Y-%m-%d %H:%M}" if job.finished_at else "done"
        return (
            f"export {job.pk} of {job.campaign} · {when} · {sum(sizes.values())} utterances "
            f"({', '.join(f'{s} {sizes[s]}' for s in SPLITS if s in sizes)}) · {job.out_dir}"
        )


class RunForm(forms.Form):
    name = forms.CharField(required=False, max_length=200)
    # A finished export, not a typed path: the web reads no other server folder (a typed
    # path stays possible for admins on the command line, train_lfmim --dataset).
    export = ExportChoice(
        queryset=ExportJob.objects.none(),
        label="dataset",
        empty_label=None,
        help_text="A finished export whose dataset is still on disk.",
        error_messages={
            "invalid_choice": "That export is not among the finished exports you may train "
            "on (done, its dataset still on disk, of a campaign you can see); choose one from "
            "the list.",
            "required": "Choose a finished export; export a campaign from the admin first.",
        },
    )
    model = forms.ChoiceField(choices=[(m, m) for m in MODEL_NAMES], initial="lfmim")
    preset = forms.ChoiceField(
        choices=[("", "model default (paper)"), ("paper", "paper"), ("released", "released")],
        required=False,
    )
    seeds = forms.IntegerField(min_value=1, max_value=runs.MAX_SEEDS, initial=5)
    epochs = forms.IntegerField(min_value=1, max_value=1000, initial=20)
    settings = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 3, "placeholder": "batch_size=24\nd_model=128"}),
        help_text="Optional key=value lines: training settings (batch_size, lr, …) or model "
        "settings (d_model, num_layers, …).",
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        exports = finished_exports(user)
        self.fields["export"].queryset = (
            ExportJob.objects.filter(pk__in=[job.pk for job in exports])
            .select_related("campaign")
            .order_by("-finished_at", "-pk")
        )

    def clean_settings(self) -> dict:
        try:
            return dict(
                parse_key_value(line.strip())
                for line in self.cleaned_data["settings"].splitlines()
                if line.strip()
            )
        except ValueError as exc:
            raise forms.ValidationError(str(exc)) from exc


@reviewer_required
def run_list(request):
    form = RunForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            config = runs.make_config(
                data["model"],
                preset=data["preset"],
                epochs=data["epochs"],
                options=data["settings"],
            )
            run = runs.start_run(
                dataset_path=data["export"].out_dir,
                config=config,
                seeds=data["seeds"],
                name=data["name"],
                user=request.user,
            )
        except runs.RunRefused as exc:
            form.add_error(None, str(exc))
        else:
            messages.success(request, f"Run {run.pk} is queued for a gpu worker.")
            return redirect("run-detail", run.pk)
    recent = TrainingRun.objects.select_related("created_by")[:200]
    has_exports = form.fields["export"].queryset.exists()
    return render(
        request, "runs/list.html", {"runs": recent, "form": form, "has_exports": has_exports}
    )


@reviewer_required
def run_detail(request, run_id: int):
    run = get_object_or_404(TrainingRun.objects.select_related("created_by"), pk=run_id)
    classes = run.report.get("classes") or []
    mode = label_mode_of([run])
    seeds = [
        {
            "seed": seed,
            "best_epoch": result["best_epoch"],
            "m": percent((result.get("test") or {}).get("m", {}).get("f1_weighted")),
        }
        for seed, result in sorted(
            (run.report.get("runs") or {}).items(), key=lambda item: run.seeds.index(int(item[0]))
        )
    ]
    return render(
        request,
        "runs/detail.html",
        {
            "run": run,
            "curves": CURVES,
            "epochs": run.epochs.count(),
            "classes": classes,
            "score_columns": [title for title, _ in SCORE_COLUMNS[mode]],
            "f1_rows": _table(runs.head_rows(run), classes, mode),
            "f1_note": F1_NOTES[mode],
            "seed_rows": seeds,
            "prediction_jobs": run.prediction_jobs.select_related("campaign")[:20],
            "campaigns": Campaign.objects.order_by("name").only("pk", "name"),
        },
    )


@reviewer_required
def run_status(request, run_id: int):
    run = get_object_or_404(TrainingRun, pk=run_id)
    return JsonResponse(
        {
            "status": run.status,
            "finished": run.is_finished,
            "step": run.step,
            "total_steps": run.total_steps,
            "percent": round(run.percent, 1),
            "current_seed": run.current_seed,
            "epochs": run.epochs.count(),
            "error": run.error,
        }
    )


@reviewer_required
def run_curves(request, run_id: int, kind: str):
    run = get_object_or_404(TrainingRun, pk=run_id)
    if kind not in CURVES:
        raise Http404("No such curve.")
    return _svg(curves_figure(run.epochs.all(), kind, seeds=len(run.seeds)))


@require_POST
@reviewer_required
def run_cancel(request, run_id: int):
    run = runs.request_cancel(get_object_or_404(TrainingRun, pk=run_id).pk)
    messages.success(
        request,
        "Cancelled." if run.is_finished else "Asked to stop; it saves after the current step.",
    )
    return redirect("run-detail", run.pk)


@require_POST
@reviewer_required
def run_predict(request, run_id: int):
    """Score a campaign's utterances with this run (a gpu-queue task; progress on this page)."""
    run = get_object_or_404(TrainingRun, pk=run_id)
    campaign = get_object_or_404(Campaign, pk=request.POST.get("campaign") or 0)
    try:
        job = predictions.start_prediction(run=run, campaign=campaign, user=request.user)
    except predictions.PredictionRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            f"Prediction {job.pk} queued for {campaign}. Make this run the campaign's "
            "assistant run (campaign admin) to order jobs and review with it.",
        )
    return redirect("run-detail", run.pk)


@require_POST
@reviewer_required
def run_continue(request, run_id: int):
    try:
        runs.continue_run(get_object_or_404(TrainingRun, pk=run_id).pk)
    except runs.RunRefused as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Queued again; it resumes from its last checkpoint.")
    return redirect("run-detail", run_id)


@reviewer_required
def run_compare(request):
    chosen = _chosen_runs(request)
    classes = next((r.report["classes"] for r in chosen if r.report.get("classes")), [])
    mode = label_mode_of(chosen)
    return render(
        request,
        "runs/compare.html",
        {
            "runs": chosen,
            "ids": [r.pk for r in chosen],
            "classes": classes,
            "score_columns": [title for title, _ in SCORE_COLUMNS[mode]],
            "rows": _table(runs.comparison_rows(chosen), classes, mode),
            "f1_note": F1_NOTES[mode],
        },
    )


@reviewer_required
def compare_curves(request):
    return _svg(comparison_figure(_chosen_runs(request)))


def _chosen_runs(request) -> list[TrainingRun]:
    ids = [int(i) for i in request.GET.getlist("ids") if i.isdigit()]
    by_id = TrainingRun.objects.in_bulk(ids)
    return [by_id[i] for i in dict.fromkeys(ids) if i in by_id]


def _table(rows: dict, classes: Sequence[str], label_mode: str) -> list[tuple[str, list[str]]]:
    """Rows as formatted cells: per-emotion F1, then the mode's `SCORE_COLUMNS`."""
    return [
        (
            name,
            [
                *(percent(report["per_class_f1"].get(c)) for c in classes),
                *(percent(report.get(key)) for _, key in SCORE_COLUMNS[label_mode]),
            ],
        )
        for name, report in rows.items()
    ]


def _svg(figure: Figure) -> HttpResponse:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg", bbox_inches="tight")
    response = HttpResponse(buffer.getvalue(), content_type="image/svg+xml")
    response["Cache-Control"] = "no-store"  # redrawn while the run trains
    return response


# --- figures ---------------------------------------------------------------------------------


def _series(
    epochs: Iterable[TrainingEpoch], split: str, head: str, metric: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per epoch: mean and sample std over the seeds that reached it of `metric` of `head`."""
    values: dict[int, list[float]] = defaultdict(list)
    for row in epochs:
        part = row.metrics.get(split) or {}
        value = part.get("heads", {}).get(head, {}).get(metric)
        if value is not None:
            values[row.epoch].append(float(value))
    order = sorted(values)
    mean = np.array([np.mean(values[e]) for e in order])
    std = np.array([np.std(values[e], ddof=1) if len(values[e]) > 1 else 0.0 for e in order])
    return np.array(order, dtype=float), mean, std


def curves_figure(epochs: Iterable[TrainingEpoch], kind: str, *, seeds: int = 1) -> Figure:
    """Like the paper's Figures 3a/3b and 4a/4b: `kind` of every head per epoch."""
    from labeling import plots  # matplotlib only when a figure is drawn

    epochs = list(epochs)
    series = {
        (head, split): _series(epochs, split, head, kind)
        for head in ALL_HEADS
        for split in ("train", "validation")
    }
    return plots.plot_training_curves(series, kind, seeds=seeds)


def comparison_figure(chosen: Sequence[TrainingRun]) -> Figure:
    """Like the paper's Figure 3c: validation accuracy of the m head per epoch, one line per run."""
    from labeling import plots

    lines = []
    for run in chosen:
        x, mean, _ = _series(run.epochs.all(), "validation", "m", "accuracy")
        label = f"{run.name} ({run.model})" if run.name else f"{run.model} #{run.pk}"
        lines.append((label, x, mean))
    return plots.plot_run_comparison(lines)
