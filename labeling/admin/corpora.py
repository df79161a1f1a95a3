"""Admin for corpora, imports, utterances and renditions."""

from pathlib import Path

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from labeling.models import (
    Corpus,
    ImportBatch,
    Rendition,
    SyntheticTruth,
    Utterance,
)
from labeling.selectors.screening import measures_summary
from labeling.services import review
from labeling.services.imports import stage_upload
from labeling.services.renditions import retry_failed


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


class CorpusChoiceForm(forms.Form):
    corpus = forms.ModelChoiceField(
        queryset=Corpus.objects.all(),
        required=False,
        help_text="Leave empty to create a new corpus with the name below.",
    )
    new_corpus = forms.CharField(required=False, max_length=200)

    def clean(self):
        data = super().clean()
        if not data.get("corpus") and not data.get("new_corpus", "").strip():
            raise forms.ValidationError("Choose a corpus or name a new one.")
        return data

    def chosen_corpus(self) -> Corpus:
        corpus = self.cleaned_data["corpus"]
        if corpus is None:
            corpus, _ = Corpus.objects.get_or_create(name=self.cleaned_data["new_corpus"].strip())
        return corpus


class UploadForm(CorpusChoiceForm):
    manifest = forms.FileField(
        help_text="CSV or JSONL; its media column names the clips by file name."
    )
    media = MultipleFileField(help_text="The clips the manifest names.")


class SegmentUploadForm(CorpusChoiceForm):
    table = forms.FileField(
        help_text="A segment table (.csv or .jsonl: source, start, end, transcript, …) whose "
        "source column names the episodes by file name, or the episode's .srt subtitles."
    )
    episodes = MultipleFileField(help_text="The whole episodes (with an .srt: exactly one).")

    def clean(self):
        data = super().clean()
        table, episodes = data.get("table"), data.get("episodes") or []
        suffix = Path(table.name).suffix.lower() if table else ""
        if table and suffix not in (".csv", ".jsonl", ".ndjson", ".srt"):
            self.add_error("table", "Upload a .csv, .jsonl or .srt file.")
        if suffix == ".srt" and len(episodes) != 1:
            self.add_error("episodes", "An .srt file belongs to one episode: upload exactly one.")
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
        view = self.admin_site.admin_view
        return [
            path("upload/", view(self.upload_view), name="labeling_corpus_upload"),
            path(
                "upload-episodes/",
                view(self.upload_segments_view),
                name="labeling_corpus_upload_segments",
            ),
            *super().get_urls(),
        ]

    def upload_view(self, request):
        def stage(form):
            return stage_upload(
                corpus=form.chosen_corpus(),
                manifest=form.cleaned_data["manifest"],
                media_files=form.cleaned_data["media"],
                user=request.user,
            )

        return self._upload(request, UploadForm, stage, "Upload a manifest and clips", "upload")

    def upload_segments_view(self, request):
        def stage(form):
            table, episodes = form.cleaned_data["table"], form.cleaned_data["episodes"]
            # An .srt finds its episode by name: give it the uploaded episode's.
            is_srt = Path(table.name).suffix.lower() == ".srt"
            return stage_upload(
                corpus=form.chosen_corpus(),
                manifest=table,
                media_files=episodes,
                user=request.user,
                kind=ImportBatch.Kind.SEGMENTS,
                manifest_name=f"{Path(episodes[0].name).stem}.srt" if is_srt else "",
            )

        return self._upload(
            request, SegmentUploadForm, stage, "Import episodes (segments)", "upload_segments"
        )

    def _upload(self, request, form_class, stage, title: str, template: str):
        """An upload page: on a valid POST, stage the files, queue the import on a worker and
        show the import's page, where its progress and rejected rows appear."""
        if not self.has_add_permission(request):
            return redirect("admin:index")
        form = form_class(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            batch = stage(form)
            messages.success(
                request, f"Upload received; import {batch.pk} is queued. Its progress shows here."
            )
            return redirect("admin:labeling_importbatch_change", batch.pk)
        context = {
            **self.admin_site.each_context(request),
            "form": form,
            "title": title,
            "opts": self.model._meta,
        }
        return render(request, f"admin/labeling/corpus/{template}.html", context)


@admin.register(ImportBatch)
class ImportBatchAdmin(admin.ModelAdmin):
    list_display = (
        "pk",
        "corpus",
        "manifest_name",
        "kind",
        "status",
        "progress",
        "rows_imported",
        "rows_unchanged",
        "rows_rejected",
        "created_at",
    )
    list_filter = ("status", "kind", "corpus")
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
                "<tr><td>{}line {}</td><td>{}</td></tr>",
                (
                    (f"{p['file']} " if p.get("file") else "", p["line"], p["reason"])
                    for p in batch.rejected
                ),
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
    list_filter = (
        "corpus",
        "speaker_gender",
        "age_group",
        "renditions__status",
        "screening_status",
    )
    search_fields = ("external_id", "transcript", "programme")
    readonly_fields = (
        "screening_measures",
        "content_hash",
        "source_file",
        "source_video",
        "source_video_hash",
        "segment_start",
        "segment_end",
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

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and "transcript" in form.changed_data:
            jobs = review.record_transcript_edit(request.user, obj, form.initial["transcript"])
            if jobs:
                where = ", ".join(sorted({f"{job.campaign} [{job.modality}]" for job in jobs}))
                self.message_user(
                    request,
                    f"In {where}, votes were cast on the old transcript; they stay as given. "
                    "The edit is in those jobs' review log: re-check them on the review pages.",
                    messages.WARNING,
                )

    @admin.display(description="screening measures")
    def screening_measures(self, utterance):
        """What automatic screening measured (campaigns judge it with their thresholds)."""
        return format_html_join(mark_safe("<br>"), "{}: {}", measures_summary(utterance))

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
