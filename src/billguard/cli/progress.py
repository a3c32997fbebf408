"""A progress bar on standard error, drawn only when it is a terminal."""

from __future__ import annotations

import sys
from types import TracebackType


class ProgressBar:
    WIDTH = 30

    def __init__(self, label: str, unit: str = "chunks") -> None:
        self.label = label
        self.unit = unit
        self.enabled = sys.stderr.isatty()
        self.drawn = False

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self.drawn:
            sys.stderr.write("\n")
            sys.stderr.flush()

    def update(self, done: int, total: int) -> None:
        if not self.enabled or total <= 0:
            return
        filled = self.WIDTH * done // total
        bar = "#" * filled + "-" * (self.WIDTH - filled)
        sys.stderr.write(f"\r{self.label} [{bar}] {done}/{total} {self.unit}")
        sys.stderr.flush()
        self.drawn = True
