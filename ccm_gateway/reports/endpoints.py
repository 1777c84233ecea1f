"""``GET /reports/{report}.csv``: a receivables report as CSV, for a bearer token with
report:read (a partner's token gets its own customers' figures). The query parameters are
the GraphQL arguments' names (asOf, from, to, currency and the filter's fields); errors
are JSON {"error", "detail"} like every HTTP error outside GraphQL."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from ccm_gateway.reports import export


async def report_csv_endpoint(request: Request) -> Response:
    principal = await request.app.state.tokens.authenticate_header(
        request.headers.get("authorization"))
    report = request.path_params["report"]
    body = await export.render(principal, report, dict(request.query_params))
    return Response(body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{report}.csv"',
        "Cache-Control": "no-store"})
