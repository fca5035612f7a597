"""A PostgreSQL server that is frozen (stopped with SIGSTOP, a hung host or disk) accepts bytes and never answers:
its statement_timeout never fires and the client library waits forever, so every request that touches the
database would hang with it. The watch ends such waits from outside: a connection that has waited on the server
longer than `seconds` (for a statement, a commit, a rollback or the check before lending it out) has its socket
shut, the waiting call fails as a lost connection does, and the request gets the service's JSON 503."""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DisconnectionError

log = logging.getLogger("ferkit.service")


class FrozenServerWatch:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self._waiting: dict[int, tuple[Any, float]] = {}  # id(DBAPI connection) -> (it, since when)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def waiting(self, dbapi_connection: Any) -> None:
        with self._lock:
            self._waiting[id(dbapi_connection)] = (dbapi_connection, time.monotonic())
            if self._thread is None:  # one thread while anything waits, none otherwise
                self._thread = threading.Thread(target=self._watch, name="ferkit-db-watch", daemon=True)
                self._thread.start()

    def answered(self, dbapi_connection: Any) -> None:
        with self._lock:
            self._waiting.pop(id(dbapi_connection), None)

    def _watch(self) -> None:
        while True:
            time.sleep(min(1.0, self.seconds / 4))
            with self._lock:
                if not self._waiting:
                    self._thread = None
                    return
                now = time.monotonic()
                overdue = [c for c, since in self._waiting.values() if now - since > self.seconds]
                for connection in overdue:
                    self._waiting.pop(id(connection))
            for connection in overdue:
                log.warning("database: no answer in %g s; closing the connection", self.seconds)
                _shut(connection)


def _shut(dbapi_connection: Any) -> None:
    """Shut the connection's socket (shutdown acts on the socket, so a duplicate descriptor reaches it); the
    library's blocked wait then sees the connection end."""
    try:
        duplicate = socket.socket(fileno=socket.dup(dbapi_connection.pgconn.socket))
    except Exception:  # already closed
        return
    with duplicate:
        try:
            duplicate.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def _dbapi(connection: Any) -> Any:
    """The connection's DBAPI connection, or None once it is invalidated (asking for it then would reconnect)."""
    if connection is None or connection.invalidated:
        return None
    return connection.connection.dbapi_connection


def watch_for_a_frozen_server(engine: Engine, seconds: float) -> FrozenServerWatch:
    """Every wait on the server of this engine's connections is watched; the pool's check before lending a
    connection out is done here (instead of SQLAlchemy's pre-ping, which no event surrounds) so it is watched too."""
    watch = FrozenServerWatch(seconds)

    def statement(connection: Any, *_: Any) -> None:
        if (dbapi_connection := _dbapi(connection)) is not None:
            watch.waiting(dbapi_connection)

    def statement_done(connection: Any, *_: Any) -> None:
        if (dbapi_connection := _dbapi(connection)) is not None:
            watch.answered(dbapi_connection)

    def failed(context: Any) -> None:
        if (dbapi_connection := _dbapi(context.connection)) is not None:
            watch.answered(dbapi_connection)

    event.listen(engine, "before_cursor_execute", statement)
    event.listen(engine, "after_cursor_execute", statement_done)
    event.listen(engine, "commit", statement)
    event.listen(engine, "rollback", statement)
    event.listen(engine, "handle_error", failed)

    @event.listens_for(engine.pool, "checkout")
    def ping(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        watch.waiting(dbapi_connection)
        try:
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SELECT 1")
        except Exception as error:  # the pool then tries a new connection
            raise DisconnectionError(str(error)) from error
        finally:
            watch.answered(dbapi_connection)

    @event.listens_for(engine.pool, "reset")
    def resetting(dbapi_connection: Any, _record: Any, _state: Any) -> None:
        watch.waiting(dbapi_connection)  # the rollback as a connection comes back

    @event.listens_for(engine.pool, "checkin")
    def returned(dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection is not None:
            watch.answered(dbapi_connection)

    return watch
