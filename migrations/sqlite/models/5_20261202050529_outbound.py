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
        ALTER TABLE "integration" ADD "last_synced_at" TIMESTAMP;
        ALTER TABLE "integration" ADD "sync_frequency_seconds" INT;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "integration" DROP COLUMN "last_synced_at";
        ALTER TABLE "integration" DROP COLUMN "sync_frequency_seconds";
        DROP TABLE IF EXISTS "outbound_stream";
        DROP TABLE IF EXISTS "outbound_endpoint";
        DROP TABLE IF EXISTS "outbox_message";
        DROP TABLE IF EXISTS "outbound_delivery";
        DROP TABLE IF EXISTS "outbound_attempt";"""


MODELS_STATE = (
    "eJztXVtz2ziW/isovXRS5WQTX9K9zuxUybKSaGJbXknuTDbqomESkjimADZB2dbO9n9fAC"
    "Ql3k1QokwxeElsEAekP9zO/fy7NScGsujboemi1in4dwvDOf8h0n4AWtC21628wYV3luhI"
    "gx531HWg7rK2CbQoYk0Gorpj2q5JMO/ZBrZDbOS4S/AfYAkdg/03gbppmayFTIA7Q4A/hy"
    "5xTsHjDDkIzIhl0AOgz6AzRRRAbIApdNlPM/ZFCL/lbzaIzl5t4mmVL1lg888F0lwyRWwI"
    "h73qxx+s2cQGekI0+NW+1yYmsowIlKbBBxDtmru0RdvNTe/8k+jJ/4A7TSfWYo7Xve2lOy"
    "N41X2xMI23nIY/myLMvx8ZIajxwrL8GQmavC9mDa6zQKtPNdYNBprAhcUnrPW3yQLrfJ6A"
    "eBP/5/jv/qeFumnaVX+kDbsjTWsl5pd/Qmw2/CadYL42TOxyoP79lzfuGhDR2uIv6HxpD1"
    "4dfXgtICDUnTrioYCr9ZcghC70SAXoa5R1tjSTOHfYnKbjHPSPIc0+tBqMA3gqALQ1h0+a"
    "hfDUnbFfPxznAPx7eyAw/nAsMCZsx3rb+Mp/cigecajX0Ir/JaAN+m8H2qBhje36fNk5uI"
    "fv3hVAl/XKhFc8i+LrmnP0vwRLYRym2R3OrZtRp6pjoepVrDuIo6FBN4nzOXvCEc04KiKU"
    "MbQNn/Rt8MM+rnH2Bxp9bC39gysH+lHvsjsctS+v+evmlP5pCfzaoy5/cihal7HWVx9i07"
    "QaBHzrjb4A/iv4n/5VN37sr/qN/qfFvwkuXKJh8qhBI3TGBq0Ban/xm3hyH7oleMMd1O8f"
    "GT+gRZ6sl4dgApIr48wn+/R1gCwogE2uAZ9Z+kK8xfPM7PufXZfJ/ytY7kHrehGs0UGYDY"
    "I2xOcCGVPkdNlQy4bCZJlz090QJc5yX/Bx9vAgyQSJ70BySLL2ZPLR/HAeb4EYTsWfxN/N"
    "3+QD1llQl8wFT56QX1bPcmUYPdzrOTkmGwwlI9RcRqgbI/tyQkIlfCxF0zm7KGQQDpE0D+"
    "Tt87COSe812yET08pYyF28mAuoe+zDINZRAvL4GDuUHubIMBdzyTOjddH/dgos8jjGl93z"
    "3s3lKfDGGeMvvc9fTsHMnM7ieqAi0/P+Q4HpeR/nXdfTwx/FNoAL3UXK9V9sYtbUO5wSdt"
    "OZD0h2StqdUe/37inwqMe4f6V96V+cnwL21ZyRHuOzi37na5e13FlEv0dGPSZIXzgOwvpS"
    "SlEUommgRuOoAMZHmRAfxRG2oeMyNLQ0hiYb4yhVKZSfFxde7iJ4f/hbkZV8+Fv2UubPok"
    "g/IIf6gkQU5h5201EOUcQgNnFl0sb7qhCe8i94c/j++Nfj344+HP/GuoivXLX8moN572qk"
    "1EM/qXooPOsL2yg561FKNet1mfUAo9C0rzQQ0kpB9OQiB0NLc9BkQ7VO1x9qgCZ7uBi2o9"
    "iJnLaG6WpQ18kiTWIMkO1jNCLsn+fx7YgR2+sBG6JelFSGhZdZij4stgqzVWLhlb99tdiP"
    "Fl1SFwlRcPUmxvz9sYm+7MycZrI+qYxlCtfjr4r6mno9ruc/Dw+Pjn49fHf04beT419/Pf"
    "nt3Yr9ST7K44POep85KxQ5iAPeKFuPtp68wnqeFUUDRajt63nCe0IC5RhZA6GuRG+pWP+m"
    "MYFFWP/A6JO6x7JtLzGybRph6sGClLC5JHjrJMpJiD8RB5lT/BUtE2rRDA4vNNR+Qpvg7l"
    "izAx9X/E18cTEM2F+OhGtma8AW/KDXYXdztuRSpZl1gChyHpDBWMehd5un8JfJTrlcpuN3"
    "51ymtuYRiviSMgrgUQCIAYMUTR0hIrAnlFgPiIIATQrullw1bS2BzaZJN202KHBn0AXQmJ"
    "vYZKM4cQV1Ba8Y49AYFFgmvufvoGxoYLoHgBKACfB1oUBn79QtaLKXgweEDeL8sn4fYMdM"
    "K523LspCv6wxtIEOkzm+qYrB+EkYDAktU6UuMRFlSJpfTFxbkuMck1DVPH889zECNj/D/O"
    "PqLehAfYYMcActfslTMCcPyDsvH013JtzyfR8z4X8vvPG881OHC4p4h3nS27/C9yhnnhow"
    "lrmHqrLlVmzL9Xe+cGrUGBNDUrj4PKVbOv3uTI/vqgJ9h0q4kGWdbQ/GCfgnW5n5yBpBzU"
    "i5GZlxwhLzEKVT6JdDHyNXM+AyxSyXCXyYZHewH1WM+9ZcIEz8QEydvVHTl3p5B8OUYXbp"
    "Y0iwO7OWkrxM67o70EaD9tWQu7b1r045W6kxrDGFgk8a42/d7teL76fgEaF7aznGZ72g5c"
    "4M2i77V6MvvCn8FS/u9aY8hba6TZTPSDbU+ynNZ/mM1Ntc8KIqtC0aC+oVnVe3LVXX8Ly9"
    "xIknq9BUkF4GUkmNZBE7XuCitQMrXh1OvCpseBvpesW5lqLiDc67bM3uLOhRZcjjj1ZIc+"
    "yHuPyhVKcvqjqFcz4hZVQXccrdSQcNcaoLnajQdhcOKqVBStIqLVLJWVBWhIqtCHsYFGkj"
    "bHC85OBuXXevzntXn7nuSNCPcad9PboZ8DDIYMeO8e/93jlveSCmwX/v/vO6J7qgJ9t06h"
    "Ip6aAJ4otcykUkQlRRFF/TnE8pWTg68mAqu0eiQ9T5SGrdDLuDU7Cg3Buqc9HrXo3Y3rBM"
    "JsCOMTudu58HbU//GnKVGuPh9+Goe3kK1i5iL79DfNTlPLQjRHWeqDptEe9gpCUUrlHK3S"
    "hca6KFq7l+NcUfWznJNUytrgJwf8ZZL2JM8VVCkraUKJWKvIgzJFy5LYdoiGQDOGvGtFcS"
    "x5IZqSwfxiIZqFzTxfqsHjy6WzPU4PH1uwV8g5Tle7lon0U1tGOlo4NUOs8XzlQZRizFYh"
    "MDNNtwY4mOGlr1fD5eiieyN95wR/i34JqwVWQ+IOBp8ylgAFAEHrkXPHeQXwUZkUdEDwBG"
    "Uyi6E4woT8TGw4/clNT71bxD0sTkIJ04hscXKjvTy9qZ7tnfV1apFdDWWUkisPncPfVLR3"
    "AN1u/9XqfLtVfcB5K1XLe/Xwollw2Xc6HlGnQ/3Vydn/LIvwU2xrgz6J73Rvw1fCDPZR4T"
    "l9G2z/9xMxx55ND4F9sxwQi/dwfD9gUfg3vqQaseGjFlVlQGrZpAX6VBizjm1ORZNsqv98"
    "whSi38mrFWL7PuV5CW2QCpxM0zYG15I0yeNI6EDNAhkubBe1zE9nGcbfo4VsZBZRxUxkE5"
    "46BpoLnN2GV2aGv3SOrUTyFt3qFUkUU2mh2wKOJxOgV3IbjDXyaBdoyseWCfFAL7JAfsky"
    "TYhInUXoxACk9PiIUgzmAiI4QxtO8YZVUH+Kplt4qhs37/ImJvPOvFuPSrm8uzLrs5Bfys"
    "k1dkNI151wXjXcYMHCNtoB14f+2+SXN/WDsrOdEx0gZO9J4a/Iu4eSiDfwUGfx6/I4loiE"
    "QZ/BMezwtsUElAo1SVYloTx0LlkfJiC5Qbe5D8Co2QbRHVOoRjKi+fSuFVXj419fJJubm2"
    "gOq2XXrqGJ8dvbELwBuESW+IbbOqQ8dRDTGWG/ileXPDc9SlKHKVb1pegobgmk/iJpmgYT"
    "Po6sATFDgCIiyRfIqGBOz5K7Z4FaPmrlsJN8l1cpUUJ8lI5pVsF8l1phfRr0BCebq4eyMI"
    "AMGenyJceynO4ZJ7Kq5yBgPIuyHAX5PiCbnhYKkVk8JpNDjzo2ol1cgPJdsHsnT23BdLm9"
    "uQKUlkzi2fMVdl2dhwBlSm3JdEX8VYZk/IfppcVIzlz6bRbg6cSv3686hf9xXWTaIsqwwg"
    "bC/Yqu4+oPSiPqGnB3myMeT9NLTqKBM96AmtkM7e6DMGIDJE/R02AIJz8Got5B4A4oDbW8"
    "8n9/b2dW64YOlBx3iMO5yEjRmmYUuSyc28rg8GU4vcQYu9hE0iBY8Om1oKJmwgw5yIdFXu"
    "GK/LuOlkzqV2E/M6bIwMWR8BgvosGNmk7CfTspg878I5e+Ub9GAabBAgPj1bfPfohfSO/k"
    "wI7z9iSUyCWshKoK+dQL+eyMJ+3SuKBjp1b7/4Md8fUuvbJ1AaktISIjv9iZMTZpIlK4Sp"
    "Gri2KwiRFZDJhYWEaRoIciUe817RFkmUN/GTL4Dx/lc4DTls3/0L6a70iREja+BqrgxquT"
    "MjQqQW9PMo3yEmEqSs5X8M+1fpEK8p4npRU3fB/wHLpHsYvJ2DK4ciovsM8Hx12f5nHOrO"
    "Rf8srgDiA5zFD+qJm1ZUIhv2FYFCvTzqDmJ/NpU9VKJUzQsn2/6ponKallnyNbe0JKNbbA"
    "c9aFx/JbObIkSKEyqwm2QRVuA+A27CFPNCWm3b7IgsD600pfbq4UGuTts2NX3d73mVNgb9"
    "9sKdgcO37/wcE+CV97/Gk3Cx/01G+fqjVzweAgottlaElhqQCTBdCihiPV2uEr5HdlpCvG"
    "reseXK9D+L2njD+p85hei9GZXjpSJE2zmgXhbkis9+8b8EvkH/Bp791ZQhEeeMNBMTI2si"
    "2icnRdA+OclGmz+Loa0TO81Vf4SesmwcK4pGYJzH/Xf/OcoXeFfM/0X/6nPQPS4FxwReYq"
    "XhnSPrBgSNgHsHS7pGRVpqpmRokqTLZFZyXzJ9R5hSzXKdZ1mprRo7zTUR+YfmlPtsfUWp"
    "ifBDTw/yg7xEvyB5XyGpH9LlfI7YJOvgH9+GTKpefhQJ6W3HfGDLkDV+5dI2wrqztLk0Dl"
    "3AME8X7zcaTMnx9ZLj7+Uk+HsluxeU3aE1JY7pzqSc5iJEDWTCt+9b5B862r8e72UkyxhZ"
    "I6DetXipGKbGMkxR6cc1y2WpjFIq6adus1wTtnjkLHjAcY/SBXIGIuFlGn+c1i2XUXY9As"
    "0UFAV5ZR4B4bJFCGziuND6hYJ+77zDeFvCIx4cwCBlHK07c8hiOgOfHWjP/vsCvOp0LrXR"
    "4GY46p5rveHwpjsY8q4UzImD0uJAqnuP4rDrxWGvl19RLnBN0Tg+u5Lk1Ty0C/mRe4U57R"
    "BNI7i/HeDMzQOabkFTSqaJUjUQ6/eFsH6fg/X7DKzn0E4ine0lGqbZyFG0bnjv2lPUv5vl"
    "13qCUC33Yst9pfiQsldGqRqIdTVGS8z/9rRw2rxCDyGqHVZ5CDiVvS3yoJQkZSZgL8RnlW"
    "3op5jmmmhJ2rqOKM1OgxF6fJDrMyw6SiXCAFO22n6hwCMF0HXR3HbBq9tbr+Wt34KM29vX"
    "ByLNhMi2ITJccFpAXegy1tPUaZoqZNvDb1kDorJM8Ge7yDIRZCSRTDYVI6s24dR+pPuvRf"
    "qu/VHXS6Bp4juywIZ3gErCmka7zdVahzzUG8I7dSB2pYWTEFU54WR/luoWZRN+d8qI20H/"
    "5gXBVqLTUPX9GiwVKBm/2Dbbz1SzRar7hcpxS7MBcUqVIzU/R2oIsSTQ0nk8e9HR9hPgZ9"
    "N5JldZrbJ6nkGLz9IAcQeIVopGI9rhIE+nced11Zx13wJaDZ8KQAyCEt3Ay7IJvIGQwZUQ"
    "fre3QZtQQvC4ZKGJ4AVasW5apgA6TbtR1WuUlkNpOZSWQ8nlu4E3OGJL1LNIkKqcpZJnSf"
    "jsYGIh1lPKbuVkXQjRNNBGflRAcj/KlNuPEo43/v1byt85QtpAcW5PxDcltSupXUntu2ES"
    "lNQuA/C+S+09j1POdEOIPD/Ik9kjPHcxkX00Q4CTPZ0CCB6QY7KPNoAOLYv/cQeAyUcOa/"
    "By1AJTJBBjD9hRYPEKo0ZSOt/KiKmVL2JrP5D8taDGRaQMBvdfWAh4MOuo+f4O/H5hXRNj"
    "OUhH5oN3/8jVy8g53F5A5mn9bbLAIgE5EG/i/xz/vVW7E+4gR5YPz6sESx4jayBXXkm+Lk"
    "8+FzDJgB2hap7xshKodYgJNtlJKA13krJ5kFdQ/2V1BSRx7uLFPMEkRf11VtS7O0pW95Dk"
    "ic14mE6393v3/BQEI4zxoDsafO9dfeZtrrNkMzHG7evrix7vxpgIy+S9ep+v+gPewhhHfj"
    "GP8XV78JU32NC557+fd9vsN4OJL/G7vpAbwNbTE7DXuWXOrDhdA2+ISnwubLi0CEw1b2Do"
    "LLOidlZEce+hpeslxNuvwypPzeiHQK1EdYbmWe+qPfiengriLCVk6uz7qNuus7PL/kxHnd"
    "QnhbRmYeFDcp5jpLvRm9XE0rJ38+zfuSWmOUqpdnOtZ9nTNKTwnZnWvDBJY2rTb5j8IZSx"
    "O6a/kdw7KeRqA9V5A1mQuhpynDSbeHb2sShVE8TjvDmtJPfYS/vQ7A/+Ek4e7An/qgSgOS"
    "knVhSqMln5fBPKKKmMksoouYFRcj0JqTbJyBzlmSSjHYtkVo659L4FPZcC37YJ/FTNfj0j"
    "CqCDwFD8fEaegG7aM+S4bAT6ETzOTAsBGNdaVvCKMXaIK/5IQB6QY0GbHvj5m9GDSRar8k"
    "u+PZQClxCwwK5pgdvboJPmF0FZ1zG4va3CLVmZLLdtsqTWYiqjig76Ny4XnarXtG9GyXv2"
    "p5U1kQW0dca6dd3+ftm9GmnXg36nOxz2B9yytZxzS5DtEJ4MgzhjfHbTuzjvXX3Wht+Ho+"
    "7lKbhbmJbBawJ4N8QYdwfXpwA59hh3Buy57szLmMOODou41h5m+9YeJrN1kwm7hGT2SIik"
    "zlNXmzPIQRN/GcigHKVSQBex2KMp35gputNscTlMozI0blLLmyfvt8y5yQ5G5HBmlKRdDZ"
    "la7Ez6JsWmbE2rHULrbuHQFA1REaBXpArjFIw9eUpGi7ymaMR5vWsVckySlUE+hVQp8Tee"
    "Aa18NcX8kZQJrc4mNH/KfF2UfxXLWKSzB1AXTcpFo9L/7jDFlqckL+NGE6VUR1itj7Al1r"
    "WJgxiwWF+WOcIyByh1hNVsqrd9ggn3CQ5ZqY2VpFabq86bi13rNNVYm7mbQhS74wDe78nm"
    "UWHv2VA3N+xd5adv2qynnJ3i6xOuL9k+GSE/4FBS+BS+5cwn//R1gKyVf0S6R0wsEf2eLY"
    "Ysj5jUXEhevpcN8UqkuWsiYpFg/w0Bi6cYaCJeZOH6gGHDJubGmPX98br+cE3CrUrPsmuH"
    "uITdhdeeETq7OGl6x4M8bzPbJ9FCFu5CBUq97mBh86DFZJHQj8KZi85M22YPCUaeUxin4W"
    "5j4ukjupsRck/BhFgGclLrk1b0GlWetF7lSV/WZ6nR7mCULJy0qqQ5Jr0VhTLplTAoKVXB"
    "Fo4KpSportCoVAU/46xvQVVQJZPdtlB6BnjvQS4TDVddnuWcvzmm6yIc8KaUvYvBADGFnk"
    "M/pKJdn0E8ZU9m0AVs5innZl3wij8SUtkTcMgjIJMEy7zl8cfYxA/QMSF2wYfXHwH7000e"
    "kYGnvL9LgI2IzeM5eBCI8NykIjsdYLIgchgI+A0bT4Vk7ENIRrZfezrOVfuyN4oJR3zXuB"
    "kZswuk1grR15kpZ/zbp/4pO30mZIy/tQdXIpsWO52xSKbVGfRGvU77ggcDmC5PzxY/wIpM"
    "z/YTZM0RpexakFn9IZI6T0jJHXBSKHDmJCdw5iQlm1/9w+VrkqhHquJELaK2mwitgVxoWl"
    "KhFSGS3UdWhJgQHovlmpi+5a99CT6kkniL/VIF7JR/2U+ZMEsTUBOZ8NPTAAqfyoRQ6D85"
    "yJMKJ0+aE3R6Vi58D9hKcpnEBXgRLopub8F/sR/5AOxH/ox6D/9cEN50ACYOmbPf0WSC2J"
    "5/QCL4HaRV/9ry2KmZxvm4/KEYgv8Qpk0kG5eS9FRNMP5sFzXBgkksygMH/RvIAG+5ns9q"
    "WxSFdkWgsH0O2+CQLRxlDBuL7HERqe04W2g7Tia7Dx/jkkxXnLaBuvg94bMKuTjvF3etTC"
    "57z173DDS32TWH9WW2T1OyUy7Tba67a866f6GqPhPToS63f+hkjjhHDME9WiIDPDqmy2gc"
    "ZFuQ/85r4a6sK6yLMH+IuBnqppf32d7Qqdw31YmXoZ88sn3Ff2CkiuveD657NXlFGZgVQQ"
    "M5mO2bXlZboii8K4IGwnt4Uigh1klOQqyTZEIsJFUJ1u/eRHSrSDfmH/7aDNKZlJgTo2sg"
    "3lXkraI2e2PKcZybfXhFo9Ip/TTqfSWA7L0AIgJSni59S36K8BHtkCt4eG5TWsgt4Hmho4"
    "/XnlgEuMiygO+BRZkcA+Ad950C514OBkCwjoBhUhu6+gwZp6Jv4JAlHLgSose2XzDGd0jn"
    "kgkPsuBPPRHLTwZsHPDsvvoMOMKh7NF0Z4D7rSyBj8oB9w3jZLe3vsvz7e0YM2lIuKT5Zv"
    "5fKGDb2TBdwOvJIfDKJ6be5/Igj1Vf8R2Pvsvbgm1NR7i0jXFoMKjrZIFdYBFRS5Xwl5kO"
    "+1oqvpN7yjGhbM4NJA4b4HUVzmpKmNqVMLUHPiZ1ucOb6GSyh9iqcrK7Ye35kSHD1gf9VU"
    "mR8hy9uME1jwORzfWVoN1hxq9Vy96m/FKyVPZBo2SpqmQpxoK3vbpxrSxpKtTleXmKJx+A"
    "od7PSVTZa+B5hv5Hyxd1hHbSf6u3D/5QzH4tmf3IJEkec3HaBh50e3KwFXJOcKEzTUuPXC"
    "x8Zk1dZy1463rQu2wPvp8C2zHn0FmO8af2xcVZu/NVvMDiJ3Vcx/MyATMLx5KRVvzudQa/"
    "vMmnoM0n1+iTsPpw7ndBGYRGiliYncEzSqXSdqbkwl342oi5TGrUGJVK6ZxWn8G3g2noSU"
    "eOLZXLPo22CUqNXeceEeV8Nd2CNGV152iTomRNQD52AxY6pd/nHNLvU87oha4jZMhrNsJ0"
    "O9RqvMw6324ecyGgSeqgY2SqNm1+bdqwGByFWLowbSDxn4eG3E+In61OG1tkkdK0nfaw0z"
    "7vvlRl2sQs5OhmwjNVQDkTUZkUsnf71lxuj+aW3CC15Ftwe+sn6mMI3t5y4++Srl1hoe4Q"
    "SoGDXGGKhl7qiYSxe2ujj3EgcFFhNIbc1I343wp0iIHhEFu02QgWTW/yo4VCiS89Vp3/hB"
    "lXFGi5hLbpAPx47nHMXhnS2XqPQ7+rrCovmlVlvexkGLIolcpy+Kx178WsqHW7r6oGWjlY"
    "VOEEkJkzMs+YsGnayJohuUubQqj8G1zy1MJJ5LM9A0Ikyt93Q++ARYaeokBKrBX17s7tls"
    "1YOA6h3Ay0rrtX5yITlk8/xsOgha5abjqdbve8e87aAgXBGA+6o8F30ZEzp0vR81O7d8G7"
    "TaBp8T7Dm+vuYBiQ2uxU8GiHX3vX16LxXuTHrofpwGdlZbSvYZLdqV7fVXvObU3v6huLNL"
    "4cFny7FQc2jVQBHAc4LoEl8M23NKeQq1pfdbY1e7XZShng0kgbxJttt3iesDrIiGtRquZZ"
    "KarJuuh5UJbxBIxQKgeZWh9ayuEze5M1y+FTpclv8qynbPZEYS7f6lK2onOEVrGi9Zno5P"
    "4OLEaS2tYYmbJ451u8w3a5LVm8G1jj7iBm8Y4tsojFe8BW/qDXGeWZvBMqIT9h05aqDIai"
    "DBoyAZUWGUws3BwngfDiLuAkEN5eBSqkzNjtJKz3odjRwPpOAWXbERmhsHQv+Jw386okFD"
    "F21gWvIBiynWpAJ+knsO0XjPG3oMLg7e3jjHXQuIeB6Pda5O/iCXZ5TDvCrsn+6FWSrweG"
    "DOEx6u3rnghlHwqiM/I0xrpps+900ZNLP/Kwel5kBTjE9b6WsE+zoE0PwvH5OnScJbgj7k"
    "x8LXS5Sg8s2EutMb69tR30YJIF1bxP09CTbbIOIrevqtBSl2vqIMeXQHndV+x1H/j8aJJI"
    "x+map5qqCvG1B4ZUnYUYmTLDbmCG5VIeu6v5tUBwGveVqe1Oodxh/cp9MR/xP1yzzLnpaj"
    "ZyfLAkUM6kV4aFNBfx9WdIHOAxsuad35WYFjxGMolzTmnhFUUjuJJdh/fEWHgZ5FNIm7DK"
    "X3gGQkKUrCI2fySllq2zWjYkzMvswRiZ2n8lAhwxx0E24i5EtcN4u0AHsb/xdiYVuGkOgl"
    "SSoUqSNmG574Cp4r547BM0avqGBplLJUGs7pE63yOewaSkGRdt1XyvZrmyWc4M7qgssqOc"
    "QqWqM3PLIr7ydMqGej99XpSn088460U8nWqSeLhuM16JF0wIsSTQ0o4wveho+wnwsz4wyV"
    "W2gRvM2pSfIt6W8IBpYNaNWPwgO/jS0niVAWsoBmsSVLvwFvJRy/EVWuNawFOIrjsXqtjH"
    "JhdR941XKOKOkPt7hGzupUMmwsHnVeB6dLAqGfH6VFSC4KX3fKcaQd2KYb3l4cc4yJTCS2"
    "Csa2wA4vAIUFfkGPG5fsrGtpZecQroBmU2RO6R7AqAYR+rcKy9qgFYo6jzGpetqOmptmFa"
    "BW8Da6WyKyRpGxMZu+MUC/yAKzcHcUo1A+VmQIURqDCCuvClcREqL4zghRPntZkwps/SuF"
    "v/SS5XC9d9qqxbIMXR/Szs3IbK5mxGLfMayzaFZt9f++n0FK8ofFLEL/jkJKei8EkiRwzb"
    "VBII+90biG4leYvZG12Udk1l+1uHSJSvtaSvdYJj2OVl9tf/A9dI4x8="
)
