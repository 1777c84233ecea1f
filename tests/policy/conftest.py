from __future__ import annotations

from typing import Any

import pytest
from policykit import Api


@pytest.fixture
def api(gql: Any) -> Api:
    return Api(gql)
