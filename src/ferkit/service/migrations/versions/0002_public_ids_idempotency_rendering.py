"""public ids, idempotency keys, the annotated image kept once drawn

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03

Analyses made before this migration get a random public id each; their sequential ids stop being shown.
"""

import uuid

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("analyses") as batch:
        batch.add_column(sa.Column("public_id", sa.String(36), nullable=True))
        batch.add_column(sa.Column("idempotency_key", sa.String(128), nullable=True))
        batch.add_column(sa.Column("annotated", sa.LargeBinary(), nullable=True))
    analyses = sa.table("analyses", sa.column("id", sa.Integer), sa.column("public_id", sa.String))
    connection = op.get_bind()
    for (row_id,) in connection.execute(sa.select(analyses.c.id)).all():
        connection.execute(analyses.update().where(analyses.c.id == row_id).values(public_id=str(uuid.uuid4())))
    with op.batch_alter_table("analyses") as batch:
        batch.alter_column("public_id", existing_type=sa.String(36), nullable=False)
        batch.create_unique_constraint("uq_analyses_public_id", ["public_id"])
        batch.create_unique_constraint("uq_analyses_idempotency_key", ["idempotency_key"])


def downgrade() -> None:
    with op.batch_alter_table("analyses") as batch:
        batch.drop_constraint("uq_analyses_idempotency_key", type_="unique")
        batch.drop_constraint("uq_analyses_public_id", type_="unique")
        batch.drop_column("annotated")
        batch.drop_column("idempotency_key")
        batch.drop_column("public_id")
