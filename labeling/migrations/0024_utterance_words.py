from django.db import migrations, models

from labeling.statistics import transcript_words

BATCH = 2000


def backfill(apps, schema_editor):
    """Each utterance's words from its transcript, as `Utterance.save` keeps them."""
    Utterance = apps.get_model("labeling", "Utterance")
    batch = []
    for utterance in Utterance.objects.only("pk", "transcript").iterator(chunk_size=BATCH):
        utterance.words = transcript_words(utterance.transcript)
        batch.append(utterance)
        if len(batch) == BATCH:
            Utterance.objects.bulk_update(batch, ["words"])
            batch = []
    Utterance.objects.bulk_update(batch, ["words"])


class Migration(migrations.Migration):

    dependencies = [
        ("labeling", "0023_tally_job_votes"),
    ]

    operations = [
        migrations.AddField(
            model_name="utterance",
            name="words",
            field=models.PositiveIntegerField(
                blank=True,
                editable=False,
                help_text="Words of the transcript as Table 1 counts them; empty without one.",
                null=True,
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
