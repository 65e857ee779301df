"""What goes wrong in an import: problems with one cell or row, and whole files refused."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class Problem:
    """One reason a row (or, with ``row`` empty, the whole file) cannot be stored.

    ``row`` counts as a spreadsheet does: the header is row 1, the first answer row 2 (for
    JSON, the position of the submission in ``results``, from 1)."""

    file: str
    row: int | None
    column: str
    message: str
    instance_id: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class FileRejected(Exception):
    """The file cannot be imported at all; ``problems`` say why (each translated)."""

    def __init__(self, message: str, problems: list[Problem] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.problems = problems or []
