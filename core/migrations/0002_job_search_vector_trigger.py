"""Full-text search on PostgreSQL: a trigger keeps `core_job.search_vector` current, GIN-indexed.

Weights rank a match in the title above one in company or location, above one in the
description. The trigger fires only when a searched column is written, so set-based status
updates (expiry, closing) do not recompute vectors. SQLite has no tsvector: there the listing
falls back to a contains match and this migration does nothing.
"""

from django.db import migrations

CREATE_SQL = """
CREATE OR REPLACE FUNCTION core_job_search_vector_update() RETURNS trigger AS $$
BEGIN
    NEW.search_vector :=
        setweight(to_tsvector('english', coalesce(NEW.title, '')), 'A') ||
        setweight(to_tsvector('english', coalesce(NEW.company_name, '')), 'B') ||
        setweight(to_tsvector('english', coalesce(NEW.location, '')), 'B') ||
        setweight(to_tsvector('english', coalesce(NEW.description, '')), 'C');
    RETURN NEW;
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER core_job_search_vector_trigger
    BEFORE INSERT OR UPDATE OF title, company_name, location, description, search_vector
    ON core_job FOR EACH ROW EXECUTE FUNCTION core_job_search_vector_update();

UPDATE core_job SET title = title;

CREATE INDEX IF NOT EXISTS job_search_vector_gin ON core_job USING gin (search_vector);
"""

DROP_SQL = """
DROP INDEX IF EXISTS job_search_vector_gin;
DROP TRIGGER IF EXISTS core_job_search_vector_trigger ON core_job;
DROP FUNCTION IF EXISTS core_job_search_vector_update();
"""


def create(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE_SQL)


def drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(create, drop)]
