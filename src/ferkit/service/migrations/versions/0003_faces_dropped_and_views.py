"""faces found beyond the cap on faces per photo; the views each face was classified on

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07

Analyses made before this migration kept every face the detector found (there was no cap): 0 dropped; and every
model then ran on the mirror average.
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("analyses") as batch:
        batch.add_column(sa.Column("faces_dropped", sa.Integer(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("views", sa.String(8), nullable=False, server_default="mirror"))


def downgrade() -> None:
    with op.batch_alter_table("analyses") as batch:
        batch.drop_column("views")
        batch.drop_column("faces_dropped")
