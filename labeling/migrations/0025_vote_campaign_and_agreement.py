import django.db.models.deletion
from django.db import migrations, models

CAMPAIGN = """
    UPDATE labeling_vote SET campaign_id = (
        SELECT campaign_id FROM labeling_job WHERE labeling_job.id = labeling_vote.job_id
    )
"""
# Single-label votes, as services.tallies keeps them (one statement over every vote).
AGREES = """
    UPDATE labeling_vote SET agrees = (
        SELECT CASE WHEN j.excluded THEN NULL
                    WHEN j.override_label <> '' THEN labeling_vote.label = j.override_label
                    WHEN j.state = 'decided' THEN labeling_vote.label = j.label
                    ELSE NULL END
        FROM labeling_job AS j WHERE j.id = labeling_vote.job_id
    ) WHERE labeling_vote.label <> ''
"""


def backfill(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        if schema_editor.connection.vendor == "postgresql":  # no pending FK checks at ALTER
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(CAMPAIGN)
        cursor.execute(AGREES)
    # Multi-label votes: sets compared in Python, as services.tallies.vote_agrees does.
    Vote = apps.get_model("labeling", "Vote")
    changed = []
    for vote in Vote.objects.filter(label="").select_related("job").iterator(chunk_size=2000):
        job = vote.job
        final = None
        if not job.excluded:
            final = job.override_label_set
            if final is None and job.state == "decided":
                final = job.label_set
        vote.agrees = None if final is None else set(vote.label_set or ()) == set(final)
        changed.append(vote)
    Vote.objects.bulk_update(changed, ["agrees"], batch_size=2000)


class Migration(migrations.Migration):

    dependencies = [
        ("labeling", "0024_utterance_words"),
    ]

    operations = [
        migrations.AddField(
            model_name="vote",
            name="campaign",
            field=models.ForeignKey(
                editable=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="labeling.campaign",
            ),
        ),
        migrations.AddField(
            model_name="vote",
            name="agrees",
            field=models.BooleanField(
                blank=True,
                editable=False,
                help_text="Names the job's final label (a reviewer's, else the decided verdict; multi-label: exactly its set); empty while the job has none or is excluded.",
                null=True,
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="vote",
            name="campaign",
            field=models.ForeignKey(
                editable=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="labeling.campaign",
            ),
        ),
    ]
