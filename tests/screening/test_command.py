"""manage.py screen_clips: measure clips here and re-apply a campaign's thresholds."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from labeling.models import ClipScreening, Corpus, ScreeningStatus
from labeling.services.campaigns import create_campaign
from labeling.storage import media_path
from tests.factories import annotators

pytestmark = pytest.mark.django_db


def screen_clips(*args) -> str:
    out = StringIO()
    call_command("screen_clips", *args, "--no-progress", stdout=out)
    return out.getvalue()


def test_measures_pending_clips_and_judges_the_campaign(import_clips):
    clips = import_clips("good", "silent")
    campaign = create_campaign(
        name="cli", corpus=clips["good"].corpus, annotators=annotators(1), automatic_screening=True
    )

    out = screen_clips("--campaign", "cli")

    assert "Measured 2 clips of screening corpus: 2 measured." in out
    assert "accepted: 1" in out and "rejected by automatic checks: 1" in out
    assert set(campaign.jobs.values_list("utterance__external_id", flat=True)) == {"good"}
    assert "Measured 0 clips" in screen_clips("--corpus", "screening corpus")  # nothing pending


def test_again_failed_measures_a_repaired_clip(import_clips, generated_clips):
    utterance = import_clips("good")["good"]
    stored = media_path(utterance.source_file)
    stored.write_bytes(b"damaged")
    assert "1 could not be measured" in screen_clips("--corpus", "screening corpus")

    stored.write_bytes(generated_clips["good"].read_bytes())
    assert "1 measured" in screen_clips("--corpus", "screening corpus", "--again", "failed")
    utterance.refresh_from_db()
    assert utterance.screening_status == ScreeningStatus.MEASURED


def test_unknown_targets_and_unscreened_campaigns_are_refused(import_clips):
    with pytest.raises(CommandError, match="No corpus named"):
        screen_clips("--corpus", "nope")
    with pytest.raises(CommandError, match="No campaign"):
        screen_clips("--campaign", "nope")
    corpus = Corpus.objects.create(name="plain")
    create_campaign(name="plain", corpus=corpus, annotators=annotators(1))
    with pytest.raises(CommandError, match="does not screen"):
        screen_clips("--campaign", "plain")
    assert not ClipScreening.objects.exists()
