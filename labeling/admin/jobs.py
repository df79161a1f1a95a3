"""Admin for long jobs: exports, training runs, simulations and predictions."""

import functools

from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html, format_html_join

from labeling.models import (
    ExportJob,
    PredictionJob,
    SimulationRun,
    TrainingEpoch,
    TrainingRun,
)
from labeling.services import long_jobs
from labeling.services import training as training_runs
from labeling.services.exports import (
    request_cancel,
    rerun_export,
)
from labeling.services.simulation import SimulationReport
from training.dataset import ExportError


class LongJobAdmin(admin.ModelAdmin):
    """A long job's admin: read-only (jobs start from their own page or command), its
    progress as a bar in `unit`s, and the page refreshing while it runs."""

    unit = "steps"
    change_form_template = "admin/labeling/exportjob/change_form.html"  # refreshes while running

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="progress")
    def progress(self, job):
        percent = round(100 * job.done / job.total) if job.total else 0
        return format_html(
            '<progress max="100" value="{}"></progress> {} / {} {}',
            percent,
            job.done,
            job.total,
            self.unit,
        )

    def cancel_selected(self, request, queryset, cancel, what: str) -> None:
        jobs = [cancel(pk) for pk in queryset.values_list("pk", flat=True)]
        asked = sum(job.cancel_requested for job in jobs)
        self.message_user(request, f"Cancel requested for {asked} queued or running {what}.")


@admin.register(ExportJob)
class ExportJobAdmin(LongJobAdmin):
    """Exports are started from a campaign (or export_cherma); here they are followed."""

    unit = "utterances"

    list_display = (
        "pk",
        "campaign",
        "status",
        "progress",
        "out_dir",
        "created_by",
        "created_at",
        "finished_at",
    )
    list_filter = ("status", "campaign")
    fields = (
        "campaign",
        "status",
        "progress",
        "error",
        "out_dir",
        "summary",
        "options",
        "cancel_requested",
        "attempts",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "updated_at",
    )
    readonly_fields = fields
    actions = ["cancel", "run_again"]

    @admin.display(description="result")
    def summary(self, job: ExportJob):
        result = job.result or {}
        if not result:
            return "—"
        sizes = ", ".join(f"{split} {n}" for split, n in result.get("sizes", {}).items())
        failed = format_html_join(
            "",
            "<li>{}: {}</li>",
            ((f["utterance_id"], f["error"]) for f in result.get("failed", [])),
        )
        return format_html(
            "utterances with features: {}; {} MB; {} shards ({} reused from an earlier run); "
            "{} failed<ul>{}</ul>",
            sizes,
            round(result.get("bytes", 0) / 1e6, 1),
            result.get("num_shards"),
            len(result.get("reused_shards", [])),
            result.get("failed_count", 0),
            failed,
        )

    @admin.action(description="Cancel the selected exports (finished shards are kept)")
    def cancel(self, request, queryset):
        self.cancel_selected(request, queryset, request_cancel, "exports")

    @admin.action(description="Run the selected exports again (continues from their shards)")
    def run_again(self, request, queryset):
        queued = 0
        for pk in queryset.values_list("pk", flat=True):
            try:
                rerun_export(pk)
                queued += 1
            except ExportError as exc:
                self.message_user(request, str(exc), messages.WARNING)
        self.message_user(request, f"{queued} exports queued again.")


class TrainingEpochInline(admin.TabularInline):
    model = TrainingEpoch
    fields = ("seed", "epoch", "recorded_at")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(TrainingRun)
class TrainingRunAdmin(admin.ModelAdmin):
    """Read-only: runs start from the runs page or `train_lfmim`, which check the dataset."""

    list_display = (
        "id",
        "name",
        "model",
        "preset",
        "status",
        "progress",
        "created_by",
        "created_at",
    )
    list_filter = ("status", "model")
    search_fields = ("name", "dataset_path")
    inlines = [TrainingEpochInline]
    actions = ["cancel", "continue_runs"]
    exclude = ("report",)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in TrainingRun._meta.fields if f.name != "report"] + ["page"]

    def has_add_permission(self, request) -> bool:
        return False

    @admin.display(description="progress")
    def progress(self, run: TrainingRun) -> str:
        return f"{run.step}/{run.total_steps} steps" if run.total_steps else "–"

    @admin.display(description="run page")
    def page(self, run: TrainingRun):
        return format_html(
            '<a href="{}">curves and F1 tables</a>', reverse("run-detail", args=[run.pk])
        )

    @admin.action(description="Cancel the selected runs (they save and can be continued)")
    def cancel(self, request, queryset):
        done = [training_runs.request_cancel(pk) for pk in queryset.values_list("pk", flat=True)]
        asked = sum(run.cancel_requested for run in done)
        self.message_user(request, f"Cancel requested for {asked} queued or running runs.")

    @admin.action(description="Continue the selected cancelled or failed runs")
    def continue_runs(self, request, queryset):
        queued = 0
        for pk in queryset.values_list("pk", flat=True):
            try:
                training_runs.continue_run(pk)
                queued += 1
            except training_runs.RunRefused as exc:
                self.message_user(request, str(exc), messages.WARNING)
        self.message_user(request, f"{queued} runs queued again.")


@admin.register(SimulationRun)
class SimulationRunAdmin(LongJobAdmin):
    """Simulations start from the campaign list (or run here with simulate_annotators)."""

    unit = "votes"

    list_display = ("pk", "campaign", "status", "progress", "created_by", "created_at")
    list_filter = ("status", "campaign")
    fields = (
        "campaign",
        "status",
        "progress",
        "error",
        "summary",
        "options",
        "cancel_requested",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "updated_at",
    )
    readonly_fields = fields
    actions = ["cancel"]

    @admin.display(description="result")
    def summary(self, run: SimulationRun):
        if not run.result:
            return "—"
        lines = SimulationReport(**run.result).lines()
        return format_html(
            "<ul>{}</ul>", format_html_join("", "<li>{}</li>", ((s,) for s in lines))
        )

    @admin.action(description="Cancel the selected simulations (votes cast are kept)")
    def cancel(self, request, queryset):
        cancel = functools.partial(long_jobs.request_cancel, SimulationRun)
        self.cancel_selected(request, queryset, cancel, "simulations")


@admin.register(PredictionJob)
class PredictionJobAdmin(LongJobAdmin):
    """Predictions start from a run's page (or manage.py predict); here they are followed."""

    unit = "(utterances extracted, then scored)"
    list_display = ("pk", "run", "campaign", "status", "progress", "created_by", "created_at")
    list_filter = ("status", "campaign")
    fields = (
        "run",
        "campaign",
        "status",
        "progress",
        "error",
        "result",
        "options",
        "cancel_requested",
        "attempts",
        "created_by",
        "created_at",
        "started_at",
        "finished_at",
        "updated_at",
    )
    readonly_fields = fields
    actions = ["cancel"]

    @admin.action(description="Cancel the selected predictions (stored batches are kept)")
    def cancel(self, request, queryset):
        cancel = functools.partial(long_jobs.request_cancel, PredictionJob)
        self.cancel_selected(request, queryset, cancel, "predictions")
