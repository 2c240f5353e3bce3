"""One error type for everything a user can get wrong, with expected / found / fix."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

__all__ = ["MbenchError", "did_you_mean"]


class MbenchError(Exception):
    """An error caused by user input: says what was expected, what was found, and how to fix it.

    Example:
        >>> str(MbenchError("bad split", expected="sha256 abc", found="sha256 def", fix="re-pin it"))
        'bad split\\n  expected: sha256 abc\\n  found:    sha256 def\\n  fix:      re-pin it'
    """

    def __init__(self, message: str, *, expected: str | None = None, found: str | None = None,
                 fix: str | None = None) -> None:
        self.message, self.expected, self.found, self.fix = message, expected, found, fix
        lines = [message]
        if expected is not None:
            lines.append(f"  expected: {expected}")
        if found is not None:
            lines.append(f"  found:    {found}")
        if fix is not None:
            lines.append(f"  fix:      {fix}")
        super().__init__("\n".join(lines))


def did_you_mean(kind: str, name: str, known: Iterable[str], fix: str | None = None) -> MbenchError:
    """Build the error for an unknown registry name, with close matches.

    Example:
        >>> print(did_you_mean("model", "mvall", ["mvaal", "vaal", "random"]).message)
        unknown model 'mvall'; did you mean 'mvaal'?
    """
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=3, cutoff=0.5)
    hint = f"; did you mean {' or '.join(repr(c) for c in close)}?" if close else ""
    return MbenchError(f"unknown {kind} {name!r}{hint}", expected=f"one of: {', '.join(known)}",
                       found=repr(name), fix=fix or f"`mbench ls {kind}s` lists them")
