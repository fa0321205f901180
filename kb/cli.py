"""The ``kb`` command: Flask's commands (run, shell, db) plus the knowledge base's own."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import FlaskGroup, NoAppException, with_appcontext
from sqlalchemy import select

from kb import plugins, schema
from kb.app import create_app
from kb.cli_db import db_group
from kb.cli_materials import materials_group, read_texts
from kb.cli_reminders import reminders_group
from kb.config import ConfigurationError
from kb.extensions import db
from kb.models import UI_LANGUAGES, Person, Role, User, Vocabulary
from kb.search import get_backend
from kb.search.backend import IndexBusy
from kb.services import (
    accounts,
    catalogue,
    contacts,
    invitations,
    materials,
    personal_data,
    tokens,
)
from kb.services.demo import prepare_demo
from kb.services.exchange.exporter import export_document, iter_cases
from kb.services.exchange.importer import (
    ImportPlan,
    ImportRejected,
    import_plan,
    plan_import,
    read_document,
)
from kb.services.exchange.tabular import cases_csv
from kb.services.indexing import outbox
from kb.services.indexing.documents import published_versions
from kb.services.mail import MailNotSent
from kb.services.vocabulary import add_term, ensure_default_terms


def _app_for_cli() -> Flask:
    try:
        return create_app()
    except ConfigurationError as exc:
        # Flask shows this kind of error as a one-line message instead of a traceback.
        raise NoAppException(str(exc)) from None


class KbGroup(FlaskGroup):
    """Flask's command group, with ``kb db`` knowing about the plugins' migration branches
    (Flask-Migrate's own ``db`` group, loaded from an entry point, would shadow ours)."""

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        return db_group if name == "db" else super().get_command(ctx, name)


@click.group(cls=KbGroup, create_app=_app_for_cli)
def main() -> None:
    """Nordic Good Practice KB. Start with `kb init`, then `kb demo` and `kb run`."""


main.add_command(materials_group)
main.add_command(reminders_group)


@main.command()
@with_appcontext
def init() -> None:
    """Create or upgrade the database, and create the instance folders."""
    click.echo(f"Instance folder: {current_app.instance_path}")
    schema.upgrade()
    added = ensure_default_terms()
    Path(current_app.config["UPLOAD_DIR"]).mkdir(parents=True, exist_ok=True)
    report, pending = outbox.check(get_backend())
    click.echo(f"Database is up to date; {added} vocabulary term(s) added.")
    if pending:
        click.echo(
            f"{pending} change(s) wait in the search outbox: the server's workers index them "
            "when they start (or run `kb search-sync`)."
        )
    elif not report.ok:
        click.echo("The search index is behind the database: run `kb reindex`.")


@main.command()
@with_appcontext
def demo() -> None:
    """Load the demo events, sessions, people and case studies (safe to run again)."""
    _run_import(prepare_demo(), "the demo data")


@main.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@with_appcontext
def import_command(file: Path) -> None:
    """Import cases (and events, people) from a JSON FILE; all or nothing.

    Cases with a `ref` already in the database are updated, so importing twice is safe.
    """
    try:
        plan = plan_import(read_document(file.read_bytes()))
    except ImportRejected as rejected:
        click.secho(
            f"Nothing was imported: {len(rejected.problems)} problem(s) in {file}:",
            fg="red",
            err=True,
        )
        for problem in rejected.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(1)
    _run_import(plan, str(file))


def _run_import(plan: ImportPlan, source: str) -> None:
    with click.progressbar(length=len(plan.cases), label="Importing cases", file=sys.stderr) as bar:
        result = import_plan(plan, progress=bar.update)
    click.echo(
        f"Imported {source}: {result.cases_created} case(s) created, {result.cases_updated} "
        f"updated; {result.events} event(s), {result.organisations} organisation(s)."
    )
    pending = materials.files_to_reextract(pending_only=True)
    if pending:  # imported files: their text is read here, not in a request
        read_texts(pending)


@main.command("export")
@click.argument("file", type=click.Path(dir_okay=False, writable=True, path_type=Path))
@click.option(
    "--public",
    is_flag=True,
    help="Only published cases, and contact details only where people consented.",
)
@click.option(
    "--format",
    "file_format",
    type=click.Choice(["json", "csv"]),
    default="json",
    show_default=True,
    help="json: everything, for `kb import`; csv: one row per case, for spreadsheets.",
)
@with_appcontext
def export_command(file: Path, public: bool, file_format: str) -> None:
    """Export the catalogue in the exchange format to FILE ('-' for stdout), as
    /api/v1/export.json and cases.csv do."""
    if file_format == "csv":
        cases = list(iter_cases(public=public))
        text, summary = cases_csv(cases), f"{len(cases)} case(s)"
    else:
        document = export_document(public=public)
        text = json.dumps(document, ensure_ascii=False, indent=1) + "\n"
        summary = f"{len(document['cases'])} case(s) and {len(document['events'])} event(s)"
    if str(file) == "-":
        click.echo(text, nl=False)
        return
    tmp = file.with_name(f".{file.name}.tmp")
    tmp.write_text(text, encoding="utf-8", newline="")
    tmp.replace(file)
    click.echo(f"Exported {summary} to {file}.", err=True)


@main.command()
@with_appcontext
def reindex() -> None:
    """Rebuild the search index from the database (published cases only)."""
    total = len(published_versions())
    with click.progressbar(length=total, label="Indexing cases", file=sys.stderr) as bar:
        count = outbox.rebuild(get_backend(), progress=bar.update)
    click.echo(f"Indexed {count} published case(s).")


@main.command("search-check")
@with_appcontext
def search_check() -> None:
    """Compare the search index with the database; exit 1 when they differ."""
    report, pending = outbox.check(get_backend())
    for label, ids in (
        ("missing from the index", report.missing),
        ("stale in the index", report.stale),
        ("in the index but not published", report.unexpected),
    ):
        if ids:
            shown = ", ".join(str(i) for i in ids[:20]) + (" ..." if len(ids) > 20 else "")
            click.echo(f"{len(ids)} case(s) {label}: {shown}")
    if pending:
        click.echo(f"{pending} change(s) waiting in the search outbox (run `kb search-sync`).")
    if report.ok and not pending:
        click.echo("The search index matches the published cases.")
        return
    click.echo("Run `kb reindex` to rebuild the index.", err=True)
    sys.exit(1)


@main.command("search-sync")
@with_appcontext
def search_sync() -> None:
    """Apply every pending change to the search index now.

    (They are applied after each commit, within a budget in web requests, and by each
    server worker when it starts.)
    """
    count = _drain_outbox()
    click.echo(f"Refreshed {count} case(s) in the search index.")


def _drain_outbox() -> int:
    try:
        with click.progressbar(
            length=outbox.pending_count(), label="Indexing pending changes", file=sys.stderr
        ) as bar:
            return outbox.drain(get_backend(), progress=bar.update)
    except IndexBusy as busy:
        raise click.ClickException(
            f"{busy} The pending changes are kept; run `kb search-sync` when it is done "
            "(a `kb reindex`, say)."
        ) from None


@main.group()
def users() -> None:
    """Create and list accounts (editors, admins, speakers)."""


@users.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.SPEAKER.value,
    show_default=True,
)
@click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from standard input instead of printing a link.",
)
@with_appcontext
def users_create(email: str, role: str, password_stdin: bool) -> None:
    """Create an account; prints a single-use link to set its password (valid 7 days)."""
    try:
        password = sys.stdin.readline().rstrip("\r\n") if password_stdin else None
        if password is not None:
            accounts.check_password_policy(password, email)
        user = accounts.create_user(email, role)
        if password is not None:
            accounts.set_password(user, password)
    except (accounts.AccountError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {user.role} {user.email}.")
    if password is None:
        click.echo("Send this single-use link to its owner to set a password (valid 7 days):")
        click.echo(accounts.password_link(user, "welcome"))


@users.command("list")
@with_appcontext
def users_list() -> None:
    for user in db.session.scalars(select(User).order_by(User.role, User.email)):
        state = "" if user.password_hash else " (no password set yet)"
        click.echo(f"{user.role:8} {user.email}{state}")


@main.group("tokens")
def tokens_group() -> None:
    """Personal API tokens: clients send them as `Authorization: Bearer <token>`."""


def _user_or_fail(email: str) -> User:
    user = accounts.find_user(email)
    if user is None:
        raise click.ClickException(f"There is no account with the e-mail address {email!r}.")
    return user


@tokens_group.command("create")
@click.argument("email")
@click.option(
    "--name",
    default="Created on the command line",
    show_default=True,
    help="What the token is for, e.g. the system that will use it.",
)
@with_appcontext
def tokens_create(email: str, name: str) -> None:
    """Create an API token for the account EMAIL; the token is the last line of the output."""
    user = _user_or_fail(email)
    try:
        token, secret = tokens.create_token(user, name)
    except tokens.TokenRejected as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(
        f"Created API token {token.id} ({token.name!r}) for {user.email}. "
        "It is shown only this once; store it safely:"
    )
    click.echo(secret)


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


@tokens_group.command("list")
@click.argument("email", required=False)
@with_appcontext
def tokens_list(email: str | None) -> None:
    """List the API tokens (of one account, given its EMAIL), newest first; times in UTC."""
    found = tokens.tokens_of(_user_or_fail(email)) if email else tokens.all_tokens()
    if not found:
        click.echo("No API tokens.")
        return
    rows = [["id", "token", "name", "owner", "created", "last used", "revoked"]]
    rows += [
        [
            str(token.id),
            f"{token.prefix}…",
            token.name,
            token.user.email,
            _when(token.created_at),
            _when(token.last_used_at),
            _when(token.revoked_at),
        ]
        for token in found
    ]
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        )


@tokens_group.command("revoke")
@click.argument("token_id", metavar="ID", type=int)
@with_appcontext
def tokens_revoke(token_id: int) -> None:
    """Revoke the API token ID (see `kb tokens list`) for good."""
    token = tokens.find_token(token_id)
    if token is None:
        raise click.ClickException(f"There is no API token with id {token_id}.")
    if token.revoked:
        click.echo(f"API token {token_id} ({token.prefix}…) was already revoked.")
        return
    tokens.revoke(token)
    click.echo(f"Revoked API token {token_id} ({token.prefix}…) of {token.user.email}.")


@main.command()
@click.argument("email")
@click.option("--event", "event_slug", required=True, help="The event's slug (see its URL).")
@click.option("--session", "session_slug", help="The session's slug within the event.")
@click.option(
    "--language",
    type=click.Choice(UI_LANGUAGES),
    help="The mail's language; by default the event's, else English.",
)
@with_appcontext
def invite(email: str, event_slug: str, session_slug: str | None, language: str | None) -> None:
    """Invite a speaker by e-mail to share the case of their session (or event)."""
    event = catalogue.event(event_slug)
    if event is None:
        raise click.ClickException(f"There is no event {event_slug!r}.")
    place = event
    if session_slug:
        place = catalogue.session(event_slug, session_slug)
        if place is None:
            raise click.ClickException(f"The event has no session {session_slug!r}.")
    try:
        link = invitations.invite(email, place, language=language)
    except (accounts.AccountError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    except MailNotSent as exc:
        raise click.ClickException(
            f"The invitation could not be mailed ({exc}). Check KB_MAIL_SERVER and try again."
        ) from None
    click.echo(f"Invited {email.strip().lower()}; the e-mail holds this single-use link:")
    click.echo(link)


@main.group()
def people() -> None:
    """Personal data: export everything about a person, or erase them."""


def _person_or_fail(person_id: int) -> Person:
    person = contacts.find_person(person_id)
    if person is None:
        raise click.ClickException(f"There is no person with id {person_id}.")
    return person


@people.command("export")
@click.argument("person_id", type=int)
@with_appcontext
def people_export(person_id: int) -> None:
    """Print all data about a person as JSON (a personal-data export, for an access request)."""
    data = personal_data.person_data(_person_or_fail(person_id))
    click.echo(json.dumps(data, ensure_ascii=False, indent=1))


@people.command("erase")
@click.argument("person_id", type=int)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def people_erase(person_id: int, yes: bool) -> None:
    """Erase a person: the cases and sessions stay, without them."""
    person = _person_or_fail(person_id)
    if not yes:
        click.confirm(f"Erase {person.name} (id {person.id}) for good?", abort=True)
    name = person.name
    counts = personal_data.erase_person(person)
    click.echo(
        f"Erased {name}: {counts['case_contacts']} case contact(s), "
        f"{counts['session_roles']} session role(s) removed, "
        f"{counts['accounts_unlinked']} account(s) unlinked, "
        f"{counts['revisions']} kept revision(s) cleaned."
        + _plugin_counts({k[7:]: n for k, n in counts.items() if k.startswith("plugin:")})
    )


def _plugin_counts(counts: dict[str, int]) -> str:
    return "".join(f" Plugin {name}: {n} record(s) erased." for name, n in sorted(counts.items()))


@people.command("export-address")
@click.argument("email")
@with_appcontext
def people_export_address(email: str) -> None:
    """Print, as JSON, what the plugins keep under an e-mail address (alert subscriptions...),
    for someone who may be no person in the catalogue; with the ids of people who have it."""
    address = personal_data.normal_address(email)
    data = {
        "email": address,
        "people": [p.id for p in contacts.people_with_address(address)],
        "plugins": personal_data.plugin_data(address),
    }
    click.echo(json.dumps(data, ensure_ascii=False, indent=1))


@people.command("erase-address")
@click.argument("email")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@with_appcontext
def people_erase_address(email: str, yes: bool) -> None:
    """Erase what the plugins keep under an e-mail address (people are erased by id)."""
    address = personal_data.normal_address(email)
    if not yes:
        click.confirm(f"Erase what the plugins keep about {address} for good?", abort=True)
    counts = personal_data.erase_plugin_data(address)
    click.echo(f"Erased {address}." + (_plugin_counts(counts) or " The plugins kept nothing."))
    people_ids = [p.id for p in contacts.people_with_address(address)]
    if people_ids:
        ids = ", ".join(map(str, people_ids))
        click.echo(f"People with this address (erase them with `kb people erase ID`): {ids}")


@main.group()
def vocabulary() -> None:
    """List and extend the managed vocabularies (themes, target groups)."""


@vocabulary.command("list")
@with_appcontext
def vocabulary_list() -> None:
    for vocab in Vocabulary:
        click.echo(f"{vocab.value}:")
        for term in catalogue.vocabulary(vocab):
            click.echo(f"  {term.key:24} {term.label('en')}")


@vocabulary.command("add")
@click.argument("kind", type=click.Choice([v.value for v in Vocabulary]))
@click.argument("key")
@click.option(
    "--label",
    "labels",
    multiple=True,
    metavar="LANG=TEXT",
    help="A label, e.g. --label en=Sport --label nb=Idrett (repeatable).",
)
@with_appcontext
def vocabulary_add(kind: str, key: str, labels: tuple[str, ...]) -> None:
    """Add a KEY to a vocabulary, or relabel it."""
    parsed = {}
    for item in labels:
        lang, sep, text = item.partition("=")
        if not sep or not text.strip():
            raise click.BadParameter(f"{item!r} is not LANG=TEXT", param_hint="--label")
        parsed[lang.strip()] = text.strip()
    try:
        term = add_term(Vocabulary(kind), key, parsed)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{kind} {term.key}: {term.labels}")


@main.command("plugins")
@with_appcontext
def plugins_command() -> None:
    """List the available plugins, which are enabled (KB_PLUGINS) and the hooks they use."""
    for name, origin, enabled, hooks in plugins.describe(current_app):
        mark = "enabled " if enabled else "disabled"
        click.echo(f"{mark}  {name:16} {origin}")
        if enabled:
            click.echo(f"          hooks: {', '.join(hooks) or 'none'}")
