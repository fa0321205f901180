"""Alembic environment: migrations run against the app's own engine and metadata."""

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from logging.config import fileConfig

from alembic import context
from flask import current_app

config = context.config
if config.config_file_name:
    fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")

target_db = current_app.extensions["migrate"].db
config.set_main_option(
    "sqlalchemy.url", target_db.engine.url.render_as_string(hide_password=False).replace("%", "%%")
)
CONFIGURE_ARGS = current_app.extensions["migrate"].configure_args


def run_migrations_offline() -> None:
    """Emit SQL to stdout instead of running it (``kb db upgrade --sql``)."""
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_db.metadata,
        literal_binds=True,
        **CONFIGURE_ARGS,
    )
    with context.begin_transaction():
        context.run_migrations()


@contextmanager
def foreign_keys_off(connection) -> Iterator[None]:
    """SQLite: a batch operation copies a table, drops the old one and renames the copy; with
    foreign keys enforced, that drop deletes every row that refers to the table (ON DELETE
    CASCADE), e.g. all materials when a check is added to ``case_study``. The pragma works
    only outside a transaction, so it is set on the driver's connection before Alembic
    begins one (as Alembic's documentation of batch mode advises)."""
    if connection.dialect.name != "sqlite":
        yield
        return
    driver = connection.connection.driver_connection
    driver.execute("PRAGMA foreign_keys=OFF")
    try:
        yield
    finally:
        driver.execute("PRAGMA foreign_keys=ON")


def run_migrations_online() -> None:
    def skip_empty_autogenerate(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False) and directives[0].upgrade_ops.is_empty():
            directives[:] = []
            logger.info("No changes in schema detected.")

    args = {"process_revision_directives": skip_empty_autogenerate, **CONFIGURE_ARGS}
    with target_db.engine.connect() as connection, foreign_keys_off(connection):
        context.configure(connection=connection, target_metadata=target_db.metadata, **args)
        with context.begin_transaction():
            context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
