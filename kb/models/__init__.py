"""The domain model. Import models from here."""

from kb.models.cache_generation import CacheGeneration
from kb.models.case import Case, CaseContact, CaseLink, CasePresentation, KeyFigure
from kb.models.choices import (
    CONTENT_LANGUAGES,
    COUNTRIES,
    UI_LANGUAGES,
    BudgetBand,
    CaseStatus,
    EvaluatedBy,
    MaterialKind,
    PracticeStatus,
    Role,
    SessionRole,
    TextStatus,
    Vocabulary,
)
from kb.models.contact_count import CaseContactCount
from kb.models.event import Event, Session, SessionPerson
from kb.models.invitation import Invitation
from kb.models.material import Material
from kb.models.municipality import PopulationBand, UrbanRural
from kb.models.pending_upload import PendingUpload
from kb.models.people import Organisation, Person, PublicContact
from kb.models.reminder import CaseReminder
from kb.models.revision import CaseRevision, RevisionAction
from kb.models.search_outbox import SearchOutbox
from kb.models.token import ApiToken
from kb.models.user import User
from kb.models.vocabulary import VocabularyTerm

__all__ = [
    "CONTENT_LANGUAGES",
    "COUNTRIES",
    "UI_LANGUAGES",
    "ApiToken",
    "BudgetBand",
    "CacheGeneration",
    "Case",
    "CaseContact",
    "CaseContactCount",
    "CaseLink",
    "CasePresentation",
    "CaseReminder",
    "CaseRevision",
    "CaseStatus",
    "EvaluatedBy",
    "Event",
    "Invitation",
    "KeyFigure",
    "Material",
    "MaterialKind",
    "Organisation",
    "PendingUpload",
    "Person",
    "PopulationBand",
    "PracticeStatus",
    "PublicContact",
    "RevisionAction",
    "Role",
    "SearchOutbox",
    "Session",
    "SessionPerson",
    "SessionRole",
    "TextStatus",
    "UrbanRural",
    "User",
    "Vocabulary",
    "VocabularyTerm",
]
