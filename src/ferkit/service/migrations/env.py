"""Alembic environment: ferkit runs migrations in-process with the service's own connection."""

from alembic import context

from ferkit.service.db import Base

connection = context.config.attributes["connection"]
context.configure(
    connection=connection, target_metadata=Base.metadata, render_as_batch=connection.dialect.name == "sqlite"
)
with context.begin_transaction():
    context.run_migrations()
