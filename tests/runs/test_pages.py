"""Run pages: reviewers and admins only; start, follow, cancel and compare runs."""

from __future__ import annotations

import re
import shutil

import pytest
from django.urls import reverse

from labeling.models import TrainingRun
from labeling.selectors.exports import finished_exports
from labeling.services import training as runs
from labeling.services.exports import create_export, request_cancel
from tests.factories import annotators
from tests.runs.tiny import reviewer, tiny_config, train_here

pytestmark = pytest.mark.django_db


def pages(run_id: int) -> list[tuple[str, str]]:
    return [
        ("get", reverse("runs")),
        ("post", reverse("runs")),
        ("get", reverse("run-detail", args=[run_id])),
        ("get", reverse("run-status", args=[run_id])),
        ("get", reverse("run-curves", args=[run_id, "loss"])),
        ("post", reverse("run-cancel", args=[run_id])),
        ("post", reverse("run-continue", args=[run_id])),
        ("get", reverse("runs-compare") + f"?ids={run_id}"),
        ("get", reverse("runs-compare-curves") + f"?ids={run_id}"),
    ]


def test_annotators_get_403_on_every_run_page(client, exported):
    run = runs.start_run(dataset_path=exported, config=tiny_config(), seeds=1, enqueue=False)
    client.force_login(annotators(1)[0])
    for method, url in pages(run.pk):
        assert getattr(client, method)(url).status_code == 403, url
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.QUEUED  # the refused cancel changed nothing


def test_anonymous_visitors_are_sent_to_log_in(client):
    response = client.get(reverse("runs"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_reviewer_starts_a_run_from_a_finished_export_and_it_is_queued_on_commit(
    client, finished_export, django_capture_on_commit_callbacks
):
    client.force_login(reviewer())
    page = client.get(reverse("runs")).content.decode()
    offered = f'<option value="{finished_export.pk}">export {finished_export.pk} of export campaign'
    sizes = finished_export.result["sizes"]  # each id's split comes from its hash
    shown = (
        f"{sum(sizes.values())} utterances (train {sizes['train']}, "
        f"validation {sizes['validation']}, test {sizes['test']})"
    )
    assert offered in page and shown in page
    assert 'name="dataset_path"' not in page  # no typed path on the web
    form = {
        "name": "from the page", "export": finished_export.pk, "model": "pmr", "preset": "",
        "seeds": 3, "epochs": 4, "settings": "batch_size=4\nd_model=16",
    }  # fmt: skip
    with django_capture_on_commit_callbacks() as queued:
        response = client.post(reverse("runs"), form)
    run = TrainingRun.objects.get()
    assert response.status_code == 302 and response.url == reverse("run-detail", args=[run.pk])
    assert len(queued) == 1  # enqueue_run, after the commit
    assert run.dataset_path == finished_export.out_dir
    assert (run.model, run.preset, run.seeds, run.config["epochs"]) == (
        "pmr",
        "paper",
        [0, 1, 2],
        4,
    )
    assert run.config["model_overrides"] == {"d_model": 16} and run.config["batch_size"] == 4
    assert run.created_by.username == "rev"
    page = client.get(response.url).content.decode()
    assert "queued" in page and 'id="cancel"' in page


def test_the_form_offers_only_finished_exports_still_on_disk_and_refuses_any_other(
    client, finished_export, tmp_path
):
    unfinished = create_export(
        campaign=finished_export.campaign, out_dir=tmp_path / "never", enqueue=False
    )
    request_cancel(unfinished.pk)
    client.force_login(reviewer())
    page = client.get(reverse("runs")).content.decode()
    offered = set(re.findall(r'<option value="(\d+)"', page))  # not the seeds field's "5"
    assert str(finished_export.pk) in offered and str(unfinished.pk) not in offered
    form = {"model": "lfmim", "seeds": 1, "epochs": 1}
    for export_id in (unfinished.pk, 987654, "../etc"):
        page = client.post(reverse("runs"), {**form, "export": export_id}).content.decode()
        assert "That export is not among the finished exports you may train on" in page
    shutil.rmtree(finished_export.out_dir)  # deleted since: no longer offered
    page = client.post(reverse("runs"), {**form, "export": finished_export.pk}).content.decode()
    assert "That export is not among the finished exports you may train on" in page
    assert 'id="no-exports"' in page
    assert not TrainingRun.objects.exists()


def test_only_reviewers_and_admins_see_finished_exports(finished_export, admin_user):
    assert finished_exports(reviewer()) == [finished_export]
    assert finished_exports(admin_user) == [finished_export]
    assert finished_exports(annotators(1)[0]) == []


def test_run_page_shows_the_f1_table_per_head_and_serves_its_curves(client, exported):
    run = train_here(exported, seeds=2, epochs=2)
    client.force_login(reviewer())
    page = client.get(reverse("run-detail", args=[run.pk])).content.decode()
    assert 'id="f1-table"' in page and "±" in page and "support-weighted F1" in page
    for kind in ("loss", "accuracy"):
        svg = client.get(reverse("run-curves", args=[run.pk, kind]))
        assert svg["Content-Type"] == "image/svg+xml"
        assert b"m validation" in svg.content and b"t train" in svg.content
    status = client.get(reverse("run-status", args=[run.pk])).json()
    assert status["finished"] and status["epochs"] == 4 and status["percent"] == 100.0
    assert client.get(reverse("run-curves", args=[run.pk, "f1"])).status_code == 404


def test_comparison_puts_the_m_head_of_each_run_side_by_side(client, exported):
    first = train_here(exported, "lfmim", name="full")
    second = train_here(exported, "lfmim-ml", name="ablation")
    client.force_login(reviewer())
    url = reverse("runs-compare") + f"?ids={first.pk}&ids={second.pk}"
    page = client.get(url).content.decode()
    assert "full (lfmim)" in page and "ablation (lfmim-ml)" in page
    assert page.index("full (lfmim)") < page.index("ablation (lfmim-ml)")
    svg = client.get(reverse("runs-compare-curves") + f"?ids={first.pk}&ids={second.pk}")
    assert b"ablation (lfmim-ml)" in svg.content
    table = runs.comparison_table([first, second])
    assert table.splitlines()[0].startswith("Test set, m head")
    assert "full (lfmim)" in table and "ablation (lfmim-ml)" in table


def test_cancel_button_cancels_a_queued_run(client, exported):
    run = runs.start_run(dataset_path=exported, config=tiny_config(), seeds=1, enqueue=False)
    client.force_login(reviewer())
    client.post(reverse("run-cancel", args=[run.pk]))
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.CANCELLED


def test_admin_shows_runs_read_only_and_cancels_them(admin_client, exported):
    run = runs.start_run(dataset_path=exported, config=tiny_config(), seeds=1, enqueue=False)
    assert admin_client.get(reverse("admin:labeling_trainingrun_changelist")).status_code == 200
    page = admin_client.get(reverse("admin:labeling_trainingrun_change", args=[run.pk]))
    assert page.status_code == 200 and reverse("run-detail", args=[run.pk]) in page.content.decode()
    assert admin_client.get(reverse("admin:labeling_trainingrun_add")).status_code == 403
    admin_client.post(
        reverse("admin:labeling_trainingrun_changelist"),
        {"action": "cancel", "_selected_action": [run.pk]},
    )
    run.refresh_from_db()
    assert run.status == TrainingRun.Status.CANCELLED
