"""OAI-PMH 2.0 at ``/oai``: library and repository harvesters collect the published cases.

Records are simple Dublin Core (``oai_dc``), one per case that is or was public; a case
that stopped being public is reported as deleted ("transient" deleted records). Sets
group the cases by country (``country:SE``) and by theme (``theme:employment``).

Settings (all optional): ``OAI_REPOSITORY_NAME`` (default "Nordic Good Practice KB"),
``OAI_ADMIN_EMAIL`` (default: the address of ``MAIL_SENDER``), ``OAI_REPOSITORY_IDENTIFIER``
(default: the host of ``BASE_URL``; it is part of every record's identifier, so keep it
when the site moves) and ``OAI_PAGE_SIZE`` (items per list response, default 100).
"""

from __future__ import annotations

from flask import Blueprint

from kb.toolkit import hookimpl

from .views import bp


@hookimpl
def register_blueprints() -> list[Blueprint]:
    return [bp]
