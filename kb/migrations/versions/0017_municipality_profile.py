"""municipality profile: a case's population band and urban-rural type

Revision ID: 0017_municipality_profile
Revises: 0016_case_confirmation
Create Date: 2026-12-07 14:00:00.000000

Both columns are empty for the cases already stored (no profile is guessed), so the search
index stays right without a rebuild: its cases have no profile values to count.
"""

from alembic import op

# revision identifiers, used by Alembic.
revision = "0017_municipality_profile"
down_revision = "0016_case_confirmation"
branch_labels = None
depends_on = None

#: The values of kb.models.PopulationBand and kb.models.UrbanRural at this revision.
COLUMNS = {
    "population_band": ("under-5000", "5000-20000", "20000-50000", "50000-100000", "over-100000"),
    "urban_rural": ("urban", "intermediate", "rural-near-town", "remote-rural"),
}


def upgrade():
    # A plain ADD COLUMN with its CHECK, the same SQL on SQLite and PostgreSQL: a batch
    # operation would copy case_study on SQLite, and dropping the old table deletes the
    # rows that cascade from it (materials, key figures, contacts...).
    for column, values in COLUMNS.items():
        allowed = ", ".join(f"'{value}'" for value in values)
        op.execute(
            f"ALTER TABLE case_study ADD COLUMN {column} VARCHAR(20) "
            f"CONSTRAINT ck_case_study_{column} CHECK ({column} IN ({allowed}))"
        )


def downgrade():
    # DROP COLUMN takes the column's own CHECK with it (SQLite 3.35 and later, PostgreSQL).
    for column in reversed(COLUMNS):
        op.drop_column("case_study", column)
