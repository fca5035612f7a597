"""Tables, engine and sessions. Every probability of every face is kept, not only those over the threshold."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    TypeDecorator,
    create_engine,
    event,
)
from sqlalchemy.engine import Dialect, Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, deferred, mapped_column, relationship, sessionmaker

from ferkit.service.dbwatch import watch_for_a_frozen_server


def utcnow() -> datetime:
    return datetime.now(UTC)


def new_public_id() -> str:
    # Random, not sequential: a link to one analysis does not lead to the others.
    return str(uuid.uuid4())


class UtcDateTime(TypeDecorator[datetime]):
    """A time zone-aware UTC datetime on every database: SQLite stores no zone and would hand back naive times."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        return value.astimezone(UTC) if value is not None and value.tzinfo else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class Analysis(Base):
    __tablename__ = "analyses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # internal; never shown
    public_id: Mapped[str] = mapped_column(String(36), default=new_public_id, unique=True)
    # A client's retry key: the same key answers with the analysis it first made.
    idempotency_key: Mapped[str | None] = mapped_column(String(128), unique=True, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime, default=utcnow, index=True)
    file_name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    content_type: Mapped[str] = mapped_column(String(64))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    detector: Mapped[str] = mapped_column(String(32))
    views: Mapped[str] = mapped_column(String(8), server_default="mirror")  # runtime.views.Views
    model_version: Mapped[str] = mapped_column(String(128))
    threshold: Mapped[float] = mapped_column(Float)
    # Faces found beyond the analyzer's cap (AnalyzerOptions.max_faces), each smaller than every face kept.
    faces_dropped: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # The upload (to draw the annotated view) and that view once drawn: megabytes each, so they are loaded
    # only by the one request that serves the image, never by a listing (raiseload makes a slip an error).
    image: Mapped[bytes] = deferred(mapped_column(LargeBinary), raiseload=True)
    annotated: Mapped[bytes | None] = deferred(mapped_column(LargeBinary, nullable=True), raiseload=True)
    faces: Mapped[list[FaceRow]] = relationship(
        back_populates="analysis", cascade="all, delete-orphan", order_by="FaceRow.face_id", lazy="selectin"
    )


class FaceRow(Base):
    __tablename__ = "faces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    analysis_id: Mapped[int] = mapped_column(ForeignKey("analyses.id", ondelete="CASCADE"), index=True)
    face_id: Mapped[int] = mapped_column(Integer)
    x1: Mapped[int] = mapped_column(Integer)
    y1: Mapped[int] = mapped_column(Integer)
    x2: Mapped[int] = mapped_column(Integer)
    y2: Mapped[int] = mapped_column(Integer)
    score: Mapped[float] = mapped_column(Float)
    emotion: Mapped[str | None] = mapped_column(String(32), nullable=True)
    probabilities: Mapped[dict[str, float]] = mapped_column(JSON)
    age_range: Mapped[str | None] = mapped_column(String(16), nullable=True)
    age: Mapped[float | None] = mapped_column(Float, nullable=True)
    analysis: Mapped[Analysis] = relationship(back_populates="faces")


# A database that is reachable but stuck (a lock held, a runaway query) must cost a request seconds, not minutes:
# the server cancels a statement after STATEMENT_SECONDS, a new connection gives up after CONNECT_SECONDS, and a
# request waits at most POOL_SECONDS for a free connection; each surfaces as the service's JSON 503.
STATEMENT_SECONDS = 15.0
CONNECT_SECONDS = 5
POOL_SECONDS = 10.0
# A frozen server answers nothing, not even a cancelled statement: past this its connection is closed (dbwatch.py).
FROZEN_SECONDS = STATEMENT_SECONDS + 5


def make_engine(
    url: str, statement_seconds: float = STATEMENT_SECONDS, frozen_seconds: float = FROZEN_SECONDS
) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(connection: Any, _record: Any) -> None:
            cursor = connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")  # SQLite ignores ON DELETE CASCADE without it
            cursor.execute("PRAGMA journal_mode=WAL")  # readers do not wait for the writer
            cursor.close()

        return engine
    milliseconds = round(statement_seconds * 1000)
    timeouts = f"-c statement_timeout={milliseconds} -c lock_timeout={milliseconds}"
    engine = create_engine(
        url,
        pool_size=10,
        max_overflow=10,
        pool_timeout=POOL_SECONDS,
        connect_args={"connect_timeout": CONNECT_SECONDS, "options": timeouts},
    )
    watch_for_a_frozen_server(engine, frozen_seconds)  # also checks a connection before lending it (pre-ping)
    return engine


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to a migration (the newest by default; Alembic, run in-process at start-up)."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(Path(__file__).parent / "migrations"))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def make_sessions(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)
