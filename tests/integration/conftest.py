"""Fixtures of the integration tests, imported once here rather than into every file."""

from webhook_kit import (  # noqa: F401 - pytest finds fixtures by name in conftest
    linked_customer,
    make_integration,
    send,
    send_stripe,
)
