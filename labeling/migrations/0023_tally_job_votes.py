from django.db import migrations, models

# Every tally row gets its job's votes over every label (frozen copy of the sum
# services.tallies.recount writes); one correlated sum per row, over the job's few rows.
BACKFILL = """
    UPDATE labeling_labeltally SET job_votes = (
        SELECT SUM(same_job.votes) FROM labeling_labeltally AS same_job
        WHERE same_job.job_id = labeling_labeltally.job_id
    )
"""


def backfill(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(BACKFILL)


class Migration(migrations.Migration):

    dependencies = [
        ("labeling", "0022_utterances_order_without_a_model"),
    ]

    operations = [
        migrations.AddField(
            model_name="labeltally",
            name="job_votes",
            field=models.PositiveIntegerField(
                default=0,
                help_text="The job's votes over every label (the same on each of its rows): its size, which Krippendorff's α weighs its pairs of votes by.",
            ),
            preserve_default=False,
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
