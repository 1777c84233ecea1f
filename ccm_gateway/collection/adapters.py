"""Payment processors behind one small base class: charge a customer, or ask what became of
a charge. Each adapter is given an ``httpx.AsyncClient`` (no redirects, no proxies from the
environment, SSRF-checked in prod: ``outbound/http.py``) and its profile's ``collect``
section, which sets the timeout of every request.

How an answer is classified decides whether a customer can be charged twice, so it is
written once, here:

- ``SUCCEEDED``, ``DECLINED`` (the processor refused the payment: dunning), ``CANCELLED``
  and ``NOT_FOUND`` (a status query: no such payment, so nothing was charged) are what the
  processor said.
- ``PENDING`` (processing) and ``UNKNOWN`` (a timeout after the request may have been
  sent, a connection lost mid-answer, a 409 for a request in flight) mean it may or may not
  have charged: the collection asks the same processor again before anything else.
- ``FAILED`` is technical and certain not to have charged, or safe to retry with the
  same idempotency key on the same processor: connection refused, a connect timeout, 5xx,
  429, other 4xx. Leaving the processor after repeated failures still goes through a
  status query first (collection/service.py), since a 5xx can come after the charge.
"""

from __future__ import annotations

import abc
import base64
import json
import time
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, ClassVar
from urllib.parse import quote

import httpx

from ccm_gateway.integration.profiles.model import CollectCall, CollectResult, CollectSpec
from ccm_gateway.integration.profiles.reading import at_path
from ccm_gateway.kit.money import format_minor

MAX_ERROR = 500


class ChargeStatus(StrEnum):
    SUCCEEDED = "succeeded"
    DECLINED = "declined"
    CANCELLED = "cancelled"
    NOT_FOUND = "not_found"
    PENDING = "pending"
    UNKNOWN = "unknown"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class ChargeRequest:
    reference: str  # our collection reference, echoed by the processor as metadata
    idempotency_key: str  # the same on every retry of one charge at one processor
    amount_minor: int
    currency: str
    customer_ref: str  # the customer's id at the processor (its ExternalRef)
    description: str | None = None
    invoice_number: str | None = None


@dataclass(frozen=True, slots=True)
class ChargeResult:
    status: ChargeStatus
    payment_id: str | None = None
    status_code: int | None = None
    decline_code: str | None = None
    error: str | None = None
    latency_ms: int = 0


class CredentialMissing(Exception):
    """The collect section names a credential the integration does not have."""


def auth_headers(spec: CollectSpec, credential: str | None) -> dict[str, str]:
    auth = spec.auth
    if auth.scheme == "none":
        return {}
    if not credential:
        raise CredentialMissing(f"collect.auth needs {auth.credential}, which is not set")
    if auth.scheme == "bearer":
        return {"Authorization": f"Bearer {credential}"}
    if auth.scheme == "basic":
        pair = f"{auth.username}:{credential}".encode()
        return {"Authorization": "Basic " + base64.b64encode(pair).decode("ascii")}
    return {str(auth.header): credential}


class ProcessorAdapter(abc.ABC):
    """One processor's API. Never raises for what the processor or the network does: every
    outcome is a ``ChargeResult``."""

    def __init__(self, spec: CollectSpec, client: httpx.AsyncClient,
                 credential: str | None) -> None:
        self.spec = spec
        self.client = client
        self.headers = {"Accept": "application/json", **auth_headers(spec, credential)}
        self.timeout = httpx.Timeout(spec.timeout_seconds)

    @abc.abstractmethod
    async def charge(self, request: ChargeRequest) -> ChargeResult:
        """Charge once per ``request.idempotency_key``, however often it is called."""

    @abc.abstractmethod
    async def status(self, reference: str, idempotency_key: str,
                     payment_id: str | None = None) -> ChargeResult:
        """What became of the charge made with ``idempotency_key`` for ``reference`` (any
        payment of ``reference`` that succeeded counts: the customer has paid)."""

    async def _send(self, method: str, url: str, *, sending: bool, **kwargs: Any,
                    ) -> httpx.Response | ChargeResult:
        """The answer, or the result that the failure to get one means. ``sending``: the
        request may charge, so a timeout once it may have arrived is UNKNOWN."""
        started = time.monotonic()
        try:
            response = await self.client.request(method, url, headers=kwargs.pop("headers"),
                                                 timeout=self.timeout, **kwargs)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Never reached the processor.
            return ChargeResult(ChargeStatus.FAILED, error=_describe(exc),
                                latency_ms=_since(started))
        except (httpx.TimeoutException, httpx.TransportError) as exc:
            status = ChargeStatus.UNKNOWN if sending else ChargeStatus.FAILED
            return ChargeResult(status, error=_describe(exc), latency_ms=_since(started))
        return response

    @staticmethod
    def _failed(response: httpx.Response, latency_ms: int) -> ChargeResult | None:
        """The result of an answer that carries no payment, or None."""
        code = response.status_code
        if code == 409:  # a request with this key is still being processed
            return ChargeResult(ChargeStatus.UNKNOWN, status_code=code,
                                error="409: a request with this key is in flight",
                                latency_ms=latency_ms)
        if code >= 500 or code == 429 or (400 <= code < 500 and code != 402):
            return ChargeResult(ChargeStatus.FAILED, status_code=code,
                                error=f"{code}: {response.text[:200]}", latency_ms=latency_ms)
        return None


def _since(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _describe(exc: BaseException) -> str:
    return f"{exc.__class__.__name__}: {exc or 'no answer in time'}"[:MAX_ERROR]


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        document = response.json()
    except ValueError:
        return {}
    return document if isinstance(document, dict) else {}


class StripeAdapter(ProcessorAdapter):
    """Stripe PaymentIntents, created and confirmed off-session in one request with the
    customer's default payment method.

    Raw httpx rather than the ``stripe`` library: its ``HTTPXClient`` builds httpx
    clients of its own, so the injected one (no redirects, SSRF-checked in prod, the
    profile's timeouts) could not be used, and its errors fold a timeout and a refused
    connection into one ``APIConnectionError``, the very difference between UNKNOWN and
    FAILED. tests/collection/test_collection_stripe_wire.py holds this adapter to the
    library's own requests and errors."""

    STATUSES: ClassVar[dict[str, ChargeStatus]] = {
                "succeeded": ChargeStatus.SUCCEEDED,
                "requires_payment_method": ChargeStatus.DECLINED,
                # Off-session, nobody is there to authenticate or confirm.
                "requires_action": ChargeStatus.DECLINED,
                "requires_confirmation": ChargeStatus.DECLINED,
                "canceled": ChargeStatus.CANCELLED,
                "processing": ChargeStatus.PENDING,
                "requires_capture": ChargeStatus.PENDING}

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        started = time.monotonic()
        method = await self._default_payment_method(request.customer_ref)
        if isinstance(method, ChargeResult):
            return method
        form = {"amount": str(request.amount_minor), "currency": request.currency.lower(),
                "customer": request.customer_ref, "payment_method": method,
                "off_session": "true", "confirm": "true",
                "metadata[ccm_reference]": request.reference,
                "metadata[ccm_idempotency_key]": request.idempotency_key}
        if request.description:
            form["description"] = request.description
        if request.invoice_number:  # the stripe profile's invoice field reads it back
            form["metadata[invoice_number]"] = request.invoice_number
        answer = await self._send(
            "POST", f"{self.spec.url}/v1/payment_intents", sending=True, data=form,
            headers=self.headers | {self.spec.idempotency_header: request.idempotency_key})
        if isinstance(answer, ChargeResult):
            return answer
        return self._read(answer, _since(started))

    async def _default_payment_method(self, customer: str) -> str | ChargeResult:
        answer = await self._send("GET", f"{self.spec.url}/v1/customers/{quote(customer)}",
                                  sending=False, headers=self.headers)
        if isinstance(answer, ChargeResult):
            return answer
        failed = self._failed(answer, 0)
        if failed is not None:
            return failed
        settings = _json(answer).get("invoice_settings") or {}
        method = settings.get("default_payment_method") if isinstance(settings, dict) else None
        if isinstance(method, dict):
            method = method.get("id")
        if not isinstance(method, str) or not method:
            return ChargeResult(ChargeStatus.DECLINED, status_code=answer.status_code,
                                decline_code="no_default_payment_method",
                                error=f"customer {customer} has no default payment method")
        return method

    def _read(self, response: httpx.Response, latency_ms: int) -> ChargeResult:
        document = _json(response)
        if response.status_code == 402:  # card_error: the intent exists, declined
            error = document.get("error") or {}
            intent = error.get("payment_intent") or {}
            return ChargeResult(ChargeStatus.DECLINED, payment_id=intent.get("id"),
                                status_code=402,
                                decline_code=error.get("decline_code") or error.get("code"),
                                error=str(error.get("message") or "declined")[:MAX_ERROR],
                                latency_ms=latency_ms)
        failed = self._failed(response, latency_ms)
        if failed is not None:
            return failed
        return self._intent(document, response.status_code, latency_ms)

    def _intent(self, intent: dict[str, Any], code: int, latency_ms: int) -> ChargeResult:
        status = self.STATUSES.get(str(intent.get("status")), ChargeStatus.UNKNOWN)
        last = intent.get("last_payment_error") or {}
        return ChargeResult(status, payment_id=intent.get("id"), status_code=code,
                            decline_code=(last.get("decline_code") or last.get("code"))
                            if status == ChargeStatus.DECLINED else None,
                            error=last.get("message") if last else None,
                            latency_ms=latency_ms)

    async def status(self, reference: str, idempotency_key: str,
                     payment_id: str | None = None) -> ChargeResult:
        started = time.monotonic()
        if payment_id:
            answer = await self._send(
                "GET", f"{self.spec.url}/v1/payment_intents/{quote(payment_id)}",
                sending=False, headers=self.headers)
        else:
            # Quotes in a search value are escaped with a backslash; ours have none.
            query = f"metadata['ccm_reference']:'{reference}'"
            answer = await self._send(
                "GET", f"{self.spec.url}/v1/payment_intents/search", sending=False,
                params={"query": query, "limit": "100"}, headers=self.headers)
        if isinstance(answer, ChargeResult):
            return answer
        latency = _since(started)
        failed = self._failed(answer, latency)
        if failed is not None:
            return failed
        document = _json(answer)
        if payment_id:
            return self._intent(document, answer.status_code, latency)
        intents = [i for i in document.get("data") or [] if isinstance(i, dict)]
        paid = [i for i in intents if i.get("status") == "succeeded"]
        mine = [i for i in intents
                if (i.get("metadata") or {}).get("ccm_idempotency_key") == idempotency_key]
        if paid or mine:
            return self._intent((paid or mine)[0], answer.status_code, latency)
        return ChargeResult(ChargeStatus.NOT_FOUND, status_code=answer.status_code,
                            latency_ms=latency)


class JsonAdapter(ProcessorAdapter):
    """A processor whose JSON API the profile's ``collect`` section describes."""

    async def charge(self, request: ChargeRequest) -> ChargeResult:
        call = self.spec.charge
        assert call is not None  # noqa: S101 - the loader requires it for adapter json
        values = _values(request)
        body = {key: (request.amount_minor if template == "{amount_minor}"
                      else _fill(template, values)) for key, template in call.body}
        return await self._call(call, values, sending=True, content=json.dumps(body),
                                headers=self.headers | {
                                    "Content-Type": "application/json",
                                    self.spec.idempotency_header: request.idempotency_key})

    async def status(self, reference: str, idempotency_key: str,
                     payment_id: str | None = None) -> ChargeResult:
        call = self.spec.status
        assert call is not None  # noqa: S101 - the loader requires it for adapter json
        values = {"{reference}": reference, "{idempotency_key}": idempotency_key}
        return await self._call(call, values, sending=False, headers=self.headers)

    async def _call(self, call: CollectCall, values: dict[str, str], *, sending: bool,
                    **kwargs: Any) -> ChargeResult:
        started = time.monotonic()
        url = _fill(call.url, {k: quote(v, safe="") for k, v in values.items()})
        answer = await self._send(call.method, url, sending=sending, **kwargs)
        if isinstance(answer, ChargeResult):
            return answer
        latency = _since(started)
        if not sending and answer.status_code == 404:
            return ChargeResult(ChargeStatus.NOT_FOUND, status_code=404, latency_ms=latency)
        if answer.status_code != 402:
            failed = self._failed(answer, latency)
            if failed is not None:
                return failed
        return self._read(_json(answer), answer.status_code, latency)

    def _read(self, document: dict[str, Any], code: int, latency_ms: int) -> ChargeResult:
        result: CollectResult | None = self.spec.result
        assert result is not None  # noqa: S101 - the loader requires it for adapter json

        def text(path: tuple[str, ...] | None) -> str | None:
            value = at_path(document, path) if path else None
            return str(value) if isinstance(value, str | int) and value != "" else None

        word = text(result.status)
        status = (ChargeStatus.SUCCEEDED if word in result.succeeded
                  else ChargeStatus.DECLINED if word in result.declined
                  else ChargeStatus.CANCELLED if word in result.cancelled
                  else ChargeStatus.PENDING if word in result.pending
                  else ChargeStatus.UNKNOWN)
        return ChargeResult(status, payment_id=text(result.payment_id), status_code=code,
                            decline_code=text(result.decline_code)
                            if status == ChargeStatus.DECLINED else None,
                            error=None if status != ChargeStatus.UNKNOWN
                            else f"status {word!r} is not in the profile's result lists",
                            latency_ms=latency_ms)


def _values(request: ChargeRequest) -> dict[str, str]:
    return {"{amount_minor}": str(request.amount_minor),
            "{amount}": format_minor(request.amount_minor, request.currency),
            "{currency}": request.currency, "{currency_lower}": request.currency.lower(),
            "{customer}": request.customer_ref, "{reference}": request.reference,
            "{idempotency_key}": request.idempotency_key,
            "{description}": request.description or "",
            "{invoice_number}": request.invoice_number or ""}


def _fill(template: str, values: dict[str, str]) -> str:
    for placeholder, value in values.items():
        template = template.replace(placeholder, value)
    return template


ADAPTERS: dict[str, type[ProcessorAdapter]] = {"stripe": StripeAdapter, "json": JsonAdapter}


def adapter_for(spec: CollectSpec, client: httpx.AsyncClient,
                credential: str | None) -> ProcessorAdapter:
    return ADAPTERS[spec.adapter](spec, client, credential)
