"""CCM Gateway: the central customer credit ledger and its integrations."""

__version__ = "0.1.0"
