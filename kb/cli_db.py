"""``kb db``: Flask-Migrate's commands, where ``upgrade`` means the core and enabled plugins.

Alembic's ``upgrade head`` refuses a schema with more than one head, and every plugin with
tables adds one (its own branch). So ``kb db upgrade`` without a revision brings the core and
each *enabled* plugin's branch up to date (a disabled plugin's tables are left alone), and
``kb db downgrade-plugin NAME`` removes one plugin's tables. The other commands are
Flask-Migrate's own (``current``, ``heads``, ``check``, ``downgrade REVISION``...).
"""

from __future__ import annotations

import copy

import click
import flask_migrate
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate.cli import db as migrate_group

from kb import schema
from kb.extensions import db


@click.command("upgrade")
@click.option("--sql", is_flag=True, help="Print the SQL instead of running it.")
@click.option("--tag", help='Arbitrary "tag" name, passed to custom env.py code.')
@click.option("-x", "--x-arg", multiple=True, help="Additional arguments for env.py.")
@click.argument("revision", required=False)
@with_appcontext
def upgrade(sql: bool, tag: str | None, x_arg: tuple[str, ...], revision: str | None) -> None:
    """Upgrade to REVISION; without one, the core and every enabled plugin's branch."""
    if revision:
        flask_migrate.upgrade(str(schema.MIGRATIONS_DIR), revision, sql, tag, x_arg)
    else:
        schema.upgrade(sql=sql, tag=tag, x_arg=x_arg)


@click.command("downgrade-plugin")
@click.option("--sql", is_flag=True, help="Print the SQL instead of running it.")
@click.argument("name")
@with_appcontext
def downgrade_plugin(sql: bool, name: str) -> None:
    """Remove the tables of plugin NAME (undo its whole branch); the core's stay."""
    try:
        schema.downgrade_plugin(name, sql=sql)
    except schema.SchemaError as exc:
        raise click.ClickException(str(exc)) from None
    if not sql:
        click.echo(f"The tables of plugin {name!r} are removed.")


@click.command("check")
@with_appcontext
def check() -> None:
    """Check that the core and the enabled plugins are up to date, and the core's models
    match the database (a disabled plugin's tables and branch are left out)."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(
            connection,
            opts={
                "include_object": current_app.extensions["migrate"].configure_args["include_object"]
            },
        )
        missing = schema.behind(context.get_current_heads())
        differences = compare_metadata(context, db.metadata) if not missing else []
    if missing:
        raise click.ClickException(
            f"The database is not up to date (missing {', '.join(missing)}): run `kb db upgrade`."
        )
    if differences:
        raise click.ClickException(f"The models differ from the database: {differences}")
    click.echo("The database is up to date and matches the models.")


def _db_group() -> click.Group:
    """Flask-Migrate's group (its options, and the ``g.directory`` its commands read), with
    our ``upgrade`` and ``downgrade-plugin``; Flask-Migrate's own group is left unchanged."""
    group = copy.copy(migrate_group)
    group.commands = {
        **migrate_group.commands,
        "upgrade": upgrade,
        "downgrade-plugin": downgrade_plugin,
        "check": check,
    }
    return group


db_group = _db_group()
