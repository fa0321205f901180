"""schema.org data about a case, embedded in its page for search engines (JSON-LD).

A case study is an ``Article``: what it is about (themes), for whom (target groups),
where (municipality, region, country), when (period), and the events it was presented
at. Contacts appear as on the case page: e-mail and phone only with their consent.

The practice template: the practice's status as ``creativeWorkStatus``, its funding and
budget band as a ``MonetaryGrant``, the evaluation (report, by whom) as a ``citation``, each
text (background, evaluation, staff, lessons, what it takes to transfer it) as a part
(``hasPart``) named by its section, in the case's language.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from kb import toolkit
from kb.toolkit import Case, Event, Person

from .formats import contacts


def case_data(case: Case) -> dict[str, Any]:
    """The case as a schema.org ``Article``; empty values are left out."""
    url = toolkit.case_url(case, external=True)
    return _compact(
        {
            "@context": "https://schema.org",
            "@type": "Article",
            "@id": url,
            "url": url,
            "mainEntityOfPage": url,
            "headline": case.title,
            "name": case.title,
            "abstract": case.summary,
            "description": case.summary,
            "inLanguage": case.language,
            "datePublished": _iso(case.published_at),
            "dateModified": _iso(case.updated_at),
            "identifier": case.ref,
            "about": [
                {"@type": "DefinedTerm", "name": toolkit.term_label(term), "termCode": term.key}
                for term in case.themes
            ],
            "audience": [
                {"@type": "Audience", "audienceType": toolkit.term_label(term)}
                for term in case.target_groups
            ],
            "spatialCoverage": _place(case),
            "temporalCoverage": _interval(case),
            "contributor": [_person(p, role) for p, role in contacts(case)],
            "subjectOf": [_event(event) for event in case.events],
            "creativeWorkStatus": _status(case),
            "funding": _funding(case),
            "citation": _evaluation(case),
            "hasPart": [
                {
                    "@type": "WebPageElement",
                    "name": name,
                    "text": text,
                    "inLanguage": case.language,
                }
                for name, text in _template_texts(case)
                if text
            ],
        }
    )


def _status(case: Case) -> str | None:
    """ "Running (2019)": the status in words, with the year it took it."""
    if not case.practice_status:
        return None
    label = toolkit.choice_label(case.practice_status, "practice_status")
    return f"{label} ({case.practice_status_year})" if case.practice_status_year else label


def _funding(case: Case) -> dict[str, Any] | None:
    """Who paid and the budget band, as a grant whose amount is the band's range in euros."""
    if not (case.funding or case.budget_band):
        return None
    amount = None
    if case.budget_band:
        low, high = toolkit.BudgetBand(case.budget_band).euros
        amount = {
            "@type": "MonetaryAmount",
            "currency": "EUR",
            "minValue": low,
            "maxValue": high,
            "description": toolkit.choice_label(case.budget_band, "budget_band"),
        }
    return {"@type": "MonetaryGrant", "description": case.funding, "amount": amount}


#: The practice template's texts shown as parts, in the order of the case page.
TEMPLATE_TEXTS = (
    "background",
    "evaluation_method",
    "staff",
    "lessons_learned",
    "transferability",
)


def _template_texts(case: Case) -> list[tuple[str, str | None]]:
    """The practice template's texts with the name of their section on the case page."""
    return [(toolkit.practice_field_label(name), getattr(case, name)) for name in TEMPLATE_TEXTS]


def _evaluation(case: Case) -> dict[str, Any] | None:
    """The evaluation report, and who evaluated (in the reader's language)."""
    if not (case.evaluation_url or case.evaluated_by):
        return None
    return {
        "@type": "Report",
        "url": case.evaluation_url,
        "description": toolkit.choice_label(case.evaluated_by, "evaluated_by"),
    }


def _place(case: Case) -> dict[str, Any]:
    address = {
        "@type": "PostalAddress",
        "addressLocality": case.municipality,
        "addressRegion": case.region,
        "addressCountry": case.country,
    }
    name = case.municipality or case.region or toolkit.country_name(case.country)
    return {"@type": "Place", "name": name, "address": address}


def _interval(case: Case) -> str | None:
    """The period as an ISO 8601 interval: "2011/2014", "2015/.." (ongoing) or "2018"."""
    if case.start_year is None:
        return None
    if case.end_year == case.start_year:
        return str(case.start_year)
    return f"{case.start_year}/{case.end_year or '..'}"


def _person(person: Person, role: str | None) -> dict[str, Any]:
    contact = person.public_contact()
    organisation = person.organisation
    return {
        "@type": "Person",
        "name": person.name,
        "jobTitle": person.title,
        "description": role,
        "affiliation": {"@type": "Organization", "name": organisation.name}
        if organisation
        else None,
        "email": contact.email if contact else None,
        "telephone": contact.phone if contact else None,
    }


def _event(event: Event) -> dict[str, Any]:
    return {
        "@type": "Event",
        "name": event.title,
        "url": toolkit.event_url(event, external=True),
        "startDate": _iso(event.start_date),
        "endDate": _iso(event.end_date),
        "inLanguage": event.language,
        "location": {
            "@type": "Place",
            "name": event.place or event.city,
            "address": {
                "@type": "PostalAddress",
                "addressLocality": event.city,
                "addressCountry": event.country,
            },
        }
        if event.place or event.city
        else None,
    }


def _iso(value: date | datetime | None) -> str | None:
    """ISO 8601; times are stored in UTC, though SQLite returns them without the zone."""
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.isoformat(timespec="seconds")
    return value.isoformat() if value is not None else None


def _compact(value: Any) -> Any:
    """Without the keys whose value is empty (None, "", [] or {}), at every depth."""
    if isinstance(value, dict):
        kept = {key: _compact(item) for key, item in value.items()}
        return {key: item for key, item in kept.items() if item not in (None, "", [], {})}
    if isinstance(value, list):
        return [_compact(item) for item in value]
    return value
