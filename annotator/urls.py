from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from labeling import api, qualification_views, review_views, run_views, screening_views, views

api_patterns = [
    path("api/campaigns/", api.campaigns, name="api-campaigns"),
    path("api/campaigns/<int:campaign_id>/next/", api.next_task_view, name="api-next-task"),
    path("api/campaigns/<int:campaign_id>/progress/", api.progress_view, name="api-progress"),
    path("api/campaigns/<int:campaign_id>/pool/", api.pool_view, name="api-pool"),
    path(
        "api/campaigns/<int:campaign_id>/qualification/",
        api.qualification_view,
        name="api-qualification",
    ),
    path(
        "api/campaigns/<int:campaign_id>/training/<str:modality>/next/",
        api.training_next_view,
        name="api-training-next",
    ),
    path(
        "api/campaigns/<int:campaign_id>/exams/<str:modality>/start/",
        api.exam_start_view,
        name="api-exam-start",
    ),
    path("api/exams/<int:attempt_id>/next/", api.exam_next_view, name="api-exam-next"),
    path("api/tasks/<int:lease_id>/submit/", api.submit_view, name="api-submit"),
    path("api/tasks/<int:lease_id>/skip/", api.skip_view, name="api-skip"),
    path("api/tasks/<int:lease_id>/revise/", api.revise_view, name="api-revise"),
    path("api/tasks/<int:lease_id>/release/", api.release_view, name="api-release"),
    path(
        "api/screening/<int:campaign_id>/next/",
        screening_views.next_clip_view,
        name="api-screening-next",
    ),
    path(
        "api/screening/<int:campaign_id>/progress/",
        screening_views.progress_view,
        name="api-screening-progress",
    ),
    path(
        "api/screenings/<int:screening_id>/decide/",
        screening_views.decide_view,
        name="api-screening-decide",
    ),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path(  # a page for people: log in first (the schema itself answers 403)
        "api/docs/",
        login_required(SpectacularSwaggerView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("annotate/<int:campaign_id>/", views.annotate, name="annotate"),
    path(
        "annotate/<int:campaign_id>/qualification/",
        qualification_views.qualification,
        name="qualification",
    ),
    path(
        "annotate/<int:campaign_id>/training/<str:modality>/",
        qualification_views.training,
        name="training",
    ),
    path(
        "annotate/<int:campaign_id>/exams/<str:modality>/start",
        qualification_views.exam_start,
        name="exam-start",
    ),
    path("annotate/exams/<int:attempt_id>/", qualification_views.exam, name="exam"),
    path("screen/<int:campaign_id>/", screening_views.screen_page, name="screen"),
    path("renditions/<int:rendition_id>/file", views.rendition_file, name="rendition-file"),
    path(
        "renditions/<int:rendition_id>/subtitles.vtt",
        views.rendition_subtitles,
        name="rendition-subtitles",
    ),
    path("review/<int:campaign_id>/", review_views.dashboard, name="review-dashboard"),
    path(
        "review/<int:campaign_id>/statistics.json",
        review_views.statistics_json,
        name="review-stats-json",
    ),
    path(
        "review/<int:campaign_id>/statistics.csv",
        review_views.statistics_csv,
        name="review-stats-csv",
    ),
    path(
        "review/<int:campaign_id>/figures/<str:name>.svg",
        review_views.figure_svg,
        name="review-figure",
    ),
    path(
        "review/<int:campaign_id>/raw/<str:table>.<str:fmt>",
        review_views.raw_table,
        name="review-raw",
    ),
    path("review/<int:campaign_id>/queue/", review_views.queue, name="review-queue"),
    path(
        "review/<int:campaign_id>/qualification/",
        review_views.qualification,
        name="review-qualification",
    ),
    path(
        "review/<int:campaign_id>/annotators/<int:annotator_id>/",
        review_views.annotator_action,
        name="review-annotator",
    ),
    path("review/jobs/<int:job_id>/", review_views.job_detail, name="review-job"),
    path("review/jobs/<int:job_id>/act", review_views.job_action, name="review-job-action"),
    path("runs/", run_views.run_list, name="runs"),
    path("runs/compare/", run_views.run_compare, name="runs-compare"),
    path("runs/compare/curves.svg", run_views.compare_curves, name="runs-compare-curves"),
    path("runs/<int:run_id>/", run_views.run_detail, name="run-detail"),
    path("runs/<int:run_id>/status.json", run_views.run_status, name="run-status"),
    path("runs/<int:run_id>/curves/<str:kind>.svg", run_views.run_curves, name="run-curves"),
    path("runs/<int:run_id>/cancel", run_views.run_cancel, name="run-cancel"),
    path("runs/<int:run_id>/continue", run_views.run_continue, name="run-continue"),
    path("runs/<int:run_id>/predict", run_views.run_predict, name="run-predict"),
    *api_patterns,
    path("admin/", admin.site.urls),
]
