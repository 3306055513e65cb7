"""Every table, imported in one place so that the metadata is complete (Alembic, tests)."""

from app.auth.models import ApiKey
from app.calls.models import Call, CallLeg
from app.cdr.models import CdrSyncCursor
from app.dashboard.models import InstanceSecret
from app.db import Base
from app.employees.models import Employee, EmployeeExtension
from app.integrations.models import Integration
from app.leads.models import Application, Contract, Lead, LeadPhone, Script
from app.metrics.models import LeadEvidence
from app.quality.models import Checklist, ChecklistCriterion, Evaluation
from app.recordings.models import Recording
from app.settings.models import Setting
from app.webhooks.models import WebhookEvent

__all__ = [
    "ApiKey",
    "Application",
    "Base",
    "Call",
    "CallLeg",
    "CdrSyncCursor",
    "Checklist",
    "ChecklistCriterion",
    "Contract",
    "Employee",
    "EmployeeExtension",
    "Evaluation",
    "InstanceSecret",
    "Integration",
    "Lead",
    "LeadEvidence",
    "LeadPhone",
    "Recording",
    "Script",
    "Setting",
    "WebhookEvent",
]
