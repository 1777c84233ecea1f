"""How long-running operations (verify, rotate-master) report progress to their caller
without knowing how it is shown: ``progress(steps done, steps in all, the step starting)``."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int, str], None]


def no_progress(done: int, total: int, step: str) -> None:
    """The default: nobody is watching."""
