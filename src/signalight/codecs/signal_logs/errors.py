"""The one error a controller log decoder raises: which file, and what is wrong with it."""

from __future__ import annotations

from signalight.domain.errors import InvalidInputError

__all__ = ["LogError"]


class LogError(InvalidInputError):
    """A log file that cannot be decoded; the message names the file and says why, on one line.

    ``reason`` alone is what an importer keeps beside the file, as a dead letter.
    """

    def __init__(self, filename: str, reason: str) -> None:
        self.filename = filename
        self.reason = " ".join(reason.split())  # one line, whatever a parser put in it
        super().__init__(f"{filename}: {self.reason}")
