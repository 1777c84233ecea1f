"""Protocol profiles: each vendor's webhook format as a declarative YAML file, no code.

A profile says how a callback is signed, where its event id, type and time are, and how
each vendor event type maps onto a canonical event. webhooks/README.md documents the
format field by field. One module per step:

- ``model``       the dataclasses: ``Profile`` and what reading a callback yields
- ``loading``     YAML text -> ``Profile``, or ``ProfileError`` (a ``BadInput``) naming
                  origin, line and dotted field; the shipped ``webhooks/*.yaml``
- ``signatures``  signing secrets, and verifying a callback (``SignatureRefused``)
- ``reading``     a verified callback's body, event id, type and time (``MalformedBody``)
- ``normalise``   the vendor event as a ``CanonicalEvent``

The flow of one callback::

    verify(profile, headers, body, secrets, now=...)   -> None or SignatureRefused
    document = parse_body(profile, body)               -> dict or MalformedBody
    env = envelope(profile, headers, document)         -> Envelope or MalformedBody
    normalise(profile, env.event_type, document, env.occurred_at)
                                                       -> CanonicalEvent, None, MalformedBody
"""
