"""The export tests receive ledger.daily_export on the outbound tests' loopback receiver,
and run the CLI with the operations tests' helpers."""

from __future__ import annotations

import sys
from pathlib import Path

for kit in ("outbound", "ops"):
    path = str(Path(__file__).parents[1] / kit)
    if path not in sys.path:
        sys.path.append(path)
