"""How long a piece of work may run, and whether whoever asked for it is still waiting.

The work checks between its stages (decoded, faces found, emotions read), so a photo that costs more than
allowed, or a client that went away, frees the worker at the next stage instead of at the end."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from ferkit.errors import FerkitError


class Stopped(FerkitError):
    """The work was given up before it finished; nothing it made is kept."""


class DeadlinePassed(Stopped):
    pass


class RequesterGone(Stopped):
    pass


@dataclass(frozen=True)
class Deadline:
    seconds: float
    ends_at: float
    requester_gone: Callable[[], bool] | None = None

    @classmethod
    def after(cls, seconds: float, requester_gone: Callable[[], bool] | None = None) -> Deadline:
        return cls(seconds, time.monotonic() + seconds, requester_gone)

    def check(self, next_stage: str) -> None:
        """Raise Stopped if the work should not go on to `next_stage`."""
        if self.requester_gone is not None and self.requester_gone():
            raise RequesterGone(f"stopped before {next_stage}: the client went away")
        if time.monotonic() >= self.ends_at:
            raise DeadlinePassed(
                f"stopped before {next_stage}: the analysis took longer than the {self.seconds:g} s allowed"
            )


def asked_at_most_every(seconds: float, ask: Callable[[], bool]) -> Callable[[], bool]:
    """`ask` (is the requester gone?) asked on the first call, then again only once `seconds` have passed since it
    was last asked; between asks the last answer stands, and once gone, always gone. For an `ask` that costs a
    round trip to another thread: a photo analysed in milliseconds should not wait on it at every stage."""
    asked_at, gone = -math.inf, False

    def throttled() -> bool:
        nonlocal asked_at, gone
        now = time.monotonic()
        if not gone and now - asked_at >= seconds:
            asked_at, gone = now, ask()
        return gone

    return throttled
