"""Payment processors on loopback for the collection tests: real HTTP servers (the outbound
tests' ``Receiver``) that act like each processor's API.

``FakeStripe`` keeps PaymentIntents and, like Stripe, replays the first answer of an
``Idempotency-Key`` without charging again; ``charges`` counts the payments that took
money. ``FakeJsonPsp`` is the generic JSON processor of ``webhooks/generic-psp.yaml``.

Behaviour is programmed per processor: ``decline`` (the next charges are declined),
``fail`` (the next charge requests answer 5xx, before charging), ``hang_after_charge``
(charge, then answer too late for the client's timeout), ``hang_before_charge`` (answer
too late, without charging).
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs

from outbound.receiver import Answer, Received, Receiver

API_KEY = "sk_test_collection"


@dataclass
class Program:
    decline: int = 0
    fail: int = 0
    hang_after_charge: int = 0
    hang_before_charge: int = 0
    hang_seconds: float = 3.5
    status_delay: float = 0.0  # status queries answer this late (within the timeout)
    status_gate: asyncio.Event | None = None  # status queries answer once it is set


@dataclass
class FakeProcessor:
    receiver: Receiver
    program: Program = field(default_factory=Program)
    charges: list[dict[str, Any]] = field(default_factory=list)  # payments that took money
    replays: int = 0
    by_key: dict[str, Answer] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        return self.receiver.url("").rstrip("/")

    def requests(self, path: str) -> list[Received]:
        return self.receiver.on(path)

    def _authorized(self, request: Received) -> bool:
        return request.headers.get("authorization") == f"Bearer {API_KEY}"

    def _charge_or_replay(self, request: Received, key: str | None,
                          make: Any) -> Answer:
        """Stripe's idempotency: the first answer of a key, again, and no new charge."""
        if not self._authorized(request):
            return Answer(401, {"error": {"type": "invalid_request_error",
                                          "message": "bad key"}})
        if key and key in self.by_key:
            self.replays += 1
            return self.by_key[key]
        program = self.program
        if program.hang_before_charge:
            program.hang_before_charge -= 1
            return Answer(500, {"error": "late"}, delay=program.hang_seconds)
        if program.fail:
            program.fail -= 1
            return Answer(503, {"error": {"type": "api_error", "message": "try again"}})
        answer: Answer = make()
        if key:
            self.by_key[key] = answer
        if program.hang_after_charge:
            program.hang_after_charge -= 1
            return Answer(answer.status, answer.body, delay=program.hang_seconds)
        return answer


class FakeStripe(FakeProcessor):
    """``/v1/customers/{id}``, ``POST /v1/payment_intents``, ``GET /v1/payment_intents/{id}``
    and ``/v1/payment_intents/search?query=metadata['ccm_reference']:'...'``."""

    def __init__(self, receiver: Receiver) -> None:
        super().__init__(receiver)
        self.intents: dict[str, dict[str, Any]] = {}
        receiver.handle("/v1/payment_intents", self._create)
        receiver.handle("/v1/payment_intents/search", self._search)

    def add_customer(self, customer: str, payment_method: str | None = "pm_card_visa") -> None:
        body = {"id": customer, "object": "customer",
                "invoice_settings": {"default_payment_method": payment_method}}
        self.receiver.answer(f"/v1/customers/{customer}", Answer(200, body))

    def _create(self, request: Received) -> Answer:
        form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
        key = request.headers.get("idempotency-key")

        def make() -> Answer:
            intent = {"id": f"pi_{uuid.uuid4().hex[:16]}", "object": "payment_intent",
                      "amount": int(form["amount"]), "currency": form["currency"],
                      "customer": form["customer"], "payment_method": form["payment_method"],
                      "metadata": {k[len("metadata["):-1]: v for k, v in form.items()
                                   if k.startswith("metadata[")},
                      "status": "succeeded", "amount_received": int(form["amount"])}
            self.intents[intent["id"]] = intent
            self.receiver.handle(f"/v1/payment_intents/{intent['id']}",
                                 lambda _: Answer(200, self.intents[intent["id"]]))
            if self.program.decline:
                self.program.decline -= 1
                intent |= {"status": "requires_payment_method", "amount_received": 0,
                           "last_payment_error": {"code": "card_declined",
                                                  "decline_code": "insufficient_funds",
                                                  "message": "Your card has insufficient "
                                                             "funds."}}
                return Answer(402, {"error": {
                    "type": "card_error", "code": "card_declined",
                    "decline_code": "insufficient_funds",
                    "message": "Your card has insufficient funds.", "payment_intent": intent}})
            self.charges.append(intent)
            return Answer(200, intent)

        return self._charge_or_replay(request, key, make)

    async def _search(self, request: Received) -> Answer:
        if self.program.status_gate is not None:
            await self.program.status_gate.wait()
        query = parse_qs(request.query).get("query", [""])[0]
        reference = query.split(":", 1)[1].strip("'") if ":" in query else ""
        found = [i for i in self.intents.values()
                 if i["metadata"].get("ccm_reference") == reference]
        return Answer(200, {"object": "search_result", "data": found, "has_more": False},
                      delay=self.program.status_delay)


class FakeJsonPsp(FakeProcessor):
    """``POST /api/charges`` and ``GET /api/charges/lookup?key=...`` (404: none)."""

    def __init__(self, receiver: Receiver) -> None:
        super().__init__(receiver)
        self.payments: dict[str, dict[str, Any]] = {}  # by idempotency key
        receiver.handle("/api/charges", self._create)
        receiver.handle("/api/charges/lookup", self._lookup)

    def _lookup(self, request: Received) -> Answer:
        key = parse_qs(request.query).get("key", [""])[0]
        found = self.payments.get(key)
        return Answer(200, found) if found else Answer(404, {"error": "no such charge"})

    def _create(self, request: Received) -> Answer:
        body = request.json()
        key = request.headers.get("x-request-key")

        def make() -> Answer:
            payment = {"payment": {"id": f"ch_{uuid.uuid4().hex[:12]}", "state": "paid",
                                   "amount_cents": body["amount_cents"],
                                   "reference": body["reference"]}}
            if self.program.decline:
                self.program.decline -= 1
                payment["payment"] |= {"state": "refused", "reason": "do_not_honor"}
            else:
                self.charges.append(payment["payment"])
            assert key is not None
            self.payments[key] = payment
            return Answer(201, payment)

        return self._charge_or_replay(request, key, make)
