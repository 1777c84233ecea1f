"""Fixtures of the collection tests, imported once here rather than into every file."""

from collection_kit import (  # noqa: F401 - pytest finds fixtures by name in conftest
    make_payer,
    make_processor,
    receivers,
    route,
)
