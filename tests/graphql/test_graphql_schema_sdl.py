"""schema.graphql, the SDL front-end teams build against, is exactly what the server serves."""

from __future__ import annotations

from pathlib import Path

from ccm_gateway.api.schema import build_schema

SDL = Path(__file__).resolve().parents[2] / "schema.graphql"


def test_schema_graphql_matches_the_served_schema():
    assert SDL.read_text().strip() == build_schema().as_str().strip(), (
        "schema.graphql is stale: regenerate it from build_schema().as_str()")
