from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "alert_rule" (
    "id" UUID NOT NULL PRIMARY KEY,
    "threshold_bp" INT NOT NULL,
    "hysteresis_bp" INT NOT NULL,
    "segment" VARCHAR(64),
    "customer_id" UUID,
    "site_id" UUID,
    "channels" JSONB NOT NULL,
    "recipients" JSONB NOT NULL,
    "enabled" BOOL NOT NULL,
    "version" INT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_alert_rule_custome_6b9ab7" ON "alert_rule" ("customer_id");
COMMENT ON TABLE "alert_rule" IS 'A utilisation threshold: fires once when exposure crosses ``threshold_bp`` of the';
        CREATE TABLE IF NOT EXISTS "approval_policy" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "bands" JSONB NOT NULL,
    "recipients" JSONB NOT NULL,
    "version" INT NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE "approval_policy" IS 'One row (id 1): the bands limit increases go through, first match wins:';
        CREATE TABLE IF NOT EXISTS "limit_change_request" (
    "id" UUID NOT NULL PRIMARY KEY,
    "customer_id" UUID NOT NULL,
    "currency" VARCHAR(3) NOT NULL,
    "current_limit_minor" BIGINT NOT NULL,
    "requested_limit_minor" BIGINT NOT NULL,
    "reason" VARCHAR(500),
    "source" VARCHAR(16) NOT NULL,
    "reasoning" JSONB,
    "status" VARCHAR(16) NOT NULL,
    "requested_by_type" VARCHAR(16) NOT NULL,
    "requested_by" VARCHAR(200) NOT NULL,
    "required_approvals" INT NOT NULL,
    "band" JSONB NOT NULL,
    "decided_at" TIMESTAMPTZ,
    "decision_reason" VARCHAR(500),
    "created_at" TIMESTAMPTZ NOT NULL,
    "expires_at" TIMESTAMPTZ NOT NULL,
    "version" INT NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_limit_chang_custome_562cad" ON "limit_change_request" ("customer_id");
CREATE INDEX IF NOT EXISTS "idx_limit_chang_status_5489ae" ON "limit_change_request" ("status");
CREATE INDEX IF NOT EXISTS "idx_limit_chang_expires_c4ef75" ON "limit_change_request" ("expires_at");
CREATE INDEX IF NOT EXISTS "idx_limit_chang_custome_afe5f5" ON "limit_change_request" ("customer_id", "status");
COMMENT ON COLUMN "limit_change_request"."source" IS 'USER: user\nVELOCITY: velocity\nSCALING: scaling';
COMMENT ON COLUMN "limit_change_request"."status" IS 'PENDING: pending\nAPPLIED: applied\nREJECTED: rejected\nCANCELLED: cancelled\nEXPIRED: expired\nSUPERSEDED: superseded';
COMMENT ON TABLE "limit_change_request" IS 'A limit change waiting for (or past) its approvals. ``current_limit_minor`` is the';
        CREATE TABLE IF NOT EXISTS "policy_revision" (
    "id" SERIAL NOT NULL PRIMARY KEY,
    "revision" BIGINT NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE "policy_revision" IS 'One row (id 1): raised in the transaction of every change to alert rules, velocity';
        CREATE TABLE IF NOT EXISTS "segment_policy" (
    "id" UUID NOT NULL PRIMARY KEY,
    "segment" VARCHAR(64) NOT NULL,
    "risk_profile" VARCHAR(16),
    "currency" VARCHAR(3) NOT NULL,
    "default_limit_minor" BIGINT,
    "hard_cap_minor" BIGINT,
    "scaling_enabled" BOOL NOT NULL,
    "version" INT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE "segment_policy" IS 'Per segment (and risk profile, or any) and currency: the limit a new customer';
        CREATE TABLE IF NOT EXISTS "velocity_counter" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "customer_id" UUID NOT NULL,
    "bucket_seconds" INT NOT NULL,
    "bucket_start" TIMESTAMPTZ NOT NULL,
    "spend_minor" BIGINT NOT NULL,
    "authorizations" INT NOT NULL,
    CONSTRAINT "uid_velocity_co_custome_5f8942" UNIQUE ("customer_id", "bucket_seconds", "bucket_start")
);
COMMENT ON TABLE "velocity_counter" IS 'A customer''s activity in one time bucket of one size: the windowed counters that';
        CREATE TABLE IF NOT EXISTS "velocity_rule" (
    "id" UUID NOT NULL PRIMARY KEY,
    "segment" VARCHAR(64),
    "customer_id" UUID,
    "metric" VARCHAR(32) NOT NULL,
    "window_seconds" INT NOT NULL,
    "threshold" BIGINT NOT NULL,
    "currency" VARCHAR(3),
    "action" VARCHAR(32) NOT NULL,
    "proposed_increase_bp" INT,
    "recipients" JSONB NOT NULL,
    "enabled" BOOL NOT NULL,
    "version" INT NOT NULL,
    "created_at" TIMESTAMPTZ NOT NULL,
    "updated_at" TIMESTAMPTZ NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_velocity_ru_custome_6285dd" ON "velocity_rule" ("customer_id");
COMMENT ON COLUMN "velocity_rule"."metric" IS 'SPEND_AMOUNT: spend_amount\nSPEND_SHARE: spend_share\nAUTHORIZATIONS: authorizations';
COMMENT ON COLUMN "velocity_rule"."action" IS 'ALERT: alert\nPUT_ON_HOLD: put_on_hold\nPROPOSE_LIMIT_CHANGE: propose_limit_change';
COMMENT ON TABLE "velocity_rule" IS 'Fires when a windowed figure of a customer''s activity passes ``threshold``: spend';
        CREATE TABLE IF NOT EXISTS "alert_notification" (
    "id" UUID NOT NULL PRIMARY KEY,
    "channel" VARCHAR(16) NOT NULL,
    "recipient" VARCHAR(320) NOT NULL,
    "status" VARCHAR(16) NOT NULL,
    "attempts" INT NOT NULL,
    "next_attempt_at" TIMESTAMPTZ,
    "last_error" VARCHAR(500),
    "sent_at" TIMESTAMPTZ,
    "created_at" TIMESTAMPTZ NOT NULL,
    "alert_id" UUID NOT NULL REFERENCES "alert" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_alert_notif_status_8445b4" ON "alert_notification" ("status", "next_attempt_at");
COMMENT ON COLUMN "alert_notification"."status" IS 'PENDING: pending\nRETRYING: retrying\nSENT: sent\nFAILED: failed';
COMMENT ON TABLE "alert_notification" IS 'One e-mail of an alert to one recipient, written with the alert (the outbox of the';
        CREATE TABLE IF NOT EXISTS "alert_rule_state" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "customer_id" UUID NOT NULL,
    "fired" BOOL NOT NULL,
    "changed_at" TIMESTAMPTZ NOT NULL,
    "rule_id" UUID NOT NULL REFERENCES "alert_rule" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_alert_rule__rule_id_fce3a7" UNIQUE ("rule_id", "customer_id")
);
COMMENT ON TABLE "alert_rule_state" IS 'Whether a rule has fired for a customer and not re-armed since; written under the';
        CREATE TABLE IF NOT EXISTS "limit_approval" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "approver_type" VARCHAR(16) NOT NULL,
    "approver_id" VARCHAR(200) NOT NULL,
    "roles" JSONB NOT NULL,
    "comment" VARCHAR(500),
    "decided_at" TIMESTAMPTZ NOT NULL,
    "request_id" UUID NOT NULL REFERENCES "limit_change_request" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_limit_appro_request_df57b3" UNIQUE ("request_id", "approver_id")
);
COMMENT ON TABLE "limit_approval" IS 'One person''s sign-off on a request; a person approves a request once.';
        CREATE TABLE IF NOT EXISTS "velocity_state" (
    "id" BIGSERIAL NOT NULL PRIMARY KEY,
    "customer_id" UUID NOT NULL,
    "fired" BOOL NOT NULL,
    "changed_at" TIMESTAMPTZ NOT NULL,
    "rule_id" UUID NOT NULL REFERENCES "velocity_rule" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_velocity_st_rule_id_35ace2" UNIQUE ("rule_id", "customer_id")
);
COMMENT ON TABLE "velocity_state" IS 'A velocity rule fired for a customer and its figure has not fallen back since.';
        ALTER TABLE "alert" ADD "acknowledgement_note" VARCHAR(500);
        ALTER TABLE "alert" ADD "acknowledged_by" VARCHAR(200);
        ALTER TABLE "alert" ADD "acknowledged_at" TIMESTAMPTZ;
        ALTER TABLE "alert" ADD "rule_id" UUID;
        ALTER TABLE "outbound_delivery" ADD "alert_id" UUID;
        CREATE INDEX IF NOT EXISTS "idx_outbound_de_alert_i_872ebf" ON "outbound_delivery" ("alert_id");
        -- The defaults every deployment starts from (README, "Credit policy").
        INSERT INTO "policy_revision" ("id", "revision", "updated_at") VALUES (1, 1, now());
        INSERT INTO "alert_rule" ("id", "threshold_bp", "hysteresis_bp", "segment", "customer_id", "site_id", "channels", "recipients", "enabled", "version", "created_at", "updated_at") VALUES ('00000000-0000-4000-8000-000000008000', 8000, 500, NULL, NULL, NULL, '["outbound", "subscription", "email"]', '[]', true, 1, now(), now()), ('00000000-0000-4000-8000-000000010000', 10000, 500, NULL, NULL, NULL, '["outbound", "subscription", "email"]', '[]', true, 1, now(), now());
        INSERT INTO "approval_policy" ("id", "bands", "recipients", "version", "updated_at") VALUES (1, '[{"maxIncreasePercent": "10", "maxIncreaseAmount": "10000.00", "approvals": 1, "roles": ["credit_manager", "finance"], "requiredRoles": []}, {"maxIncreasePercent": null, "maxIncreaseAmount": null, "approvals": 2, "roles": ["credit_manager", "finance"], "requiredRoles": ["finance"]}]', '[]', 1, now());"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP INDEX IF EXISTS "idx_outbound_de_alert_i_872ebf";
        ALTER TABLE "alert" DROP COLUMN "acknowledgement_note";
        ALTER TABLE "alert" DROP COLUMN "acknowledged_by";
        ALTER TABLE "alert" DROP COLUMN "acknowledged_at";
        ALTER TABLE "alert" DROP COLUMN "rule_id";
        ALTER TABLE "outbound_delivery" DROP COLUMN "alert_id";
        DROP TABLE IF EXISTS "alert_notification";
        DROP TABLE IF EXISTS "alert_rule_state";
        DROP TABLE IF EXISTS "limit_approval";
        DROP TABLE IF EXISTS "velocity_state";
        DROP TABLE IF EXISTS "policy_revision";
        DROP TABLE IF EXISTS "limit_change_request";
        DROP TABLE IF EXISTS "alert_rule";
        DROP TABLE IF EXISTS "segment_policy";
        DROP TABLE IF EXISTS "velocity_rule";
        DROP TABLE IF EXISTS "velocity_counter";
        DROP TABLE IF EXISTS "approval_policy";"""


MODELS_STATE = (
    "eJztXYtz2zaa/1cwnrlpMuP4Yjtus87dzci2mmjj2D5JaTdbdWiahCzWFMgSlG3tXv/3ww"
    "c+xLcJSpRIBjuzTQLiA6kfXt/7+/fe3NKxSQ9Ghov3TtG/94g6h7/E2vfRnmrbq1ZocNU7"
    "k3ekQY876jqq5rK2qWpSzJp0TDXHsF3DItCzh2zHsrHjLtF/oqXq6OyPqaoZpsFarClyZx"
    "jBc9W1nFP0NMMORjPL1Ok+0maqc48pUomO7lWX/W3GvgiTA3izbmns1Qa5r/MlC2L8ucCK"
    "a91jNoTDXvXb76zZIDp+xjT4p/2gTA1s6jEoDR0G4O2Ku7R529evg4ufeU/4AXeKZpmLOV"
    "n1tpfuzCJh98XC0A+ABp7dYwLfj/UI1GRhmv6MBE3eF7MG11ng8FP1VYOOp+rChAnb+6/p"
    "gmgwT4i/Cf7z7n/8T4t0U5Sr67Ey6o8VZS81v/AJidnwmzSLwNowiAtA/fsvb9wVILx1D1"
    "5w/qk3fHX842sOgUXde4c/5HDt/cUJVVf1SDnoK5Q1tjTTOJ+zOc3GOeifQJp9aD0YB/DU"
    "AOjeXH1WTEzu3Rn754/vCgD+pTfkGP/4jmNssR3rbeMr/8kRfwRQr6DlfwpAG/TfDLRBww"
    "rb1fmydXCP3r4tgS7rlQsvfxbH1zXm+F8WEcI4SrM9nPe+js/rOhbqXsWagwENRXXTOF+w"
    "J4BozlERo0ygrfukB8Ff2rjG2Q/Ur4m59A+uAujHgy/90bj35QZeN6f0T5Pj1xv34ckRb1"
    "0mWl/9mJimcBD062D8CcE/0T+vr/rJYz/sN/7nHnyTunAthVhPiqpHztigNUDtL7iJpw+R"
    "WwIa7lTt4YnxA0rsyWp5cCYgvTLOfLKfPw+xqXJg02vAZ5Y+Wd7ieWH2/c9uyuT/FSz3oH"
    "W1CFboYMIGwWvic4n1e+z02VDLjsJkGnPDXRMlYLkvYZwWHiS5IMEOtI6svD2ZfjQ/midb"
    "VKLe858E74Y3+YCdL6hrzTlPnpJfwmeFMowW7fWSHJMPhpQRGi4jNI2R3Z2QUAsfS/H9nF"
    "0UIghHSLoH8uZ5WMegD4rtWFPDzFnIfbKYc6gH7MNUouEU5Mkxtig9zLFuLOaCZ8be5fWv"
    "p8i0nibkS/9i8PXLKfLGmZBPg4+fTtHMuJ8l9UBlpufwxxLTc5jkXVfTA48SG8BV3UXG9V"
    "9uYlbUW5wSdtMZj1h0Snrn48Ev/VPkUU/I9ZXy6fry4hSxrwZGekLOLq/PP/dZy51paQ9Y"
    "b8YEaQvHwURbCimKIjQd1Ggcl8D4OBfi4yTCtuq4DA0li6HJxzhOVQnll8WF3V0Eh0fvy6"
    "zko/f5SxmexZF+xA71BYk4zAPiZqMcoUhAbJDapI3DuhC+hy94c3T47qd3749/fPeedeFf"
    "Gbb8VID54Gos1UPfqXooOusLW68463FKOetNmfUAo8i0hxoIYaUgfnaxQ1RTcfB0TbVO3x"
    "9qiKctXAybUezETlvdcBVV06xFlsQYIHtN8Nhi/3kZ33M+Ym81YEfUi4LKsOgyy9CHJVZh"
    "vkosuvI3rxb7bY8uqYu5KBi+iTF/v6+jLzsz7nNZn0zGMoPr8VdFc029Htfzt6Oj4+Ofjt"
    "4e//j+5N1PP528fxuyP+lHRXzQ2eAjsEKxgzjgjfL1aKvJK63nCSk6KEJtXs8T3RMCKCfI"
    "Ogh1LXpLyfp3jQksw/oHRp/MPZZve0mQbdII0wwWpILNJcVbp1FOQ/yz5WDjnnzGy5RaNI"
    "fDiwzVTmhT3B1rdtSnkL9JLi6GAfvlmLtm7g3Zgh8OztndnC+51GlmHWKKnUesM9Zx5N3m"
    "GfxlulMhl+n43YHLVFY8QhlfUkaBPAqkEsQgxfcOFxHYE2qZj5iiAE2K7pagmjaXyGbTpB"
    "k2GxS5M9VFqj43iMFGcZIK6hpeMSGRMSgyDfIA76BsaGS4+4haiFjI14Uijb1TM1WDvRw9"
    "YqJbzg+r9yF2zOxl89ZlWejdGkM76DBZ4JsqGYzvhMEQ0DLV6hITU4Zk+cUktSUFzjEpVc"
    "3Lx/M1wciGM8w/rg7QuarNsI7uVBMueYrm1iP2zssnw51xt3zfx4z733NvPO/81NQFxdBh"
    "nvb2r/E90pmnAYxl4aEqbbk123L9nc+dGhXGxFgZXHyR0i2bfnumx7d1gb5FJVzEss62B+"
    "ME/JOtynzkjSBnpNqMzICwwjzE6ST61dAn2FV0dZlhlssFPkqyPdiPa8Z9Yy4QBnm0DI29"
    "UdGWWnUHw4xhtuljaBF3Zi4FeZm9m/5QGQ97VyNwbbu+OgW2UmFYE6pyPmlCfu33P19+O0"
    "VPGD+Yywk5GwQtd0bQ9uX6avwJmqJfsXOvN+kptNFtIn1G8qFupzSf5zPSbHPBTlVoGzQW"
    "NCs6r2lbqqnhea3ECZJVKDJILweptEayjB0vcNHaghWvCSdeHTa8tXS9/FzLUPEG512+Zn"
    "cW9Kgz5PG3vYjm2A9x+V2qTneqOlXnMCFVVBdJyu1JBx1xqoucqKrtLhxcSYOUppVapIqz"
    "IK0INVsRWhgUaWOiA15icO/d9K8uBlcfQXfE6SfkvHcz/jqEMMhgx07IL9eDC2h5tAwd/t"
    "3/x82Ad8HPtuE0JVLSwVMMi1zIRSRGVFMUX9ecT6m1cDTswVR1j8SHaPKRtPd11B+eogUF"
    "b6jzy0H/asz2hmkwAXZC2Onc/zjsefrXiKvUhIy+jcb9L6do5SK2+x3ioy7moR0javJENW"
    "mLeAcjraBwjVNuR+HaEC1cw/WrGf7Y0kmuY2p1GYD7Pc56GWOKrxIStKXEqWTkRZIhAeW2"
    "GKIRkjXgbBjTXkscS26ksngYi2CgckMX64t68PhuzVGDJ9fvBvANUpa3ctG+iGpkxwpHB8"
    "l0njvOVBlFLMNikwA033Bj8o4KDnu+HC8Fiez1N+AIf4BuLLaKjEeMPG0+RQwAitETeMGD"
    "g3wYZGQ9YbqPCL5XeXeLYAqJ2CD8yM1IvV/POwRNTA7WLEf3+EJpZ9qtnemB/b6qSq2Ats"
    "lKEo7Nx/6pXzoCNFi/XA/O+6C9Ah9I1nLT+/aFK7lsdTnnWq5h/+evVxenEPm3IPqEnA/7"
    "F4MxvAYG8lzmieUy2t7F37+Oxh65qv/Bdkwwwi/94ah3CWOAp55qNkMjJs2K0qDVEOjrNG"
    "hZjnFvQJaN6us9d4hKC79hrNVu1n0IaZUNkEncPQPWhjfC9FkBJESAjpB0D953ZWwf7/JN"
    "H++kcVAaB6VxUMw4aOh4bjN2mR3aygMWOvUzSLt3KNVkkY1nByyLeJJOwl0K7uiXCaCdIO"
    "se2CelwD4pAPskDbbFRGovRiCDp7csE6skh4mMESbQvmOUdR3gYct2FUNn19eXMXvj2SDB"
    "pV99/XLWZzcnh5918oqMZjHvGme8q5iBE6QdtAO31+6bNvdHtbOCE50g7eBEt9TgX8bNQx"
    "r8azD4Q/yOIKIREmnwT3k8L4hOBQGNU9WKaUMcC6VHys4WKBh7sPgKjZFtENUmhGNKL59a"
    "4ZVePg318sm4uTaA6qZdepoYnx2/sUvAG4RJr4ltt6pDJ1GNMJZr+KV5cwM56jIUudI3rS"
    "hBQ3DNp3ETTNCwHnRN4AlKHAExlkg8RUMK9uIVW76KUXfXrYCb5Cq5SoaTZCzzSr6L5CrT"
    "C+9XIqE8Xdy94QTIIp6forryUpyrS/BUDHMGIxW6YQSvyfCEXHOwzIpJ0TQawPzIWkkN8k"
    "PJ94GsnD13Z2lzOzIlqcy51TPmyiwba86AzJS7S/RljGX+hLTT5CJjLL83jXZ34JTq1+9H"
    "/dpWWNeJsqwzgLC3YKu6/4izi/pEnu4XycYq9FNw2FEketATWlU6e6PNGIBY5/V32ABYna"
    "NXKyF3H1kOur31fHJvb18XhgtWHnRCJuQcSNiYURq2JJncDHV9CLo3rTvVZC9hk0jRk8Om"
    "lqIpG0g3pjxdlTshqzJumjUHqd0gUIeNkWHzA8KqNgtGNij7m2GaTJ531Tl75Rv8aOhsEM"
    "Q/PV989+i59I7/TAnvvyWSmAS1kKVA3ziBfjWRpf26Q4oOOnVvvvgx7A+h9e0TSA1JZQmR"
    "nf6WUxBmkicrRKk6uLZrCJHlkImFhURpOghyLR7zXtEWQZTX8ZMvgXH7K5xGHLbv/sCaK3"
    "xiJMg6uJprg1rszIgRyQX9Msp3mIkEGWv576Prq2yIVxRJvaihuej/kGnQFgZvF+AKUMR0"
    "nwGer770/pGE+vzy+iypAIIBzpIH9dTNKiqRD3tIIFGvjrqD2c+moodKnKp74WSbP1VkTt"
    "MqS77hlpZ0dIvt4EcF9FciuylGJDmhErtJFGEJ7gvgpkwxO9Jq28Y5z/Kwl6XUDh/uF+q0"
    "bUPRVv1eVmkTdN1buDN0dPDWzzGBXnl/KpCEi/1pMMrXH7zi8SqiqsnWCtdSI2uKDJciil"
    "lPF1TCD9jOSohXzzs2XJn+e1Ebr1n/s6AQvTejYrxUjGgzB9RuQa757Od/CuAb9O/g2V9P"
    "GRJ+zggzMQmyLqJ9clIG7ZOTfLThWQJtzbKzXPXH+DnPxhFSdALjIu6//49xscAbMv+X11"
    "cfg+5JKTgh8FpmFt4Fsm5A0Am4t7CkG1SkpWFKhi5JukxmtR4qpu+IUspZbvIsS7VVZ6e5"
    "ISL/yLgHn63PODMRfuTpfnGQF+8XJO8rJfWrdDmfYzbJGvr7ryMmVS8/8IT0tmM8smXIGj"
    "+DtI2J5ixtkMZVFzHMs8X7tQaTcnyz5PgHMQn+QcruJWV31by3HMOdCTnNxYg6yIRv3rfI"
    "P3SUP54eRCTLBFknoN62eCkZps4yTHHpxzWqZamMU0rpp2mz3BC2eOwsIOB4QOkCO0Oe8D"
    "KLP87qVsgoux6BYnCKkrwyREC4bBEi23Jc1fyBouvBxTnjbS2IeHAQg5RxtO7MsRb3M/TR"
    "Ue3Z/16iV+fnX5Tx8Oto3L9QBqPR1/5wBF0pmlsOzooDqe89ksNuFoe9Wn5lucAVRef47F"
    "qSV0NoF/Yj90pz2hGaTnB/W8AZzAOKZqqGkEwTp+og1oelsD4swPowB+u5aqeRzvcSjdKs"
    "5SjaNLy37Snq383iaz1FKJd7ueUeKj6E7JVxqg5iXY/RksBvzwqnLSr0EKHaYpWHgFNpbZ"
    "EHqSSpMgGtEJ9ltqHvYpoboiXpaRqmND8NRuTxfqHPMO8olAgD3bPV9gNFHilSXRfPbRe9"
    "ur31Wg78Fqzf3r7e52kmeLYNnuECaBF1VZexnoZGs1Qhmx5+wxoQmWUCnm0jy0SQkUQw2V"
    "SCrN6EU+1I99+I9F3tUdcLoGmQO2tBdO8AFYQ1i3aTq7UJeajXhPfeUYkrLJxEqKoJJ+1Z"
    "qhuUTeDuFBG3g/7dC4KtRach6/t1WCqQMn65bdbOVLNlqvtFynELswFJSpkjtThHagSxNN"
    "DCeTwH8dHaCfCL6TzTq6xRWT3PVBNmaYjBAWIvQ6MR77BfpNO487oqzqpvCa2GT4VUgoIS"
    "3cjLsom8gbAOSgi/20HQxpUQEJfMNRFQoJVohmlwoLO0G3W9Rmo5pJZDajmaKJc3sTzUuj"
    "oka+GIOdisKLZnl917wnczy3rYq+v8qNmZPbjHKhQNSZHKxLCCB3b0gGayN9EyapsVpLaI"
    "0HTQEeG4xFI/zl3pxynvJp/JqeRUHiPtoMzcEhlZqkakakSqRrbDiknViAjAbVeNDDxxJN"
    "fXI/Z8v0gxEhNsyulFxjOMgOz5FKnoETsG+2gdaappwo/bR0wIdViDlwgYGTxLG3vAjgIT"
    "yrjqaRXIRkbMLC+SWPuBekUJConEao2Ak8iCw0NYR8V3KoH7hXVNjeVgDRuP3v0jVpSk4H"
    "DbgcF377+mC8KzvCP+JvjPu/+pS0BaR9jMV5hE51WAJU+QdZArryUpmqcE4TCJgB2j6p6F"
    "uBaoNZVYxGAnoTDcacruQV5DkZ3wCkjj3CeLeYpJimu0QuotarSCe0jwxGY8zHl/8Ev/4h"
    "QFI0zIsD8efhtcfYQ211mymZiQ3s3N5QC6MSbCNKDX4OPV9RBaGOMIF/OE3PSGn6HBVp0H"
    "+PdFv8f+pTPxJXnX70Ztxl7nVjmzknQdvCFqcWyx1aVpqZk2JKI6y7zQqJAo6aK1dL2sg+"
    "06rIrUjH6cWSiqMzTPBle94bfsfBtnGXFpZ9/G/V6TPYraMx1NUp+U0ppFhQ/BeU6Qbkdv"
    "1hB7Vuvm2b9zK0xznFLu5kbPsqdpyOA7c615UZLtGfLe1sWSbCTDRiQtekJ/I7h3MsjlBm"
    "ryBjJV6irYcbJs4vkp3uJUXRCPi+a0lgRvu3ZUag/+Aq407Al8VQrQgrweIYUs/1Y9qYc0"
    "SkqjpDRKrmGUXE1Cpk0yNkdFJsl4xzLpqxN+0wdo4FLk2zaRnw/bLxpFkepgNOJ/P7OekW"
    "bYM+y4bAT6AT3NDBMjNam1rOEVE+JYLv+RyHrEjqnadN9Pko0fDWsR1rjy7aEUuZaFFsQ1"
    "THR7G3RS/Eozq2IRt7d1+H5Lk+WmTZbUXNyLqKKD/p1L+CeLYrXNKPnAflpVE1lA22Ss92"
    "563770r8bKzfD6vD8aXQ/BsrWcgyXIdizIOGI5E3L2dXB5Mbj6qIy+jcb9L6fobmGYOhRe"
    "8G6ICekPb04RduwJOR+y55ozr2IOOz4q41p7lO9be5ROiW5N2SUkskciJE2eusacQQ6e+s"
    "tABOU4lQS6jMUe38PGzNCd5ovLURqZBnOdgulQIcE05gY7GLEDzKiVdTXkarFz6bsUm7Ix"
    "rXYErbuFQzM0RGWADkklxhkYe/KUiBZ5RdGJ83rbKuSEJCuCfAapVOKvPQNK9ZKVxSNJE1"
    "qTTWj+lPm6KP8qFrFI5w8gL5qMi0bmWH7RR25zecw8JXkVN5o4pTzCGn2ELYmmTB3MgCXa"
    "ssoRljtApSOsYVO96ROMu08AZJU2Vppabq4mby52rdNMY23ubopQbI8DOGzJ5pFh7/lQdz"
    "fsXRYB6NqsZ5yd/OtTri/5PhkRP+BI5v0MvuXMJ//58xCboX9EtkdMItt/yxZDnkdMZi4k"
    "L9/Lmnilcgl2EbFYsP+agCVTDHQRL2vh+oAR3baMtTG79sfr+8N1Cbc6PctuHMu12F144x"
    "mh8yvAZnfcL/I2s30SJWLhLlUF1uuOFjYELaYrsX7gzlx0Ztg2e2gR7DmFAQ24jfGnfjI6"
    "iqaWqWMnswhsTa+RNWCbVQN2tz5LnXYHy8tMWWDS20Fmyg4ZlKSqYANHhVQVdFdolKqC73"
    "HWN6AqqJPJ7pk4O82+96CQiVbDLi9yzr86hutiEvCmlL2LwaASqnoO/Srl7dpMJffsyUx1"
    "EZt5Ctysi17BIy6VPSPHekLWNMUyb3j8CTHIo+oYKnHRj68/IPbTDYjIIPfQ37WQjS0b4j"
    "kgCIR7blKenQ4xWRA7DATyho0nQzLaEJKR79eejXPdvuydYsIx7Bo3J2N2idRaEfomM+WM"
    "f/v5+pSdPlNrQn7tDa94Ni12OhOeTOt8OBgPznuXEAxguJCeLXmAlZmezSfImmNK2bUgsv"
    "ojJE2ekIo74KRU4MxJQeDMSUY2v+aHyzckUY9QWY9GRG13EVodu6phCoVWREi2H1kRYUIg"
    "Fss1CD2A1+6CD6kn3mJhihbqjZDIPBtxNKMppKtk2EqTSxem5sjWaZVKbMLuhIq3ZJB2Id"
    "RgC8HCEeR4AC2xxEoK59F3D/56WM5WKY+3KvG2U4uYpzuu5HDENpMxZVIoYLeuwxGoAK8i"
    "47VQBNyJc0MauDwdbBLdF/SxCkn2f1E5e00wwm/mjINH1hTqkfKBQM1psScO1gzbYIfwPn"
    "rytaxPhjvj+lSvY1R/ygZg/0rpZzf/ignxxwOdLsHma08ZywZBqotMrFKXja1hdLf03CEs"
    "5wE7+97AkOfcwLSkgrawRojU3u5Ue+vPvghvESHpoApr81rCcHeKgBwj6iDMx0dl2DbWqy"
    "BBS4pta18digqq8pv+1QVXj9uY6Fw9nlV/YtS/Gp/y43xCfu4NLqHOxJQd97ghtSVak7y5"
    "8d5xMn/zhm7RJskrpTQzRfmb82+W7uVv3oJCAA7SClsqQia3UpO3UrsUPtJvrLrGJ8aEcI"
    "FfTNCM0sh01cXpqkMHtzi4womqQ1+6doL6Yorq6JqKJac+743Oexf9XeWm/vl5qPIPSWnW"
    "/Cf7Req06bPiBJ1e1KEdIjZpLuimbm/vVIpvb9F/s7/CAOyv8Ix6D/9cWNC0j6aONWf/xt"
    "Mp1lzjEfMszsgi6XigDY+dWTIXxoWHfAj4S5Q2VTVXSOl1Ztx/L4FCfzs6Oj7+6ejt8Y/v"
    "T9799NPJ+7ehTJR+VCQcnQ0+gnwUu1heDicKJrEsKx30b7K+oKp+pox2Jl83k+Sfw21RFt"
    "qQQGL7ErbBIVtatah2Ftl3ZUS/d/mS37t01eboMS4oGiRpOygctEQYkDKglAGrWf3rZK8H"
    "Op7b7Joj2jI/OD/dqZDpNlbdFWfV/0X+ezyD8HcHjL4LV7PmmNuZ0QNeYp0blRmNg21ThX"
    "9PLWcVJsS6cNMxTwBH3TT7vdmhM7lvqlk231fWE9tX8BdGKrnudnDd4eSVZWBCgg5yMJuP"
    "IQq3RFl4Q4IOwnt0UspZ86TAWfMkXdkFC3nF+t27iG4drrD+4a/MVDoTEnMSdB3Eu44CLN"
    "Rmb8w4jgvLaIY0si7IGnEqUgDJX/dSAKlBAOGZ1Z6/+CGpGcJHvEOh4OE5lyqR+NZyjrNB"
    "SgELudg0ke+nSpkcg9Q7SAKALrxk4p43qm5QW3W1GdZPed8gswDPRJASPTb9ggm5wxpIJp"
    "AtDJ56IpZf1VLfhzKV2gw5PDMC95SFAOwl8lHZhyQHQHZ76+fuub2dEM8fFwXxqj9QxLaz"
    "brgIHNIweuUTU+9zucNv0Jd/R+Dyu2Bb0+G5GSYkMpiqadaCuMi0tId9RC14meGwr6X8Oy"
    "HlAxPK5mAgcdgAr+vIuiCFqW0JUy0Ilm7KHd7FaOkWYsvTqnpwCHD3caruebFtnrWHI0OE"
    "rQ/6r8XSNwzjbXP0/AZXPA5EtGhNinaLpWvCltbWrpGyVP5BI2WpumQpxoL3PAf6vTxpKt"
    "LlZXkKsmirkd4vSVT5a6BMlJ4v6nDtpP9Wbx+IBelJZn9bzH5skgSPuSRtBw+6lhxspZwT"
    "XNW5z6rzWS60bUXdZC343s1w8KU3/HaKbMeYq84SQtcuL89655/5C0w4qZM6nt2Ery0coZ"
    "BZv3uTwa9u8ilp8yk0+uSEcjII9QyxML8UXZxK1p/LKOq48LURc5HYywSVDL/MKjTu28EU"
    "/KxhxxYqypxF2wWlRtEVXEcSfR7XqGimSnPCwHO0SXGyLiCfuAFLndKHBYf0YcYZvdA0jH"
    "VxzUaUbotajd2s880W5OUCmqAOOkEmo9aKo9aiYvCagWuBxH8RGbKdEL8Yw5ZYZE0KY0vN"
    "QoFuJjpTJZQzMZVJKXu3b80NUjcFNdIO0O2tX3GKIXh7C8bfJV25wqqaY1EaJF4Cr9ikIL"
    "TZ0SckELgoNxqrYOrG8FuRphKkO5bN22ysls3T/9sejlRwK0gJtY8KM0bB44S9MqKz9R5H"
    "/i2ku5IJpjadYGq17EQYsjiVLNf1onVvZ1bUpt1XdQMtHSxqSSq9u0wMXUxBn1tLrsg2s2"
    "45uYYtzG2aaFbI2+oSSo6mkc93tIiQSPfpNZ0t2pX9b89P4SfI0WWkABwFLTRs+Xp+3u9f"
    "QN6/UN+SnSownh4QKG/6w1FAarNTwaMdfR7c3PDGB143txmWmNYkEnxb7zm3MTW2b3tTYD"
    "ksYLuVBzaLVAIs0zR+36Z7nnCxmj0zi7RDvNnGtpTMhLm90hieQ2oVx8oYpfQ3avShJf1n"
    "8zdZt/xnZfnsLs96xmb3vz5l8Kw070layYo2Z6LT+zswwAlqWhNk0oGg2IEgaubckANBPz"
    "JkOyF+0YEgschiDgRDtvKHg/NxkQdBSiXk579as0JXRtBGRyag1vpcqYVb4HMRXdwlfC6i"
    "2+tln4tfZ+x24s4QkVDcwJmBIsq2I9YjUf5eLD80M0wRxYydddErFY3YTtVVJ+12sekXTM"
    "ivnvGbgtPGjHVQwGGD9/OKdEG+YkgRgIlrsB8d5kx7ZMhYEPLfuxnwzAAjTnRmPU+IZtjs"
    "O1387NIPkKXAxOC+Ybne11rs00zVpvvRdAea6jhLdGe5M/61qgsqPbRgLzUn5PbWdvCjYS"
    "2o4n2agp9tg3XgqZLryCEgXTM27ZohgxhqDmIIXKgUQaSTdN1TTdWF+MqhRaj+eoJMmmHX"
    "MMOClMfuargWLJLFfeVquzMot2c9OmyL+Qh+uGIac8NVbOz4YAmgnEsvDQtZHverzxA4wB"
    "Nk3Tu/ayqyBYxkGuf8sKkVRSe4km1HSyVYeBHkM0i7sMp3PAMRIUpUEVs8klTLNlktGxHm"
    "RfZggkzuvwrxogRwEA1gjFBtMXwx0EG0N3zRoBw3xcEqFWSo0qRdWO5bYKrAF499gkIN39"
    "AgcqmkiOU90uR7xDOYVDTj4o2a7+Us1zbLucEdtUV2VFOo1HVmbljEl55O+VC30+dFejp9"
    "j7NextOpIXmcmzbjtXjBRBBLAy3sCDOIj9ZOgF/0gUmvsjXcYFam/AzxtoIHTAeTmCTiB9"
    "nBl5UVrQpYIz5Yl6DahreQj1qBr9AK1xKeQnTVuVQBRDa5mLpvvLobd5b18ICxDV461pQ7"
    "+LwKXI/2wwocr095YQ2oZOg71XDqvQTWGx5+QoLEM1BRZFWyBFkORIC6PGWLz/VTNra59G"
    "p9qG5QtYSncskvqBj1sYqmLpAlFRsUdd7gKiANPdXWTKvgbWClUnaFNG1nImO3nGIBDrhq"
    "c5CklDNQbQZkGIEMI2gKX5oUoYrCCHach7AHCYuGCw5visFdPSzkbb2kR07Q70W2tocWrm"
    "Ea1PPzdmds9c0sUz+FityYeiXvnmaYIPzMVufCwYinAsTgfB72Vu7s21vk1alLcbYbf8OE"
    "cO80tLABcgrFwd+ozpyiO2xaTwkq9AbNltTFrMWgfJQDNIL60Kd+6b2Ap5mQV8RizPH9nP"
    "PH7O8hj70PbHXwgHHQ0Qp7HzjDPGcbF1Eba8bU0BCgD6y0OiHhp6Ang1BIs0gNF/Mci175"
    "wFUHA7Dg5fkQ9PmBIrq4e+P9VEbrYlUPAQhr9sHTA3SDHY19nFcE0OEl+2ZsNztYd2fUq6"
    "Zue13Qq/dv375F/43ev0X/UUspP+mGv2k3/OhyFjDqJMlkTvYMTiV2NgiAm6KT6GZy4vzQ"
    "TOOa78gRIemeA8d3mW2yfdkR/StaBNAIiUzdmU4IQ3CW52J+vE2URgbbrBFs4zCW1DYwyc"
    "p/lw9/nEpOwBoT0CYH0t3AvkEH0pZ4PrWIg5POT/lQt9MNRjo/fY+znuf8lFIvl3Ec4Sbm"
    "Nf0gQnXmKDCHt2wh7MQPIoFakZo4xLWMrlgJnRJKJUwBPSGkBwE950ylXJOr8zQjaqgY5Z"
    "lIiOX62ln2nAcJfEBPjuG6mKAFmzcnU2O88TdMSEDzA0Wh7tTSHvIdHAINunRuaKi1UTo3"
    "bFmO51tQUI4JaaQUU16KkRl0q0xAw7mtNJPN712xIypCIo+nYueI4P5e0zEiZnVvJ64vek"
    "REVlWjvCFs27EeVfPGMg0tsyZjokcxr+v3VexV51L1GB3rCb0ydHT42jPY3zGuk6LALA9a"
    "DnBVuLfAkm8t7mf7wKtSF83B45Zb/U9TDO6GxoUse7/9ewI2poFP4XsCTNhbJnuHbyfs1b"
    "HnvTnwvsFj9r+Dt36nACAKDw/3J2Sy57Cbnf/ztwnPJWC4ijdbjkcyNQjsngnUVGS98Z8L"
    "uO6HIdXvbDYPDg5+v731vCQgnz7/ncDSTwix2I95NuYquEWsVM7gGfE0s8AfAr+Z85oznn"
    "8IlJNkG4uN8aRCikMuDfhfXYcnw/fCrq+pLMxnxPmSFrE7hATS5CBtPu2dAGmG2LQZQiqk"
    "qyzuVohEAhroOrnNS2C8AoYyi9mMdyjkNb3kiWq0bylWE0rpWeQHL/nzG2sKUV8rrueD58"
    "VJoY0PDc6eIUsEbrQHmYzmRkbN1pF6vXwwgFaqSdujJg2njCOZmoh8F70UYSdyK9ZehzKy"
    "Q6qAvclK542C+qhspueiRM9JtLnoKsT+BgSS812D89WsuajDb4Skew6/tWRs05mkplfM4h"
    "WllMxw45jhuBjPuStRE0GMSloJXrASrDjYNQ0FXDw45/a34WrQdmL8ssUgtsiaZDTImIY8"
    "WS41WS8JdJ51VYlKPSXCKz2NvkfLFdeQ0ANU16/Y/22Vuq95vZ5Q/Q7KcG3hOBCK7r13bh"
    "DLub0FhXh2fOWmXxEEWHKtO/ypUjRXdXyKjKmnyOeP54wv9X1u9mFwc8kLFgUV4SlaBS6W"
    "VM//lnTC8EobexKljEDcWQRiGzxq2hdm5G1BzxZZmluO0HRQFjwuwS0f5/LKx+nouNQhJ6"
    "ZxyhmgSzr6LacG8W9PJoRUnpTcIeS0rDEtohnXZaJ10eo11sLJyrAOEPfJYp4SNOIBpiF1"
    "k4/9va+j/vAULSjk0/ilf3l9Phh/O0WP2LQ0w11OCBMOLgdXH08R1VTIHJ/kZnejm/XWsv"
    "855Q3mEaK1tIYN2wvbVhr6TH7VjRFS17UxNsBZ7t30ry74urcx0Rn4E9K7ubkc9C9OueRk"
    "YH1Chv2/98/H0OTgP7DmQtt57+q8f3kJjRr8fNOE1v4/bgZDaPOK+LCW0deb/nDUv4DGUA"
    "JL1aLd1e4K7uu7pbCxKZO4yUdgYwxOUeSqIt5RsOsxOfn+j6HhX6S0ZTZxlxjajfkCgZOg"
    "yD0d9JeGvTXu6AbZnNrDLbXO5ARzBX6IVQpwpUmlXFhKLpQpFvLRb2ewfZkUC9ULeW68cG"
    "d7lOtNmuRSB6r0BN8E91cpSUUBFy6SpyLl9tsy/HeSpsILyBviR84S7GVY4BM99ous717E"
    "nuJEOwuH7rHfTrEOmXF51l1HJVT1rLLWNMgE7BnQXQvxxBg8+QTdD5WXSWVKDa+YEL/Bz4"
    "KJ+E83IEsyz2MRmvC9B0texgOr2gyxZg1Tih7YSUQDwz1FmgpVPyZEs2xeCYS67L3oyWAr"
    "fQF5M0xLBW2UV/QDXg2+4d6nQhKNXN9vGVa3w7C66EYQsZqtqLp0s2zZUCYjkTrLuDUkEm"
    "nknf35Ye/xDoVXp3+PCAW932AnvH9eQbC2Y9AHuGCmhol5/nuVLF/z5EuBN8ppxCtMRQQ/"
    "hTmaUpfmRkefgFHIYfcc3GiQpX/G0GeXng3p+z2CSIw4mqtLhJ81jPV9/oInP88UDO/bI9"
    "Ef1t2EsP5sQWEa86yjaOpYc3SHZ+qjYS1yi2OtczdK17VNu67tIAV5087lunOQww5W/B0s"
    "ZGhK0HVPX7h5o570GazbZ9D/2uruaTkDVOK5m7a6d8Jyw6WusEu9ymSkaeU8VJ0Hn0VSqq"
    "U0z6CWSQFlavPd+RFIu1s+1N21u0n9TddmPUOfI5ravE51zi++bv8cEu9xDUFKoZPssl+k"
    "0glsBYoW6V0iDjGWAds1HtkQYKqAWoawXtHdQnvAblBqnBr/wp7e5YmtRusJ68h/H+UlCl"
    "N6nU2/YEKCH+obJmBxRusgssWhqYQE1gvGUtxj5wD9msz9XTLfdyJWzftYhWK2R7yUdEEL"
    "KJxkipsmcajtjltsCq8qELiY3hwlWdI0oeRMszxco0eNIJeSpO0gn9JeviTNjlKIB6mi2E"
    "gQdmkfbVmtweZnZjnGv7gjkMhplibs0ixsy2NrG7x3Xk312PNyXHf5yuo/8/LmfubqkMmd"
    "GvdQ4pzX5M7imG01Wfoc8mHz3Z7iuTf+hgl5pc1U5x5ckDTVdhcwvkE0c6Fj/TW3pXpr3i"
    "vmTgNfJ57Y+/bW+4Tgeg8rrU+ISqP+TqercurJauo8Y0m8LrssUt4gHrBRdtamKeVlqeeG"
    "uIkLiDJzzN6iZa/al2OPV9RNtqvujSD6WOl9uf56NfZPekX1CkEQ79mIIdYPHlH229mh3f"
    "s6/nQ9HPyzNx5cX41OUZrdEbbUHpUx1R7l22qPknsifuMI8G5pQsm7ZfDGIYsgJpzEyLoE"
    "7JZFk514ezT6Wt2ws4fnn1/1+F9RN/r47132h+zc5xz4hNx8HSvXV8qn68uLU2QvXIV9N2"
    "xV9mR4fXM96iuXgy+DscIQu/rI7gTfF1KJ5kBsxuHvf5muBOWSlDtb4ArII++Qg8jG7gFZ"
    "UmbH8ffVfG6kr430tWnE+SF9bfKhbqfXhfS1+R5nfQO+NvG8b1lFOkTCswMNfljtvmXrYC"
    "fh2XHQCuwiIaolDCM07FvCGSnm24N4lXCvnOfKEgABWrzKp2fOmKkUEcuFIZlIgQAIL/V4"
    "uujV5ofPrn7lW4KiClbpF9QgPYr0C9qyMp1vNEERJaSRAkp5AcXTwlRip2OUHWSs2stIpf"
    "nnSGH2skdUhEQeTy/U/llkhasKF/5J+pC0E9qXS/6sFlaT6v30sGNosywe1n9SyLyqqz4v"
    "Ma35gMr0OM1Kj5Orvcu3meWr7xplyaloMzs6OSlhemG98rMdw7NUOVMRhP3uHUT3sFRO0M"
    "OCnKCHGTlBLeJmelPlG1siJNLSImhp2am76l//D7fTW2A="
)
