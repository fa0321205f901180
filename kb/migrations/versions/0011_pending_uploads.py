"""pending uploads: files chosen on the case form, kept until the case is saved

Revision ID: 0011_pending_uploads
Revises: 0010_search_languages
Create Date: 2026-12-07 08:40:00.000000

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011_pending_uploads"
down_revision = "0010_search_languages"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "pending_upload",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("stored_name", sa.String(length=100), nullable=False),
        sa.Column("original_filename", sa.String(length=255), nullable=False),
        sa.Column("content_type", sa.String(length=120), nullable=False),
        sa.Column("size_bytes", sa.Integer(), nullable=False),
        sa.Column("text_status", sa.String(length=10), nullable=False),
        sa.Column("extracted_text", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["user_account.id"],
            name=op.f("fk_pending_upload_user_id_user_account"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pending_upload")),
        sa.UniqueConstraint("stored_name", name=op.f("uq_pending_upload_stored_name")),
    )
    with op.batch_alter_table("pending_upload", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_pending_upload_user_id"), ["user_id"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_pending_upload_created_at"), ["created_at"], unique=False
        )


def downgrade():
    with op.batch_alter_table("pending_upload", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_pending_upload_created_at"))
        batch_op.drop_index(batch_op.f("ix_pending_upload_user_id"))
    op.drop_table("pending_upload")
