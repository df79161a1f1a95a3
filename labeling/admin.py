from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join

from labeling.models import (
    Campaign,
    Corpus,
    ExportJob,
    ImportBatch,
    Job,
    Lease,
    Rendition,
    SyntheticTruth,
    TrainingEpoch,
    TrainingRun,
    Utterance,
    Vote,
)
from labeling.services import training as training_runs
from labeling.services.campaigns import CampaignInvalid, add_missing_jobs, validate_labels
from labeling.services.exports import (
    create_export,
    default_out_dir,
    request_cancel,
    rerun_export,
)
from labeling.services.imports import stage_upload
from labeling.services.renditions import retry_failed
from training.dataset import ExportError


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data, initial=None):
        single = super().clean
        return (
            [single(item, initial) for item in data]
            if isinstance(data, list | tuple)
            else [single(data, initial)]
        )


class UploadForm(forms.Form):
    corpus = forms.ModelChoiceField(
        queryset=Corpus.objects.all(),
        required=False,
        help_text="Leave empty to create a new corpus with the name below.",
    )
    new_corpus = forms.CharField(required=False, max_length=200)
    manifest = forms.FileField(
        help_text="CSV or JSONL; its media column names the clips by file name."
    )
    media = MultipleFileField(help_text="The clips the manifest names.")

    def clean(self):
        data = super().clean()
        if not data.get("corpus") and not data.get("new_corpus", "").strip():
            raise forms.ValidationError("Choose a corpus or name a new one.")
        return data


def rendition_badges(utterance: Utterance) -> str:
    colours = {"done": "#2e7d32", "failed": "#c62828", "running": "#1565c0", "pending": "#757575"}
    return format_html_join(
        " ",
        '<span title="{}" style="background:{};color:#fff;padding:1px 5px;'
        'border-radius:3px">{}</span>',
        ((r.error or r.status, colours[r.status], r.modality) for r in utterance.renditions.all()),
    )


class RenditionInline(admin.TabularInline):
    model = Rendition
    extra = 0
    can_delete = False
    fields = ("modality", "status", "attempts", "error", "preview")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="preview")
    def preview(self, rendition: Rendition):
        if rendition.status != Rendition.Status.DONE:
            return "—"
        url = reverse("rendition-file", args=[rendition.pk])
        if rendition.modality == "t":
            return format_html('<a href="{}">transcript</a>', url)
        tag = "audio" if rendition.modality == "a" else "video"
        return format_html(
            '<{} controls preload="none" src="{}" style="max-width:320px"></{}>', tag, url, tag
        )


@admin.register(Corpus)
class CorpusAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "is_synthetic",
        "utterance_count",
        "renditions_done",
        "renditions_failed",
        "created_at",
    )
    change_list_template = "admin/labeling/corpus/change_list.html"

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_utterances=Count("utterances", distinct=True),
                n_done=Count(
                    "utterances__renditions", filter=Q(utterances__renditions__status="done")
                ),
                n_failed=Count(
                    "utterances__renditions", filter=Q(utterances__renditions__status="failed")
                ),
            )
        )

    @admin.display(description="utterances", ordering="n_utterances")
    def utterance_count(self, corpus):
        return corpus.n_utterances

    @admin.display(description="renditions done")
    def renditions_done(self, corpus):
        return f"{corpus.n_done} / {corpus.n_utterances * 4}"

    @admin.display(description="renditions failed")
    def renditions_failed(self, corpus):
        return corpus.n_failed

    def get_urls(self):
        upload = path(
            "upload/", self.admin_site.admin_view(self.upload_view), name="labeling_corpus_upload"
        )
        return [upload, *super().get_urls()]

    def upload_view(self, request):
        if not self.has_add_permission(request):
            return redirect("admin:index")
        form = UploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            corpus = form.cleaned_data["corpus"]
            if corpus is None:
                corpus, _ = Corpus.objects.get_or_create(
                    name=form.cleaned_data["new_corpus"].strip()
                )
            batch = stage_upload(
                corpus=corpus,
                manifest=form.cleaned_data["manifest"],
                media_files=form.cleaned_data["media"],
                user=request.user,
            )
            messages.success(
                request, f"Upload received; import {batch.pk} is queued. Its progress shows here."
            )
            return redirect("admin:labeling_importbatch_change", batch.pk)
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": "Upload a manifest and clips",
            "opts": self.model._meta,
        }
        return render(request, "admin/labeling/corpus/upload.html", context)


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "corpus",
        "manifest_name",
        "status",
        "progress",
        "rows_imported",
        "rows_unchanged",
        "rows_rejected",
        "created_at",
    )
    list_filter = ("status", "corpus")
    readonly_fields = [f.name for f in ImportBatch._meta.fields if f.name != "rejected"] + [
        "rejected_rows"
    ]
    exclude = ("rejected",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="checked")
    def progress(self, batch):
        return f"{batch.rows_checked} / {batch.rows_total}"

    @admin.display(description="rejected rows")
    def rejected_rows(self, batch):
        if not batch.rejected:
            return "none"
        return format_html(
            "<table>{}</table>",
            format_html_join(
                "",
                "<tr><td>line {}</td><td>{}</td></tr>",
                ((p["line"], p["reason"]) for p in batch.rejected),
            ),
        )


@admin.register(Utterance)
class UtteranceAdmin(admin.ModelAdmin):
    list_display = (
        "__str__",
        "corpus",
        "short_transcript",
        "duration_seconds",
        "speaker_gender",
        "age_group",
        "programme",
        "renditions",
    )
    list_filter = ("corpus", "speaker_gender", "age_group", "renditions__status")
    search_fields = ("external_id", "transcript", "programme")
    readonly_fields = (
        "content_hash",
        "source_file",
        "import_batch",
        "duration_seconds",
        "frame_rate",
        "created_at",
    )
    inlines = [RenditionInline]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .select_related("corpus")
            .prefetch_related("renditions")
            .distinct()
        )

    @admin.display(description="transcript")
    def short_transcript(self, utterance):
        return utterance.transcript[:40]

    @admin.display(description="renditions t a v m")
    def renditions(self, utterance):
        return rendition_badges(utterance)


@admin.register(Rendition)
class RenditionAdmin(admin.ModelAdmin):
    list_display = ("utterance", "modality", "status", "attempts", "error", "updated_at")
    list_filter = ("status", "modality", "utterance__corpus")
    readonly_fields = [f.name for f in Rendition._meta.fields]
    actions = ["retry"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Retry the selected failed renditions")
    def retry(self, request, queryset):
        count = retry_failed(list(queryset.values_list("pk", flat=True)))
        self.message_user(request, f"{count} failed renditions queued again.")


@admin.register(SyntheticTruth)
class SyntheticTruthAdmin(admin.ModelAdmin):
    list_display = ("utterance", "underlying", "text_emotion", "voice_emotion", "face_emotion")
    list_filter = ("underlying",)


class CampaignForm(forms.ModelForm):
    class Meta:
        model = Campaign
        fields = [
            "name",
            "corpus",
            "labels",
            "modalities",
            "initial_votes",
            "agreement",
            "max_votes",
            "lease_seconds",
            "independence_guard",
            "annotators",
            "is_active",
        ]

    def clean_labels(self):
        try:
            return validate_labels(self.cleaned_data["labels"])
        except (CampaignInvalid, AttributeError, TypeError) as exc:
            raise forms.ValidationError(str(exc) or "Give a list of {name, key} objects.") from exc

    def clean_modalities(self):
        value = "".join(m for m in "tavm" if m in self.cleaned_data["modalities"])
        if not value:
            raise forms.ValidationError("Collect at least one modality: t, a, v or m.")
        return value


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    list_display = ("name", "corpus", "modalities", "is_active", "jobs_total", "jobs_final")
    filter_horizontal = ("annotators",)
    actions = ["add_jobs", "export_dataset"]

    def get_readonly_fields(self, request, obj=None):
        # The corpus and the rule shape every job and verdict: fixed once jobs exist.
        fixed = ("corpus", "modalities", "initial_votes", "agreement", "max_votes")
        return fixed if obj is not None else ()

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                n_jobs=Count("jobs"),
                n_final=Count("jobs", filter=Q(jobs__priority=Job.Priority.FINAL)),
            )
        )

    @admin.display(description="jobs")
    def jobs_total(self, campaign):
        return campaign.n_jobs

    @admin.display(description="decided or discarded")
    def jobs_final(self, campaign):
        return campaign.n_final

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if not change:
            created = add_missing_jobs(form.instance)
            self.message_user(request, f"{created} jobs created.")

    @admin.action(description="Add jobs for utterances imported since the campaign began")
    def add_jobs(self, request, queryset):
        created = sum(add_missing_jobs(campaign) for campaign in queryset)
        self.message_user(request, f"{created} jobs added.")

    @admin.action(description="Export a dataset (utterances with t, a, v and m decided)")
    def export_dataset(self, request, queryset):
        jobs = []
        for campaign in queryset:
            try:
                jobs.append(
                    create_export(
                        campaign=campaign, out_dir=default_out_dir(campaign), user=request.user
                    )
                )
            except ExportError as exc:
                self.message_user(request, str(exc), messages.ERROR)
        for job in jobs:
            url = reverse("admin:labeling_exportjob_change", args=[job.pk])
            self.message_user(
                request,
                format_html(
                    'Export <a href="{}">{}</a> of {} is queued; it writes {}.',
                    url,
                    job.pk,
                    job.campaign,
                    job.out_dir,
                ),
            )
        if len(jobs) == 1:
            return redirect("admin:labeling_exportjob_change", jobs[0].pk)
        return None


class VoteInline(admin.TabularInline):
    model = Vote
    extra = 0
    can_delete = False
    fields = ("annotator", "label", "seconds_spent", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("utterance", "campaign", "modality", "state", "label", "votes_count")
    list_filter = ("campaign", "modality", "state")
    readonly_fields = [f.name for f in Job._meta.fields]
    inlines = [VoteInline]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(Lease)
class LeaseAdmin(admin.ModelAdmin):
    list_display = ("pk", "job", "annotator", "status", "created_at", "expires_at", "skip_reason")
    list_filter = ("status", "job__campaign")
    readonly_fields = [f.name for f in Lease._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ExportJob)
class ExportJobAdmin(admin.ModelAdmin):
    """Exports are started from a campaign (or export_cherma); here they are followed."""

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

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="progress")
    def progress(self, job: ExportJob):
        percent = round(100 * job.done / job.total) if job.total else 0
        return format_html(
            '<progress max="100" value="{}"></progress> {} / {} utterances',
            percent,
            job.done,
            job.total,
        )

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
        jobs = [request_cancel(pk) for pk in queryset.values_list("pk", flat=True)]
        asked = sum(job.cancel_requested for job in jobs)
        self.message_user(request, f"Cancel requested for {asked} queued or running exports.")

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
