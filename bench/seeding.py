"""Fast seeding for the large benchmarks: jobs written by one INSERT ... SELECT in PostgreSQL.

Text is assembled in SQL from the word lists of `core/wordlists.py` (shared with the demo data),
so a million rows need no Python loop: titles from level, field and role; descriptions from a
pool of paragraphs of common job-ad words drawn with a skew (a few words in nearly every posting,
most in few), plus three skills and a project codename (adjective + animal, about 1 posting in
1,600). The search-vector trigger of migration 0002 fills `search_vector` for each inserted row,
as it does in production. Rows are written in row-number order with `published_at` rising, so the
table's physical order follows publication, as in a table that filled up over time
(`physical_correlation` shows it).
"""

from __future__ import annotations

import psycopg2
from psycopg2 import sql

from core.wordlists import (
    CODENAME_ADJECTIVES,
    CODENAME_ANIMALS,
    COMMON_WORDS,
    COMPANY_NAMES,
    COMPANY_SUFFIXES,
    FIELDS,
    LEVELS,
    LOCATIONS,
    ROLES,
    SKILLS,
)

PARAGRAPHS = 4999  # prime: which paragraph a job gets does not follow g % 20 (its status)

_PARAGRAPHS_SQL = """
CREATE TEMPORARY TABLE bench_paragraph ON COMMIT DROP AS
SELECT p AS id,
       (SELECT string_agg(
                   v.words[1 + floor(power(random(), 2) * cardinality(v.words))::int], ' ')
          FROM generate_series(1, 40 + p %% 20) AS w, (SELECT %(words)s::text[] AS words) AS v
       ) || '.' AS body
  FROM generate_series(0, %(paragraphs)s - 1) AS p;
ALTER TABLE bench_paragraph ADD PRIMARY KEY (id);
ANALYZE bench_paragraph
"""

_INSERT_SQL = """
INSERT INTO core_job (
    employer_id, category_id, title, description, company_name, location, remote,
    employment_type, salary_min, salary_max, salary_currency, status, created_at, updated_at,
    published_at, expires_at, closed_at, deleted_at
)
SELECT %(employer_id)s,
       (%(category_ids)s::bigint[])[1 + g %% cardinality(%(category_ids)s::bigint[])],
       t.title,
       'We are hiring a ' || t.title || ' at ' || t.company || ' in ' || t.location || '. '
           || (SELECT body FROM bench_paragraph WHERE id = (g::bigint * 7919) %% %(paragraphs)s)
           || ' Skills: ' || t.skill1 || ', ' || t.skill2 || ', ' || t.skill3
           || '. Project codename ' || t.codename || '.',
       t.company,
       t.location,
       g %% 4 = 0,
       (ARRAY['full_time', 'full_time', 'full_time', 'part_time', 'contract', 'internship',
              'temporary'])[1 + g %% 7],
       40000 + (g %% 60) * 1000,
       70000 + (g %% 60) * 1500,
       'EUR',
       CASE WHEN %(closed_sql)s THEN 'closed' ELSE 'published' END,
       t.published_at, t.published_at, t.published_at,
       %(expires_sql)s,
       CASE WHEN %(closed_sql)s THEN t.published_at + interval '1 day' END,
       NULL
  FROM generate_series(%(first)s, %(last)s) AS g
  CROSS JOIN LATERAL (
      SELECT trim(levels[1 + floor(random() * cardinality(levels))::int] || ' '
                  || fields[1 + floor(random() * cardinality(fields))::int] || ' '
                  || roles[1 + floor(random() * cardinality(roles))::int]) AS title,
             names[1 + floor(random() * cardinality(names))::int] || ' '
                  || suffixes[1 + floor(random() * cardinality(suffixes))::int] AS company,
             locations[1 + floor(random() * cardinality(locations))::int] AS location,
             skills[1 + floor(random() * cardinality(skills))::int] AS skill1,
             skills[1 + floor(random() * cardinality(skills))::int] AS skill2,
             skills[1 + floor(random() * cardinality(skills))::int] AS skill3,
             adjectives[1 + floor(random() * cardinality(adjectives))::int]
                  || animals[1 + floor(random() * cardinality(animals))::int] AS codename,
             -- Published in row order over the last 60 days, as a real table fills up.
             now() - (%(last)s - g) * (interval '60 days' / (%(last)s - %(first)s + 1))
                  AS published_at
        FROM (SELECT %(levels)s::text[] AS levels, %(fields)s::text[] AS fields,
                     %(roles)s::text[] AS roles, %(names)s::text[] AS names,
                     %(suffixes)s::text[] AS suffixes, %(locations)s::text[] AS locations,
                     %(skills)s::text[] AS skills, %(adjectives)s::text[] AS adjectives,
                     %(animals)s::text[] AS animals) AS lists
       -- Correlated with g, so PostgreSQL draws new words for every row.
       WHERE g IS NOT NULL
  ) AS t
"""


def empty_tables(cursor) -> None:
    """Empty every table of the project's data, so that a run seeds from nothing."""
    cursor.execute(
        "TRUNCATE core_emaildelivery, core_outboxevent, core_applicationstatuschange, "
        "core_application, core_job, core_category, token_blacklist_blacklistedtoken, "
        "token_blacklist_outstandingtoken, core_user CASCADE"
    )


def employer_and_categories(category_names: list[str]):
    """The one employer who owns the seeded jobs, and a category for each name (Django set up)."""
    from core.accounts.models import Role, User
    from core.jobs.models import Category

    employer = User.objects.create(
        username="bench_employer", email="employer@bench.test", role=Role.EMPLOYER
    )
    categories = Category.objects.bulk_create(
        Category(name=name, slug=name.lower()) for name in category_names
    )
    return employer, categories


def ensure_database(url: str) -> None:
    """Create the database named in `url` if it does not exist."""
    name = url.rsplit("/", 1)[1]
    admin = psycopg2.connect(url.rsplit("/", 1)[0] + "/postgres")
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if cursor.fetchone() is None:
            cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.close()


def insert_jobs(
    cursor,
    *,
    first: int,
    last: int,
    employer_id: int,
    category_ids: list[int],
    expires_sql: str,
    closed_sql: str = "false",
    seed: float = 0.42,
) -> None:
    """Insert jobs numbered `first`..`last` (inclusive) in one statement; caller commits.

    `expires_sql` and `closed_sql` are SQL expressions over `g` (the row number) and
    `t.published_at`: they decide which postings are open, stale or closed.
    """
    cursor.execute("SELECT setseed(%s)", [seed])
    cursor.execute(_PARAGRAPHS_SQL, {"paragraphs": PARAGRAPHS, "words": COMMON_WORDS})
    query = _INSERT_SQL.replace("%(expires_sql)s", expires_sql.replace("%", "%%")).replace(
        "%(closed_sql)s", closed_sql.replace("%", "%%")
    )
    cursor.execute(
        query,
        {
            "first": first,
            "last": last,
            "employer_id": employer_id,
            "category_ids": category_ids,
            "paragraphs": PARAGRAPHS,
            "levels": LEVELS,
            "fields": FIELDS,
            "roles": ROLES,
            "names": COMPANY_NAMES,
            "suffixes": COMPANY_SUFFIXES,
            "locations": LOCATIONS,
            "skills": SKILLS,
            "adjectives": CODENAME_ADJECTIVES,
            "animals": CODENAME_ANIMALS,
        },
    )


def physical_correlation(cursor, column: str) -> float | None:
    """pg_stats' correlation of a core_job column with the rows' physical order (after ANALYZE)."""
    cursor.execute(
        "SELECT correlation FROM pg_stats WHERE tablename = 'core_job' AND attname = %s", [column]
    )
    row = cursor.fetchone()
    return row[0] if row else None
