"""Admin for qualification: gold items, exams, attempts and gold answers."""

from django import forms
from django.contrib import admin

from labeling.models import Exam, ExamAttempt, GoldAnswer, GoldItem
from labeling.services.qualification import (
    GoldInvalid,
    add_gold_item,
    allow_another_attempt,
    validate_gold_item,
)


class ExamInline(admin.TabularInline):
    model = Exam
    extra = 0
    fields = ("modality", "questions", "pass_mark", "max_attempts", "cooldown_minutes")


class GoldItemForm(forms.ModelForm):
    class Meta:
        model = GoldItem
        fields = ["campaign", "utterance", "modality", "purpose", "label", "explanation"]

    def clean(self):
        data = super().clean()
        if self.errors or self.instance.pk:
            return data
        try:  # the service's rules, shown on the form
            validate_gold_item(
                data["campaign"],
                data["utterance"],
                data["modality"],
                data["purpose"],
                data["label"],
            )
        except GoldInvalid as exc:
            raise forms.ValidationError(str(exc)) from exc
        return data


@admin.register(GoldItem)
class GoldItemAdmin(admin.ModelAdmin):
    form = GoldItemForm
    list_display = ("utterance", "campaign", "purpose", "modality", "label", "answers", "right")
    list_filter = ("campaign", "purpose", "modality")
    search_fields = ("utterance__external_id", "utterance__transcript", "explanation")
    raw_id_fields = ("utterance",)

    def get_readonly_fields(self, request, obj=None):
        return ("campaign", "utterance", "modality", "purpose") if obj else ()

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        try:
            saved = add_gold_item(
                obj.campaign,
                utterance=obj.utterance,
                modality=obj.modality,
                purpose=obj.purpose,
                label=obj.label,
                explanation=obj.explanation,
            )
        except GoldInvalid as exc:
            self.message_user(request, str(exc), level="error")
            return
        obj.pk = saved.pk

    @admin.display(description="answers")
    def answers(self, item):
        return item.answers.count()

    @admin.display(description="right")
    def right(self, item):
        answered = item.answers.count()
        return f"{item.answers.filter(correct=True).count() / answered:.0%}" if answered else "–"


@admin.register(ExamAttempt)
class ExamAttemptAdmin(admin.ModelAdmin):
    actions = ["allow_another_attempt"]
    list_display = (
        "annotator",
        "campaign",
        "modality",
        "number",
        "questions_asked",
        "correct",
        "score_percent",
        "passed",
        "counts",
        "started_at",
        "finished_at",
    )
    list_filter = ("exam__campaign", "exam__modality", "passed", "counts")
    search_fields = ("annotator__username",)
    readonly_fields = [f.name for f in ExamAttempt._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Allow another attempt (these no longer count, nor wait)")
    def allow_another_attempt(self, request, queryset):
        allowed = allow_another_attempt(queryset)
        self.message_user(request, f"{allowed} failed attempts no longer count.")

    @admin.display(description="campaign", ordering="exam__campaign__name")
    def campaign(self, attempt):
        return attempt.exam.campaign

    @admin.display(description="modality", ordering="exam__modality")
    def modality(self, attempt):
        return attempt.exam.get_modality_display()

    @admin.display(description="questions")
    def questions_asked(self, attempt):
        return len(attempt.questions)

    @admin.display(description="score", ordering="score")
    def score_percent(self, attempt):
        return "–" if attempt.score is None else f"{attempt.score:.0%}"


@admin.register(GoldAnswer)
class GoldAnswerAdmin(admin.ModelAdmin):
    list_display = ("annotator", "gold_item", "kind", "label", "correct", "created_at")
    list_filter = ("gold_item__campaign", "lease__kind", "gold_item__modality", "correct")
    search_fields = ("annotator__username",)
    readonly_fields = [f.name for f in GoldAnswer._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.display(description="kind", ordering="lease__kind")
    def kind(self, answer):
        return answer.lease.get_kind_display()
