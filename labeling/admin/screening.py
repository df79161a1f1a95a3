"""Admin for clip screening: every clip's decision per campaign, its measures and reasons."""

from django.contrib import admin
from django.utils.html import format_html, format_html_join

from labeling.models import Campaign, ClipScreening
from labeling.selectors.screening import measures_summary
from labeling.services.screening import DECISION_FIELDS, enqueue_measurements, judge_campaign


def judge_again(modeladmin, request, campaigns) -> None:
    """Judge every clip of each campaign with its current settings, and say what came out."""
    for campaign in campaigns:
        counts = judge_campaign(campaign)
        if not counts:
            modeladmin.message_user(
                request,
                f'{campaign} does not screen its clips; "Add jobs" gives every clip its jobs.',
            )
            continue
        summary = ", ".join(
            f"{n} {ClipScreening.Status(status).label}" for status, n in sorted(counts.items())
        )
        modeladmin.message_user(request, f"{campaign}: {summary}.")


@admin.register(ClipScreening)
class ClipScreeningAdmin(admin.ModelAdmin):
    list_display = ("utterance", "campaign", "status", "reasons", "screener", "decided_at")
    list_filter = ("status", "reason", "campaign")
    list_select_related = ("utterance", "campaign", "screener")
    search_fields = ("utterance__external_id", "utterance__transcript", "note")
    actions = ["judge_campaigns_again", "measure_again"]
    fields = ("campaign", "utterance", "automatic_reasons_list", "measures", *DECISION_FIELDS)
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="why")
    def reasons(self, screening: ClipScreening) -> str:
        if screening.reason:
            why = screening.get_reason_display()
            return f"{why}: {screening.note}" if screening.note else why
        return "; ".join(screening.automatic_reasons)

    @admin.display(description="automatic checks")
    def automatic_reasons_list(self, screening: ClipScreening):
        if not screening.automatic_reasons:
            return "passed" if screening.status != ClipScreening.Status.PENDING else "—"
        return format_html(
            "<ul>{}</ul>",
            format_html_join("", "<li>{}</li>", ((r,) for r in screening.automatic_reasons)),
        )

    @admin.display(description="measures")
    def measures(self, screening: ClipScreening):
        lines = measures_summary(screening.utterance, screening.campaign)
        return format_html(
            "<table>{}</table>",
            format_html_join("", "<tr><th>{}</th><td>{}</td></tr>", lines),
        )

    @admin.action(description="Judge the campaigns of the selected clips again (all their clips)")
    def judge_campaigns_again(self, request, queryset):
        judge_again(self, request, Campaign.objects.filter(screenings__in=queryset).distinct())

    @admin.action(description="Measure the selected clips again (on a worker)")
    def measure_again(self, request, queryset):
        ids = sorted(set(queryset.values_list("utterance_id", flat=True)))
        enqueue_measurements(ids)
        self.message_user(request, f"{len(ids)} clips queued for measuring.")
