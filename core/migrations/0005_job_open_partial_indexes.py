"""Index only the open jobs (published, not deleted), so a job leaving that set costs less.

A non-HOT update writes an entry into every index whose predicate the new row version meets.
Expiring a job used to add about 50 entries to the full-text GIN index and one to each of six
B-trees; with the public-read indexes partial, an expired, closed or deleted job is written only
into the primary key, the category and the employer indexes. The employer's foreign-key index
becomes `(employer, -created_at, -id)`, which also serves "my jobs, newest first".
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

GIN_PARTIAL_SQL = """
DROP INDEX IF EXISTS job_search_vector_gin;
CREATE INDEX job_search_vector_gin ON core_job USING gin (search_vector)
    WHERE status = 'published' AND deleted_at IS NULL;
"""

GIN_FULL_SQL = """
DROP INDEX IF EXISTS job_search_vector_gin;
CREATE INDEX job_search_vector_gin ON core_job USING gin (search_vector);
"""


def gin_partial(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GIN_PARTIAL_SQL)


def gin_full(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(GIN_FULL_SQL)


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0004_job_expiry_reminder"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="job",
            name="job_status_published_idx",
        ),
        migrations.RemoveIndex(
            model_name="job",
            name="job_status_expires_idx",
        ),
        migrations.RemoveIndex(
            model_name="job",
            name="job_created_idx",
        ),
        migrations.AlterField(
            model_name="job",
            name="employer",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="jobs",
                to=settings.AUTH_USER_MODEL,
            ),
        ),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True), ("status", "published")),
                fields=["-published_at", "-id"],
                name="job_open_published_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True), ("status", "published")),
                fields=["-created_at", "-id"],
                name="job_open_created_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", True), ("status", "published")),
                fields=["expires_at", "id"],
                name="job_open_expires_idx",
            ),
        ),
        migrations.AddIndex(
            model_name="job",
            index=models.Index(
                fields=["employer", "-created_at", "-id"], name="job_employer_created_idx"
            ),
        ),
        migrations.RunPython(gin_partial, gin_full),
    ]
