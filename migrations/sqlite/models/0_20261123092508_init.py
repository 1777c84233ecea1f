from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "customer" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "name" VARCHAR(200) NOT NULL,
    "segment" VARCHAR(64) NOT NULL,
    "risk_profile" VARCHAR(16) NOT NULL /* LOW: low\nMEDIUM: medium\nHIGH: high */,
    "status" VARCHAR(16) NOT NULL /* ACTIVE: active\nON_HOLD: on_hold\nBLOCKED: blocked */,
    "currency" VARCHAR(3) NOT NULL,
    "partner_id" VARCHAR(128),
    "version" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_customer_name_0aae8f" ON "customer" ("name");
CREATE INDEX IF NOT EXISTS "idx_customer_segment_791a35" ON "customer" ("segment");
CREATE INDEX IF NOT EXISTS "idx_customer_partner_982fa0" ON "customer" ("partner_id");
CREATE TABLE IF NOT EXISTS "external_ref" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "system" VARCHAR(64) NOT NULL,
    "external_id" VARCHAR(200) NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "customer_id" CHAR(36) NOT NULL REFERENCES "customer" ("id") ON DELETE RESTRICT,
    CONSTRAINT "uid_external_re_system_9dfc5f" UNIQUE ("system", "external_id")
);
CREATE TABLE IF NOT EXISTS "site" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "code" VARCHAR(64) NOT NULL UNIQUE,
    "name" VARCHAR(200) NOT NULL,
    "timezone" VARCHAR(64) NOT NULL,
    "created_at" TIMESTAMP NOT NULL
);
CREATE TABLE IF NOT EXISTS "credit_account" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "currency" VARCHAR(3) NOT NULL,
    "credit_limit_minor" BIGINT NOT NULL,
    "posted_balance_minor" BIGINT NOT NULL,
    "held_minor" BIGINT NOT NULL,
    "net_days" INT NOT NULL,
    "invoicing_cycle" VARCHAR(16) NOT NULL /* PER_TRANSACTION: per_transaction\nWEEKLY: weekly\nBIWEEKLY: biweekly\nMONTHLY: monthly */,
    "version" INT NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "customer_id" CHAR(36) NOT NULL UNIQUE REFERENCES "customer" ("id") ON DELETE RESTRICT
) /* One per customer. Cached balances move only with the entries and holds that cause them. */;
CREATE TABLE IF NOT EXISTS "hold" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "amount_minor" BIGINT NOT NULL,
    "captured_minor" BIGINT NOT NULL,
    "currency" VARCHAR(3) NOT NULL,
    "status" VARCHAR(16) NOT NULL /* PENDING: pending\nCAPTURED: captured\nVOIDED: voided\nEXPIRED: expired */,
    "reference" VARCHAR(200),
    "source_type" VARCHAR(16) NOT NULL /* USER: user\nCLIENT: client\nINTEGRATION: integration\nSYSTEM: system */,
    "source_id" VARCHAR(200) NOT NULL,
    "expires_at" TIMESTAMP NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "account_id" CHAR(36) NOT NULL REFERENCES "credit_account" ("id") ON DELETE RESTRICT,
    "site_id" CHAR(36) REFERENCES "site" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_hold_expires_c3c864" ON "hold" ("expires_at");
CREATE INDEX IF NOT EXISTS "idx_hold_account_cce9e7" ON "hold" ("account_id", "status");
CREATE TABLE IF NOT EXISTS "idempotency_record" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "scope" VARCHAR(64) NOT NULL,
    "key" VARCHAR(200) NOT NULL,
    "request_hash" VARCHAR(64) NOT NULL,
    "response" JSON NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    CONSTRAINT "uid_idempotency_scope_7030bc" UNIQUE ("scope", "key")
) /* The first outcome of a keyed write, replayed for the same key and request. */;
CREATE TABLE IF NOT EXISTS "ledger_entry" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "kind" VARCHAR(16) NOT NULL /* CHARGE: charge\nINVOICE: invoice\nPAYMENT: payment\nREFUND: refund\nCREDIT_NOTE: credit_note\nADJUSTMENT: adjustment\nREVERSAL: reversal */,
    "amount_minor" BIGINT NOT NULL,
    "currency" VARCHAR(3) NOT NULL,
    "original_amount_minor" BIGINT,
    "original_currency" VARCHAR(3),
    "fx_rate" VARCHAR(40),
    "source_type" VARCHAR(16) NOT NULL /* USER: user\nCLIENT: client\nINTEGRATION: integration\nSYSTEM: system */,
    "source_id" VARCHAR(200) NOT NULL,
    "idempotency_key" VARCHAR(200),
    "external_ref" VARCHAR(200),
    "description" VARCHAR(500),
    "over_limit" INT NOT NULL,
    "occurred_at" TIMESTAMP NOT NULL,
    "recorded_at" TIMESTAMP NOT NULL,
    "account_id" CHAR(36) NOT NULL REFERENCES "credit_account" ("id") ON DELETE RESTRICT,
    "hold_id" CHAR(36) REFERENCES "hold" ("id") ON DELETE RESTRICT,
    "site_id" CHAR(36) REFERENCES "site" ("id") ON DELETE RESTRICT,
    "reverses_id" CHAR(36) UNIQUE REFERENCES "ledger_entry" ("id") ON DELETE RESTRICT
) /* Append-only. Positive amounts raise what the customer owes, negative ones lower it. */;
CREATE INDEX IF NOT EXISTS "idx_ledger_entr_account_c6d77f" ON "ledger_entry" ("account_id", "recorded_at");
CREATE TABLE IF NOT EXISTS "site_limit" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "limit_minor" BIGINT NOT NULL,
    "posted_minor" BIGINT NOT NULL,
    "held_minor" BIGINT NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "account_id" CHAR(36) NOT NULL REFERENCES "credit_account" ("id") ON DELETE RESTRICT,
    "site_id" CHAR(36) NOT NULL REFERENCES "site" ("id") ON DELETE RESTRICT,
    CONSTRAINT "uid_site_limit_account_f7dbfd" UNIQUE ("account_id", "site_id")
) /* A sub-limit on what a customer may owe and hold at one site. */;
CREATE TABLE IF NOT EXISTS "audit_event" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "stream" VARCHAR(64) NOT NULL,
    "seq" BIGINT NOT NULL,
    "actor_type" VARCHAR(16) NOT NULL,
    "actor_id" VARCHAR(200) NOT NULL,
    "action" VARCHAR(64) NOT NULL,
    "object_type" VARCHAR(64) NOT NULL,
    "object_id" VARCHAR(64) NOT NULL,
    "before" JSON,
    "after" JSON,
    "request_id" VARCHAR(64),
    "created_at" TIMESTAMP NOT NULL,
    "prev_hash" VARCHAR(64) NOT NULL,
    "hash" VARCHAR(64) NOT NULL,
    CONSTRAINT "uid_audit_event_stream_4a2c0a" UNIQUE ("stream", "seq")
) /* Append-only and hash-chained per stream (a customer, or ``system``). */;
CREATE INDEX IF NOT EXISTS "idx_audit_event_action_3fd1cc" ON "audit_event" ("action");
CREATE INDEX IF NOT EXISTS "idx_audit_event_object__0b4e4d" ON "audit_event" ("object_id");
CREATE INDEX IF NOT EXISTS "idx_audit_event_created_5aa5b8" ON "audit_event" ("created_at", "id");
CREATE TABLE IF NOT EXISTS "aerich" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "version" VARCHAR(255) NOT NULL,
    "app" VARCHAR(100) NOT NULL,
    "content" JSON NOT NULL
);

        -- Hand-written, not derived from the models: see EXTRA_SQL in migrations/generate.py
        CREATE TRIGGER IF NOT EXISTS "ledger_entry_no_update" BEFORE UPDATE ON "ledger_entry" BEGIN SELECT RAISE(ABORT, 'ledger_entry is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS "ledger_entry_no_delete" BEFORE DELETE ON "ledger_entry" BEGIN SELECT RAISE(ABORT, 'ledger_entry is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS "audit_event_no_update" BEFORE UPDATE ON "audit_event" BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END;
        CREATE TRIGGER IF NOT EXISTS "audit_event_no_delete" BEFORE DELETE ON "audit_event" BEGIN SELECT RAISE(ABORT, 'audit_event is append-only'); END;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        -- Hand-written, not derived from the models: see EXTRA_SQL in migrations/generate.py
        DROP TRIGGER IF EXISTS "ledger_entry_no_update";
        DROP TRIGGER IF EXISTS "ledger_entry_no_delete";
        DROP TRIGGER IF EXISTS "audit_event_no_update";
        DROP TRIGGER IF EXISTS "audit_event_no_delete";"""


MODELS_STATE = (
    "eJztXW1z2rgW/isaPnVn0kxDXprl3rkzhLgN2wQyhLTbLR1X2AK8sSXql6Tc3v73K8kY/E"
    "qQwcR49aUNso4sP5KOz3l0jvyzZhEdmc5hy3NcYiG71gA/axhaiP6RuHYAanA6XV5hBS4c"
    "mryyFq41dFwbai4tH0HTQbRIR45mG1PXIJiWYs80WSHRaEUDj5dFHja+e0h1yRi5E96fL1"
    "9psYF19AM5wc/pgzoykKlHumvo7N68XHVnU152f9++fMdrstsNVY2YnoWXtaczd0Lworrn"
    "Gfohk2HXxggjG7pIDz0G6+X8iYMiv8e0wLU9tOiqvizQ0Qh6JgOj9u+RhzWGAeB3Yv+c/G"
    "fetVA1Ve10++qd0lfVmgB2GsEMdwO7DKifv/x2l4Dw0hq7Qeuq2Xt1fPYbh4A47tjmFzlc"
    "tV9cELrQF+WgL1Hm/ydwbk2gnY5zUD+GNO1oHoyDghUgB/gUgGjNgj9UE+GxO6E/62/erI"
    "D4Y7PHUaa1OMyELgh/pXTml+r+NQb3El4HjS2EXRGEQyLVA/nsZA2Mz04yIWaXogjbhvOg"
    "Tm0yMsyMiaxgz+JQt2nHINZQAvJ4G0XhvtSeC5AtpBueJagzatfdTw1gkqcBvlEu2/c3De"
    "C3M8BX7fdXDTAxxpNajuE5OltjeI7OMoeHXYotABe6npN3YJbSOxwS+qYzHpHokDRb/fZH"
    "pQF86QHudtSr7vVlA9BeT4ipD/DFdbf1QaElQ5NoD0gvxwBpnm0jrM1EVFRYZncDszMldb"
    "wGxseZEB/HEZ5C26VoqGkGTTbGUalcKM/VfClfBEf183Vmcv08eyqza1GkH5HtsF4lYG5j"
    "Nx3lkEQMYsN/BRcxkY+KQnjMevC6fnTy9uT8+OzknFbhvVyUvF2BebvTj6sGG7EnV2GK/X"
    "JJr7iGhTIUREQyhqw+Fz0M/thHhUEfUO9iczZfRCtw7bdvlLt+8+aW3c5ynO8mx6/ZV9iV"
    "Oi+dxUpfxTX4ohHwqd2/Auwn+KvbUeIW/6Je/68a6xP0XKJi8qRCPbTeg9IAtcioe1M956"
    "hHJeWol2XUA4xCw857z1zv0UPILWQFQ6g9PEFbVyNXltMD/XCRjaGp2miUYtddzMXffegh"
    "E7rpunXORCjzpnpotIeT4Vcw/YPSMKykTrJwjV6KaFvdcFWoacRL8xgDZLsY9Qn953l8W7"
    "zF5rLBje2F8gBs1a0YwBbEcMx7yZpjwinTLIUPi83CbEosPPO3T4t9qTkzx0XcFVzciRp/"
    "Xzfhyy6Mcabpk2pYplg981mxGVVWpFL2rZ7f6/Xj47f1N8dn56cnb9+enr9ZmD/JS6vsoI"
    "v2e2YKRRRxYBtl82jLwVub51lIVNCF2j7PE14TAijHxCoIdSG8pTT9q2YErmP6B5s+qWss"
    "e+8lJrbNTZhymCA59lwStnUS5STE74iNjDH+gGYJWjTDwgs1tZ/QJqw7WmzDp4V9E59cFA"
    "P65MjlKPTohO+1W/TdnO25CFnjgpblncH7kTApeflKW9IJasit1cpurWp02IVY9Xn97dgo"
    "L2uTF2wMlm3XumrmHzPN/kuwEMZhmR3u1t33W0WphaJnsTSys6GvlpGdi2llu8YbMqxXxJ"
    "88FSH+InwApo2gDfG5RvoY2QptalZRmEzDMtwNUWLm7DVrZw8VyXZYekG/IEq8p8Vgxpn5"
    "FYGYiW2BZ32GWhcjMEU2CHynQ9CC2gTpYAhN5lA6wCKPCBCqX8GT4U4AdSDAfEEBiHXAVQ"
    "8thS7QoOcgVsE6rMUQL/I+0rspu3cj44YKjhuar3yuwVXLwCSFMVq1wZMuv7swlzdFgb7D"
    "DZ9QFBddHtTinmu2POOR1YIckXwjMmGCOcYhKifRz4c+Rq6qw1mKaZkJfFhkd7AfF4z71s"
    "LtDPxIDI3eUdVmWv5g9pRmdhnPTrA7MWeCtkztVump/V6zc8fCqLudBjMrVYo1diC3kwb4"
    "k6J8uP7cAE8IPZizAb5oByVDIyi76Xb6V6wo3IsXj7CWUalbXSYyPjEb6v1kzbLiE8u9Nf"
    "2iGyxb3JguFxVZtiVVVi5yL3Fiu96qZCTXZiTXiRkJwoF3EDFSBo1XRLzIRlwv12spFG+g"
    "77KZ3UlQo8gYkC+1EHM8T6f8KqnTF6VOocUGJA91EZfcnXdQkQDukEaFU9ezUS4GKSkrWa"
    "ScoyB3EQreRdjDBPwpwjrDSwzu2q3SuWx33jPuiMsPcKt527/vsZT7YMUO8Mdu+5KVPBJD"
    "Z7+VP2/bvAr6MTXssmTl22iE2CQXisCKCBWUMV61SDeHeLaGfJjyrpFoE2VWSbX7O6XXAJ"
    "6DbLo6rttKp0/XhmlQB3aAqXZW3veaPv9KhwCNbehzr3ef7/rKTQMsU5ZefoXMURfLBooI"
    "lXmgyrREfMXo5CBco5K7IVxLwsKVnF9Nyf2RwagVo9XlYQ//xFFfZzNlTgkJ7qVEpWSWX9"
    "wgYeS2GKIhkQ3gLJnRXkjOZOapGOIpk4KHYpR0sj7Lg0dXawYNHp+/W8A3yH3cy0n7LKqh"
    "FSuciSpzF144LL+tI2tKXMYd9pBG7NR9m2Slg1WbOMayumov6z8bot+fIDAybMcFxHM1Yi"
    "FARgCCBzRDOniy6TQ7ADaampD9HhGbh847tKusCo+dtxEdScdNRuVvt+n0o2o04pMdVEKe"
    "UFMman3FCTXBmK1NlgQCFSRKtp/MyVaCALjz6hWEthAOaq6R1Al0JmKUeFSugngXcKQ2cq"
    "b0jinK4o+7bicL6KVMnAwwNBf8D5iGs8f2dhq4DI2Ixx+A+uqm+Wcc79Z19yLu97AGLmRS"
    "eMUZmS0khRdpFYf9iBR7OOZmZFvCJq+ookXNZ23g5pTt1L5m6aGH4JZQ38p4RMCPcXEAHX"
    "cHgSeWG8oM1CCuC5An5BwAjMaQVycYOewofHrFSDGGC7qHYOCV7xn4a1NGX71s9NUDfb68"
    "W72BbJnNCI7Ne6UBNPpIY8T2dT922y2F7emyzCBactv8fMO3fqdwZvG9357y7r5z2aCeHx"
    "1gfYBbPeWy3We3YQ35iaSYurkD3Lz84/6u74tD/W+6YoIWPiq9u+Y1a4Plr0CzHPvEMthO"
    "hnmVBPoiw7yIbYwNds5p/vme2USuiV8ywvFl5v0C0jwLIFW4emFdW14Iox8qQ0IE6JBI9e"
    "A9WYeNOckmY05kyJwMmZMhc2J0ZXhXSJAYThGtnlIqKE4x+n2GdRGPy0m414I73DMBtGNi"
    "1QP7dC2wT1eAfZoEm1CX2s+cTbHpCTERxBlGZEQwhvaQShalwBcluyWGLrrd6wjne9GOWe"
    "md+5sLhb45Ofy0kn+Gd5rxrnHDOw8VHxOtIBe/J9z7WqHPYXZWcKBjohUc6Iptusgw2DxL"
    "WiAMlmW1CyIaEpFhsDKouDg0/Z0J5AgiGhPbIqplOFFDBmoXCq8M1C5poHb8pbUFSKt13H"
    "4c0tBregtfYUpq5eQACJ5ttFlEfBl08bNjEHsViZ9ulIBdV4cp/KT4x2arm44g+EEw/1yy"
    "lEiqyKFlqz8NtmRs1oiiAo43fM0FAMF+MBNchjJZcMbCmRbH7QPIqiHAbpMSLrVhY6nZAu"
    "ETqNhLRyYMlGizOjtQKvfB8y924nxFhiRx6Hz+w+blAVUbjoA8ZP4l0ZfHE2QPyH7ysimE"
    "vDyeoNJMYnXglLTXP4f22ldYNzmgoMgso6ZHZ7XyiNK/hxe6erDKN4asnooWFUVSjHynFT"
    "qT19qEAoh0/uk62gCCFni1dHIPALHBt29+4N63b7+tzCnK3egAD3CLidA2wzJ0SlK/mX0S"
    "D4OxSYbQpDehg+j4mfsOT9jXjRE/6dEd4OAGDtCIxbx2A4MptKkYMv8FENQmQcuGQ/8yTJ"
    "P68y606C1fo0dDp40A3vUVyf5cnnvv6HvCef8Syzukc08sw0k69Lty6JcDuXbw50KigpGf"
    "20+cZutDaH7PBSRDkttDpNqf2Cti0bN8hbBUBed2AXl0HDKx2PGwTAVBLiSs1v/emSDKmw"
    "TTroHxTl+VBetoMvwbaa6wxoiJVXA2Fwa1mM6ICMkJ/TzKQ0RdAqGzWpYSG53UUs493DRc"
    "CzmoBY7ctO8xZcO+EJCo50c9ONBJTKlEpaqXc7J9rSKPIcoz5Uu+05IMgZ/a6FH4ULWIkL"
    "SE1lhNoghLcJ8BtyRnZzWRbWiTWhqj7V85WMlmL+sU+QlAITb2n0LFbvg56mySNfNr39mr"
    "Pftz31VY8PXT03VYktPTbJaEXYsZ33RRCSA8r15BdI/W4qCOVnBQR0kOit7RRWm72dnOTU"
    "hEHv8p6N+86Mvs1/8BloGISg=="
)
