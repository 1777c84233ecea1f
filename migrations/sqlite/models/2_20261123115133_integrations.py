from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "trusted_issuer" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "issuer" VARCHAR(500) NOT NULL UNIQUE,
    "audience" VARCHAR(500) NOT NULL,
    "role_claim" VARCHAR(100) NOT NULL,
    "role_map" JSON NOT NULL,
    "partner_claim" VARCHAR(100) NOT NULL,
    "algorithms" VARCHAR(255) NOT NULL,
    "enabled" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL
) /* A partner portal's OIDC provider added through GraphQL (CCM_TRUSTED_ISSUERS adds more). */;
        CREATE TABLE IF NOT EXISTS "fx_rate" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "base" VARCHAR(3) NOT NULL,
    "quote" VARCHAR(3) NOT NULL,
    "rate" VARCHAR(40) NOT NULL,
    "effective_at" TIMESTAMP NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    CONSTRAINT "uid_fx_rate_base_cd7ae5" UNIQUE ("base", "quote", "effective_at")
) /* 1 unit of ``base`` = ``rate`` units of ``quote``, from ``effective_at`` on. */;
        CREATE TABLE IF NOT EXISTS "integration" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "slug" VARCHAR(64) NOT NULL UNIQUE,
    "name" VARCHAR(200) NOT NULL,
    "kind" VARCHAR(32) NOT NULL /* PAYMENT_PROCESSOR: payment_processor\nBUILDING_SYSTEM: building_system\nERP: erp\nCRM: crm */,
    "profile" VARCHAR(64) NOT NULL,
    "ref_system" VARCHAR(64) NOT NULL,
    "segments" JSON NOT NULL,
    "rate_limit_per_second" INT NOT NULL,
    "rate_limit_burst" INT NOT NULL,
    "secret" TEXT NOT NULL,
    "previous_secret" TEXT,
    "previous_secret_expires_at" TIMESTAMP,
    "secret_overlap_seconds" INT NOT NULL,
    "enabled" INT NOT NULL,
    "deleted_at" TIMESTAMP,
    "version" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL
) /* An external system. Its inbound signing secrets are SecretBox ciphertexts; while a */;
        CREATE TABLE IF NOT EXISTS "protocol_profile" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "name" VARCHAR(64) NOT NULL UNIQUE,
    "source" TEXT NOT NULL,
    "version" INT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "updated_at" TIMESTAMP NOT NULL
) /* A profile uploaded through GraphQL; the shipped ones are files in the webhooks folder. */;
        CREATE TABLE IF NOT EXISTS "alert" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "kind" VARCHAR(64) NOT NULL,
    "severity" VARCHAR(16) NOT NULL /* INFO: info\nWARNING: warning\nCRITICAL: critical */,
    "message" VARCHAR(500) NOT NULL,
    "customer_id" CHAR(36),
    "integration_id" CHAR(36),
    "details" JSON NOT NULL,
    "created_at" TIMESTAMP NOT NULL
) /* Written in the same transaction as the change that raises it (the outbox row of */;
CREATE INDEX IF NOT EXISTS "idx_alert_kind_c9a4e5" ON "alert" ("kind");
CREATE INDEX IF NOT EXISTS "idx_alert_custome_dbdc06" ON "alert" ("customer_id");
CREATE INDEX IF NOT EXISTS "idx_alert_integra_70129a" ON "alert" ("integration_id");
CREATE INDEX IF NOT EXISTS "idx_alert_created_547878" ON "alert" ("created_at");
        CREATE TABLE IF NOT EXISTS "access_event" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "customer_id" CHAR(36) NOT NULL,
    "site_id" CHAR(36),
    "inbound_event_id" CHAR(36) NOT NULL UNIQUE,
    "granted" INT,
    "gate" VARCHAR(100),
    "occurred_at" TIMESTAMP NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "integration_id" CHAR(36) NOT NULL REFERENCES "integration" ("id") ON DELETE RESTRICT
) /* A gate's access attempt (``access.attempted``), for audit and gate statistics. */;
CREATE INDEX IF NOT EXISTS "idx_access_even_custome_b910ec" ON "access_event" ("customer_id");
        CREATE TABLE IF NOT EXISTS "balance_report" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "customer_id" CHAR(36) NOT NULL,
    "inbound_event_id" CHAR(36) NOT NULL UNIQUE,
    "balance_minor" BIGINT NOT NULL,
    "currency" VARCHAR(3) NOT NULL,
    "reported_at" TIMESTAMP NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "integration_id" CHAR(36) NOT NULL REFERENCES "integration" ("id") ON DELETE RESTRICT
) /* A balance an external system reported (``balance.reported``), kept for reconciliation. */;
CREATE INDEX IF NOT EXISTS "idx_balance_rep_custome_9481ac" ON "balance_report" ("customer_id");
        CREATE TABLE IF NOT EXISTS "inbound_event" (
    "id" CHAR(36) NOT NULL PRIMARY KEY,
    "external_id" VARCHAR(200) NOT NULL,
    "event_type" VARCHAR(200),
    "canonical_type" VARCHAR(64),
    "status" VARCHAR(16) NOT NULL /* RECEIVED: received\nRETRYING: retrying\nAPPLIED: applied\nIGNORED: ignored\nPARKED: parked\nDEAD: dead */,
    "content_type" VARCHAR(100) NOT NULL,
    "payload" BLOB,
    "occurred_at" TIMESTAMP,
    "received_at" TIMESTAMP NOT NULL,
    "applied_at" TIMESTAMP,
    "attempts" INT NOT NULL,
    "next_attempt_at" TIMESTAMP,
    "last_error" TEXT,
    "customer_id" CHAR(36),
    "result" JSON,
    "integration_id" CHAR(36) NOT NULL REFERENCES "integration" ("id") ON DELETE RESTRICT,
    CONSTRAINT "uid_inbound_eve_integra_569a84" UNIQUE ("integration_id", "external_id")
) /* The inbox: a verified callback, stored before it is acknowledged. */;
CREATE INDEX IF NOT EXISTS "idx_inbound_eve_receive_92ba48" ON "inbound_event" ("received_at");
CREATE INDEX IF NOT EXISTS "idx_inbound_eve_status_33026d" ON "inbound_event" ("status", "next_attempt_at");
CREATE INDEX IF NOT EXISTS "idx_inbound_eve_integra_7522ab" ON "inbound_event" ("integration_id", "received_at");"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "fx_rate";
        DROP TABLE IF EXISTS "balance_report";
        DROP TABLE IF EXISTS "access_event";
        DROP TABLE IF EXISTS "protocol_profile";
        DROP TABLE IF EXISTS "alert";
        DROP TABLE IF EXISTS "trusted_issuer";
        DROP TABLE IF EXISTS "integration";
        DROP TABLE IF EXISTS "inbound_event";"""


MODELS_STATE = (
    "eJztXW13m7i2/ita/nI6a6VZbV7a3vTcs5bj0NbTxM6xnXZ6xrOIArLNBEsMiCS+c+a/X4"
    "kXGzAQhI2DGX1pE0lbkGdLm/2mrT9bc6Ij0znsuA4lc2S3zsCfLQzniP2w1ncAWtCyVj28"
    "gcI70xusRUfdOdSGGmXtE2g6iDXpyNFsw6IGwawVu6bJG4nGBhp4umpysfGHi1RKpojOvP"
    "f59TfWbGAdPSEn/NW6VycGMvXY6xo6f7bXrtKF5bXd3HQvPnkj+ePuVI2Y7hyvRlsLOiN4"
    "Odx1Df2Q0/C+KcLIhhTpkT+Dv2XwF4dN/huzBmq7aPmq+qpBRxPomhyM1j8nLtY4BsB7Ev"
    "/n5F/Bq0WGqWqvP1KHykhVWwLYaQRz3A1MOVB//uXPuwLEa23xB3S+tAevjt/95EFAHDq1"
    "vU4PrtZfHiGk0Cf1QF+h7P2/hnNnBu10nMPxCaTZi5bBOGzIATnEpwJEW3P4pJoIT+mM/X"
    "r05k0OxN/aAw9lNsqDmbAN4e+UXtB15PdxuFfwOmg6R5iKIBwhaR7I704KYPzuJBNi3hVH"
    "2Dace9WyycQwMxaygt25B3WXvRjEGlqDPDlHVbivpOcS5DnSDXcuKDNal/3vZ8Akj2N8pV"
    "x0b67OgD/PGH/pfv5yBmbGdNYqwZ637wqw5+27TPbwrsQGoJC6TlnGrKh3yBL2pTMekChL"
    "2p1R95tyBnzqMe731C/9y4szwN56Rkx9jM8v+52vCmu5M4l2j/R6MEhzbRthbSEioqI0u2"
    "PMzoTUcQGMjzMhPk4ibEGbMjTUNIUmG+M4VSmUAzFfyw/B26MPRVby0Yfspcz74kg/INvh"
    "b7UGcxfTdJQjFAmIDf8TXMVCflsVwlP+Bq+P3p68P/lw/O7kAxviveWy5X0O5t3eKCkabM"
    "T/chWm6C8XrIcac5QhIGKUCWT1gPQw/GEfBQb7A/U+NhfBJsrBddS9Uoaj9tU1f9zccf4w"
    "PfzaI4X3HHmti0Trq6QEX04CvndHXwD/Ffyn31OSGv9y3Og/Lf5O0KVExeRRhXpkv4etIW"
    "oxrruWXpLrcUrJ9bpwPcQownbv7bnpPbmPmIW84Q5q94/Q1tVYz2p5oCeKbAxN1UaTFL3u"
    "PCD/9HWATEjTZWvgiVCCqQZosoeL4a9w+YetUVjJEcnCNd4Vk7a6QVWoacRNsxhDZPsYjQ"
    "j753l8O96M7dWEG+sL9QF4fjRPADyHGE69t+TTceKUZZbiD0uswmyXWHTlb98t9mvLWTgU"
    "eabg8klM+fttE3/ZuTHNVH1SFcsUrSdYFZu5yqoUyr7W8z9HR8fH74/eHL/7cHry/v3phz"
    "dL9We9K08POu9+5qpQTBCHulG2H23FvMJ+niVFA02o7ft5ontCAOUEWQOhrsRvKVX/pimB"
    "RVT/MOiTuseyYy8Jsm0GYeqhgpSIuazp1usor0P8idjImOKvaLHmFs3Q8CJT7Se0a9oda7"
    "bh41K/SS4uhgH7yxH1UBiwBT/odti3OdtyEdLGBTXLoeG9x5pK6bXn6pJOOEKGVhsbWtUY"
    "24W86sH47egoL6uTV6wM1i1q3TT1j6tm/0ewEMZRmh1G625GnarEQtWrWCrZ2dA3S8ku5W"
    "nlUeMNPaxfiL94GuL4i/kDMJsEbYjPJdKnyFbYVIuGwmQac4NuiBJXZy/5PHsoSLbjpRe0"
    "C+KO97QczKRnPicRcy0s8KzN0OpjBCxkg9B2OgQdqM2QDu6gyQ1KB8zJAwKEyVfwaNAZYA"
    "YECDYUgFgHnuhhrZACDboO4gPmh60E4lU+R1o3dbduZN5QxXlDwc73JLg6NzBJ8RjlBXjS"
    "6XeX5vKmKtB3GPCJZHGx7cE07kCyleFH1gySI+U4MuOEJfgQp5Pol0MfI6rqcJGiWmYCHy"
    "XZHezHFeO+tXQ7Az8QQ2NPVLWFVj6ZPWWaXeazE0xn5kJQl2ldKwN1NGj3hjyNut8742ql"
    "yrDGDvT0pDH+rihfL3+cgUeE7s3FGJ93w5Y7I2y76vdGX3hT9C1ePMNaZqVudZvI/MRsqP"
    "fTa5aVn1jv0PSLBli2GJiulyuybluqrr7IvcSJR71V6ZEs7JEskjMSpgPvIGOkDhKvinyR"
    "jXy9nlxLcfGG8i7bszsLR1SZA/JrK+I5Do5T/iZdpy/qOoVzzpAyrosk5e6sg4YkcEckKr"
    "Soa6NSHqR1WulFKskFGUWoOIqwhwfwLYR1jpcY3K1rpXfR7X3mviOPfow77evRzYAfuQ93"
    "7Bh/63cveMsDMXT+u/LLddcbgp4sw67LqXwbTRBf5EIZWDGiik6MNy3TzSGurSEfprJ7JD"
    "5FnUVS62aoDM6A6yCb7Y7LrtIbsb1hGsyAHWMmnZXPg7bvf2UsQFMb+r7X4Y/hSLk6A6sj"
    "Sy+/QwLUxU4DxYjqzKg6bRFfMDolHK5xyt04XGvihau5fzXl7I9MRm2YW10We/g7cr1IMC"
    "VwCQnGUuJU8pRfUiHhzm0xRCMkG8BZM6W9kjOTmVUxxI9MChbFqOlifdYPHt+tGW7w5Prd"
    "Ar7h2ce9XLTPohrZscInUeXZhRdOy+/qaG4Ryn2HA6QROzVusz7oIC+IY6yGq/Zq/LMp+q"
    "MZAhPDdiggLtXIHAEyARDcowXSwaPNltkBsJFlQv77hNhe6rzDXpUP8XLnbcQ46dD1rPzt"
    "Tp1eqkYjvrODUcgKNXVyredUqAl5VthZEhI00FGy/cOcfCcIgBsMbyC0lfigAomkzqAzE3"
    "OJx+kaiHcFJbWRY7EnpgiLn4f9XhbQK5qkM8DQKPgvMA1nj/XtNHA5GjGLPwT11VX7lyTe"
    "ncv+edLu4ROcy0PhDffIbOFQeJVacdSOSNGHE2ZGtiZsegNVtBz5rA7ctnik9jU/HnoIrg"
    "mzrYwHBPwcFwcwvjsIPPKzoVxBDfO6AHlEzgHAaAq94QQjh5fCZz1GijJc0TMEE698y8Df"
    "mzL76mWzr+7Z31c21BvS1lmN8LD5rJwBjf1JU8Tjut/63Y7CY7r8ZBBruW7/uPJCvxZczL"
    "3Y70D5dNO7OGOWH2OwPsadgXLRHfHH8In8g6SYmblj3L74+WY48smh/jvbMeEM35TBsH3J"
    "5+DnV6BZjzixTLaTaV41gb7KNC9iG1OD1zktv94zpyi18GvmcHyZdb+EtMwGSCVuXlrXlj"
    "fC5EnlSIgAHSFpHrwnRbwxJ9nOmBOZMidT5mTKnJi7MhoVEnQMp5A2TyhVlKcYv5+hKOJJ"
    "Ogl3IbijbyaAdoKseWCfFgL7NAfs03WwCTOp/ZOzKTo9ISaCOEOJjBEm0L5jlFUJ8GXLbh"
    "1D5/3+Zczne95NaOm9m6tzhX05PfjZIL+Gd5ryrnmKdxlXfIK0gb74PfG9F0p9jnpnBRmd"
    "IG0goxsWdJFpsGW2tEAaLD/VLohohESmwcqk4urQ9CMTyBFENEG2RVTrUFFDJmpXCq9M1K"
    "5ponbyo7UFSJtVbj8JaeQzvYVbmNal8joDBGsbbZYRXwdZ/CwPEp8i8epGa7Dr6l2Kf1L8"
    "stnmHkcQvBDMr0uWkkkVK1qWfzXYymNTIIsKOO7da48AEOwnM8FVKtMcLng607LcPoB8GA"
    "L8MSnpUhtOlnpaIFqBin905IGBGgWrsxOlSheef7GK8w1hyVrR+fLF5mWBqg05IIvMvyT6"
    "sjxBNkP20y+b4pCX5Qka7UlsDpzS7fX3cXvtK6ybFCio8pRR22WrWnlA6ffhRXoP8mxjyM"
    "epaDlQ5IiRb7RCZ/ZamzEAke5dXccmQHAOXq2M3ANAbHB76yfu3d7+lHumqPSkYzzGHU7C"
    "5ozSsCXJ7GZ+JR4GU5PcQZM9hDHR8U/uO96Bfd2YeJUe6RiHD3CARubcajcwsKDNyJD5ES"
    "CozcKZDYf9ZJgms+cpnLNHvkYPhs4mAd6r5xz29+g96x39sWa8/5o4d8jWntgJJ2nQ78qg"
    "XzGycPLnkqKBmZ/bPzjN94fQ+g4IpIektIXIpD+xc3LRs2yFKFUD13YF5+g8yMRyx6M0DQ"
    "S5krRa/74zQZQ3SaYtgPFOP5UVy2hy9zvSqLDESJA1cDVXBrWYzIgRyQX9PMp3iJkEQrVa"
    "VhQbVWqpZww3DddKCrXACU27jykb9iWBRL086mFBJzGhEqdq3pmT7UsVWYaozJKveaRlPQ"
    "XestGDcFG1GJHUhArsJlGEJbjPgFuT2llty+h4R8FbaU7tZedBrk/bMlRtNe55lzYG/bZL"
    "Z+Do8E1wEB288v9XeaUe9r/BKH/6CHwHNXCgydaK56XmlWAN6gAHsZGUu4TvkZVWNauaZz"
    "xfNUvIc/x3cRtveHV2tkM44KiYLhUj2o6AelmQK5b93v8C+IbjGyj7q7nBy5MzwkpMgqyJ"
    "aJ+eFkH79DQbbd6XQJsXhU5J1R+hp6wYx5KiERjnaf/KL6N8g3ep/F/2e5/D4UkrOGHwEj"
    "MN7xxbNyRoBNw7WNI1ut+sZk6GJlm6zGYl9yXP+EcpJZfrzGXptmosm2ti8g+NKc/Z+opS"
    "q2VHeg/yD3l548IKX4Wsfugs5nPEmKyBn78P+WUtH72q1ZZtPLBlyBq/cmsbYc1eWNwahx"
    "TYqTfEbDqZtOPrZcffi1nw99J2L2i7Q3NKbIPOhJLmYkQNVMK3n1sUCB3198d7EcsyQdYI"
    "qHdtXkqFqbEKU9z6oUa5UnZxSmn91I3LNVGLR7bLDxx3HcdFdvbtimnDchVl6hOohkdRUF"
    "fmJyAoW4TAIjaF5j8c0O9edJhuS/iJBxswSJlGS2c2cacz8NmG1uzfl+BVp3OljgY3w5Fy"
    "oXaHwxtlMORDHTAnNko7B1Ldc6SGXS8Ne7X8imqBK4rG6dmVVLjlR7tQcHKvsKYdoWmE9r"
    "cDnHl4QNVMaAjZNHGqBmL9thDWb3OwfpuB9Rxa60jnXKQYoZEXKW6QKRp8m8XX+hqhXO7F"
    "lvvS8SEUr4xTNRDraoKWmP/tacdp86rBR6h2WAo+1FT2thK8dJKUYcBemM+y2tDfgs018Z"
    "K0NQ05TnYZjEj3QW7OsDdQqBAGmLLV9g8H+KQAUormFgWvbm/9lsOgBem3tz8deGUmvGob"
    "XoULTgscCilTPQ3NSXOFbHv6LXtAZJUJ3reLKhNhRRLBYlMJsmoLTu1HmfValO/aH3e9AJ"
    "oGviMu1n0BKghrGu1ub+GuPbxTG2IqbJxEqMoZJ/uzVLdom0wFLzsNxzfvEGwlPg15CViD"
    "rQJp4xfbZvtZarbIFWCRO3uF1YAkpayRml8jNYLYOtDCdTy78dn2E+Bny3mur7JaVfU8hy"
    "bn0gDxBIhWikcjPuAgz6dx5w9V7dXYAl6NgApADMJ7fIM7t4E/EdK5EyIYdhi2eU4Ifi7Z"
    "80TwWxyxZpiGB3Sad6Oqx0gvh/RySC+HtMt3A28oYkvcZ7FGKmuWCsqSqOxgZiHWUq7dyq"
    "m6EKFpYIz8uIDlfpxptx+vJd4E399S+c4x0gaac3tivkmrXVrt0mrfjZIgrXYRgPfdav/0"
    "NIDem6yZ60HPQZ6dPnlS7XDQswb6W8B4R3lJMG4cO+j2Fvwv+5FPwH7kfY7f+YdLeNMBmN"
    "hkzn5HkwnSqPGAmIBmI9Os8i3PnXr3BZ+Xd3pT8B+itPIiyzrp19m2esjEorp2OF7q2c/p"
    "2cttURTaJYHE9lkbRjCwG45vILInRQK7J9lx3ZO1sG5MjAtaDknaBtoOe2IrSBNRmoj1S/"
    "Lt+o7ozCzfWH+uqh1zaRdTuEczBDjZ0xmA4AHZBntpHWjQNPkfdwAcykw2HfhXQADDq8/L"
    "OhiMJtLZn7OuZm9lxlTlOmFahoE1NbxCLnbLHE8Pdj14MBuoBunEnhZ+ANbmspGGmITWl1"
    "p6YbU8x3fwAiGF1j8nLvbu9wHek/g/J/9q7V7sPxtlyFa/o3wV0GcSZA1Uayoph+uHvzyY"
    "RMCOUTUvN7ASqDWICTaYJBSGe52yeZBXcL3i8hOwjrOC3fmaDzKeDr+k3p0oWX6HBCV2a6"
    "B0lO435eIMhDOM8UAZDX50e595G7UXjBNj3L6+vuzyYUyJMA0+qvu51x/wFmOK+Yd5jK/b"
    "g6+8wYL2Pf/9Qmmz33Sm+iW/9YWybLde/Ys9jpaRWUm6Bn4hKklptuDCJDDVI4mhvUgHO0"
    "KUTM5fUL/e9H4JqzwvY1BhYGnmMDTPu7324Ed6pbXzlIoE5z9GSrvOueT7w446mZ6FPA5R"
    "40OQzwnS3fgcapLItHd8Dr65Jdgcp5S7udZc9j0NKXpnZvguSrK7PLk3VakkW6mtFrkQJ+"
    "G/Edw7KeRyA9V5A5nQoSqy7bSU0+zivnGqJpjHeTytpLTvS6eo7w/+AjnUrIe/1RqgORXd"
    "lhTy4t/y5dxkzp/M+ZM5fxsEJVdMSI1JxniUF5KMDyxycUnixNwh6FIHBLFNENyEElwX6g"
    "BoIzD0fj4nT0AzrBmyKZvB+QgeZ4aJAEx6LSt4xBjbhHp/JCAPyDah5RwE16OgB4O4y9tN"
    "g3ioAyghwMXUMMHtbThIDe4YXF0Tdntbxak/GbLcdsjSMd2piCs6HN+4Us/yOtR9C0resz"
    "+tbIgspK0z1q3r9o8rpTdSrwf9jjIc9gc8srWY80iQZRNea47YY3x+07286PY+q8Mfw5Fy"
    "dQbuXMPU+ZVb/hdijJXB9RlAtjXGnQHr1+x5mXDY8VGRrM+j7LTPo/XLcMiEfYRE9kiEpM"
    "6sq40MstEkWAYiKMepJNBFIvZoyjdmiu8021yO0sgC6BtYzBwa1TTmBhOMyObKKEn7NGR6"
    "sTPpm3T0e2te7Qhad67tpHiIigC9JJUYp2Ds21MiXuQVRSPk9a5dyAlLVgT5FFLpxN+YA2"
    "r5y8rzZ5IhtDqH0AKWBb6o4FMsEpHOnkB+aFI+NPJ2jWdz5LZXwdZ3kpdJo4lTShFWZxHG"
    "JI+TGk/KlFkRit0Jqbd7IqHkqcZsqJt1qlHeUNNkrqfITu/tBc6yRlIVI9fCpGiH5wH5p6"
    "8DZC5DuOlB+8RVNHu2GLKC9rHNFC84uyFea4Vum4hY7DzyhoAlT0E3Ba8qkziubUIJk+nX"
    "frwn+5rt9IEHeYkdVkCiRoJJha7a9ocD1+Lng9avu/7o5U04M8OyWCfByM+/4DQ8Q8PrfU"
    "R3M0LuHTAhpo7s1Ju2K3qMvGi7Xhdtv2x6QKMzLxzi2mn3a+d4z5cU0ntewncrTd4tiApp"
    "8jbX+JEm79+R61sweatUstsmSr/LxO/IVaLhcsizmvN326AU4VA3ddizGAwQO9DPnYWO16"
    "7NIJ6ynhmkgHHe4dosBa94F3HpHXkCNnkEZLKmMm95/jE28AO0DYgpePfTR8D+dIMnP+Mp"
    "H08JsBCxeOo0z7f2kqQcrxAUYHYgshkI+DWbT2Y/70P2c3YKaTrOVaeNNkoJR3zX0Iy7Hw"
    "pUsYnQ11kpZ/rbp/4Zkz4TMsbf24OeV7iGSWfs1a3pDLqjbqd9yfNuDcorISUFWBH2bL8W"
    "zRw5DvssiKz+CEmdGVJyB5wWylE/zclRP00pnFX/k6k1qYkhdHdSLQ5INhFaHVFomEJZzB"
    "GS3ScxR5QQfuyBGtg55I99CT2kktTm/XIF7FR/2U+bsOYlfdtM59JmrTSj0O85yLUKV2Oe"
    "Mwuz+SwDFfUKVGQ6d7M1xWzvbhM0xaPT0yKnGU9Ps08z8r64oOebSgDhYHgD0a2kEmRQQV"
    "NEr4mQyMNZghrMi37M/vp/dakK1Q=="
)
