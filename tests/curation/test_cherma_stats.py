"""manage.py cherma_stats prints the tables and writes every plot and the JSON."""

import io
import json

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from labeling.models import Corpus
from labeling.services.assignment import next_task, submit_vote
from labeling.services.campaigns import create_campaign
from labeling.services.label_import import import_labels
from tests.factories import annotators, rendered_corpus

pytestmark = pytest.mark.django_db


def test_cherma_stats_prints_tables_and_writes_png_svg_and_json(tmp_path):
    team = annotators(3)
    campaign = create_campaign(
        name="stats",
        corpus=rendered_corpus(2),
        annotators=team,
        modalities="ta",
        independence_guard=False,
    )
    for annotator in team:
        while (lease := next_task(annotator, campaign)) is not None:
            submit_vote(annotator, lease.pk, "anger" if lease.job.modality == "t" else "fear")
    out = io.StringIO()
    call_command("cherma_stats", "--campaign", "stats", "--out", str(tmp_path), stdout=out)
    text = out.getvalue()
    assert "Inconsistency Incon(u1,u2)" in text and "Fleiss kappa" in text and "Table 1" in text
    data = json.loads((tmp_path / "statistics.json").read_text())
    assert data["inconsistency"]["matrix"]["t"]["a"] == 1.0
    for name in ("label_distribution", "inconsistency", "per_emotion_inconsistency", "agreement"):
        assert (tmp_path / f"{name}.png").read_bytes().startswith(b"\x89PNG")
        assert b"<svg" in (tmp_path / f"{name}.svg").read_bytes()


def test_an_unknown_campaign_lists_the_ones_there_are():
    create_campaign(name="real", corpus=rendered_corpus(1), annotators=[])
    with pytest.raises(CommandError, match="Campaigns: real"):
        call_command("cherma_stats", "--campaign", "nope")


def test_table_1_says_n_a_for_a_labels_only_campaign_in_text_json_and_dashboard(tmp_path):
    campaign = create_campaign(name="labels only", corpus=Corpus.objects.create(name="imported"))
    path = tmp_path / "labels.csv"
    path.write_text("utterance_id,modality,label\nv1,t,anger\nv2,t,fear\n", encoding="utf-8")
    import_labels(campaign, path)
    out = io.StringIO()
    call_command("cherma_stats", "--campaign", campaign.name, "--out", str(tmp_path), stdout=out)
    assert "utterances 2, n/a minutes, mean n/a s, words n/a" in out.getvalue()
    dataset = json.loads((tmp_path / "statistics.json").read_text())["dataset"]
    assert dataset["total_minutes"] is None and dataset["min_words"] is None
    reviewer = User.objects.create_superuser("boss", password="x")
    client = Client()
    client.force_login(reviewer)
    page = client.get(reverse("review-dashboard", args=[campaign.pk])).content.decode()
    table = page[page.index('id="dataset"') : page.index("</table>", page.index('id="dataset"'))]
    assert "0.00" not in table and "0 / 0" not in table
    assert table.count("n/a") == 3
