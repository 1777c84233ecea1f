"""Strings from outside that both databases can store.

PostgreSQL refuses a NUL byte in text, SQLite stores it; neither can encode a
lone surrogate (``"\\ud800"``, which JSON may carry) as UTF-8. Checking here,
before anything is written, keeps the two backends in agreement and turns what
would be a database error into a clear input error.
"""

from __future__ import annotations

from ccm_gateway.errors import BadInput


def text_problem(value: str) -> str | None:
    """Why ``value`` cannot be stored, or None when it can."""
    if "\x00" in value:
        return "must not contain NUL characters"
    if not value.isascii():
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "must be valid Unicode text (it holds a lone surrogate)"
    return None


def check_text(value: str | None, field: str, *, max_length: int | None = None) -> None:
    """Raise BadInput naming ``field`` when ``value`` cannot be stored or is too long."""
    if value is None:
        return
    problem = text_problem(value)
    if problem is not None:
        raise BadInput(f"{field} {problem}", field=field)
    if max_length is not None and len(value) > max_length:
        raise BadInput(f"{field} must be at most {max_length} characters", field=field)


def clean_text(value: str, field: str, max_length: int) -> str:
    """``value`` stripped; refused when empty, too long or not storable."""
    value = value.strip()
    if not value:
        raise BadInput(f"{field} must not be empty", field=field)
    if len(value) > max_length:
        raise BadInput(f"{field} is longer than {max_length} characters", field=field)
    check_text(value, field)
    return value
