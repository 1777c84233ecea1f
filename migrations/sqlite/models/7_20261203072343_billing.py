from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "invoice_counter" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "issuer" VARCHAR(32) NOT NULL,
    "year" INT NOT NULL,
    "last_sequence" INT NOT NULL,
    CONSTRAINT "uid_invoice_cou_issuer_5fbb28" UNIQUE ("issuer", "year")
) /* The next sequence number per issuer and year, taken under the row's lock. */;
        CREATE TABLE IF NOT EXISTS "overdue_hold" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "customer_id" CHAR(36) NOT NULL UNIQUE,
    "previous_status" VARCHAR(16) NOT NULL,
    "invoice_id" CHAR(36) NOT NULL,
    "held_at" TIMESTAMP NOT NULL
) /* An account the overdue policy put on hold, and the status to return it to. */;
        CREATE TABLE IF NOT EXISTS "receivables_policy" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "segment" VARCHAR(64) NOT NULL UNIQUE,
    "overdue_hold_days" INT,
    "dunning_days" JSON NOT NULL,
    "auto_collect" INT NOT NULL,
    "version" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL
) /* Terms enforcement per segment ("*": every segment without its own). */;
        CREATE TABLE IF NOT EXISTS "collection_route" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "site_id" CHAR(36),
    "currency" VARCHAR(3) NOT NULL,
    "integration_ids" JSON NOT NULL,
    "version" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    CONSTRAINT "uid_collection__site_id_fcbdc5" UNIQUE ("site_id", "currency")
) /* The processors to collect through for a site (None: any site) and currency, primary */;
        CREATE TABLE IF NOT EXISTS "reconciliation_run" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "integration_id" CHAR(36),
    "source" VARCHAR(16) NOT NULL /* WEBHOOK: webhook\nPULL: pull\nCSV: csv */,
    "file_name" VARCHAR(500),
    "started_at" TIMESTAMP NOT NULL,
    "finished_at" TIMESTAMP,
    "matched" INT NOT NULL,
    "broken" INT NOT NULL,
    "missing_in_ledger" INT NOT NULL,
    "missing_externally" INT NOT NULL,
    "tolerance_ppm" INT NOT NULL,
    "actor" VARCHAR(200) NOT NULL
);
CREATE INDEX IF NOT EXISTS "idx_reconciliat_integra_a39988" ON "reconciliation_run" ("integration_id");
        CREATE TABLE IF NOT EXISTS "invoice" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "number" VARCHAR(64) NOT NULL UNIQUE,
    "issuer" VARCHAR(32) NOT NULL,
    "year" INT NOT NULL,
    "sequence" INT NOT NULL,
    "currency" VARCHAR(3) NOT NULL,
    "total_minor" BIGINT NOT NULL,
    "paid_minor" BIGINT NOT NULL,
    "credited_minor" BIGINT NOT NULL,
    "status" VARCHAR(16) NOT NULL /* OPEN: open\nPARTIALLY_PAID: partially_paid\nPAID: paid\nOVERDUE: overdue\nVOID: void */,
    "period_start" TIMESTAMP,
    "period_end" TIMESTAMP NOT NULL,
    "net_days" INT NOT NULL,
    "issued_at" TIMESTAMP NOT NULL,
    "due_at" TIMESTAMP NOT NULL,
    "paid_at" TIMESTAMP,
    "overdue_at" TIMESTAMP,
    "voided_at" TIMESTAMP,
    "void_reason" VARCHAR(500),
    "credit_note_entry_id" CHAR(36),
    "version" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "account_id" CHAR(36) NOT NULL REFERENCES "credit_account" ("id") ON DELETE RESTRICT,
    "customer_id" CHAR(36) NOT NULL REFERENCES "customer" ("id") ON DELETE RESTRICT,
    "site_id" CHAR(36) REFERENCES "site" ("id") ON DELETE RESTRICT,
    CONSTRAINT "uid_invoice_issuer_33445d" UNIQUE ("issuer", "year", "sequence")
);
CREATE INDEX IF NOT EXISTS "idx_invoice_due_at_9d3044" ON "invoice" ("due_at");
CREATE INDEX IF NOT EXISTS "idx_invoice_custome_3cc1cf" ON "invoice" ("customer_id", "status");
CREATE INDEX IF NOT EXISTS "idx_invoice_status_52f2cd" ON "invoice" ("status", "due_at");
        CREATE TABLE IF NOT EXISTS "invoice_line" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "amount_minor" BIGINT NOT NULL,
    "description" VARCHAR(500),
    "site_id" CHAR(36),
    "occurred_at" TIMESTAMP NOT NULL,
    "invoice_id" CHAR(36) NOT NULL REFERENCES "invoice" ("id") ON DELETE RESTRICT,
    "entry_id" CHAR(36) NOT NULL UNIQUE REFERENCES "ledger_entry" ("id") ON DELETE RESTRICT
) /* One ledger entry on one invoice; an entry is on at most one invoice, ever. */;
        CREATE TABLE IF NOT EXISTS "payment_allocation" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "amount_minor" BIGINT NOT NULL,
    "by_reference" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "entry_id" CHAR(36) NOT NULL REFERENCES "ledger_entry" ("id") ON DELETE RESTRICT,
    "invoice_id" CHAR(36) NOT NULL REFERENCES "invoice" ("id") ON DELETE RESTRICT,
    CONSTRAINT "uid_payment_all_invoice_a5a1c9" UNIQUE ("invoice_id", "entry_id")
) /* Part of a payment entry applied to an invoice. What a payment leaves unallocated is */;
        CREATE TABLE IF NOT EXISTS "collection" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "customer_id" CHAR(36) NOT NULL,
    "amount_minor" BIGINT NOT NULL,
    "currency" VARCHAR(3) NOT NULL,
    "status" VARCHAR(16) NOT NULL /* PENDING: pending\nPROCESSING: processing\nUNKNOWN: unknown\nRETRYING: retrying\nSUCCEEDED: succeeded\nFAILED: failed\nCANCELLED: cancelled */,
    "trigger" VARCHAR(16) NOT NULL,
    "reference" VARCHAR(64) NOT NULL UNIQUE,
    "route" JSON NOT NULL,
    "route_index" INT NOT NULL,
    "attempts" INT NOT NULL,
    "declines" INT NOT NULL,
    "next_attempt_at" TIMESTAMP,
    "lease_until" TIMESTAMP,
    "processor_payment_id" VARCHAR(200),
    "payment_entry_id" CHAR(36),
    "last_error" VARCHAR(500),
    "version" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "invoice_id" CHAR(36) NOT NULL REFERENCES "invoice" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_collection_custome_837f9f" ON "collection" ("customer_id");
CREATE INDEX IF NOT EXISTS "idx_collection_next_at_10dcda" ON "collection" ("next_attempt_at");
CREATE INDEX IF NOT EXISTS "idx_collection_status_1c056a" ON "collection" ("status", "next_attempt_at");
        CREATE TABLE IF NOT EXISTS "collection_attempt" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "integration_id" CHAR(36) NOT NULL,
    "kind" VARCHAR(16) NOT NULL,
    "idempotency_key" VARCHAR(200) NOT NULL,
    "processor_payment_id" VARCHAR(200),
    "outcome" VARCHAR(16) NOT NULL /* SUCCEEDED: succeeded\nDECLINED: declined\nFAILED: failed\nUNKNOWN: unknown\nCANCELLED: cancelled */,
    "status_code" INT,
    "error" VARCHAR(500),
    "latency_ms" INT NOT NULL,
    "started_at" TIMESTAMP NOT NULL,
    "collection_id" CHAR(36) NOT NULL REFERENCES "collection" ("id") ON DELETE RESTRICT
);
        CREATE TABLE IF NOT EXISTS "reconciliation_break" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "last_run_id" CHAR(36) NOT NULL,
    "integration_id" CHAR(36),
    "customer_id" CHAR(36) NOT NULL,
    "currency" VARCHAR(3) NOT NULL,
    "external_balance_minor" BIGINT NOT NULL,
    "ledger_balance_minor" BIGINT NOT NULL,
    "difference_minor" BIGINT NOT NULL,
    "as_of" TIMESTAMP NOT NULL,
    "status" VARCHAR(16) NOT NULL /* OPEN: open\nACKNOWLEDGED: acknowledged\nRESOLVED: resolved */,
    "note" VARCHAR(1000),
    "acknowledged_at" TIMESTAMP,
    "acknowledged_by" VARCHAR(200),
    "resolved_at" TIMESTAMP,
    "resolved_by" VARCHAR(200),
    "version" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "run_id" CHAR(36) NOT NULL REFERENCES "reconciliation_run" ("id") ON DELETE RESTRICT
);
CREATE INDEX IF NOT EXISTS "idx_reconciliat_integra_f62679" ON "reconciliation_break" ("integration_id");
CREATE INDEX IF NOT EXISTS "idx_reconciliat_custome_514218" ON "reconciliation_break" ("customer_id");
CREATE INDEX IF NOT EXISTS "idx_reconciliat_status_2924e3" ON "reconciliation_break" ("status", "customer_id");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "invoice_line";
        DROP TABLE IF EXISTS "collection_route";
        DROP TABLE IF EXISTS "payment_allocation";
        DROP TABLE IF EXISTS "reconciliation_break";
        DROP TABLE IF EXISTS "overdue_hold";
        DROP TABLE IF EXISTS "reconciliation_run";
        DROP TABLE IF EXISTS "invoice_counter";
        DROP TABLE IF EXISTS "receivables_policy";
        DROP TABLE IF EXISTS "invoice";
        DROP TABLE IF EXISTS "collection_attempt";
        DROP TABLE IF EXISTS "collection";"""


MODELS_STATE = (
    "eJztfQtz2zi25l9BqWqrky0lmzhJd1/n3lsly+pEE8fySkoyua0pmiYhi2MK4BCUHc3s/P"
    "cFwIf4FkGREslgqqZjgzgg/eF13udfvTXWoUlezgwH9s7Bv3pIXbMfIu190FMta9fKGhz1"
    "zuQdid/jjji2qjm0bamaBNImHRLNNizHwIj1HADLxha0nS34P2Cr2jr9Z6lqhmnQFrwEzg"
    "oC9lx1sH0OnlbQhmCFTZ30gbZS7XtIgIp0cK869KcV/SKIXrI361ijrzbQfZ0v2SDjHxuo"
    "OPge0iFs+qo//0abDaTDH5D4v1oPytKAph6B0tDZALxdcbYWb/vyZXz5B+/J/oA7RcPmZo"
    "12va2ts8Io6L7ZGPpLRsOe3UPEvh/qIajRxjS9GfGb3C+mDY69gcGn6rsGHS7VjckmrPef"
    "yw3S2DwB/ib2n7f/7X1aqJuiXE/mymw0V5ReYn7ZJ8Rmw2vSMGJrw0AOA+pf/3bH3QHCW3"
    "vsBcOPg+mzN78+5xBg4tzb/CGHq/dvTqg6qkvKQd+hrNGlmcR5SOc0HWe/fwxp+qH1YOzD"
    "UwOgvbX6QzEhundW9Ndf3+YA/HUw5Rj/+pZjjOmOdbfxtffkjD9iUO+g5f8KQOv3rwZav2"
    "GH7e58OTq4Z69eFUCX9sqElz+L4usYa/hPjIQwDtMcD+fel/mwrmOh7lWs2ZChoahOEudL"
    "+oQhmnFURChjaOse6Uv/hzaucfoH6hNkbr2DKwf6+fjzaDYffL5hr1sT8g+T4zeYj9iTM9"
    "66jbU++zU2TcEg4Nt4/hGwX8H/TK5H8WM/6Df/nx77JnXjYAXhJ0XVQ2es3+qj9m92Ey8f"
    "QrcEa7hTtYcnyg8okSe75cGZgOTKuPDI/vg0habKgU2uAY9Z+ojdxbNn9r3Pbsrk/9tf7n"
    "7rbhHs0IGIDgIPxOcK6vfQHtGhth2FyTTWhnMgSozlvmLjtPAgKQSSgR6xoR26mMbuKB1a"
    "SOyUwmc469xKPlqfreMtKlLv+Z/E3s3e5KE13BAHr7nckpDxgmf9PDlPC/faJ+tlgyHlqI"
    "bLUU1j9k8nSNXC6xN4v6aXqQjCIZLugVw9n28b5EGxbLw0zIyFPEKbNYd6TD9MRe4lEoE8"
    "PsYRJaw11I3NWvDM6F1Nvp0DEz8t0OfR5fjL53PgjrNAH8cfPp6DlXG/iuvKikzP618LTM"
    "/rOH+/mx72KLYBHNXZpNz9xSZmR33EKaE3nfEIRadkMJyPv47OgUu9QJNr5ePk6vIc0K9m"
    "wsYCXVxNhp9GtOXOxNoD1JsxQdrGtiHStkLKtBBNB7U+bwpg/CYT4jdxhC3VdigaShpDk4"
    "1xlKoUyvs54dNdBK/Pfi+yks9+z17K7FkU6UdoE0+KiMI8Rk46yiGKGMQGqk0ie10Xwvfs"
    "C16cvX7729vf3/z69nfahX9l0PJbDubj67lUof2kKrTwrG8sveSsRynlrDdl1n2MQtMeaC"
    "CEFafwhwNtpJqKDZcH6nRG3lBTuGzhYmik8qs1IAlpvyJXkm44iqppeJMmVvuoThCcY/qf"
    "/dgO+YiD3YAdUi8KaAzDezFFaRjbqtl6w/DxUL3u8M8e2RIHcnk5eBPlkP92iFLxwrjP5A"
    "9Tue8U1tBbFc31GXBZw/84O3vz5rezV29+/f3d299+e/f7q4BHTD7KYxYvxh8Yvxi5rXwG"
    "MlvZuJu8wsqwgKKDcmb1yrDwnhBAOUbWQahrUe5K+Sgb/XZyykXkI98ylrrHsg1UMbIqLV"
    "XNYEFKGKYSAkgS5STEf2AbGvfoE9wmdMcZHF5oqHZCm+DuaLOtPgX8TXxxUQzoXw65j29v"
    "Shf8dDykd3O2eFenLXoKCbQfoU5Zx5l7m6fwl8lOuVym7XVnXKay4xGKOCVTCuBSABUBCi"
    "m8t7mIQJ8QbD5CAnw0CbjbMv29uQUWnSbNsOigwFmpDlD1tYEMOood1+LX8IoFCo1BgGmg"
    "B/YOQocGhtMHBAOEgacwBhp9p2aqBn05eIRIx/Yvu/cBesz00nnroiz0aS3GHfS8zXFylg"
    "zGT8JgCKjiavUbiihD0pyH4tqSHA+ihKpm//E8QRBY7AzzjquXYKhqK6iDO9VklzwBa/wI"
    "3fPyyXBWPL7Dc1bkgRzcrdM9PzV1QyDrsE6GjdT4Hunx1ADGMvdQlQbvmg3e3s7n3rEKZW"
    "JwChefp3RLpz+effZVXaAfUQkXcj+g24NyAt7JVmY+skaQM1JuRlaMsMQ8ROkk+uXQR9BR"
    "dHWbYpLLBD5McjzY39SMe2V+Iq6Rk75R0bZaeS/MlGGO6YiJkbMyt4K8TO9mNFXm08H1jP"
    "n/Ta7PGVupUKwRUTmftEDfRqNPV9/PwROED+Z2gS7Gfsud4bd9nlzPP7Km8Fec3DVQulNV"
    "uk2kY0021O2U5rMca5ptLjipCq1CY0GzwjybtqWaGufZSpxY1hNFRnsWQEo6vGWAlFTbFj"
    "F2+n5sRzB1NuFaqMPQeZBCnB/+KXpw/1LIVn+v/B51Bs/+2Qup171gqb9J/fJJ9cvqmk1I"
    "Gf1OnPJ4IlRHPA9DJ6pqORsbllKzJWmlqq3kLEhTS82mlhaG11oQ6QwvMbh7N6Pry/H1B6"
    "Zg4/QLNBzczL9MWUCtv2MX6OtkfMlaKPuos99Hf70Z8y7wh2XYTYm5teESskUu5EcTIaop"
    "HrRrHroEb2wNujCV3SPRIZp8JPW+zEbTc7AhzGVseDUeXc/p3jANKuUvED2dRx+mA1dJHf"
    "InW6DZ99l89Pkc7PzoTr9DPNTF3NgjRE2eqCZtEfdgJCW00lHK42ilG6KqbLgSOsVpXXoS"
    "dsz2IEO5f8ZZL2Jx8lRCgganKJUMT4kzJMwCIIZoiOQAOBvGtNcS7JMZzi0e6yMYzd3Qxb"
    "pXDx7drRlq8Pj6rQBfv0BAKxftXlRDO1Y4hEomzz1xztMwYikWmxig2YYbk3dUYNBzf1AZ"
    "Kxuhv2DRAi/BDaaryHiEwNXmE0ABIBA8sVABFkUQRGLhJ0j6AMF7lXfHCBKW0o/FaDkphS"
    "7qeYegicmGGrZ1ly+UdqbT2pke6N9XVqnl0zZZScKx+TA69wq1MA3W18l4OGLaK+4dsEA3"
    "g++fuZLLUrdrruWajv74cn15zsIjN0hfoOF0dDmes9ewgdy4AoQdSju4/MuX2dwlV/W/0x"
    "3jj/B1NJ0NrtgYzJ1RNZuhEZNmRWnQagj0dRq0sG3cGywVSfn1njlEqYXfMNbqNOs+gLTM"
    "Bkgl7p4Bq+KNsPyhMCREgA6RdA/et0VsH2+zTR9vpXFQGgelcVDMOGjocG1Rdpke2soDFD"
    "r1U0i7dyjVZJGNplAsinicTsJdCO7wlwmgHSPrHtjvCoH9Lgfsd0mwMRWp3UCKFJ4eYxOq"
    "KIOJjBDG0L6jlHUd4EHLcRVDF5PJVcTeeDGOcenXXz5fjOjNyeGnndySvmnMu8YZ7zJm4B"
    "hpB+3A7bX7Js39Ye2s4ETHSDs40S01+Bdx85AG/xoM/ix+RxDREIk0+Cc8njdIJ4KARqlq"
    "xbQhjoXSI+VkC5QZe6D4Co2QVYhqE8IxpZdPrfBKL5+Gevmk3FwVoFq1S08T47OjN3YBeP"
    "0w6QOx7VYt9jiqIcbyAL80d25YIr8URa70TYtIVKaJNTfd9mFQ3biOKYNgvA7dVrkpLXzG"
    "KAmfYEqLwxZbE7ioAodmhIkUT2qRgD1/jxcvjtX9ne75kimmgVI4J3HEvMw1V95wHUFM0B"
    "V3l+UoxRE3kgIp2w13l3KJ9ytQ2YFs7l5wAoCR6wur7jxh1+qWecMGybuByrpBwF6T4m17"
    "4GCppcvCqVoYgy2LljXI1ynbz7Z0GuuT5a/uyJQkUliXT10tM7kcOAMyZfUp0ZdxvNkT0k"
    "6zXoo9V8bxdtpq0h04pYr/51HxtxXWQyJ56wxSHWzoqh49wvTqWqGn/TzZWGX9FBh0FIlQ"
    "dYVWlaxeaCsKINR5ISw6AFTX4NlOyO0DbIPbW9fv+/b2eW5IaulBF2iBhoyEjhmmoUuSys"
    "2swBYC9ya+U036EjqJBDzZdGoJWNKBdGPJU6I5C7Srp6jhNZPaDcQKIlIyaL4HUNVW/sgG"
    "oT8ZpknleUdd01e+gI+GTgcB/NOzxXeXnkvv8B8J4f3PWKIcvyi5FOgbJ9DvJrJw7EBA0c"
    "HAgeqrkLP9IbS+PQKpISktIdLTH9s5oUxZskKYqoNru4YwbA6ZWOhRmKaDINcSleFWTxJE"
    "+ZBYjAIYt7/UcCgo4O7vUHOET4wYWQdXc21Qi50ZESK5oPejfAepSJCylv8ym1ynQ7yjiO"
    "tFDc0B/w+YBmlhgoAcXBkUEd2nj+ezz4O/xqEeXk0u4gogNsBF/KBeOmmFS7JhDwgk6uVR"
    "tyH9s4nooRKl6l7IYvWnisybW2bJN9zSkoygsmz4qDD9lchuihBJTqjAbhJFWIK7B9yEKe"
    "ZEWm3LGPJMIr00pXbwsJ+r07YMRdv126/SRmAy2DgrcPbylZfHBDxz/1VYojf6r0Epn78H"
    "roIaENWka4VrqQFeAsMhgEDa02Eq4QdopSVdrOcd+5MuCmmOfxa18YGFeLMVwt6MivFSEa"
    "JqDqjTglzz2c//FcDX79/Bs7+eUjf8nBFmYmJkXUT73bsiaL97l402exZDW8NWWnDDHP7I"
    "snEEFJ3AOI/7H/11ni/wBsz/1eT6g989LgXHBF5spuGdI+v6BJ2A+whLukGFgBqmZOiSpE"
    "tlVvxQMkVMmFLOcpNnWaqtOjvNDRH5Z8Y989n6BFOLLYSe9vODvHg/P0FkIalfJdv1GtJJ"
    "1sBfvs2oVL19z4seWLbxSJchbfzEpG2INHtrMWlcdQDFPF28P2gwKcc3S45/EJPgH6TsXl"
    "B2V817bBvOSshpLkLUQSa8et8i79BR/v70ICJZxsg6AfWxxUvJMHWWYYpKP45RLhNqlFJK"
    "P02b5YawxXN7wwKOx4RsoD3lSVXT+OO0brmMsuMSKAanKMgrswgIhy5CYGHbUc1fCJiML4"
    "eUt8Us4sEGFFLK0TorG2/uV+CDrVqr/3sFng2Hn5X59MtsPrpUxrPZl9F0xroSsMY2TIsD"
    "qe89ksNuFoe9W35FucAdRef47FoSpLPQLuhF7hXmtEM0neD+joAzMw8omqkaQjJNlKqDWL"
    "8uhPXrHKxfZ2C9Vq0k0tleomGagxxFm4b3sT1FvbtZfK0nCOVyL7bcA8WHkL0yStVBrOsx"
    "WiL2t6eF0+YVEwlRHbGSiM+ptLaQiFSSlJmAVojPMtvQTzHNDdGSDDQNEpKdBiP0uJ/rM8"
    "w7CiXCAPd0tf1CgEsKVMeBa8sBz25v3ZaXXgvUb2+f93maCZ5tg2e4YLSAOKpDWU9DI2mq"
    "kKqHr1gDIrNMsGfHyDLhZyQRTDYVI6s34VQ7Sko0In1Xe9T1Amga6A5vkO4eoIKwptFWuV"
    "qbkLn7QHjvbRU5wsJJiKqccNKepVqhbMLuThFx2+/fvSDYWnQasoZkh6UCKeMX22btTDVb"
    "pIJkqOS7MBsQp5Q5UvNzpIYQSwItnMdzHB2tnQDvTeeZXGWNyup5oZpslqaQOUD0UjQa0Q"
    "79PJ3GndtVsXd9C2g1PCqgIuCXgQdulk3gDgR1poTwur3027gSgsUlc00EKwKMNMM0ONBp"
    "2o26XiO1HFLLIbUcTZTLm1hQ61AdEt7YYg42O4rj2WV7T/BuhfFDr67zo2Zndv8eK1E0JE"
    "EqE8MKHtjhA5rK3khLqQaXk9oiRNNBR4Q3BZb6m8yV/ibh3eQxOaWcyiOkHZSZWyIjS9WI"
    "VI1I1chxWDGpGhEBuO2qkbErjmT6ekSe9/MUIxHBppheZL6CgJH9OAcqeIS2QT9aB5pqmu"
    "yP6wMqhNq0wU0EDAyepY0+oEeByQrf6kkVSCUjppYXia19X72i+IVEIrVGmJPIhsODaEfF"
    "cyph9wvtmhjLhho0Ht37R6woSc7hdgKDb+8/lxvEs7wD/ib2n7f/XZeAdIiwma0wCc+rAE"
    "seI+sgV15LUjRXCcJhEgE7QtU9C3EtUGsqwsigJ6Ew3EnK7kFeQ5Gd4ApI4jxCm3WCSYpq"
    "tALqI2q0/HtI8MSmPMxwNP46ujwH/ggLNB3Np9/H1x9Ym2Nv6Uws0ODm5mrMulEmwjRYr/"
    "GH68mUtVDGkV3MC3QzmH5iDZZqP7DfL0cD+ptOxZf4XX8atRl9nVPmzIrTdfCGqMWxxVK3"
    "JlZTbUhItbdZoVEBUdxFa+u4WQfbdVjlqRm9OLNAVKdoXoyvB9Pv6fk2LlLi0i6+z0eDJn"
    "sUtWc6mqQ+KaQ1CwsfgvMcIz2O3qwh9qzWzbN355aY5iil3M2NnmVX05DCd2Za88IkxzPk"
    "vaqLJakkw0YoLXpMfyO4d1LI5QZq8gYyVeIo0LbTbOLZKd6iVF0Qj/PmtJYEb6d2VGoP/g"
    "KuNPQJ+6oEoDl5PQIKWf6tfFIPaZSURklplDzAKLmbhFSbZGSO8kyS0Y5F0lfH/KZfgrFD"
    "gGfbBF4+bK9oFAGqDcGM/3yBfwDNsFbQdugI5D14WhkmBGpca1nDKxbIxg7/IwF+hLapWq"
    "TvJcmGjwbeBDWuPHsoAQ7GYIMcwwS3t34nxas0sysWcXtbh++3NFlWbbIk5uZeRBXt9+9c"
    "wj9ZFKttRskH+qeVNZH5tE3Guncz+P55dD1XbqaT4Wg2m0yZZWu7ZpYgy8Ys4wi2F+jiy/"
    "jqcnz9QZl9n81Hn8/B3cYwdVZ4wb0hFmg0vTkH0LYWaDilzzV7XcYc9uasiGvtWbZv7Vky"
    "JTpe0ktIZI+ESJo8dY05g2y49JaBCMpRKgl0EYs9vGcbM0V3mi0uh2lkGsxDCqazCgmmsT"
    "bowQhtxozitKshU4udSd+l2JTKtNohtO42NknREBUBOiCVGKdg7MpTIlrkHUUnzutjq5Bj"
    "kqwI8imkUol/8Awo5UtW5o8kTWhNNqF5U+bporyrWMQinT2AvGhSLhqZY3mvj1x1ecxcJX"
    "kZN5oopTzCGn2EbZGmLG1IgUXatswRljlAqSOsYVNd9QnG3ScYZKU2VpJabq4mby56rZNU"
    "Y23mbgpRHI8DeN2SzSPD3rOh7m7YuywC0LVZTzk7+dcnXF+yfTJCfsChzPspfMuFR/7Hpy"
    "k0A/+IdI+YWLb/li2GLI+Y1FxIbr6XA/FK5BLsImKRYP8DAYunGOgiXnjjeIAh3cLGwZhN"
    "vPFG3nBdwq1Oz7IbGzuY3oU3rhE6uwJsesd+nreZ5ZEoIQt3oSqwbnewsVjQYrIS63vuzE"
    "VWhmXRhxhB1ymM0TC3Mf7US0ZHwBKbOrRTi8DW9BpZA7ZZNWBP67PUaXewrMyUOSa9E2Sm"
    "7JBBSaoKKjgqpKqgu0KjVBX8jLNegaqgTiZ7YML0NPvug1wmWg267OWcv9mG40Dk86aEvo"
    "vCoCKiug79KuHt2kpF9/TJSnUAnXnCuFkHPGOPuFT2A9j4CeBlgmWuePwFMtCjahsqcsCv"
    "z98D+qcbLCID3bP+DgYWxBaL52BBINxzk/DsdIDKgtCmIKAXdDwZktGGkIxsv/Z0nOv2Ze"
    "8UEw7ZrnEyMmYXSK0Vom8yU075tz8m5/T0WeIF+jaYXvNsWvR0RjyZ1nA6no+HgysWDGA4"
    "LD1b/AArMj3VJ8haQ0LotSCy+kMkTZ6QkjvgXaHAmXc5gTPvUrL5NT9cviGJeoTKejQiar"
    "uL0OrQUQ1TKLQiRHL8yIoQE8JisRwDkZfstafgQ+qJt9iYooV6QyQyz0YUzXAK6TIZtpLk"
    "0oWpObJ1UqUSmbA7oeItKaRdCDU4QrBwCDkeQIuwWEnhLPruwV8Py9kq5fFRJd52ahGzdM"
    "elHI7oZjKWVApl2B3qcMRUgNeh8VooAp7EuSEJXJYONo7uHn2sguL99ypnJwgC+GJNOXiA"
    "l6weKR+IqTkxfWJDzbAMegj3wZOnZX0ynBXXp7odw/pTOgD9LaGfrf4VC+SNx3S6CJrPXW"
    "UsHQSoDjChShw6tgbB3dZ1h8D2A7T77sAsz7kBSUEFbW6NEKm9Pan21pt9Ed4iRNJBFVb1"
    "WsJgd4qAHCHqIMxvzoqwbbRXToKWBNvWvjoUJVTlN6PrS64etyDSuXo8rf7EbHQ9P+fH+Q"
    "L9MRhfsToTS3rcw4bUlmhN8ubGe8fJ/M0V3aJNklcKaWby8jdn3yzdy998BIUAO0hLbKkQ"
    "mdxKTd5K7VL4SL+x8hqfCBPCBX4xQTNMI9NV56erDhzcouAKJ6oOfOnaCereFNXhNRVJTj"
    "0czIaDy9GpclP/8WOq8g9JaNa8J/08ddryh2L7nfbq0F4DOmkO003d3t6pBN7egv+iP7IB"
    "6I/sGXEf/mODWVMfLG28pr/D5RJqjvEIeRZngFEyHqjisVNL5rJx2UM+BPshTJuomiuk9L"
    "ow7n+WQKH/ODt78+a3s1dvfv393dvffnv3+6tAJko+yhOOLsYfmHwUuVj2hxP5k1iUlfb7"
    "N1lfUFY/U0Q7k62bifPPwbYoCm1AILHdh61/yBZWLaqdRfZtEdHvbbbk9zZZtTl8jAuKBn"
    "HaDgoHLREGpAwoZcByVv862euxDtcWveaQts0Ozk92ymW6jV13xd7138t/z1cs/N1mRt+N"
    "o+E15HZm8AC3UOdGZUpjQ8tU2e9LbO/ChGgXbjrmCeCIk2S/qx06lfsmGrb4vsJPdF+xHy"
    "ip5LrbwXUHk1eUgQkIOsjBVB9DFGyJovAGBB2E9+xdIWfNdznOmu+SlV2gkFes172L6Nbh"
    "Cusd/spKJSshMSdG10G86yjAQiz6xpTjOLeMZkAj64IcEKciBZDsdS8FkBoEEJ5Z7cdnLy"
    "Q1RfiIdsgVPFznUiUU31rMcdZPKYCBA00TeH6qhMoxQL1jSQDApZtM3PVG1Q1iqY62gvo5"
    "7+tnFuCZCBKiR9UvWKA7qDHJhGULY09dEcuraqn3WZlKbQVsnhmBe8qyAOwt8FDpsyQHjO"
    "z21svdc3u7QK4/LvDjVX8hgG5n3XAAc0iD4JlHTNzP5Q6/fl/+Hb7L74ZuTZvnZlig0GCq"
    "puENcoCJtYc+IJi9zLDp1xL+nSzlAxXK1sxAYtMBnteRdUEKU8cSploQLN2UO7yL0dItxJ"
    "anVXXhEODuo1Td82KrnrVnR4YIW+/3P4ilbxjGx+bo+Q2uuByIaNGaBO0RS9cELa2tXSNl"
    "qeyDRspSdclSlAUfuA70vSxpKtRlvzzFsmirod77JKrsNVAkSs8Tdbh20nuruw/EgvQks3"
    "8sZj8ySYLHXJy2gwddSw62Qs4Jjmrfp9X5LBbatqNusha8dzMdfx5Mv58DyzbWqr1loWtX"
    "VxeD4Sf+ApOd1HEdz2nC1za2UMis173J4Jc3+RS0+eQafTJCOSmEeopYmF2KLkol68+lFH"
    "XceNqItUjsZYxKhl+mFRr37GAK/KFB2xIqypxG2wWlRt4VXEcSfR7XqGimSjLCwDO0SVGy"
    "LiAfuwELndKvcw7p1yln9EbTINTFNRthuiNqNU6zzqstyMsFNEEddIxMRq3lR62FxeADA9"
    "d8if8yNGQ7Id4bwxZbZE0KY0vMQo5uJjxTBZQzEZVJIXu3Z831Uzf5NdJegttbr+IURfD2"
    "lhl/t2TnCqtqNibET7zEvGLjglC1oy+QL3ARbjRWmakbsr8VaCoCuo0t3mZBtWie/j97MF"
    "TBLSclVB/kZoxij2P2ypDO1n0c+l1IdyUTTFWdYGq37EQYsiiVLNe117p3Mitq0+6ruoGW"
    "Dha1JJU+XSaGLqagz6wll2ebObScXMMW5jFNNDvkLXXLSo4mkc92tAiRSPfpA50t2pX9r+"
    "el8BPk6FJSAM78FhK0fBkOR6NLlvcv0LekpwqMpgdklDej6cwnteip4NLOPo1vbnjjA6+b"
    "2wxLTGsSCb6q95yrTI3t2d4Uthw2bLsVBzaNVAIs0zT+3KZ7nnCxnD0zjbRDvFllW0pmwj"
    "xeaQzXIbWMY2WEUvobNfrQkv6z2ZusW/6zsnx2l2c9ZbN7X58weJaa9zitZEWbM9HJ/e0b"
    "4AQ1rTEy6UCQ70AQNnNW5EAwCg3ZToj3OhDEFlnEgWBKV/50PJzneRAkVEJe/qsDK3SlBG"
    "10ZAJqrc+VWLg5PhfhxV3A5yK8vfb7XHxb0duJO0OEQnF9ZwYCCN2OUA9F+bux/KyZYgoI"
    "pOysA56pYEZ3qq7aSbeLql+wQN9c4zdhThsr2kFhDhu8n1uki+UrZikCIHIM+kcHOdMeKT"
    "KYhfwPbsY8M8CME13gHwukGRb9Tgf+cMh7lqXAhMx9Azvu12L6aaZqkX443YGm2vYW3GFn"
    "xb9WdZhKD2zoS80Fur21bPho4A1R3E9T4A/LoB14quQ6cghI14yqXTNkEEPNQQy+C5UiiH"
    "ScrnuqqboQ3zm0CNVfj5FJM+wBZlgm5dG7ml0LGKVxX5na7hTK41mPXrfFfMT+cMU01oaj"
    "WND2wBJAOZNeGhbSPO53nyFwgMfIund+11RkizGSSZyzw6Z2FJ3gSo4dLRVj4UWQTyHtwi"
    "o/8QyEhChRRWz+SFIt22S1bEiYF9mDMTK5/0rEiyKGg2gAY4jqiOGLvg6iveGLBuG4KTZU"
    "iSBDlSTtwnI/AlPFfPHoJyjE8AwNIpdKgljeI02+R1yDSUkzLqzUfC9nubZZzgzuqC2yo5"
    "xCpa4zs2IRX3o6ZUPdTp8X6en0M856EU+nhuRxbtqM1+IFE0IsCbSwI8w4Olo7Ad7rA5Nc"
    "ZQe4wexM+SnibQkPmA4mMYnFD9KDLy0rWhmwZnywLkF1DG8hD7UcX6EdrgU8hciuc6ECiH"
    "RyIXFeuHU37jB+eIDQYl46eMkdfJ75rkf9oALH83NeWINVMvScajh1L4Z1xcMvkJ94hlUU"
    "2ZUsAdhmEaAOT9nicf2Ejm1u3VofquNXLeGpXLILKoZ9rMKpC2RJxQZFnTe4CkhDT7UD0y"
    "q4G1gplV0hSduZyNgjp1hgB1y5OYhTyhkoNwMyjECGETSFL42LUHlhBCfOQzhgCYumGw5v"
    "gsHdPczlbd2kR7bfby9bOwAbxzAN4vp5Oyu6+lbY1M9ZRW5I3JJ3TyuIAPxBV+fGhoCnAo"
    "TM+TzordxZt7fArVOX4Gwrf8MCce80sLEY5IQVB3+h2msC7qCJn2JU4AVYbYkDaYtB+Cgv"
    "wYzVhz73Su/5PM0CPUOYMsf3a84f058DHrvP2Gr/AeWgwxX23nOGeU03LiAW1IyloQGGPm"
    "Ol1QUKPgU8GYiwNIvEcCDPseiWD9x1MBgWvDwfYH1+IYBs7l64fyqldaCqBwAENfvY05fg"
    "Btoa/Ti3CKDNS/at6G62oe6siFtN3XK7gGe/v3r1CvwX+P0V+F+1lPKTbvhVu+GHl7OAUS"
    "dOJnOyp3AqkbNBANwEnUQ3lRPnh2YS12xHjhBJ9xw4fspsk+3Ljuhd0SKAhkhk6s5kQhgE"
    "0zwXs+NtwjQy2OaAYBubsqSWAVFa/rts+KNUcgIOmIA2OZCeBvYKHUhb4vnUIg5OOj9lQ9"
    "1ONxjp/PQzznqW81NCvVzEcYSbmA/0gwjUmTPfHN6yhXASP4gYanlq4gDXIrpiJXBKKJQw"
    "hekJWXoQpudcqYRrcnWeZkQNFKM8EwnCjqedpc95kMB78GQbjgMR2NB5s1M1xpW/YYF8ml"
    "8ICHSnWHvIdnDwNejSuaGh1kbp3HBkOZ5vQUE5JqCRUkxxKUZm0C0zAQ3ntpJMNr93xY6o"
    "EIk8nvKdI/z7+0DHiIjVvZ247vWICK2qRnlDWJaNH1XzBpuGllqTMdYjn9f1+irWrnOheo"
    "w2fgLPDB28fu4a7O8o10mAb5ZnWg7mqnCPmSUfb+5XfcarEgesmcctt/qfJxjcisZlWfb+"
    "/NeC2ZjGHoXnCbCgb1n0Xr9a0FdHng/WjPf1H9P/vXzldfIBIuzh6/4CLXo2vdn5r38ueC"
    "4Bw1Hc2bJdkqWB2O5ZsJqKtDf8x4Zd99OA6m90Nl++fPm321vXS4Ll0+d/J2PpFwhh+sf8"
    "MNYqc4vYqZyZZ8TTCjN/CPhizWvOuP4hrJwk3Vh0jCeVpTjk0oD31XV4Mvws7PqBysJsRp"
    "wvaRG7Q0AgTQ7S5tPeCZBmiKrNEFIhXWZxt0IkEtBA18ltXjHGy2co05jNaIdcXtNNnqiG"
    "+xZiNVkpPYx+cZM/v8BLFvW143reu16chLXxoZmzZ8ASMTfal6mMZiWjputI3V4eGIxWqk"
    "nboyYNpowjmZiIbBe9BGEncivWXocytEPKgF1lpfNGQX1WNNNzXqLnONpcdBVif30Cyfke"
    "wPlqeC3q8Bsi6Z7Dby0Z23Qqqekls3iFKSUz3DhmOCrGc+5K1EQQoZJWgj1Wgh0He6ChgI"
    "sHQ25/m+4GbSfG+y0GkUXWJKNByjRkyXKJydon0LnWVSUs9RQIr3Q1+i4tV1yzhB5Mdf2M"
    "/t9SifOc1+sJ1O9MGa5tbJuForvvXRsI27e3TCGeHl9Z9Sv8AEuudWf/qgSsVR2eA2PpKv"
    "L54zXlSz2fmz4b3NzygkV+RXgCdoGLBdXzf8adMNzSxq5EKSMQTxaB2AaPmvaFGblb0LVF"
    "FuaWQzQdlAXfFOCW32Tyym+S0XGJQ05M45QxQJd09EdODeLdnlQIKT0pmUPIaTlgWkQzrs"
    "tE66LVa/DGTsuwziAeoc06IWhEA0wD6iYf+70vs9H0HGwIy6fxdXQ1GY7n38/BIzSxZjjb"
    "BaLCwdX4+sM5IJrKMsfHudnT6Gbdtex9TnGDeYjoIK1hw/bCsZWGHpNfdmME1HVtjAo4y9"
    "7N6PqSr3sLIp2Cv0CDm5ur8ejynEtOBtQXaDr6y2g4Z002/DvUHNY2HFwPR1dXrFFjf75p"
    "stbRX2/GU9bmFvGhLbMvN6PpbHTJGgMJLFGL9lS7y7+v77bCxqZU4iYfgY0xOIWRK4t4R8"
    "Gux+Tk+T8Ghn+R0pbpxF1iaCvzBWJOgiL3tN9fGvYOuKMbZHNqD7fUOpMTmyvmh1imAFeS"
    "VMqFheRCmWIhG/12BtsXSbFQvpBn5YU726Ncb9IkFzpQpSd4FdxfqSQVOVy4SJ6KhNtvy/"
    "A/SZoKNyBvCh85S9BLscDHevTzrO9uxJ5ihzsLh+7Rv51AnWXG5Vl3bRUR1bXK4qWfCdg1"
    "oDsY8MQYPPkE6QfKy7gypYZXLJDX4GXBBPxPN1iWZJ7HIjDhuw+2vIwHVLUVoM0aJAQ80J"
    "OI+IZ7AjSVVf1YIA1bvBIIceh7wZNBV/qG5c0wscq0UW7RD/Zq5hvufipLopHp+y3D6k4Y"
    "VhfeCCJWsx1Vl26WIxvKZCRSZxm3hkQizdyzPzvsPdoh9+r07hGhoPcbaAf3zzMWrG0b5I"
    "FdMEvDhDz/vYq2z3nyJd8b5TzkFaYCBJ+CHE2JS7PS0RfMKGTTe47daCxL/4qiTy89i6Xv"
    "dwlCMeJgrW4B/KFBqPf5C568PFNseM8eCf6O7xaI9qcLCpKIZx0BSxuvwR1cqY8G3mQWxz"
    "rkbpSua1W7rp0gBXnTzuW6c5CzHax4O1jI0BSj656+sHqjnvQZrNtn0Pva8u5pGQOU4rmb"
    "trpPwnKzS12hl3qZyUjSynkoOw8ei6SUS2meQi2TAsrU5qfzI5B2t2you2t3k/qbrs16ij"
    "5HNLV5neqcr55uf8gS73ENQUKhE+/Sz1Pp+LYCRQv1LhCHGMmA7RiPdAhmqmC1DNl6BXcb"
    "7QE6fqlxYvwTunqXJ7oa8RPUgfc+wksUJvQ6Vb9ggfw/1DNMsMUZroNIF4emIuRbLyhLcQ"
    "/tl+BbPPd3wXzfsVg192MVAukecVPS+S1M4SRT3DSJQ2133GJTeFWBwMXk5ijIkiYJJWea"
    "5uEaPmoEuZQ4bQf5lPbyJUl2lLB4kDKKjRhhl/bRkdUadH5W2Db+yR2BRE6zJGGXZuFYHl"
    "vH4L2zaqpHnhfjuotXVv+Dlzf3MlcHTO7SuGclznlN7jSO2VLjpc9ZPmy+2xM8d+VvWKBn"
    "2kq175kLkqZazoaNbyDN3OhQf85tqe6ad4u5E9/XiSf2vr11P8G/3oNK6wukkrC/0/munH"
    "q8mjrPWBKtyy6LlDeIB2yUnbVpSnlZ6rkhbuICoswa0rdo6at2f+zxjrrJdtXejEUfK4PP"
    "ky/Xc++kV1S3EARyn80oYiP/EaF/Oz20B1/mHyfT8f8M5uPJ9ewcJNkdYUvtWRFT7Vm2rf"
    "YsvieiN44A75YklLxbCm8csAhiwkmErEvAHlk0OYm3R6Ov1YqdPVz//LLH/4660cf/4Go0"
    "pec+58AX6ObLXJlcKx8nV5fnwNo4Cv1utlXpk+nkZjIbKVfjz+O5QhG7/kDvBM8XUgnnQG"
    "zG4e99ma745ZKUO0vgCsgi75CDSGX3gCwpc+L4+3I+N9LXRvraNOL8kL422VC30+tC+tr8"
    "jLNega9NNO9bWpEOkfBsX4MfVLtv2To4SXh2FLQcu0iAagHDCAn6FnBGivj2AF4l3C3nub"
    "MEsAAtXuXTNWesVAIQdtiQVKQADAg39Xiy6FX1w6dXv/IsQWEFq/QLapAeRfoFHVmZzjea"
    "oIgS0EgBpbiA4mphSrHTEcoOMlbtZaSS/HOoMHvRIypEIo+nPbV/NmnhqsKFf+I+JO2Edn"
    "/Jn93CalK9nzF6xIaWysT6j3LZVyPUaR/fmo1pKn9oELJx3fO3UOX/EpZZly2mOJu4cz/n"
    "3byiN33wZyi7tU5foDqyFM6J/VzQZn0HU3w1sw1yO4pqrESn5d9rdnLZbZqi8O4ommyEK2"
    "vurNxo5p9FBRXbfnep1U4LiPbP8+J4hkkkpk1xeWgcqHX6PDjYUc0yIQcxwi4t3yP79Viq"
    "USroI0p3vAl41Sn0NRvqBrMulSkIl6CVs1Aym0jDq/4k8e9hCyJBaaU3uRldnwNGuUA3g+"
    "l8PLi6+q7cDMbM+0q1HUM1za3CNjZ77raynydfR9PLLyNK+ghtKvst0NcJe0rF1YaU9bGg"
    "bWC9XJRinFaWhWiyHtKbLZhWd6XQPMP0CixS3dyoaUbQUXR1K+JGHybpEj9YmTjDtRNlDD"
    "URQrlxGr1xPNWs4AzvqGQNjybPLhe6xKc3RCa5mybPr8dgl5jiKKWc5SbPMpObSl3EEUI5"
    "x02f4xKl62Jk3Quaq6tsnW44dC4cSOU7x96KOtNl0NcaoN6UrSXgVNeSYJTXda1kGYlytE"
    "OjnTEJMhLlZ5z1rEiUaHQ3z/wpeDFFqaQXZdPS0HQTVmI4or6+IRLJNOW6+oa9Kw909x2G"
    "hmrnQt3r6hvbqhF33yk9k6fj4byXdtBWAS+XCga78TqKcfSSKQAx2+wV4DszCoVJNvNQ2I"
    "tq6ETMgLRIXKppoEPDUj3f8ys6UocWcXTPmybWsnKmimB1o25ZGsBBMF5XEaM3twm1ChAb"
    "BgN1CaojhInk1GCI9egXCBoRq8AwX0GA4A8H+C7AwA0MABb9v+vEzoOSmcd1HzjqQ6SIgY"
    "2ffiG7EgaReOdKRy4SyiKjnBvkUZcdqiJjKWQsRWscZVgKaaVEQEWCrjP+uF1IwB7mg7Mv"
    "XZ9N3n/jmn7PvdftBPk1gQC3LgHsliLyRnpPb0TvgUHYM9UBa0yccJ8+z0SevG+rHbrizO"
    "byej3W9epmUC4TRBCn7NKFcOQogvDHCjA6MTJp8i9k8pc66io1/ljjcYtljJIx0g5aJdtr"
    "hUwan33mRTBBQ4RK2ssSCXHFXY4qcjNqFjNUi8EslBblQINDKAtLO9fpXqNDdKMK2x2S4l"
    "dskScngQogc0z/U3AKrrisMvLHauPq3jsJ4a1dZAoOkmonrt/3RxyTx1Ie9/OkWt9/3K+U"
    "USBzJgrK2TLdrTcAsLBpaFuWzZ/Jm2y4Ptf4sj5upCxwMLChs7ERMCgtTsmaWenQUqpttA"
    "DVptSYTTh/DmRWLBs+GnhDlLyg94wwoiRpB3Xz1UenS6a7hnW8YtTi4mqITIqqjRNVG2Iq"
    "SLqBpLBWqb4i2QyW5XZX1Gj/vWzWjWo7bgFVbwRPn0/fZBpQZxyPinxd/kvwbaU6ob4mVB"
    "8hARvkvZYSGIl6eXW8Y4GC9OZudE0/PJrjuwl4YxJAmTlIHJYfnTg5xv+dBOfKI9L83wpO"
    "TtonGmCfuNsqNlxCO92qnZsZPU56xATpQUt7M6TLMK+OBfwUCfNqklK4uVypAMMvpSipa2"
    "+SmreQrj1xIlQA7YE69JbAK6pFP5pwOIUaNB4ZuuSGK6R7KcJhslM/Tzi0d90Va9d/vyM3"
    "tNeECmtLbGuQC2PMz5rAe/7zs0Xvfy9oN+bftQ1anwy6qDYOrziFn9DzFCfuqkatWPMuKw"
    "hUXUHAmz0RJXCIRNYQiKl+kzUEwmY10YSGqbSyInSK490GIfq+DHyza0LH6WRV6AOqQnNh"
    "yAsrE9QuxEmPqF3wz5rWKhdkSp5KjxKpq8mGuru6GpmSp2uznmJhFC0OXacMGYqaThEeoz"
    "HV2VKjFu1Xac24mJwWrv7GDHd0wTtwbTmyDFxFLMEBQlzz3KSSZ1b7/KSkybIBJktZgSsZ"
    "Ol4kcrx4Ba4Wlr6xINIZXmJw925G15fj6w/nwKNfoJvpZDiazdxGG2uQEN7+5frT9eTb9T"
    "nYoAfKO6AFmo7m0++8nw0de8t7zb4Mh6PR5ejyHJCNpkGoQ32B/hiMr1jTUjVM9vtwcD0c"
    "XfEmjUFIb+yG1Myhb7+/F8vJECLp4M6qHuIcd4tskPMcLaSKNalitfEmLR1ZttovIJD6vg"
    "P0fRxFhf+xAsqnGJVMkBHneDy5SsROECaRgCaj8rWMJHqZgIZJJKBxQOPifwLXfI1ZCvlR"
    "Klk0RAJtuJIsqRs1oUqgQgVawxSd6hipLFjS5Hn2BCBsK36kQpo6KS84LJ2+e/lMzgrlMz"
    "nLyWdylsxn4oNWxm00jVZmOEnJ6QZtO02Zl72oo1TdW8q1pOaRJulK+S1pks6Gup3GSWmS"
    "/hlnPcskLWMcarj6ZYxDE/IJJdRaig01bOuV5ZwfuMN2aAZqTT2fBC7X+ySEbhEnFF+rw/"
    "vX6Ywig7wbGeRNvwbe23zvCl9gcUp5icWkgAf69SKSq99f2mmLJOjR6bmFHeY1ojxAIW+T"
    "FNIOQl6PyktqHE8JP944Gl5nuCbsd/0JkTd5wffS3XQuR8Or8TVr9Ix9Ka47STeg5jrzuI"
    "5YdHp0kYIVMSoZW5bUvgmrjKW2WExbTIU9fnmuRSz0UaIuOdhWtnDp3rbLKRCjlB1UILZX"
    "YZjUE4fEb0H3/zihFLn2FO6NRNscqDrsZNnEfrx4b3yJNSqPx24KptwhNFcVNvV9Rgspwg"
    "IP02KlGANBhuev9sYBzooOc78CS2wDFbDiJeDZNUbwHKhoy39/zrNf+/EOfTqOsVbdpDCJ"
    "oowVv2OB9mRqDBVbCQIyDkrWKOPGKk/+IUvoVKigk6FKdYcqRbXEQpk+Ukil8/8Bzv/Sxa"
    "cnXXyks4d08ZGz3qKsE1NIYdYM0+AX4QXF+KGXnrsw0S1X8rEjBMpdQHGsjBThVAYyG8Vp"
    "pQruMm1vRNVRMTKpjMplfoUWcpXOFa2JsxKS3GT+FCkPt08ehj8caCPVVO5Uk2mby+SqyR"
    "6jS0a1I2etMXmC7kOmJWsEOSmlJ0U3ll5ejTITkkYtJ6P0ZKhEwUtRqTcg6qDA214BN6nX"
    "aGFKKWxBJChm9SY3o+tzwCgXaDBkrmJXo8sPzDeMCusUG36G6yx31Gxy9ZW1U4yx+dgUlz"
    "GE09LmZDNnfv/u+TW9flXIsYl1y8b3VdK1KbwOSmj5UshlCoUmH3yRCbsTknxSSLu3z2px"
    "Y/YP1RIbLEYqN1eTN1cwWWIbK0YmN1WhTSXtuz1p35WWPmnflbMumsJB3PQlrV5FXbApUk"
    "lghX2vo/bt6abLLti7tdUo3+vkFOz1Q/DmqbAXgrdWmpOIQLoaVO1qIG3itVlvCd7YWWnL"
    "C+hwA+omW3F730YXHyeTT+fgCd6tMH5YoJsvV1fnwKJDLdBw9vUcaOSxGdrapWFChf+SOi"
    "fpyzxC1D3Rt5Z4VBk3WeZoaTiXnhTOlgYyyKrUPMdIpdqwyfO8Vh1tBVOYg0xNVohCJn+P"
    "a7LubPwARfSCOwIJZhzMtcELDikGUlyHH5FVmkYrIc6C2PdzM1OMB3sxjhJLkOMgO9ikfz"
    "vzjbKstQC+CboueVRVVxFGc8Qy0AQETRa+Tm3tEgjJCd9+UH04MHlpRnRNy2YlS/9Ya/rS"
    "AbQNbdVLURV6T/p5+kF116cxOsGfJTPpgYdhtgow01CdfTxmW6o7cUC+e1fkgHz3LvuAZM"
    "9iVxDdVCIXkNu9g+i+LuoomOcnGEeXvtGBKEUNkZ3PIEQi8xgI5jE4aTDuv/8/9iLkrA=="
)
