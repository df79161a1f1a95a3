"""Admins export a campaign from its list and follow, cancel or re-run exports in the admin."""

import pytest
from django.urls import reverse

from labeling.models import ExportJob
from labeling.services.exports import create_export
from tests.export.conftest import decided_campaign

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    return decided_campaign("to export", 2)


def test_the_export_action_queues_an_export_with_the_configured_models(
    admin_client, campaign, settings, tmp_path, django_capture_on_commit_callbacks
):
    settings.EXPORT_ROOT = str(tmp_path / "exports")
    settings.EXPORT_VISION_MODEL = "/models/resnet18-rafdb"
    with django_capture_on_commit_callbacks() as queued:
        response = admin_client.post(
            reverse("admin:labeling_campaign_changelist"),
            {"action": "export_dataset", "_selected_action": [campaign.pk]},
        )
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:labeling_exportjob_change", args=[job.pk])
    assert len(queued) == 1  # enqueued once the job row is committed
    assert (job.status, job.created_by.username) == ("queued", "admin")
    assert job.out_dir.startswith(str(tmp_path / "exports" / f"to-export-{campaign.pk}-"))
    assert job.options["vision_model"] == "/models/resnet18-rafdb"
    assert job.options["text_model"] == "hfl/chinese-bert-wwm-ext"


def test_an_export_page_shows_progress_and_refreshes_while_running(admin_client, campaign):
    job = create_export(campaign=campaign, out_dir="/tmp/x", enqueue=False)
    ExportJob.objects.filter(pk=job.pk).update(status="running", done=3, total=12)
    page = admin_client.get(reverse("admin:labeling_exportjob_change", args=[job.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert '<progress max="100" value="25">' in html and "3 / 12 utterances" in html
    assert 'http-equiv="refresh"' in html
    listing = admin_client.get(reverse("admin:labeling_exportjob_changelist"))
    assert "3 / 12 utterances" in listing.content.decode()


def test_cancel_and_run_again_actions(admin_client, campaign, django_capture_on_commit_callbacks):
    queued = create_export(campaign=campaign, out_dir="/tmp/a", enqueue=False)
    running = create_export(campaign=campaign, out_dir="/tmp/b", enqueue=False)
    ExportJob.objects.filter(pk=running.pk).update(status="running")
    url = reverse("admin:labeling_exportjob_changelist")
    admin_client.post(url, {"action": "cancel", "_selected_action": [queued.pk, running.pk]})
    queued.refresh_from_db()
    running.refresh_from_db()
    assert (queued.status, running.status, running.cancel_requested) == (
        "cancelled",
        "running",
        True,
    )

    with django_capture_on_commit_callbacks() as enqueued:
        admin_client.post(url, {"action": "run_again", "_selected_action": [queued.pk]})
    queued.refresh_from_db()
    assert (queued.status, queued.cancel_requested, len(enqueued)) == ("queued", False, 1)
