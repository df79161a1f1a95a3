"""Table 1's word counts are kept on each utterance (`Utterance.words`) by every write of a
transcript, and the dashboard's Table 1 equals one counted from the transcripts."""

import pytest

from labeling.models import Corpus, Utterance
from labeling.selectors.statistics import campaign_statistics
from labeling.statistics import dataset_table, transcript_words
from tests.schema import remigrate

TEXTS = ["我们今天去看电影", "I'm fine — thanks", "   ", "", "iPhone 很好用", "…"]


def utterance(corpus, i: int, transcript: str) -> Utterance:
    return Utterance(
        corpus=corpus,
        external_id=f"w{i}",
        source_file="",
        original_name="",
        transcript=transcript,
        duration_seconds=1.0 + i,
    )


def stored(corpus) -> dict[str, int | None]:
    return dict(corpus.utterances.values_list("transcript", "words"))


@pytest.mark.django_db
def test_every_write_of_a_transcript_keeps_its_words():
    corpus = Corpus.objects.create(name="words")
    expected = {text: transcript_words(text) for text in TEXTS}
    assert expected["我们今天去看电影"] == 8 and expected["   "] is None and expected["…"] == 0
    Utterance.objects.bulk_create([utterance(corpus, i, t) for i, t in enumerate(TEXTS[:3])])
    for i, text in enumerate(TEXTS[3:], start=3):
        utterance(corpus, i, text).save()
    assert stored(corpus) == expected
    one = corpus.utterances.get(external_id="w0")
    one.transcript = "好"
    one.save(update_fields=["transcript"])
    two = corpus.utterances.get(external_id="w1")
    two.transcript = "now three words"
    Utterance.objects.bulk_update([two], ["transcript"])
    corpus.utterances.filter(external_id="w2").update(transcript="two words")
    words = dict(corpus.utterances.values_list("external_id", "words"))
    assert (words["w0"], words["w1"], words["w2"]) == (1, 3, 2)


@pytest.mark.django_db
def test_the_dashboards_table_1_equals_one_counted_from_the_transcripts():
    import pandas as pd

    from labeling.services.campaigns import create_campaign
    from tests.factories import annotators, rendered_corpus

    corpus = rendered_corpus(len(TEXTS))
    for item, text in zip(corpus.utterances.order_by("pk"), TEXTS, strict=True):
        item.transcript = text
        item.save()
    campaign = create_campaign(name="words table", corpus=corpus, annotators=annotators(3))
    frame = pd.DataFrame(
        list(
            corpus.utterances.values(
                "duration_seconds", "transcript", "speaker_gender", "age_group"
            )
        )
    )
    table = campaign_statistics(campaign)["dataset"]
    assert table == dataset_table(frame)
    assert (table["transcribed_utterances"], table["min_words"], table["max_words"]) == (4, 0, 8)


@pytest.mark.django_db(transaction=True)
def test_the_migration_counts_the_words_of_existing_utterances(back_to_the_latest_schema):
    corpus = Corpus.objects.create(name="words backfill")
    Utterance.objects.bulk_create([utterance(corpus, i, t) for i, t in enumerate(TEXTS)])
    remigrate("0023_tally_job_votes", "0024_utterance_words")
    assert stored(corpus) == {text: transcript_words(text) for text in TEXTS}
