"""Admin for campaigns, jobs and leases."""

import tempfile
from pathlib import Path
from types import SimpleNamespace

from django import forms
from django.contrib import admin, messages
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse
from django.utils.html import format_html

from labeling.admin.qualification import ExamInline
from labeling.admin.screening import judge_again
from labeling.emotions import LABEL_PRESETS, preset_labels
from labeling.manifest import ManifestError
from labeling.models import (
    Campaign,
    Job,
    Lease,
    Vote,
)
from labeling.pool import pool_need
from labeling.screening import Thresholds
from labeling.selectors.exports import export_readiness
from labeling.services.campaigns import (
    CampaignInvalid,
    add_missing_jobs,
    campaign_warnings,
    check_label_change,
    check_mode_change,
    check_screeners_unseen,
    validate_label_mode,
    validate_labels,
)
from labeling.services.exports import (
    ROLES,
    check_model_source,
    create_export,
    default_out_dir,
    feature_model_choices,
)
from labeling.services.job_order import check_job_order, recompute_turns
from labeling.services.label_import import import_labels
from labeling.services.qualification import import_gold_items
from labeling.services.simulation import SimulationInvalid, start_simulation
from labeling.verdicts import VotingRule, require_majority
from training.dataset import ExportError

THRESHOLD_FIELDS = [
    "screen_min_seconds",
    "screen_max_seconds",
    "screen_min_loudness_db",
    "screen_min_voiced_share",
    "screen_min_face_share",
]
SCREENING_FIELDS = ["automatic_screening", *THRESHOLD_FIELDS, "human_screening", "screeners"]
GOLD_FIELDS = ["gold_share", "gold_pause_below", "gold_min_answers"]
ORDER_FIELDS = ["job_order", "assistant_run"]
MODE_FIELDS = ["label_mode", "undecided_policy"]
DEFAULTED_FIELDS = [*THRESHOLD_FIELDS, *GOLD_FIELDS]  # left empty: the model's default


class CampaignFileForm(forms.Form):
    kind = forms.ChoiceField(choices=[("labels", "labels or raw votes"), ("gold", "gold items")])
    file = forms.FileField(help_text="A .csv or .jsonl file.")
    create_utterances = forms.BooleanField(
        required=False,
        label="Create utterances",
        help_text="Labels: add a labels-only utterance (no media) for each id the corpus does "
        "not have, instead of rejecting the row as a likely typo.",
    )
    strict = forms.BooleanField(
        required=False, help_text="Labels: write nothing if any row is rejected."
    )

    def clean_file(self):
        upload = self.cleaned_data["file"]
        if Path(upload.name).suffix.lower() not in (".csv", ".jsonl", ".ndjson"):
            raise forms.ValidationError("Upload a .csv or .jsonl file.")
        return upload


class ExportForm(forms.Form):
    """What the admin's export asks: a feature model per modality among those on offer
    (``feature_model_choices``), and the split's seed and stratification."""

    seed = forms.IntegerField(min_value=0, initial=0, help_text="Seed of the 6:2:2 split.")
    stratify = forms.BooleanField(
        required=False, help_text="Split each multimodal (m) label 6:2:2."
    )
    pool = forms.BooleanField(
        required=False,
        label="Pool",
        help_text="Export the utterances still waiting for labels instead: no labels, one "
        "split 'pool', the same features, for a trained run to score.",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for role in ROLES:
            choices = feature_model_choices(role)
            usable = [c.source for c in choices if c.available]
            self.fields[f"{role}_model"] = forms.ChoiceField(
                label=f"{role} model",
                choices=[(c.source, c.label) for c in choices],
                initial=(usable or [choices[0].source])[0],
            )
        self.order_fields([f"{role}_model" for role in ROLES])

    def clean(self):
        data = super().clean()
        for role in ROLES:
            name = data.get(f"{role}_model")
            if name is None:
                continue
            try:  # a model not on this machine is refused now, not queued to fail later
                check_model_source(role, name, offline=True)
            except ExportError as exc:
                self.add_error(f"{role}_model", str(exc))
        return data


POOL_HELP = (
    "The pool. With the independence guard on, an annotator votes on one modality of an "
    "utterance, so every utterance needs (modalities × max votes) different annotators, "
    "(modalities × initial votes) to start: 16 and 12 for the paper's 3/3/4 over t, a, v, m. "
    "Without the guard, max votes per modality. Saving warns when the pool is smaller."
)


class CampaignForm(forms.ModelForm):
    label_preset = forms.ChoiceField(
        choices=[("", "—"), *((name, title) for name, (title, _) in LABEL_PRESETS.items())],
        required=False,
        help_text="Start from a preset label set; it replaces the labels below.",
    )

    class Meta:
        model = Campaign
        fields = [
            "name",
            "corpus",
            "label_preset",
            "labels",
            "label_mode",
            "allow_none",
            "undecided_policy",
            "modalities",
            "initial_votes",
            "agreement",
            "max_votes",
            "lease_seconds",
            "independence_guard",
            "annotators",
            "is_active",
            *SCREENING_FIELDS,
            *GOLD_FIELDS,
            *ORDER_FIELDS,
        ]

    def clean_labels(self):
        preset = self.cleaned_data.get("label_preset")
        try:
            labels = validate_labels(
                preset_labels(preset) if preset else self.cleaned_data["labels"]
            )
            if self.instance.pk is not None:
                check_label_change(Campaign.objects.get(pk=self.instance.pk), labels)
            return labels
        except (CampaignInvalid, AttributeError, TypeError) as exc:
            raise forms.ValidationError(str(exc) or "Give a list of {name, key} objects.") from exc

    def clean_modalities(self):
        value = "".join(m for m in "tavm" if m in self.cleaned_data["modalities"])
        if not value:
            raise forms.ValidationError("Collect at least one modality: t, a, v or m.")
        return value

    def clean_gold_share(self):
        share = self.cleaned_data["gold_share"]
        if share is not None and not 0 <= share <= 0.5:
            raise forms.ValidationError("Serve between 0 and 0.5 of tasks as hidden checks.")
        return share

    def clean_gold_pause_below(self):
        accuracy = self.cleaned_data["gold_pause_below"]
        if accuracy is not None and not 0 <= accuracy <= 1:
            raise forms.ValidationError("An accuracy is between 0 (never pause) and 1.")
        return accuracy

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in DEFAULTED_FIELDS:  # left empty: the default
            self.fields[name].required = False
        self.fields["labels"].required = False  # a preset may give them
        self.fields["job_order"].required = False  # left empty: shuffled
        for name in MODE_FIELDS:  # left empty: single-label, discard
            if name in self.fields:
                self.fields[name].required = False
        help_text = POOL_HELP
        if self.instance.pk:
            need = pool_need(
                self.instance.rule, self.instance.modalities, self.instance.independence_guard
            )
            help_text += (
                f" This campaign needs {need.to_finish} ({need.to_start} to start) "
                f"{'per utterance' if need.per_utterance else 'per modality'}."
            )
        self.fields["annotators"].help_text = help_text

    def clean(self):
        data = super().clean()
        if self.errors:  # a field's own message says what to fix first
            return data
        for name in DEFAULTED_FIELDS:
            if data.get(name) is None:
                data[name] = Campaign._meta.get_field(name).default
        try:
            if "agreement" in data:  # read-only once the campaign exists
                require_majority(VotingRule(1, data["agreement"], data["max_votes"]))
            Thresholds.of(SimpleNamespace(**data))
            if data["human_screening"] and not data["screeners"]:
                raise CampaignInvalid("Human screening needs at least one screener.")
            self.clean_label_mode_settings(data)
            check_screeners_unseen(
                data["screeners"], data["annotators"], data["independence_guard"]
            )
            data["job_order"] = data.get("job_order") or Campaign.JobOrder.SHUFFLED
            check_job_order(data["job_order"], data.get("assistant_run"))
        except ValueError as exc:  # CampaignInvalid is a ValueError too
            raise forms.ValidationError(str(exc)) from exc
        return data

    def clean_label_mode_settings(self, data) -> None:
        """The mode's settings make sense together and, once jobs exist, stay as they were
        (read-only then, so absent from the form)."""
        if "label_mode" not in data:
            return
        for name in MODE_FIELDS:
            data[name] = data.get(name) or Campaign._meta.get_field(name).default
        mode = (data["label_mode"], data["allow_none"], data["undecided_policy"])
        validate_label_mode(*mode)
        if self.instance.pk is not None:
            check_mode_change(Campaign.objects.get(pk=self.instance.pk), *mode)
        if mode[0] == Campaign.LabelMode.MULTI and data.get("gold_share"):
            raise CampaignInvalid(
                "Hidden gold checks have one label, so a multi-label campaign cannot serve "
                "them yet; set the gold share to 0."
            )


@admin.register(Campaign)
class CampaignAdmin(admin.ModelAdmin):
    form = CampaignForm
    inlines = [ExamInline]
    list_display = (
        "name",
        "corpus",
        "label_mode",
        "modalities",
        "is_active",
        "jobs_total",
        "jobs_final",
    )
    filter_horizontal = ("annotators", "screeners")
    actions = ["add_jobs", "export_dataset", "judge_screening", "finish_with_simulated_annotators"]

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "<int:campaign_id>/export/",
                view(self.export_view),
                name="labeling_campaign_export",
            ),
            path(
                "<int:campaign_id>/import-file/",
                view(self.import_file_view),
                name="labeling_campaign_import_file",
            ),
            *super().get_urls(),
        ]

    def import_file_view(self, request, campaign_id: int):
        """Labels made elsewhere or gold items, from an uploaded table (no media: in the
        request). The services check every row; this only saves the upload for them."""
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        form = CampaignFileForm(request.POST or None, request.FILES or None)
        rejected = []
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / f"upload{Path(upload.name).suffix.lower()}"
                with open(path, "wb") as handle:
                    for chunk in upload.chunks():
                        handle.write(chunk)
                try:
                    if form.cleaned_data["kind"] == "gold":
                        report = import_gold_items(campaign, path)
                        done = f"{report.items} gold items added or updated."
                    else:
                        report = import_labels(
                            campaign,
                            path,
                            create_utterances=form.cleaned_data["create_utterances"],
                            strict=form.cleaned_data["strict"],
                        )
                        done = (
                            f"{report.labels} labels set, {report.votes} raw votes stored."
                            if report.written
                            else "Nothing was written (strict)."
                        )
                except ManifestError as exc:
                    form.add_error("file", str(exc))
                    report = None
            if report is not None:
                rejected = report.rejected
                level = messages.WARNING if rejected else messages.SUCCESS
                self.message_user(request, f"{done} {len(rejected)} rows rejected.", level)
                if not rejected:
                    return redirect("admin:labeling_campaign_change", campaign.pk)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Import labels or gold items into {campaign}",
            "campaign": campaign,
            "form": form,
            "rejected": rejected,
        }
        return render(request, "admin/labeling/campaign/import_file.html", context)

    def export_view(self, request, campaign_id: int):
        """The export action's page: feature models, split options, and how many utterances
        are usable (and why the others are not) before anything is queued."""
        campaign = get_object_or_404(Campaign, pk=campaign_id)
        form = ExportForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            options = {key: form.cleaned_data[key] for key in form.fields}
            try:
                job = create_export(
                    campaign=campaign,
                    out_dir=default_out_dir(campaign),
                    options=options,
                    user=request.user,
                )
            except ExportError as exc:
                form.add_error(None, str(exc))
            else:
                url = reverse("admin:labeling_exportjob_change", args=[job.pk])
                self.message_user(
                    request,
                    format_html(
                        'Export <a href="{}">{}</a> of {} is queued; it writes {}.',
                        url,
                        job.pk,
                        campaign,
                        job.out_dir,
                    ),
                )
                return redirect(url)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Export {campaign} as a dataset",
            "campaign": campaign,
            "form": form,
            "readiness": export_readiness(campaign),
        }
        return render(request, "admin/labeling/campaign/export.html", context)

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return [f for f in fields if f != "label_preset"] if obj is not None else fields

    def get_readonly_fields(self, request, obj=None):
        # The corpus and the rule shape every job and verdict: fixed once jobs exist.
        fixed = ("corpus", "modalities", "initial_votes", "agreement", "max_votes")
        if obj is not None and obj.jobs.exists():  # answers were collected in this mode
            fixed += ("label_mode", "allow_none", "undecided_policy")
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
        if change and set(form.changed_data) & set(ORDER_FIELDS):
            n = recompute_turns(form.instance.pk)
            self.message_user(request, f"{n} jobs reordered ({form.instance.job_order}).")
        if set(form.changed_data) & set(SCREENING_FIELDS):
            judge_again(self, request, [form.instance])
        for warning in campaign_warnings(form.instance):  # pool, exams and pauses as saved
            self.message_user(request, warning, messages.WARNING)

    @admin.action(description="Judge every clip again with the campaign's screening settings")
    def judge_screening(self, request, queryset):
        judge_again(self, request, queryset)

    @admin.action(description="Add jobs for utterances imported since the campaign began")
    def add_jobs(self, request, queryset):
        created = sum(add_missing_jobs(campaign) for campaign in queryset)
        self.message_user(request, f"{created} jobs added.")

    @admin.action(description="Export a dataset (utterances with t, a, v and m decided)")
    def export_dataset(self, request, queryset):
        campaigns = list(queryset[:2])
        if len(campaigns) != 1:
            self.message_user(
                request,
                "Export one campaign at a time: its export page offers the feature models and "
                "shows how many of its utterances are usable.",
                messages.ERROR,
            )
            return None
        return redirect("admin:labeling_campaign_export", campaigns[0].pk)

    @admin.action(description="Finish with simulated annotators")
    def finish_with_simulated_annotators(self, request, queryset):
        """Simulated annotators (accuracy 0.85) cast the missing votes, on a worker."""
        runs = []
        for campaign in queryset:
            try:
                runs.append(start_simulation(campaign, user=request.user))
            except SimulationInvalid as exc:
                self.message_user(request, str(exc), messages.ERROR)
        for run in runs:
            url = reverse("admin:labeling_simulationrun_change", args=[run.pk])
            self.message_user(
                request,
                format_html(
                    'Simulation <a href="{}">{}</a> of {} is queued on a worker.',
                    url,
                    run.pk,
                    run.campaign,
                ),
            )
        if len(runs) == 1:
            return redirect("admin:labeling_simulationrun_change", runs[0].pk)
        return None


class VoteInline(admin.TabularInline):
    model = Vote
    extra = 0
    can_delete = False
    fields = ("annotator", "answer", "seconds_spent", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ("utterance", "campaign", "modality", "state", "verdict", "votes_count")
    list_filter = ("campaign", "modality", "state")
    readonly_fields = [f.name for f in Job._meta.fields]
    inlines = [VoteInline]

    @admin.display(description="verdict")
    def verdict(self, job: Job) -> str:
        """The decided label, or a multi-label job's decided emotions and undecided ones."""
        return job.verdict_text


@admin.register(Lease)
class LeaseAdmin(admin.ModelAdmin):
    list_display = ("pk", "job", "annotator", "status", "created_at", "expires_at", "skip_reason")
    list_filter = ("status", "job__campaign")
    readonly_fields = [f.name for f in Lease._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
