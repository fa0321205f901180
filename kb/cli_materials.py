"""``kb materials``: the stored files' text for search, read again in a limited child process."""

from __future__ import annotations

import click
from flask.cli import with_appcontext

from kb.models import TextStatus
from kb.services import materials
from kb.services.programme import find_material


@click.group("materials")
def materials_group() -> None:
    """Stored material files."""


@materials_group.command("reextract")
@click.argument("material_id", metavar="[ID]", type=int, required=False)
@click.option("--pending", is_flag=True, help="Only files whose text was never read.")
@with_appcontext
def reextract(material_id: int | None, pending: bool) -> None:
    """Read the text of stored files again for search (all, --pending, or material ID).

    Each file is read with the EXTRACT_* limits; the index picks the new text up at once.
    Exits 1 if a file is missing or its text could not be read because of the machine.
    """
    if material_id is not None:
        material = find_material(material_id)
        if material is None or not material.is_file:
            raise click.ClickException(f"There is no stored file with material id {material_id}.")
        ids = [material_id]
    else:
        ids = materials.files_to_reextract(pending_only=pending)
    read_texts(ids)


def read_texts(ids: list[int]) -> None:
    """Read the text of these stored files, one line of progress each (on stderr), then a
    summary; ``ClickException`` if a file is missing or could not be read for the machine."""
    counts = dict.fromkeys(TextStatus, 0)
    errors = 0
    for number, current in enumerate(ids, start=1):
        material = find_material(current)
        if material is None:  # removed meanwhile
            continue
        label = f"[{number}/{len(ids)}] material {current} ({material.original_filename})"
        try:
            outcome = materials.reextract(material)
        except FileNotFoundError as exc:
            errors += 1
            click.echo(f"{label}: error: {exc}", err=True)
            continue
        counts[outcome.status] += 1
        if outcome.status == TextStatus.PENDING:
            errors += 1
        detail = f"{len(outcome.text)} characters" if outcome.text else outcome.reason
        click.echo(f"{label}: {outcome.status}" + (f" ({detail})" if detail else ""), err=True)
    summary = ", ".join(f"{count} {status}" for status, count in counts.items() if count)
    click.echo(f"Read the text of {len(ids)} file(s): {summary or 'nothing to do'}.")
    if errors:
        raise click.ClickException(f"{errors} file(s) could not be read; see above.")
