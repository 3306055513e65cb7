"""Initial schema: every table of the data model (docs/architecture.md → Data model).

Revision ID: 20261122_0001
Revises: (none)
Create Date: 2026-11-22 22:44:46.610329
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "20261122_0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "employee",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("hourly_cost", sa.BigInteger(), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_employee")),
    )
    op.create_table(
        "integration",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_integration")),
    )
    op.create_table(
        "script",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_script")),
        sa.UniqueConstraint("name", name=op.f("uq_script_name")),
    )
    op.create_table(
        "setting",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_setting")),
    )
    op.create_table(
        "api_key",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("employee_id", sa.String(length=40), nullable=True),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["employee.id"],
            name=op.f("fk_api_key_employee_id_employee"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_key")),
        sa.UniqueConstraint("hash", name=op.f("uq_api_key_hash")),
    )
    op.create_table(
        "employee_extension",
        sa.Column("extension", sa.String(length=32), nullable=False),
        sa.Column("employee_id", sa.String(length=40), nullable=False),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["employee.id"],
            name=op.f("fk_employee_extension_employee_id_employee"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("extension", name=op.f("pk_employee_extension")),
    )
    op.create_index(
        op.f("ix_employee_extension_employee_id"),
        "employee_extension",
        ["employee_id"],
        unique=False,
    )
    op.create_table(
        "lead",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("company", sa.String(length=300), nullable=True),
        sa.Column("contact_name", sa.String(length=300), nullable=True),
        sa.Column("campaign", sa.String(length=200), nullable=True),
        sa.Column("segment", sa.String(length=200), nullable=True),
        sa.Column("region", sa.String(length=200), nullable=True),
        sa.Column("industry", sa.String(length=200), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("owner_id", sa.String(length=40), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("refusal_reason", sa.String(length=300), nullable=True),
        sa.Column("refused_at_stage", sa.SmallInteger(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["employee.id"],
            name=op.f("fk_lead_owner_id_employee"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead")),
    )
    op.create_index(op.f("ix_lead_campaign"), "lead", ["campaign"], unique=False)
    op.create_index(op.f("ix_lead_created_at"), "lead", ["created_at"], unique=False)
    op.create_index(op.f("ix_lead_owner_id"), "lead", ["owner_id"], unique=False)
    op.create_table(
        "webhook_event",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("integration_id", sa.String(length=64), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("path", sa.String(length=500), nullable=False),
        sa.Column("content_type", sa.String(length=200), nullable=False),
        sa.Column("headers", sa.JSON(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("processed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integration.id"],
            name=op.f("fk_webhook_event_integration_id_integration"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_event")),
        sa.UniqueConstraint(
            "integration_id", "dedupe_key", name=op.f("uq_webhook_event_integration_id_dedupe_key")
        ),
    )
    op.create_index(
        op.f("ix_webhook_event_received_at"), "webhook_event", ["received_at"], unique=False
    )
    op.create_index(
        op.f("ix_webhook_event_status_received_at"),
        "webhook_event",
        ["status", "received_at"],
        unique=False,
    )
    op.create_table(
        "call",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("integration_id", sa.String(length=64), nullable=False),
        sa.Column("provider_call_id", sa.String(length=200), nullable=False),
        sa.Column("direction", sa.String(length=16), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=True),
        sa.Column("external_number", sa.String(length=64), nullable=True),
        sa.Column("extension", sa.String(length=32), nullable=True),
        sa.Column("employee_id", sa.String(length=40), nullable=True),
        sa.Column("lead_id", sa.String(length=40), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ring_seconds", sa.Integer(), nullable=True),
        sa.Column("talk_seconds", sa.Integer(), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("disconnect_reason", sa.String(length=64), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=True),
        sa.Column("script_id", sa.String(length=40), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.Column("merge_state", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["employee_id"],
            ["employee.id"],
            name=op.f("fk_call_employee_id_employee"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integration.id"],
            name=op.f("fk_call_integration_id_integration"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_call_lead_id_lead"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["script_id"], ["script.id"], name=op.f("fk_call_script_id_script"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call")),
        sa.UniqueConstraint(
            "integration_id",
            "provider_call_id",
            name=op.f("uq_call_integration_id_provider_call_id"),
        ),
    )
    op.create_index(
        op.f("ix_call_employee_id_started_at"), "call", ["employee_id", "started_at"], unique=False
    )
    op.create_index(
        op.f("ix_call_lead_id_started_at"), "call", ["lead_id", "started_at"], unique=False
    )
    op.create_index(op.f("ix_call_started_at"), "call", ["started_at"], unique=False)
    op.create_table(
        "lead_phone",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("lead_id", sa.String(length=40), nullable=False),
        sa.Column("phone_e164", sa.String(length=20), nullable=False),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_lead_phone_lead_id_lead"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lead_phone")),
        sa.UniqueConstraint("phone_e164", name=op.f("uq_lead_phone_phone_e164")),
    )
    op.create_index(op.f("ix_lead_phone_lead_id"), "lead_phone", ["lead_id"], unique=False)
    op.create_table(
        "application",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("lead_id", sa.String(length=40), nullable=False),
        sa.Column("source_call_id", sa.String(length=40), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("estimated_amount", sa.BigInteger(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("lost_reason", sa.String(length=300), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["lead_id"], ["lead.id"], name=op.f("fk_application_lead_id_lead"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["source_call_id"],
            ["call.id"],
            name=op.f("fk_application_source_call_id_call"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_application")),
    )
    op.create_index(op.f("ix_application_created_at"), "application", ["created_at"], unique=False)
    op.create_index(
        op.f("ix_application_lead_id_created_at"),
        "application",
        ["lead_id", "created_at"],
        unique=False,
    )
    op.create_table(
        "call_leg",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("call_id", sa.String(length=40), nullable=False),
        sa.Column("integration_id", sa.String(length=64), nullable=False),
        sa.Column("provider_leg_id", sa.String(length=200), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=True),
        sa.Column("extension", sa.String(length=32), nullable=True),
        sa.Column("answered", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["call.id"], name=op.f("fk_call_leg_call_id_call"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["integration.id"],
            name=op.f("fk_call_leg_integration_id_integration"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_call_leg")),
        sa.UniqueConstraint(
            "integration_id",
            "provider_leg_id",
            name=op.f("uq_call_leg_integration_id_provider_leg_id"),
        ),
    )
    op.create_index(op.f("ix_call_leg_call_id"), "call_leg", ["call_id"], unique=False)
    op.create_table(
        "recording",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("call_id", sa.String(length=40), nullable=False),
        sa.Column("provider_ref", sa.String(length=300), nullable=False),
        sa.Column("source_url", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("storage_key", sa.String(length=200), nullable=True),
        sa.Column("content_type", sa.String(length=100), nullable=True),
        sa.Column("size_bytes", sa.BigInteger(), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["call.id"], name=op.f("fk_recording_call_id_call"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_recording")),
        sa.UniqueConstraint(
            "call_id", "provider_ref", name=op.f("uq_recording_call_id_provider_ref")
        ),
    )
    op.create_index(
        op.f("ix_recording_status_next_attempt_at"),
        "recording",
        ["status", "next_attempt_at"],
        unique=False,
    )
    op.create_table(
        "contract",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("application_id", sa.String(length=40), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("margin", sa.BigInteger(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["application.id"],
            name=op.f("fk_contract_application_id_application"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contract")),
        sa.UniqueConstraint("application_id", name=op.f("uq_contract_application_id")),
    )
    op.create_index(op.f("ix_contract_signed_at"), "contract", ["signed_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_contract_signed_at"), table_name="contract")
    op.drop_table("contract")
    op.drop_index(op.f("ix_recording_status_next_attempt_at"), table_name="recording")
    op.drop_table("recording")
    op.drop_index(op.f("ix_call_leg_call_id"), table_name="call_leg")
    op.drop_table("call_leg")
    op.drop_index(op.f("ix_application_lead_id_created_at"), table_name="application")
    op.drop_index(op.f("ix_application_created_at"), table_name="application")
    op.drop_table("application")
    op.drop_index(op.f("ix_lead_phone_lead_id"), table_name="lead_phone")
    op.drop_table("lead_phone")
    op.drop_index(op.f("ix_call_started_at"), table_name="call")
    op.drop_index(op.f("ix_call_lead_id_started_at"), table_name="call")
    op.drop_index(op.f("ix_call_employee_id_started_at"), table_name="call")
    op.drop_table("call")
    op.drop_index(op.f("ix_webhook_event_status_received_at"), table_name="webhook_event")
    op.drop_index(op.f("ix_webhook_event_received_at"), table_name="webhook_event")
    op.drop_table("webhook_event")
    op.drop_index(op.f("ix_lead_owner_id"), table_name="lead")
    op.drop_index(op.f("ix_lead_created_at"), table_name="lead")
    op.drop_index(op.f("ix_lead_campaign"), table_name="lead")
    op.drop_table("lead")
    op.drop_index(op.f("ix_employee_extension_employee_id"), table_name="employee_extension")
    op.drop_table("employee_extension")
    op.drop_table("api_key")
    op.drop_table("setting")
    op.drop_table("script")
    op.drop_table("integration")
    op.drop_table("employee")
