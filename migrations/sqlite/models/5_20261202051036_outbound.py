from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "outbox_message" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "customer_id" CHAR(36),
    "integration_id" CHAR(36),
    "event_type" VARCHAR(64),
    "data" JSON,
    "state_changed" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL
) /* One change to tell the outside about. Deleted once dispatched: the deliveries it */;
        CREATE TABLE IF NOT EXISTS "outbound_endpoint" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "url" VARCHAR(2000) NOT NULL,
    "fallback_url" VARCHAR(2000),
    "event_types" JSON NOT NULL,
    "timeout_seconds" INT NOT NULL,
    "rate_limit_per_second" INT,
    "description" VARCHAR(500),
    "secret" TEXT NOT NULL,
    "previous_secret" TEXT,
    "previous_secret_expires_at" TIMESTAMP,
    "credentials" TEXT,
    "enabled" INT NOT NULL,
    "disabled_reason" VARCHAR(500),
    "failing_since" TIMESTAMP,
    "deleted_at" TIMESTAMP,
    "version" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "integration_id" CHAR(36) NOT NULL REFERENCES "integration" ("id") ON DELETE RESTRICT
) /* Where one integration receives signed deliveries. Its signing secret (a Standard */;
        CREATE TABLE IF NOT EXISTS "outbound_delivery" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "webhook_id" VARCHAR(64) NOT NULL UNIQUE,
    "event_type" VARCHAR(64) NOT NULL,
    "customer_id" CHAR(36),
    "version" BIGINT,
    "payload" JSON NOT NULL,
    "status" VARCHAR(16) NOT NULL /* PENDING: pending\nSENDING: sending\nSUCCEEDED: succeeded\nRETRYING: retrying\nFAILED: failed\nSUPERSEDED: superseded\nSKIPPED: skipped */,
    "attempts" INT NOT NULL,
    "primary_failures" INT NOT NULL,
    "next_attempt_at" TIMESTAMP,
    "last_status_code" INT,
    "last_error" VARCHAR(500),
    "changed_at" TIMESTAMP NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL,
    "delivered_at" TIMESTAMP,
    "endpoint_id" CHAR(36) NOT NULL REFERENCES "outbound_endpoint" ("id") ON DELETE RESTRICT
) /* One message to one endpoint. ``webhook_id`` stays the same across retries and */;
CREATE INDEX IF NOT EXISTS "idx_outbound_de_endpoin_4e41a8" ON "outbound_delivery" ("endpoint_id", "status", "next_attempt_at");
CREATE INDEX IF NOT EXISTS "idx_outbound_de_status_dccff1" ON "outbound_delivery" ("status", "next_attempt_at");
CREATE INDEX IF NOT EXISTS "idx_outbound_de_custome_98e3d3" ON "outbound_delivery" ("customer_id", "created_at");
CREATE INDEX IF NOT EXISTS "idx_outbound_de_created_839c9c" ON "outbound_delivery" ("created_at");
        CREATE TABLE IF NOT EXISTS "outbound_attempt" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "attempted_at" TIMESTAMP NOT NULL,
    "target" VARCHAR(16) NOT NULL /* PRIMARY: primary\nFALLBACK: fallback */,
    "url" VARCHAR(2000) NOT NULL,
    "status_code" INT,
    "duration_ms" INT NOT NULL,
    "response_excerpt" TEXT,
    "error_class" VARCHAR(100),
    "succeeded" INT NOT NULL,
    "delivery_id" CHAR(36) NOT NULL REFERENCES "outbound_delivery" ("id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "idx_outbound_at_deliver_b1b3e0" ON "outbound_attempt" ("delivery_id", "attempted_at");
        CREATE TABLE IF NOT EXISTS "outbound_stream" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "customer_id" CHAR(36) NOT NULL,
    "latest_version" BIGINT NOT NULL,
    "sent_version" BIGINT NOT NULL,
    "endpoint_id" CHAR(36) NOT NULL REFERENCES "outbound_endpoint" ("id") ON DELETE CASCADE,
    CONSTRAINT "uid_outbound_st_endpoin_24cb16" UNIQUE ("endpoint_id", "customer_id")
) /* The latest-state bookkeeping of one (endpoint, customer): locked while a state */;
        CREATE TABLE "balance_report_new" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "customer_id" CHAR(36) NOT NULL,
    "inbound_event_id" CHAR(36) UNIQUE,
    "source" VARCHAR(16) NOT NULL,
    "balance_minor" BIGINT NOT NULL,
    "currency" VARCHAR(3) NOT NULL,
    "reported_at" TIMESTAMP NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "integration_id" CHAR(36) NOT NULL REFERENCES "integration" ("id") ON DELETE RESTRICT
) /* A balance an external system reported (``balance.reported``), kept for reconciliation. */;
        INSERT INTO "balance_report_new" ("id", "customer_id", "inbound_event_id", "source", "balance_minor", "currency", "reported_at", "created_at", "integration_id")
            SELECT "id", "customer_id", "inbound_event_id", 'webhook', "balance_minor", "currency", "reported_at", "created_at", "integration_id" FROM "balance_report";
        DROP TABLE "balance_report";
        ALTER TABLE "balance_report_new" RENAME TO "balance_report";
        CREATE INDEX IF NOT EXISTS "idx_balance_rep_custome_9481ac" ON "balance_report" ("customer_id");
        ALTER TABLE "integration" ADD "last_synced_at" TIMESTAMP;
        ALTER TABLE "integration" ADD "sync_frequency_seconds" INT;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "balance_report" DROP COLUMN "source";
        ALTER TABLE "integration" DROP COLUMN "last_synced_at";
        ALTER TABLE "integration" DROP COLUMN "sync_frequency_seconds";
        DROP TABLE IF EXISTS "outbound_delivery";
        DROP TABLE IF EXISTS "outbound_stream";
        DROP TABLE IF EXISTS "outbox_message";
        DROP TABLE IF EXISTS "outbound_attempt";
        DROP TABLE IF EXISTS "outbound_endpoint";"""


MODELS_STATE = (
    "eJztXVtz2ziW/isovXRS5WQTX9K9zuxUybKSaOLbSnJnslEXDZOQxDEFsEHKtna2//sCIC"
    "nxboISJYrBS2KDOCD94Xbu59+tGTGQ5bwdmC5qnYJ/tzCc8R8i7QegBW171cobXHhviY5O"
    "0OPecSnUXdY2hpaDWJOBHJ2atmsSzHu2gU2Jjai7AP8BFpAa7L8x1E3LZC1kDNwpAvw5dA"
    "k9BU9TRBGYEstwDoA+hXSCHACxASbQZT9N2Rch/Ja/2SA6e7WJJ1W+ZI7NP+dIc8kEsSEo"
    "e9WPP1iziQ30jJzgV/tBG5vIMiJQmgYfQLRr7sIWbbe3vfNPoif/A+41nVjzGV71thfulO"
    "Bl9/ncNN5yGv5sgjD/fmSEoMZzy/JnJGjyvpg1uHSOlp9qrBoMNIZzi09Y62/jOdb5PAHx"
    "Jv7P8d/9Twt107Sr66E26A41rZWYX/4Jsdnwm3SC+dowscuB+vdf3rgrQERri7+g86Xdf3"
    "X04bWAgDjuhIqHAq7WX4IQutAjFaCvUNbZ0kzi3GFzmo5z0D+GNPvQajAO4KkA0NYMPmsW"
    "whN3yn79cJwD8O/tvsD4w7HAmLAd623jK//JoXjEoV5BK/6XgDbovxlog4YVtqvzZevgHr"
    "57VwBd1isTXvEsiq9rztD/EiyFcZhmezi3boedqo6FqlexThFHQ4NuEudz9oQjmnFURChj"
    "aBs+6dvgh31c4+wPNK6xtfAPrhzoh73L7mDYvrzhr5s5zp+WwK897PInh6J1EWt99SE2Tc"
    "tBwLfe8Avgv4L/ub7qxo/9Zb/h/7T4N8G5SzRMnjRohM7YoDVA7S9+E48fQrcEb7iH+sMT"
    "4we0yJPV8hBMQHJlnPlkn772kQUFsMk14DNLX4i3eF6Yff+z6zL5fwXLPWhdLYIVOgizQd"
    "Ca+FwgY4Jolw21aChMljkz3TVR4iz3BR9nDw+STJD4DiSHJGtPJh/NDmfxFojhRPxJ/N38"
    "TT5gnbnjkpngyRPyy/JZrgyjh3u9JMdkg6FkhJrLCHVjZHcnJFTCxzpoMmMXhQzCIZLmgb"
    "x5HpaazoNmUzI2rYyF3MXzmYC6xz4MYh0lII+PsUXpYYYMcz6TPDNaF9ffToFFnkb4snve"
    "u708Bd44I/yl9/nLKZiak2lcD1Rket5/KDA97+O862p6+KPYBnChO0+5/otNzIp6i1PCbj"
    "rzEclOSbsz7P3ePQUe9QhfX2lfri/OTwH7as5Ij/DZxXXna5e13FtEf0BGPSZIn1OKsL6Q"
    "UhSFaBqo0TgqgPFRJsRHcYRtSF2GhpbG0GRjHKUqhfLL4sLuLoL3h78VWcmHv2UvZf4siv"
    "Qjoo4vSERh7mE3HeUQRQxiE1cmbbyvCuEJ/4I3h++Pfz3+7ejD8W+si/jKZcuvOZj3roZK"
    "PfSTqofCsz63jZKzHqVUs16XWQ8wCk37UgMhrRREzy6iGFoaReM11Tpdf6g+Gu/hYtiMYi"
    "dy2hqmq0FdJ/M0iTFA9hqjIWH/vIxvR4zYXg3YEPWipDIsvMxS9GGxVZitEguv/M2rxX60"
    "nIXjIiEKLt/EmL8/1tGXnZmTTNYnlbFM4Xr8VVFfU6/H9fzn4eHR0a+H744+/HZy/OuvJ7"
    "+9W7I/yUd5fNBZ7zNnhSIHccAbZevRVpNXWM+zpGigCLV5PU94T0igHCNrINSV6C0V6980"
    "JrAI6x8YfVL3WLbtJUa2SSNMPViQEjaXBG+dRDkJ8SdCkTnBX9EioRbN4PBCQ+0ntAnujj"
    "VT+LTkb+KLi2HA/nIkXDNbfbbg+70Ou5uzJZcqzax95CD6iAzGOg682zyFv0x2yuUyqd+d"
    "c5naikco4kvKKIBHASAGDFI0oUJEYE8cYj0iBwRoOuB+wVXT1gLYbJp002aDAncKXQCNmY"
    "lNNgqNK6greMUIh8ZwgGXiB/4Ohw0NTPcAOARgAnxdKNDZO3ULmuzl4BFhg9BfVu8D7Jhp"
    "pfPWRVno3RpDG+gwmeObqhiMn4TBkNAyVeoSE1GGpPnFxLUlOc4xCVXNy8fzNUbA5meYf1"
    "y9BR2oT5EB7qHFL3kHzMgj8s7LJ9OdCrd838dM+N8Lbzzv/NTh3EG8wyzp7V/he5QzTw0Y"
    "y9xDVdlyK7bl+jtfODVqjIkhKVx8ntItnX57psd3VYG+RSVcyLLOtgfjBPyTrcx8ZI2gZq"
    "TcjEw5YYl5iNIp9Muhj5GrGXCRYpbLBD5Msj3YjyrGfWMuECZ+JKbO3qjpC728g2HKMNv0"
    "MSTYnVoLSV6mddPta8N++2rAXduur045W6kxrLEDBZ80wt+63a8X30/BE0IP1mKEz3pBy7"
    "0ZtF1eXw2/8KbwV+zc6015Cm10myifkWyo91Oaz/IZqbe5YKcqtA0aC+oVnVe3LVXX8Ly9"
    "xIknq9BUkF4GUkmNZBE7XuCitQUrXh1OvCpseGvpesW5lqLiDc67bM3uNOhRZcjjj1ZIc+"
    "yHuPyhVKc7VZ3CGZ+QMqqLOOX2pIOGONWFTlRou3OKSmmQkrRKi1RyFpQVoWIrwh4GRdoI"
    "GxwvObhbN92r897VZ647EvQj3GnfDG/7PAwy2LEj/Pt175y3PBLT4L93/3nTE13Qs23Suk"
    "RKUjRGfJFLuYhEiCqK4mua86lD5lRHHkxl90h0iDofSa3bQbd/CuYO94bqXPS6V0O2NyyT"
    "CbAjzE7n7ud+29O/hlylRnjwfTDsXp6ClYvY7neIj7qch3aEqM4TVact4h2MTgmFa5RyOw"
    "rXmmjhaq5fTfHHVk5yDVOrqwDcn3HWixhTfJWQpC0lSqUiL+IMCVduyyEaIlkDzpox7ZXE"
    "sWRGKsuHsUgGKtd0sb6oB4/u1gw1eHz9bgDfIGX5Xi7aF1EN7Vjp6CCVznPHmSrDiKVYbG"
    "KAZhtuLNFRQ8ueL8dL8UT2xhvuCP8W3BC2isxHBDxtvgMYAA4CT9wLnjvIL4OMyBNyDgBG"
    "Eyi6E4wcnoiNhx+5Kan3q3mHpImJIp1Qw+MLlZ1pt3amB/b3lVVqBbR1VpIIbD53T/3SEV"
    "yD9ft1r9Pl2ivuA8labtrfL4WSy4aLmdBy9bufbq/OT3nk3xwbI9zpd897Q/4aPpDnMo+J"
    "y2jb5/+4HQw9cmj8i+2YYITfu/1B+4KPwT31oFUPjZgyKyqDVk2gr9KgRag5MXmWjfLrPX"
    "OIUgu/ZqzVbtb9EtIyGyCVuHkGrA1vhPGzxpGQATpE0jx4j4vYPo6zTR/HyjiojIPKOChn"
    "HDQNNLMZu8wObe0BSZ36KaTNO5QqsshGswMWRTxOp+AuBHf4yyTQjpE1D+yTQmCf5IB9kg"
    "SbMJHaixFI4ekJsRDEGUxkhDCG9j2jrOoAX7ZsVzF0dn19EbE3nvViXPrV7eVZl92cAn7W"
    "ySsymsa864LxLmMGjpE20A68v3bfpLk/rJ2VnOgYaQMnek8N/kXcPJTBvwKDP4/fkUQ0RK"
    "IM/gmP5zk2HElAo1SVYloTx0LlkbKzBcqNPUh+hUbINohqHcIxlZdPpfAqL5+aevmk3Fwb"
    "QHXTLj11jM+O3tgF4A3CpNfEtlnVoeOohhjLNfzSvLnhOepSFLnKNy0vQUNwzSdxk0zQsB"
    "50deAJChwBEZZIPkVDAvb8FVu8ilFz162Em+QquUqKk2Qk80q2i+Qq04voVyChvDO/fyMI"
    "AMGenyJceSnO4IJ7Ki5zBgPIuyHAX5PiCbnmYKkVk8JpNDjzo2ol1cgPJdsHsnT23J2lzW"
    "3IlCQy55bPmKuybKw5AypT7i7RVzGW2ROynyYXFWP5s2m0mwOnUr/+POrXfYV1nSjLKgMI"
    "23O2qruPKL2oT+jpQZ5sDHk/DS07ykQPekIrdKZv9CkDEBmi/g4bAMEZeLUScg8AoeDuzv"
    "PJvbt7nRsuWHrQER7hDidhY4Zp2JJkcjOv64PBxCL30GIvYZPogCfKptYBYzaQYY5Fuip3"
    "hFdl3HQy41K7iXkdNkaGrI8AQX0ajGw67CfTspg878IZe+Ub9GgabBAgPj1bfPfohfSO/k"
    "wI7z9iSUyCWshKoK+dQL+ayMJ+3UuKBjp1b774Md8fUuvbJ1AaktISIjv9Cc0JM8mSFcJU"
    "DVzbFYTICsjkwkLCNA0EuRKPea9oiyTK6/jJF8B4/yuchhy27/+FdFf6xIiRNXA1Vwa13J"
    "kRIVIL+mWU7xETCVLW8j8G11fpEK8o4npRU3fB/wHLdPYweDsHVw5FRPcZ4Pnqsv3PONSd"
    "i+uzuAKID3AWP6jHblpRiWzYlwQK9fKoU8T+bEf2UIlSNS+cbPOnisppWmbJ19zSkoxusS"
    "l61Lj+SmY3RYgUJ1RgN8kirMB9AdyEKWZHWm3b7IgsD600pfby4UGuTts2NX3V72WVNgbX"
    "7bk7BYdv3/k5JsAr73+NJ+Fi/5uM8vVHr3g8BA602FoRWmpAxsB0HeAg1tPlKuEHZKclxK"
    "vmHRuuTP+zqI3XrP+ZU4jem1E5XipCtJkDarcgV3z2i/8l8A36N/Dsr6YMiThnpJmYGFkT"
    "0T45KYL2yUk22vxZDG2d2Gmu+kP0nGXjWFI0AuM87r/7z2G+wLtk/i+urz4H3eNScEzgJV"
    "Ya3jmybkDQCLi3sKRrVKSlZkqGJkm6TGYlDyXTd4Qp1SzXeZaV2qqx01wTkX9gTrjP1leU"
    "mgg/9PQgP8hL9AuS9xWS+qGzmM0Qm2Qd/OPbgEnVi48iIb1NzUe2DFnjVy5tI6zThc2lce"
    "gChnm6eL/WYEqOr5cc/yAnwT8o2b2g7A6tCaGmO5VymosQNZAJ37xvkX/oaP96epCRLGNk"
    "jYB62+KlYpgayzBFpR/XLJelMkqppJ+6zXJN2OIhnfOA457jzBHti4SXafxxWrdcRtn1CD"
    "RTUBTklXkEhMsWIbAJdaH1iwOue+cdxtsSHvFAAYOUcbTulJL5ZAo+U2hP//sCvOp0LrVh"
    "/3Yw7J5rvcHgttsf8K4OmBGK0uJAqnuP4rDrxWGvll9RLnBF0Tg+u5Lk1Ty0C/mRe4U57R"
    "BNI7i/LeDMzQOabkFTSqaJUjUQ6/eFsH6fg/X7DKxn0E4ine0lGqZZy1G0bnhv21PUv5vl"
    "13qCUC33Yst9qfiQsldGqRqIdTVGS8z/9rRw2rxCDyGqLVZ5CDiVvS3yoJQkZSZgL8RnlW"
    "3op5jmmmhJ2rqOHCc7DUbo8UGuz7DoKJUIA0zYavvFAR4pgK6LZrYLXt3deS1v/RZk3N29"
    "PhBpJkS2DZHhgtMCx4UuYz1N3UlThWx6+A1rQFSWCf5sG1kmgowkksmmYmTVJpzaj3T/tU"
    "jftT/qegk0TXxP5tjwDlBJWNNoN7la65CHek14JxRiV1o4CVGVE072Z6luUDbhd6eMuB30"
    "b14QbCU6DVXfr8FSgZLxi22z/Uw1W6S6X6gctzQbEKdUOVLzc6SGEEsCLZ3HsxcdbT8Bfj"
    "GdZ3KV1Sqr5xm0+Cz1EXeAaKVoNKIdDvJ0GvdeV42u+hbQavhUAGIQlOgGXpZN4A2EDK6E"
    "8Lu9DdqEEoLHJQtNBC/QinXTMgXQadqNql6jtBxKy6G0HHWUy+tYHmpdHRKZUzkHmxXF9u"
    "yyrSd0PyXkoVXV+VGxM3twj5UoGpIgVYlhJQ/s8AHNZG+sp9Q2y0ltEaJpoCPCUYGlfpS5"
    "0o8S3k0+k1PKqTxC2kCZeU9kZKUaUaoRpRrZDiumVCMyAO+7aqTniSOZvh6R5wd5ipGIYF"
    "NMLzKcIsDJnk8BBI+ImuyjDaBDy+J/3AFgQihlDV4iYGCKLG3sATsKLF7G1UiqQDYyYmp5"
    "kdjaD9QrWlBIJFJrhDuJzAU8mHXUfKcSfr+wromxKNKR+ejdP3JFSXIOtx0YfFt/G8+xyP"
    "IOxJv4P8d/r0pAWkfYzFaYhOdVgiWPkTWQK68kKZqnBBEwyYAdoWqehbgSqHWICTbZSSgN"
    "d5KyeZBXUGRneQUkce7i+SzBJEU1WkvqLWq0gntI8sRmPEyn2/u9e34KghFGuN8d9r/3rj"
    "7zNpcu2EyMcPvm5qLHuzEmwjJ5r97nq+s+b2GMI7+YR/im3f/KG2xIH/jv5902+81g4kv8"
    "rt+N2oy9zi1zZsXpGnhDVOLYYsOFRWCqDQlDusgKjVoSxV20Fq6XdXC/Dqs8NaMfZ7YU1R"
    "maZ72rdv97er6Ns5S4tLPvw267zh5F+zMddVKfFNKahYUPyXmOkW5Hb1YTe9bezbN/55aY"
    "5iil2s21nmVP05DCd2Za88Ik2zPkvauKJdlIho1QWvSY/kZy76SQqw1U5w1kQcfVEKVpNv"
    "HsFG9RqiaIx3lzWkmCt107Ku0P/hKuNOwJ/6oEoDl5PZYUqvxb+aQeyiipjJLKKLmGUXI1"
    "Cak2ycgc5Zkkox2LpK+O+U2/BT3XAb5tE/j5sP2iUQ6AFIGB+PmMPAPdtKeIumwE5yN4mp"
    "oWAjCutazgFSNMiSv+SEAeEbWg7Rz4SbLRo0nmyxpXvj3UAS4hYI5d0wJ3d0Enza80syoW"
    "cXdXhe+3Mllu2mTpWPOJjCo66N+4hH+qKNa+GSUf2J9W1kQW0NYZ69ZN+/tl92qo3fSvO9"
    "3B4LrPLVuLGbcE2ZTwjCOEjvDZbe/ivHf1WRt8Hwy7l6fgfm5aBi+84N0QI9zt35wCRO0R"
    "7vTZc53OypjDjg6LuNYeZvvWHiZTopMxu4Rk9kiIpM5TV5sziKKxvwxkUI5SKaCLWOzRhG"
    "/MFN1ptrgcplFpMNcpmM4rJFjmzGQHI6KcGSVpV0OmFjuTvkmxKRvTaofQup9TJ0VDVATo"
    "JanCOAVjT56S0SKvKBpxXm9bhRyTZGWQTyFVSvy1Z0ArX7IyfyRlQquzCc2fMl8X5V/FMh"
    "bp7AHURZNy0agcyy/6yG0uj5mnJC/jRhOlVEdYrY+wBda1MUUMWKwvyhxhmQOUOsJqNtWb"
    "PsGE+wSHrNTGSlKrzVXnzcWudSfVWJu5m0IU2+MA3u/J5lFh79lQNzfsXRUBaNqsp5yd4u"
    "sTri/ZPhkhP+BQ5v0UvuXMJ//0tY+spX9EukdMLNv/ni2GLI+Y1FxIXr6XNfFK5BJsImKR"
    "YP81AYunGGgiXmTu+oBhwybm2phd++N1/eGahFuVnmU3lLiE3YU3nhE6uwJseseDPG8z2y"
    "fRQhbuQlVgve5gbvOgxWQl1o/CmcuZmrbNHhKMPKcwTsPdxsRTPxmdA8bEMhBNLQJb0WtU"
    "Ddh61YDdrc9So93BsjJT5pj0dpCZskEGJaUq2MBRoVQFzRUalargZ5z1DagKqmSy2xZKT7"
    "PvPchlouGyy4uc8zdqui7CAW/qsHcxGCB2oOfQDx3Rrk8hnrAnU+gCNvMO52Zd8Io/ElLZ"
    "M6DkCZBxgmXe8PgjbOJHSE2IXfDh9UfA/nSTR2TgCe/vEmAjYvN4Dh4EIjw3HZGdDjBZEF"
    "EGAn7DxlMhGfsQkpHt156Oc9W+7I1iwhHfNW5GxuwCqbVC9HVmyhn/9un6lJ0+YzLC39r9"
    "K5FNi53OWCTT6vR7w16nfcGDAUyXp2eLH2BFpmfzCbJmyHHYtSCz+kMkdZ6QkjvgpFDgzE"
    "lO4MxJSja/+ofL1yRRj1RZj1pEbTcRWgO50LSkQitCJNuPrAgxITwWyzWx85a/dhd8SCXx"
    "FvulCtgq/7KfMmGWJqAmMuGn5z4UPpUJodB/cpAnFY6fNRp0elEufA/YSnKZxAV4pTMH3d"
    "2B/2I/8gHYj/yZ4z38c0540wEYUzJjv6PxGLE9/4hE8DtIK7G24bFTM43zcflDMQT/IUyb"
    "SDYuJempwmv82TYKrwWTWJQHDvo3kAHecD2f5bYoCu2SQGH7ErbBIVs4yhg2FtnjIlLbcb"
    "bQdpxMdh8+xiWZrjhtA3Xxe8JnFXJx3i/uWplc9p697hloZrNrDuuLbJ+mZKdcpttcddfo"
    "qn+hqj5jkzout3/oZIY4RwzBA1ogAzxR02U0FNkW5L/zgsNL6wrrIswfIm7GcdPL+2xu6F"
    "Tu29GJl6GfPLF9xX9gpIrr3g+uezl5RRmYJUEDOZjNm16WW6IovEuCBsJ7eFIoIdZJTkKs"
    "k2RCLCRVCdbv3kR0q0g35h/+2hQ6UykxJ0bXQLyryFvl2OyNKcdxbvbhJY1Kp/TTqPeVAL"
    "L3AogISHm+9C35KcJHtEOu4OG5TWkht4CXhY5rvPLEIsBFlgV8DyyHyTEA3nPfKXDu5WAA"
    "BOsIGKZjQ1efIuNU9A0csoQDV0L02PQLRvge6Vwy4UEW/KknYvnJgI0Dnt1XnwIqHMqeTH"
    "cKuN/KAvioHHDfME52d+e7PN/djTCThoRLmm/m/8UBbDsbpgt4PTkEXvnEjve5PMhj2Vd8"
    "x5Pv8jZnW5MKl7YRDg0GdZ3MsQssImqpEv4yk7KvdcR3ck85JpTNuIGEsgFeV+GspoSpbQ"
    "lTe+BjUpc7vIlOJnuIrSonux3Wnh8ZMmx90F+VFCnP0YsbXPM4ENlcXwnaLWb8Wrbsbcov"
    "JUtlHzRKlqpKlmIseNurG9fKkqZCXV6Wp3jyARjq/ZJElb0GXmbof7R8UUdoJ/23evvgD8"
    "Xs15LZj0yS5DEXp23gQbcnB1sh5wQX0klaeuRi4TMr6jprwVs3/d5lu//9FNjUnEG6GOFP"
    "7YuLs3bnq3iBxU/quI5nNwEzc2rJSCt+9zqDX97kU9Dmk2v0SVh9OPc7dxiERopYmJ3BM0"
    "ql0nam5MKd+9qImUxq1BiVSumcVp/Bt4Np6FlH1JbKZZ9G2wSlxrZzj4hyvppuQSdldedo"
    "k6JkTUA+dgMWOqXf5xzS71PO6LmuI2TIazbCdFvUauxmnW82j7kQ0CR10DEyVZs2vzZtWA"
    "yOQixdmDaQ+M9DQ+4nxC9Wp40tskhp2k570Gmfd3dVmTYxCzm6mfBMFVDORFQmhezdvjWX"
    "26O5JTdILfkW3N35ifoYgnd33Pi7cFausFCnxHEARa4wRUMv9UTC2L2x0Uc4ELgcYTSG3N"
    "SN+N8KdIiBQYkt2mwEi6Y3+dFCocSXHqvOf8KMKwq0XELbdAB+vPQ4Zq8M6Wy9x6HfVVaV"
    "nWZVWS07GYYsSqWyHL5o3duZFbVu91XVQCsHiyqcADJzRuYZE9ZNG1kzJLdpUwiVf4MLnl"
    "o4iXy2Z0CIRPn7rukdMM/QUxRIibWk3t653bIZC8chlJuB1k336lxkwvLpR3gQtDjLlttO"
    "p9s9756ztkBBMML97rD/XXTkzOlC9PzU7l3wbmNoWrzP4Pam2x8EpDY7FTzawdfezY1ofB"
    "D5sethOvBZWRnta5hke6rXd9WecxvTu/rGIo0vhznfbsWBTSNVAMcBjktgCXzzLc0p5KrW"
    "V51tzV5ttlIGuDTSBvFmmy2eJ6wOMuJalKp5Vopqsi56HpRlPAEjlMpBptaHlnL4zN5kzX"
    "L4VGnymzzrKZs9UZjLt7qUregcoVWsaH0mOrm/A4uRpLY1RqYs3vkW77BdbkMW7wbWuDuI"
    "Wbxjiyxi8e6zld/vdYZ5Ju+ESshP2LShKoOhKIOGTEClRQYTCzfHSSC8uAs4CYS3V4EKKV"
    "N2OwnrfSh2NLC+O8Bh2xEZobB0L/icN/OqJA5i7KwLXkEwYDvVgDTpJ7DpF4zwt6DC4N3d"
    "05R10LiHgej3WuTv4gl2eUw7wq7J/uhlkq9HhgzhMertm54IZR8IojPyPMK6abPvdNGz63"
    "zkYfW8yAqgxPW+lrBPs6DtHITj83VI6QLcE3cqvha6XKUH5uyl1gjf3dkUPZpk7mjep2no"
    "2TZZB5HbV1Voqcs1dZDjS6C87iv2ug98fjRJpON0zVNNVYX4ygNDqs5CjEyZYdcww3Ipj9"
    "3V/FogOI37ytR2p1BusX7lvpiP+B+uWebMdDUbUR8sCZQz6ZVhIc1FfPUZEgd4jKx553cl"
    "pgWPkUzinFNaeEnRCK5k2+E9MRZeBvkU0ias8h3PQEiIklXE5o+k1LJ1VsuGhHmZPRgjU/"
    "uvRIAj5jjIRtyFqLYYbxfoIPY33s50BG4aRdCRZKiSpE1Y7ltgqrgvHvsEzTF9Q4PMpZIg"
    "VvdIne8Rz2BS0oyLNmq+V7Nc2SxnBndUFtlRTqFS1Zm5YRFfeTplQ72fPi/K0+lnnPUink"
    "41STxctxmvxAsmhFgSaGlHmF50tP0E+EUfmOQqW8MNZmXKTxFvS3jANDDrRix+kB18aWm8"
    "yoA1EIM1CapteAv5qOX4Cq1wLeAp5Kw6F6rYxyYXOe4br1DEPSEPDwjZ3EuHjIWDz6vA9e"
    "hgWTLi9amoBMFL7/lONYK6FcN6w8OPcJAphZfAWNXYAITyCFBX5BjxuX6HjW0tvOIU0A3K"
    "bIjcI9kVAMM+VuFYe1UDsEZR5zUuW1HTU23NtAreBtZKZVdI0jYmMnbLKRb4AVduDuKUag"
    "bKzYAKI1BhBHXhS+MiVF4YwY4T57WZMKZP07hb/0kuVwtXfaqsWyDF0f0s7NyayuZsRi3z"
    "Gss2hWbfX/vp9BSvKHxSxC/45CSnovBJIkcM21QSCPvdG4huJXmL2RtdlHZNZftbh0iUr7"
    "Wkr3WCY9jmZfbX/wMS/lSM"
)
