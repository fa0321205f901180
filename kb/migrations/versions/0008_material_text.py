"""material text: the text of a stored file, read once at upload, and how that went

Revision ID: 0008_material_text
Revises: 0007
Create Date: 2026-12-07 08:00:00.000000

Files stored before this revision are left ``pending``: `kb materials reextract --pending`
reads them in a child process with limits. Until then their text is not in the index (the
request path never parses a file).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008_material_text"
down_revision = "0007"
branch_labels = None
depends_on = None

#: The values of kb.models.TextStatus when this revision was written.
TEXT_STATUSES = ("pending", "ok", "empty", "failed")


def upgrade():
    with op.batch_alter_table("material", schema=None) as batch_op:
        batch_op.add_column(sa.Column("text_status", sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column("extracted_text", sa.Text(), nullable=True))
        batch_op.create_check_constraint(
            op.f("ck_material_text_status"),
            "text_status IN ({})".format(", ".join(f"'{s}'" for s in TEXT_STATUSES)),
        )
    op.execute("UPDATE material SET text_status = 'pending' WHERE stored_name IS NOT NULL")


def downgrade():
    with op.batch_alter_table("material", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_material_text_status"), type_="check")
        batch_op.drop_column("extracted_text")
        batch_op.drop_column("text_status")
