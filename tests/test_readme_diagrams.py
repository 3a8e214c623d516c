"""The README's diagrams stay true: the data model is regenerated from the models and compared."""

from __future__ import annotations

import re
from pathlib import Path

from django.core.management import call_command

from core.management.commands.er_diagram import END_MARKER, START_MARKER, er_diagram, readme_block

README = Path(__file__).resolve().parents[1] / "README.md"
REGENERATE = "python manage.py er_diagram --readme README.md"


def readme() -> str:
    return README.read_text(encoding="utf-8")


def test_the_readmes_data_model_is_the_one_the_models_describe():
    text = readme()
    start, end = text.find(START_MARKER), text.find(END_MARKER)
    assert 0 <= start < end, (
        f"README.md lost its er-diagram markers; add them and run `{REGENERATE}`"
    )

    assert text[start : end + len(END_MARKER)] == readme_block(), (
        f"README.md's data model differs from the models: run `{REGENERATE}` and commit the result"
    )


def test_the_diagram_has_every_core_model_and_foreign_key():
    diagram = er_diagram()

    for model in ("User", "Category", "Job", "Application", "ApplicationStatusChange"):
        assert f"    {model} {{" in diagram
    for model in ("OutboxEvent", "EmailDelivery"):
        assert f"    {model} {{" in diagram
    assert 'User ||--o{ Job : "employer"' in diagram
    assert 'Job ||--o{ Application : "job"' in diagram
    assert 'User |o--o{ ApplicationStatusChange : "changed_by"' in diagram


def test_the_command_rewrites_only_the_diagram(tmp_path):
    stale = tmp_path / "README.md"
    stale.write_text(f"# Title\n\n{START_MARKER}\nold\n{END_MARKER}\n\nAfter.\n", encoding="utf-8")

    call_command("er_diagram", readme=stale)

    assert stale.read_text(encoding="utf-8") == f"# Title\n\n{readme_block()}\n\nAfter.\n"


def test_the_readme_draws_the_path_of_an_event_as_mermaid():
    blocks = re.findall(r"```mermaid\n(.*?)```", readme(), flags=re.S)

    assert any(block.startswith("erDiagram") for block in blocks)
    flow = next(block for block in blocks if block.startswith("flowchart"))
    for step in ("outbox", "tasks/relay", "RabbitMQ", "queue: notifications", "SMTP", "Redis"):
        assert step in flow, step
