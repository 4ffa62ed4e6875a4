"""Errors that mean "the user's input is wrong" (the CLI prints them as one line and exits 2)."""

from __future__ import annotations


class InputError(ValueError):
    """Bad user input: a missing or unreadable file, an empty folder, a bad range, missing weights offline.

    The message says what is wrong; ``hint`` says how to fix it. ``str(err)`` gives both as
    ``"<what>; <how to fix>"``.
    """

    def __init__(self, what: str, hint: str = "") -> None:
        self.what = what
        self.hint = hint
        super().__init__(f"{what}; {hint}" if hint else what)
