"""create_app(settings): routes, middleware and lifespan."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import ipaddress
import json
import logging
import os
import time
from collections.abc import AsyncIterator
from typing import Any

from cross_web import HTTPException as CrossWebHTTPException
from redis.exceptions import RedisError
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send
from strawberry.asgi import GraphQL
from strawberry.exceptions import MissingQueryError
from strawberry.http import GraphQLHTTPResponse
from strawberry.schema.exceptions import CannotGetOperationTypeError, InvalidOperationTypeError
from strawberry.types import ExecutionResult
from strawberry.types.graphql import OperationType
from tortoise import connections
from tortoise.contrib.starlette import RegisterTortoise
from tortoise.transactions import in_transaction

from ccm_gateway.api.schema import build_permission_plans, build_schema
from ccm_gateway.audit.service import record
from ccm_gateway.auth.endpoints import jwks_endpoint, metadata_endpoint, token_endpoint
from ccm_gateway.auth.keys import KeyRing
from ccm_gateway.auth.tokens import TokenService
from ccm_gateway.config import SERVE_DEV_TOKEN_VARIABLE, Settings
from ccm_gateway.console.routes import console_routes
from ccm_gateway.db import (
    UNAVAILABLE_ERRORS,
    database_unavailable,
    report_unavailable,
    schema_problem,
    tortoise_config,
)
from ccm_gateway.errors import (
    BadInput,
    CCMError,
    DatabaseUnavailable,
    RateLimited,
    ServiceUnavailable,
    Unauthenticated,
)
from ccm_gateway.graphiql import STATIC_ROUTE, graphiql_page, static_files
from ccm_gateway.graphql.context import Context
from ccm_gateway.graphql.loaders import Loaders
from ccm_gateway.http.body_limit import BodySizeLimitMiddleware
from ccm_gateway.http.metrics_endpoint import metrics_endpoint
from ccm_gateway.http.request_id import RequestIdMiddleware
from ccm_gateway.http.security_headers import SecurityHeadersMiddleware
from ccm_gateway.integration.endpoints import RATE_LIMIT_PREFIX as INTEGRATION_RATE_PREFIX
from ccm_gateway.integration.endpoints import webhook_endpoint
from ccm_gateway.kit import outbox
from ccm_gateway.kit.metrics import OAUTH_OUTCOMES, Metrics, flush_every_second
from ccm_gateway.kit.ratelimit import RateLimiter
from ccm_gateway.kit.secrets import SecretBox
from ccm_gateway.live import hub as live_hub
from ccm_gateway.live.ws import LiveGraphQL
from ccm_gateway.principal import Actor
from ccm_gateway.reports.endpoints import report_csv_endpoint
from ccm_gateway.worker import open_queue, supervise

log = logging.getLogger("ccm_gateway")

# Refused bearer authentications on /graphql are audited ("auth.refused"), at most
# this many per client IP (GCRA: rate per second, burst) so a flood of bad tokens
# cannot flood the audit log; refusals past it still get their 401, unrecorded.
REFUSED_AUDIT_PER_IP = (10 / 60, 10)  # 10 a minute
REFUSED_AUDIT_PREFIX = "ccm:auth-refused-audit:"
REFUSED_AUDIT_CLOCK: Any = None  # None: the Redis server's clock

def error_response(error: CCMError) -> JSONResponse:
    """HTTP errors outside GraphQL: {"error": code, "detail": text}."""
    return JSONResponse({"error": error.code, "detail": error.message},
                        status_code=error.http_status, headers=_error_headers(error))


def _error_headers(error: CCMError) -> dict[str, str] | None:
    if isinstance(error, Unauthenticated):
        return {"WWW-Authenticate": "Bearer"}
    if isinstance(error, ServiceUnavailable):
        # Vendors and clients retry a 503 after Retry-After; nothing about it may be cached.
        return {"Retry-After": str(error.retry_after_seconds), "Cache-Control": "no-store"}
    return None


async def unavailable_response(request: Request, exc: Exception) -> Response:
    """A driver's connection error escaping a route: 503 DATABASE_UNAVAILABLE (in the
    GraphQL error shape on /graphql). Any other error of these types is re-raised, to be
    masked as a 500 like every unexpected exception."""
    error = database_unavailable(exc)
    if error is None:
        raise exc
    report_unavailable(request.app.state.settings, exc)
    if request.url.path == "/graphql":
        return graphql_error_response(error, request.scope, _error_headers(error) or {})
    return error_response(error)


def graphql_error_response(error: CCMError, scope: Scope, headers: dict[str, str]) -> JSONResponse:
    """A refusal on /graphql before execution, in the GraphQL error shape clients parse."""
    extensions = {**error.extensions(), "requestId": scope["state"].get("request_id")}
    return _graphql_errors(error.message, extensions, scope, error.http_status, headers)


def _graphql_errors(message: str, extensions: dict[str, Any], scope: Scope, status: int,
                    headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": extensions}]},
                        status_code=status, headers=headers,
                        media_type=graphql_media_type(Request(scope).headers.get("accept")))


GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"


def graphql_media_type(accept: str | None) -> str:
    """The media type a /graphql answer is sent as (GraphQL over HTTP): the newer
    application/graphql-response+json when the client accepts it at least as much as
    application/json; else application/json, also for no Accept, */* or an Accept that
    names neither (served rather than refused with 406, as the spec allows)."""
    weights: dict[str, float] = {}
    for item in (accept or "").split(","):
        media, *params = (part.strip() for part in item.split(";"))
        q = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        media = media.lower()
        weights[media] = max(q, weights.get(media, 0.0))
    newer = weights.get(GRAPHQL_RESPONSE_JSON, 0.0)
    legacy = max(weights.get(m, 0.0) for m in ("application/json", "application/*", "*/*"))
    return GRAPHQL_RESPONSE_JSON if newer > 0 and newer >= legacy else "application/json"


_HTTP_ERROR_CODES = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}


def http_error_response(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own 404 / 405 in the same JSON shape as every other HTTP error."""
    if not isinstance(exc, HTTPException):  # registered for HTTPException only
        raise exc
    return JSONResponse({"error": _HTTP_ERROR_CODES.get(exc.status_code, "BAD_USER_INPUT"),
                         "detail": exc.detail}, status_code=exc.status_code,
                        headers=exc.headers)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class GraphQLApp(GraphQL[Context, None]):
    def __init__(self, settings: Settings, tokens: TokenService, *,
                 graphiql_token: str | None = None) -> None:
        schema = build_schema(introspection=settings.introspection_enabled)
        super().__init__(schema,
                         graphql_ide="graphiql" if settings.graphiql_enabled else None,
                         # Queries only: a mutation on GET is refused with 405 (below).
                         allow_queries_via_get=True)
        self.settings = settings
        self.tokens = tokens
        self.permission_plans = build_permission_plans(
            schema, introspection=settings.introspection_enabled)
        self._limiter: RateLimiter | None = None
        # The development token only ever goes into a dev page, and only for a browser on
        # this machine: a dev server bound to 0.0.0.0 must not hand an admin token to its
        # network.
        authorization = (f"Bearer {graphiql_token}"
                         if graphiql_token and not settings.is_prod else None)
        self._ide_page = graphiql_page()
        self._local_ide_page = graphiql_page(authorization=authorization)

    async def render_graphql_ide(self, request: Request) -> Response:
        local = request.client is not None and _is_loopback(request.client.host)
        return HTMLResponse(self._local_ide_page if local else self._ide_page)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = Request(scope)
        wants_ide = (request.method == "GET" and self.graphql_ide
                     and "text/html" in request.headers.get("accept", ""))
        if wants_ide:
            # Render the IDE here: the base view builds a context (which needs a
            # principal) before it gets to the IDE, and the IDE needs no token.
            await (await self.render_graphql_ide(request))(scope, receive, send)
            return
        started = time.perf_counter()
        labels = {"operation": "unknown", "outcome": "INTERNAL"}
        try:
            await self.serve(request, scope, receive, send, labels)
        except Exception as exc:  # answered by the app's exception handlers
            labels["outcome"] = error_outcome(exc)
            await observe_request(scope, "graphql", labels, started)
            raise
        # (A request cancelled because its client went away has no outcome to count.)
        await observe_request(scope, "graphql", labels, started)

    async def serve(self, request: Request, scope: Scope, receive: Receive, send: Send,
                    labels: dict[str, str]) -> None:
        """Answer one GraphQL request; ``labels`` gets its metrics' operation and outcome."""
        try:
            scope["state"]["principal"] = await self.authenticate(request)
        except Unauthenticated as exc:
            labels["outcome"] = exc.code
            refusal = graphql_error_response(exc, scope, {"WWW-Authenticate": "Bearer"})
            await self.audit_refusal(request, exc)
            await refusal(scope, receive, send)
            return
        principal = scope["state"]["principal"]
        limited = await self.rate_limit(scope, f"principal:{principal.kind}:{principal.subject}")
        if limited is not None:
            labels["outcome"] = RateLimited.code
            await limited(scope, receive, send)
            return
        context = await self.get_context(request, None)
        try:
            response = await self.run(Request(scope, receive), context=context)
            labels["outcome"] = context.outcome or "ok"
        except CrossWebHTTPException as exc:
            response = self.transport_error(request, exc)
            labels["outcome"] = BadInput.code
        else:
            if graphql_media_type(request.headers.get("accept")) == GRAPHQL_RESPONSE_JSON:
                response.headers["content-type"] = GRAPHQL_RESPONSE_JSON
                if scope["state"].get("graphql_request_error"):
                    response.status_code = 400
        labels["operation"] = context.operation_type or "unknown"
        await response(scope, receive, send)

    async def execute_single(self, request: Any, request_adapter: Any, sub_response: Any,
                             context: Context, root_value: Any,
                             request_data: Any) -> ExecutionResult:
        """strawberry's, but without subscriptions: they are served over WebSocket
        (live/ws.py), and over HTTP their resolvers would not run."""
        allowed = OperationType.from_http(request_adapter.method) - {OperationType.SUBSCRIPTION}
        # Checked once per document when the principal holds all it can need, else on
        # every field (graphql/permissions.py).
        schema = self.permission_plans.schema_for(request_data.query, context.principal)
        try:
            return await schema.execute(
                request_data.query, root_value=root_value,
                variable_values=request_data.variables, context_value=context,
                operation_name=request_data.operation_name, allowed_operation_types=allowed,
                operation_extensions=request_data.extensions)
        except CannotGetOperationTypeError as e:
            raise CrossWebHTTPException(400, e.as_http_error_reason()) from e
        except InvalidOperationTypeError as e:
            reason = ("subscriptions are served over WebSocket (graphql-transport-ws) on "
                      "/graphql" if e.operation_type is OperationType.SUBSCRIPTION
                      else e.as_http_error_reason(request_adapter.method))
            raise CrossWebHTTPException(400, reason) from e
        except MissingQueryError as e:
            raise CrossWebHTTPException(400, "No GraphQL query found in the request") from e

    def transport_error(self, request: Request, exc: CrossWebHTTPException) -> Response:
        """A request refused before it ran (no query, body not JSON, a mutation on GET):
        GraphQL-shaped for GET and for clients of application/graphql-response+json; the
        {"error", "detail"} shape of every other HTTP error for legacy POSTs."""
        mutation_on_get = (request.method == "GET"
                           and isinstance(exc.__cause__, InvalidOperationTypeError)
                           and exc.__cause__.operation_type is OperationType.MUTATION)
        status, headers = (405, {"Allow": "POST"}) if mutation_on_get else (exc.status_code, {})
        code = "METHOD_NOT_ALLOWED" if mutation_on_get else _HTTP_ERROR_CODES.get(
            exc.status_code, "BAD_USER_INPUT")
        if request.method == "POST" and graphql_media_type(
                request.headers.get("accept")) != GRAPHQL_RESPONSE_JSON:
            return JSONResponse({"error": code, "detail": exc.reason}, status_code=status,
                                headers=headers)
        extensions = {"code": code, "requestId": request.scope["state"].get("request_id")}
        return _graphql_errors(exc.reason, extensions, request.scope, status, headers)

    async def process_result(self, request: Any, result: ExecutionResult) -> GraphQLHTTPResponse:
        processed = await super().process_result(request, result)
        if result.data is None and result.errors and all(e.path is None for e in result.errors):
            # A request error (parse, validation, variables, cost): nothing ran. Its
            # response has no data entry and, as graphql-response+json, status 400.
            request.scope["state"]["graphql_request_error"] = True
            if graphql_media_type(request.headers.get("accept")) == GRAPHQL_RESPONSE_JSON:
                processed.pop("data", None)
        return processed

    def parse_query_params(self, params: Any) -> dict[str, Any]:
        try:
            return super().parse_query_params(params)
        except (ValueError, CrossWebHTTPException):  # json's JSONDecodeError is a ValueError
            raise CrossWebHTTPException(400, "the variables and extensions parameters must be "
                                             "JSON objects") from None

    def decode_json(self, data: str | bytes) -> object:
        decoded = super().decode_json(data)
        # The base view reads keys off whatever decodes: a JSON string, number, true or
        # null was an AttributeError and a 500. A list goes on to its batching check.
        if not isinstance(decoded, dict | list):
            raise CrossWebHTTPException(400, 'the body must be a JSON object, '
                                             'such as {"query": "{ sites { id } }"}')
        return decoded

    async def audit_refusal(self, request: Request, exc: Unauthenticated) -> None:
        """Record a refused authentication (reason code, path, client IP, request id;
        never the token), at most REFUSED_AUDIT_PER_IP per address. Best effort: a
        failure here is logged and the 401 goes out regardless."""
        request_id = request.scope["state"].get("request_id")
        client_ip = request.client.host if request.client else None
        try:
            if not await self._may_audit_refusal(request, client_ip):
                return
            async with in_transaction():
                await record(Actor(type="anonymous", id="anonymous", request_id=request_id),
                             "auth.refused", object_type="request",
                             object_id=request_id or "-",
                             after={"reason": exc.reason,
                                    "path": request.url.path[:200], "client_ip": client_ip})
        except Exception as error:  # noqa: BLE001 - never fail the 401 over its audit
            log.warning("could not audit a refused authentication: %s",
                        error.__class__.__name__, extra={"request_id": request_id})

    async def _may_audit_refusal(self, request: Request, client_ip: str | None) -> bool:
        queue = getattr(request.app.state, "queue", None)
        if queue is None:  # an app served without its lifespan (some tests)
            return True
        rate, burst = REFUSED_AUDIT_PER_IP
        limiter = RateLimiter(queue, rate, burst, prefix=REFUSED_AUDIT_PREFIX,
                              clock=REFUSED_AUDIT_CLOCK)
        try:
            decision = await limiter.hit(f"ip:{client_ip or 'unknown'}")
        except (RedisError, OSError) as error:
            log.warning("refusal audit limiter unavailable, refusal recorded: %s",
                        error.__class__.__name__)
            return True
        return decision.allowed

    async def rate_limit(self, scope: Scope, key: str) -> Response | None:
        """None when the request may go on, else the 429 to send."""
        if self.settings.rate_limit_per_second == 0:
            return None
        # The limiter lives on the queue's Redis, which the lifespan opens.
        queue = getattr(scope["app"].state, "queue", None)
        if queue is None:  # an app served without its lifespan (some tests)
            return None
        if self._limiter is None or self._limiter.redis is not queue:
            self._limiter = RateLimiter(queue, self.settings.rate_limit_per_second,
                                        self.settings.rate_limit_burst)
        try:
            decision = await self._limiter.hit(key)
        except (RedisError, OSError) as exc:
            # Fail open: a Redis outage must not take the whole API down with it.
            log.warning("rate limiter unavailable, request allowed: %s",
                        exc.__class__.__name__)
            return None
        if decision.allowed:
            return None
        retry_after = decision.retry_after_header
        limited = RateLimited(f"rate limit exceeded; retry after {retry_after} s",
                              retryAfter=retry_after)
        return graphql_error_response(limited, scope, {"Retry-After": str(retry_after)})

    async def authenticate(self, request: Request) -> Any:
        return await self.tokens.authenticate_header(request.headers.get("authorization"))

    async def get_context(self, request: Any, response: Any) -> Context:
        return Context(principal=request.state.principal, request_id=request.state.request_id,
                       settings=self.settings, loaders=Loaders(),
                       queue=getattr(request.app.state, "queue", None))


def error_outcome(error: BaseException) -> str:
    """The metrics outcome of an exception escaping a route: its code, as the exception
    handlers below will answer it."""
    if isinstance(error, CCMError):
        return error.code
    return DatabaseUnavailable.code if database_unavailable(error) is not None else "INTERNAL"


async def observe_request(scope: Scope, endpoint: str, labels: dict[str, str],
                          started: float) -> None:
    """Count and time one request to ``endpoint`` ("graphql", "oauth_token"); in memory,
    written to Redis by the app's flush each second."""
    metrics: Metrics | None = getattr(scope["app"].state, "metrics", None)
    if metrics is None:  # an app served without its lifespan (some tests)
        return
    await metrics.inc(f"{endpoint}_requests", labels)
    await metrics.observe(f"{endpoint}_request_seconds", labels, time.perf_counter() - started)


async def oauth_token(request: Request) -> Response:
    """POST /oauth/token, counted and timed by outcome: ok, or the OAuth error code."""
    started = time.perf_counter()
    try:
        response = await token_endpoint(request)
    except Exception as exc:  # answered by the app's exception handlers
        await observe_request(request.scope, "oauth_token", {"outcome": error_outcome(exc)},
                              started)
        raise
    await observe_request(request.scope, "oauth_token", {"outcome": _oauth_outcome(response)},
                          started)
    return response


def _oauth_outcome(response: Response) -> str:
    if response.status_code == 200:
        return "ok"
    if response.status_code == 429:
        return "throttled"
    try:
        error = json.loads(bytes(response.body))["error"]
    except (ValueError, KeyError, TypeError):
        return "INTERNAL"
    return error if error in OAUTH_OUTCOMES else "INTERNAL"


def create_app(settings: Settings, *, graphiql_token: str | None = None,
               freeze_heap: bool = False) -> Starlette:
    """``graphiql_token``: in dev, GraphiQL's new tabs send it as their Authorization.
    ``freeze_heap``: a served process's start-up objects leave the garbage collector's
    generations once it has started (``gc.freeze``)."""
    tokens = TokenService(settings, KeyRing(settings))
    graphql_app = GraphQLApp(settings, tokens, graphiql_token=graphiql_token)
    live_app = LiveGraphQL(graphql_app.schema, settings, tokens)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with RegisterTortoise(app, config=tortoise_config(settings)):
            queue = await open_queue(settings)
            app.state.queue = queue
            # One limiter for every integration; each hit passes its own rate and burst.
            app.state.integration_limiter = RateLimiter(queue, 1, 1,
                                                        prefix=INTEGRATION_RATE_PREFIX)
            app.state.metrics = Metrics(queue, buffered=True, process="api")
            flusher = asyncio.create_task(flush_every_second(app.state.metrics),
                                          name="metrics-flush")
            worker_task = None
            if settings.run_worker_in_process:
                worker_task = asyncio.create_task(supervise(queue, settings), name="arq-worker")
            # Live events: one Redis subscription for the whole process (none embedded).
            listener = live_hub.listening(queue, embedded=settings.redis_url is None)
            await listener.__aenter__()
            if freeze_heap:
                # The schemas, models and modules stay for the process's life; every full
                # collection walked all of them again (3-4 ms of a customers page).
                gc.collect()
                gc.freeze()
            try:
                yield
            finally:
                await listener.__aexit__(None, None, None)
                flusher.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await flusher
                await app.state.metrics.flush()
                await outbox.waker(queue).drain()  # the last wakes asked for
                if worker_task is not None:
                    worker_task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await worker_task
                await queue.aclose()
                await tokens.aclose()

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        checks: dict[str, str] = {}
        try:
            connection = connections.get("default")
            await connection.execute_query("SELECT 1")
            checks["database"] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            checks["database"] = f"error: {exc.__class__.__name__}"
        if checks["database"] == "ok":
            # A database that answers but whose schema is not the code's fails every query.
            try:
                problem = await schema_problem(connection, settings.dialect)
                checks["schema"] = (f"error: {problem}; run `ccm-gateway migrate`" if problem
                                    else "ok")
            except Exception as exc:  # noqa: BLE001 - any failure means not ready
                checks["schema"] = f"error: {exc.__class__.__name__}"
        try:
            await request.app.state.queue.ping()
            checks["queue"] = "ok"
        except Exception as exc:  # noqa: BLE001 - any failure means not ready
            checks["queue"] = f"error: {exc.__class__.__name__}"
        ready = all(v == "ok" for v in checks.values())
        return JSONResponse({"status": "ready" if ready else "unavailable", "checks": checks},
                            status_code=200 if ready else 503)

    app = Starlette(
        routes=[
            Route("/graphql", graphql_app, methods=["GET", "POST"]),
            # Subscriptions (graphql-transport-ws), authenticated at connection_init.
            WebSocketRoute("/graphql", live_app),
            Route("/healthz", healthz),
            Route("/readyz", readyz),
            Route("/oauth/token", oauth_token, methods=["POST"]),
            Route("/webhooks/{integration}", webhook_endpoint, methods=["POST"]),
            Route("/metrics", metrics_endpoint, methods=["GET"]),
            # Receivables reports as CSV (aging, dso, compliance), report:read.
            Route("/reports/{report}.csv", report_csv_endpoint, methods=["GET"]),
            Route("/.well-known/jwks.json", jwks_endpoint, methods=["GET"]),
            Route("/.well-known/oauth-authorization-server", metadata_endpoint, methods=["GET"]),
            # The ops console's page, its files and its sign-in (console/routes.py).
            *console_routes(settings, tokens),
            # GraphiQL's scripts and styles, from the package (no CDN: works offline).
            *([Mount(STATIC_ROUTE, app=static_files())] if settings.graphiql_enabled else []),
        ],
        lifespan=lifespan,
        exception_handlers={
            CCMError: lambda request, exc: error_response(exc),
            HTTPException: http_error_response,
            **dict.fromkeys(UNAVAILABLE_ERRORS, unavailable_response),
        },
    )
    # /webhooks/ reads its body under CCM_WEBHOOK_MAX_BODY_BYTES itself.
    app.add_middleware(BodySizeLimitMiddleware, max_bytes=settings.max_body_bytes,
                       exempt_prefix="/webhooks/")
    # Each one added wraps the ones before: a refused body still gets the
    # security headers and a request id.
    app.add_middleware(SecurityHeadersMiddleware, hsts=settings.tls_enabled)
    app.add_middleware(RequestIdMiddleware)
    app.state.settings = settings
    app.state.tokens = tokens
    app.state.secret_box = SecretBox.from_settings(settings)
    return app


def app_from_env() -> Starlette:
    """uvicorn factory: settings from CCM_ variables (used by `ccm-gateway serve`)."""
    from ccm_gateway.observability import configure_logging

    settings = Settings.from_env()
    configure_logging(settings.log_level)
    return create_app(settings, graphiql_token=os.environ.get(SERVE_DEV_TOKEN_VARIABLE),
                      freeze_heap=True)
