"""practice template: background, evaluation, resources, practice status, lessons; key
figures' year and source

Revision ID: 0014_practice_template
Revises: 0013_restore_proposals
Create Date: 2026-12-07 14:00:00.000000

Every new column is nullable: the cases stored before this revision keep working with the
template empty.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0014_practice_template"
down_revision = "0013_restore_proposals"
branch_labels = None
depends_on = None

#: The values of kb.models' PracticeStatus, EvaluatedBy and BudgetBand when this was written.
CHOICES = {
    "practice_status": ("planned", "running", "ended", "permanent", "discontinued"),
    "evaluated_by": ("self", "external", "research"),
    "budget_band": ("under-100k", "100k-500k", "500k-2m", "over-2m"),
}
TEXTS = (
    "background",
    "evaluation_method",
    "funding",
    "staff",
    "lessons_learned",
    "transferability",
)
INDEXED = ("practice_status", "budget_band")


def upgrade():
    with op.batch_alter_table("case_study", schema=None) as batch_op:
        for name in TEXTS:
            batch_op.add_column(sa.Column(name, sa.Text(), nullable=True))
        for name in CHOICES:
            batch_op.add_column(sa.Column(name, sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("evaluation_url", sa.String(length=1000), nullable=True))
        batch_op.add_column(sa.Column("practice_status_year", sa.Integer(), nullable=True))
        for name, values in CHOICES.items():
            batch_op.create_check_constraint(
                op.f(f"ck_case_study_{name}"),
                "{} IN ({})".format(name, ", ".join(f"'{v}'" for v in values)),
            )
        batch_op.create_check_constraint(
            op.f("ck_case_study_practice_status_year_has_status"),
            "practice_status_year IS NULL OR practice_status IS NOT NULL",
        )
        for name in INDEXED:
            batch_op.create_index(batch_op.f(f"ix_case_study_{name}"), [name], unique=False)
    with op.batch_alter_table("key_figure", schema=None) as batch_op:
        batch_op.add_column(sa.Column("year", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("source", sa.String(length=300), nullable=True))


def downgrade():
    with op.batch_alter_table("key_figure", schema=None) as batch_op:
        batch_op.drop_column("source")
        batch_op.drop_column("year")
    with op.batch_alter_table("case_study", schema=None) as batch_op:
        for name in INDEXED:
            batch_op.drop_index(batch_op.f(f"ix_case_study_{name}"))
        batch_op.drop_constraint(
            op.f("ck_case_study_practice_status_year_has_status"), type_="check"
        )
        for name in CHOICES:
            batch_op.drop_constraint(op.f(f"ck_case_study_{name}"), type_="check")
        for name in (*TEXTS, *CHOICES, "evaluation_url", "practice_status_year"):
            batch_op.drop_column(name)
