"""What can be wrong with a manifest, and the error that carries it to the operator."""

from __future__ import annotations

import msgspec

from fastpod.manifest.paths import FieldPath, render


class Problem(msgspec.Struct, frozen=True):
    """One error or warning in a manifest, at a field path and, when known, a line."""

    path: FieldPath
    message: str
    line: int | None = None
    column: int | None = None

    @property
    def field(self) -> str:
        """The field path as the API server writes it."""
        return render(self.path)

    def describe(self) -> str:
        """``line 12: spec.containers[0].image: Required value``."""
        where = f"line {self.line}: " if self.line is not None else ""
        field = f"{self.field}: " if self.path else ""
        return f"{where}{field}{self.message}"


class ManifestError(Exception):
    """A manifest that cannot become a pod; names its source and every problem found."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        super().__init__(source, problems)
        self.source = source
        self.problems = problems

    def __str__(self) -> str:
        return "; ".join(f"{self.source}: {problem.describe()}" for problem in self.problems)
