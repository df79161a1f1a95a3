"""Admins export a campaign from its list and follow, cancel or re-run exports in the admin."""

import pytest
from django.urls import reverse

from labeling.models import ExportJob
from labeling.services.campaigns import create_campaign
from labeling.services.exports import create_export
from tests.export.conftest import decided_campaign
from tests.factories import rendered_corpus

pytestmark = pytest.mark.django_db


@pytest.fixture
def campaign():
    return decided_campaign("to export", 2)


@pytest.fixture
def offered(settings, tmp_path, model_dirs):
    """Configured choices: the tiny save_pretrained models, and a hub id never downloaded."""
    settings.EXPORT_ROOT = str(tmp_path / "exports")
    settings.FEATURE_MODELS_DIR = tmp_path / "no-demo-models"
    settings.EXPORT_FEATURE_MODELS = {
        "text": [("tiny BERT", str(model_dirs["text"]))],
        "audio": [("tiny wav2vec 2.0", str(model_dirs["audio"]))],
        "vision": [("tiny ResNet", str(model_dirs["vision"])), ("far away", NOT_DOWNLOADED)],
    }
    return {f"{role}_model": str(path) for role, path in model_dirs.items()}


NOT_DOWNLOADED = "nobody/not-downloaded-resnet"


def export_page(campaign) -> str:
    return reverse("admin:labeling_campaign_export", args=[campaign.pk])


def test_the_export_action_opens_a_form_offering_the_models_and_the_usable_count(
    admin_client, campaign, offered
):
    response = admin_client.post(
        reverse("admin:labeling_campaign_changelist"),
        {"action": "export_dataset", "_selected_action": [campaign.pk]},
    )
    assert response.status_code == 302 and response.url == export_page(campaign)
    page = admin_client.get(response.url).content.decode()
    assert "2 of 2 utterances have all of t, a, v, m decided." in page
    for role, label in (("text", "tiny BERT"), ("audio", "tiny wav2vec 2.0")):
        assert f'<option value="{offered[f"{role}_model"]}" selected>{label}</option>' in page
    assert "far away: not on this machine" in page
    # the default vision model is named a substitute, not the paper's
    assert (
        "microsoft/resnet-18 (ImageNet ResNet-18, a substitute for the paper&#x27;s RAF-DB" in page
    )
    assert 'name="seed"' in page and 'name="stratify"' in page
    assert not ExportJob.objects.exists()  # the action itself queues nothing


def test_the_export_form_queues_an_export_with_the_chosen_models_seed_and_stratify(
    admin_client, campaign, offered, tmp_path, django_capture_on_commit_callbacks
):
    form = {**offered, "seed": 5, "stratify": "on"}
    with django_capture_on_commit_callbacks() as queued:
        response = admin_client.post(export_page(campaign), form)
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("admin:labeling_exportjob_change", args=[job.pk])
    assert len(queued) == 1  # enqueued once the job row is committed
    assert (job.status, job.created_by.username) == ("queued", "admin")
    assert job.out_dir.startswith(str(tmp_path / "exports" / f"to-export-{campaign.pk}-"))
    assert {key: job.options[key] for key in offered} == offered
    assert (job.options["seed"], job.options["stratify"]) == (5, True)


def test_a_hub_id_not_downloaded_here_is_refused_at_once_saying_so(
    admin_client, campaign, offered, monkeypatch
):
    monkeypatch.setattr("huggingface_hub.constants.HF_HUB_OFFLINE", False)  # even online
    form = {**offered, "vision_model": NOT_DOWNLOADED, "seed": 0}
    response = admin_client.post(export_page(campaign), form)
    page = response.content.decode()
    assert response.status_code == 200
    assert (
        f"The vision model &#x27;{NOT_DOWNLOADED}&#x27; is not downloaded to this machine" in page
    )
    assert f"hf download {NOT_DOWNLOADED}" in page
    assert not ExportJob.objects.exists()


def test_the_export_form_refuses_a_campaign_with_nothing_usable_saying_why(admin_client, offered):
    fresh = create_campaign(name="fresh", corpus=rendered_corpus(2))
    page = admin_client.get(export_page(fresh)).content.decode()
    assert "0 of 2 utterances have all of t, a, v, m decided: 2 still open in t" in page
    response = admin_client.post(export_page(fresh), {**offered, "seed": 0})
    assert response.status_code == 200
    assert "has nothing to export yet. 0 of 2 utterances" in response.content.decode()
    assert not ExportJob.objects.exists()


def test_the_export_action_takes_one_campaign_at_a_time(admin_client, campaign):
    other = decided_campaign("another")
    response = admin_client.post(
        reverse("admin:labeling_campaign_changelist"),
        {"action": "export_dataset", "_selected_action": [campaign.pk, other.pk]},
        follow=True,
    )
    assert "Export one campaign at a time" in response.content.decode()
    assert not ExportJob.objects.exists()


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


def test_a_campaign_still_being_annotated_can_be_exported_as_a_pool(
    admin_client, offered, django_capture_on_commit_callbacks
):
    fresh = create_campaign(name="fresh", corpus=rendered_corpus(2))
    page = admin_client.get(export_page(fresh)).content.decode()
    assert "2 utterances with media still wait for labels" in page
    assert 'name="pool"' in page and 'type="submit" value="Export">' in page  # not disabled
    with django_capture_on_commit_callbacks() as queued:
        response = admin_client.post(export_page(fresh), {**offered, "seed": 0, "pool": "on"})
    job = ExportJob.objects.get()
    assert response.status_code == 302 and len(queued) == 1 and job.options["pool"] is True
