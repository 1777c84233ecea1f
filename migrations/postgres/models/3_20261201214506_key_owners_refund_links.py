from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    # Records from before owners keep owner '' and replay for any caller. Refunds that
    # vendors posted before the link existed are linked to the payment they were
    # counted against (same account, reference and source); the append-only trigger
    # is lifted for that one statement (hand-written, after aerich's DDL).
    return """
        ALTER TABLE "idempotency_record" DROP CONSTRAINT IF EXISTS "uid_idempotency_scope_7030bc";
        ALTER TABLE "idempotency_record" ADD "owner" VARCHAR(250) NOT NULL DEFAULT '';
        ALTER TABLE "idempotency_record" ALTER COLUMN "owner" DROP DEFAULT;
        ALTER TABLE "ledger_entry" ADD "refunds_id" UUID;
        ALTER TABLE "idempotency_record" ADD CONSTRAINT "uid_idempotency_scope_d34add" UNIQUE ("scope", "owner", "key");
        ALTER TABLE "ledger_entry" ADD CONSTRAINT "ledger_entry_refunds_id_fkey" FOREIGN KEY ("refunds_id") REFERENCES "ledger_entry" ("id") ON DELETE RESTRICT;
        CREATE INDEX IF NOT EXISTS "idx_ledger_entr_refunds_1966a8" ON "ledger_entry" ("refunds_id");
        ALTER TABLE "ledger_entry" DISABLE TRIGGER "ledger_entry_append_only";
        UPDATE "ledger_entry" r SET "refunds_id" = (SELECT p."id" FROM "ledger_entry" p
            WHERE p."account_id" = r."account_id" AND p."kind" = 'payment'
              AND p."external_ref" = r."external_ref" AND p."source_id" = r."source_id"
            ORDER BY p."recorded_at" LIMIT 1)
        WHERE r."kind" = 'refund' AND r."external_ref" IS NOT NULL AND r."refunds_id" IS NULL;
        ALTER TABLE "ledger_entry" ENABLE TRIGGER "ledger_entry_append_only";"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        ALTER TABLE "idempotency_record" DROP CONSTRAINT IF EXISTS "uid_idempotency_scope_d34add";
        DROP INDEX IF EXISTS "idx_ledger_entr_refunds_1966a8";
        ALTER TABLE "ledger_entry" DROP CONSTRAINT IF EXISTS "ledger_entry_refunds_id_fkey";
        ALTER TABLE "ledger_entry" DROP COLUMN "refunds_id";
        ALTER TABLE "idempotency_record" DROP COLUMN "owner";
        DELETE FROM "idempotency_record" WHERE "id" NOT IN (SELECT MIN("id") FROM "idempotency_record" GROUP BY "scope", "key");
        ALTER TABLE "idempotency_record" ADD CONSTRAINT "uid_idempotency_scope_7030bc" UNIQUE ("scope", "key");"""


MODELS_STATE = (
    "eJztXVtz2ziW/isovUy6ynHFtyTrnp0qWVYSdWzJK8lJZ1pTNExCEtsUwAZJ29re/u8L8C"
    "LxboISZYqNl8QGcED6A3B47viztSAaMqzDjmPZZIFo6xz82cJwgdgPib4D0IKmue7hDTa8"
    "N9zBanjUvWVTqNqsfQoNC7EmDVkq1U1bJ5i1YscweCNR2UAdz9ZNDtb/cJBikxmy5+77/P"
    "Yf1qxjDT0jK/jVfFCmOjK0yOvqGn+2267YS9Ntu73tXX5yR/LH3SsqMZwFXo82l/ac4NVw"
    "x9G1Q07D+2YIIwptpIX+DP6W/l8cNHlvzBps6qDVq2rrBg1NoWNwMFr/nDpY5RgA90n8n9"
    "N/+a8WGqYo/cFYGXXHitISwE4lmOOuY5sD9edf3rxrQNzWFn9A50t7+Obk/U8uBMSyZ9Tt"
    "dOFq/eUSQht6pC7oa5Td/xM4d+aQpuMcjI8hzV60DMZBQw7IAT4VINpawGfFQHhmz9mvx+"
    "/e5UD8rT10UWajXJgJOxDeSen7XcdeH4d7Da+FZguEbRGEQyTNA/n9aQGM359mQsy7oghT"
    "3XpQTEqmupGxkbvYWbhQ99iLQayiBOTxOarCfc09VyAvkKY7C0Ge0boafD8HBnma4OvuZe"
    "/2+hx480zwl97nL+dgrs/mrRLLc/S+wPIcvc9cHt4VOwA2tB2r7MKsqXe4JOxLpz8i0SVp"
    "d8a9b91z4FFP8KCvfBlcXZ4D9tZzYmgTfHE16HztspZ7g6gPSKvHAqkOpQirSxEWFabZ3c"
    "LsjEmdFMD4JBPikzjCJqQ2Q0NJE2iyMY5SlULZZ/O1/BAcHX8sspOPP2ZvZd4XRfoRUYu/"
    "VQLmHrbTUQ5RxCDWvU9wFRv5qCqEZ/wN3h4fnX44/Xjy/vQjG+K+5arlQw7mvf44zhoo4n"
    "+5AlPkl0vWY+sLlMEgIpQxZDWf9DD4YR8ZBvsDtQE2lv4hysF13Lvujsbt6xv+uIVl/WG4"
    "+LXHXd5z7LYuY61v4hx8NQn43ht/AfxX8O9BvxuX+Ffjxv9u8XeCjk0UTJ4UqIXOe9AaoB"
    "ZZdcfUSq56lFKuel1WPcAotOzu23PVe/oQUgt5wz1UH54g1ZRIz3p7oGcbUQwNhaJpilx3"
    "4ZN/+jpEBrTTeatviej6Uw3RdA83w1/B9g9aw7CSY5KFa7Qrwm013VagqhInTWMMkB1gNC"
    "bsn5fx7bgzttcTbiwv1AfgxfEiBvACYjhz35JPx4lTtlmKPSy2C7NNYuGdv32z2G8ta2nZ"
    "yFUFV09iwt9/NrGXXeizTNEnVbBMkXr8XbGZqaxKpuxJPf91fHxy8uH43cn7j2enHz6cfX"
    "y3En+SXXly0EXvMxeFIow4kI2y7WjrxSts51lRNFCF2r6dJ3wmBFCOkTUQ6krsllL0b5oQ"
    "WET0D5w+qWcs2/cSI9umE6YeIkgJn0tCtk6inIT4E6FIn+GvaJkwi2ZIeKGp9hPahHTHmi"
    "l8Wsk38c3FMGB/ObJdFIZsww97HfZtztZchKRxQclypLvvkRAp3fZcWdIKRkjXamNdqypb"
    "diGruj9+OzLK68rkFQuDdfNaN03846LZ/xIshHGYZofeuttxpyq2UPUulkJ2NvTNErJLWV"
    "q513hDC+sX4m2ehhj+IvYAzCZBG+JzhbQZol021bKhMBn6Qrc3RImLs1d8nj1kJNux0gvq"
    "BVHDe1oMZtwynxOImXALvKgztAYYARNREOhOh6AD1TnSwD00uEJpgQV5RIAw/gqedHsOmA"
    "IB/AMFINaAy3pYK7SBCh0L8QGLw1YM8SqfI7Wbums3Mm6o4rgh/+S7HFxZ6JikWIzyHDzp"
    "9LsLc3lXFeg7dPiEorjY8WASt8/ZyqxH1gxyRcqtyJwTlliHKJ1Evxz6GNmKBpcpomUm8G"
    "GS3cF+UjHuWwu30/Ej0VX2REVdquWD2VOm2WU8O8H23FgKyjKtm+5QGQ/b/REPox70z7lY"
    "qTCssQVdOWmCv3e7X69+nIMnhB6M5QRf9IKWez1oux70x194U/gtXj3CWkalbvWYyPjEbK"
    "j302qWFZ9Yb9f0qzpYtuiYrpcpsm5Hqq62yL3EiXu9FWmRLGyRLBIzEoQD7yBipA4cr4p4"
    "kY1svS5fSzHxBvwu27I7D0ZUGQPyWytkOfbTKf8jTaevajqFC74gZUwXccrdaQcNCeAOcV"
    "Ro2g5FpSxISVppRSq5CtKLULEXYQ8T8E2ENY6XGNytm27/stf/zG1HLv0Ed9o349shT7kP"
    "TuwEfxv0LnnLI9E1/nv315ueOwQ9mzqtS1Y+RVPEN7lQBFaEqKKM8aZFulnEoSryYCp7Rq"
    "JT1JkltW5H3eE5cCxE2em46nX7Y3Y2DJ0psBPMuHP387Dt2V/ZEqAZhZ7tdfRjNO5en4N1"
    "ytLrnxAfdbFsoAhRnReqTkfEY4xWCYNrlHI3BteaWOFqbl9Nyf2RwagNM6vLYg9/x1Uv4k"
    "zxTUKCvpQolczyiwsk3LgthmiIZAM4aya0V5IzmVkVQzxlUrAoRk0364t28OhpzTCDx/fv"
    "FvANch/3ctO+iGroxApnosrchVcOy+9paGESm9sOh0glNNVvkxx0kOfE0dfDFboe/2KI/n"
    "iOwFSnlg2IY6tkgQCZAgge0BJp4ImybXYAKDINyH+fEuqGzlvsVfkQN3aeIraSlp2Myt/u"
    "1OmlalTiGTvIE/Z8iYxUlqqpk409p1RNsHiFrSYBQQMtJtvP6lwdiaLwrgh2aGKvymEaM0"
    "edFTJHneWYo84S5ijOaQTQ9Yc3cOtWYuzzWb8yh9ZczPcQpWsg3hXULkeWyZ6Ywox/GQ36"
    "WUCvaeJWF121wf8BQ7f2WLFJA5ejETGtBKC+uW7/Gse7czW4iCuYfIILmX3fcNPXFrLvq1"
    "Q/wgpbiuIR0+eyVQ7DHaig1cgXlY22yV3ib3ke7iG4IUyJ1R8R8IKJLMDW3ULgiSfhck0g"
    "CKAD5AlZBwCjGXSHE4wsfucA69FTtI6KniEY4eapYN7ZlGFurxvm9sD+vnQR4mWfekBbZz"
    "HCxeZz9xyo7E+aIe5A/zbodbrcec5TsFjLTfvHtetjN+Fy4TrZh91Pt/3Lc6ZiswXWJrgz"
    "7F72xvwxfCIvYxcTm9G2L3+5HY09cqj9zk5MMMO37nDUvuJz8EQhaMTP4us45GVUo4ynqw"
    "n0VcbTEarPdF5Qtvx+z5yi1MavmWX3dfb9CtIyByCVuHnxc1s+CNNnhSMhAnSIpHnwnhax"
    "xpxmG2NOZWyijE2UsYli5sqw+03QMJxC2jymVFFAaPQijKKIx+kk3IXgDr+ZANoxsuaBfV"
    "YI7LMcsM+SYBOmUnspyikyPSEGgjhDiIwQxtC+Z5RVMfBVy24NQxeDwVXE5nvRi0np/dvr"
    "iy77crrws0FesfQ04V11Be8ypvgYaQNt8Xtiey8UYx62zgoudIy0gQvdMKeLjDcuc6QF4o"
    "15+QBBREMkMt44kXDpYM0SBDRKVSmmNclrkgHxr7ZBubMHie/QCNkWUa1DNRiZZFApvDLJ"
    "oKZJBilfri2guu2MgjqWh4p+sQvAG1Rp2hDbZt3EEUc1JFhukBbjrQ0vkZ1iyJWpMXn14Y"
    "LPfBI3wfpwm0FXB5mgAAuIiETiFeISsOfv2OIXdjd33wpequjVdkwJkowUfsy/XnFtjC0Q"
    "IAks5/6tSwAI9uIU4TpKcQGXPFJxdWUJgHwYAvwxKZGQG06WmnEVruLHhR+Za1WjOJTsGM"
    "jSl3e82q0dDVmSxMUd5S/skEX+NlwBeVHHa6IvS7xkL8h+ulxSfG2yxEujLdrNgVOaX/8+"
    "5td9hXWTIi9VJhC2Hbaru48o/U7RUO9Bnm4M+TgFrQaKZA96Siu05m/VOQMQae71n2wCBB"
    "fgzVrJPQCEgrs7Lyb37u6n3HTB0pNO8AR3OAmbM0zDtiTTm/m1ohjMDHIPDfYQtoiWV/3E"
    "coueaPrUrZZrT3DwAAuoZMG1dh0DE1JGhoyfAYLqPJhZt9hPumEwfd6GC/bIt+hR19gkwH"
    "31nIIpLr2rvaM/Esr7b7GUYrb3xJIXpUK/K4V+vZCF47pXFA0M6t5+TQR+PoT2t08gLSSl"
    "NUTG/QnNSTPJ0hXCVA3c2xWkyLqQiaWFhGkaCHIlEfPenZGCKG8SJ18A451+KqsucXX/O1"
    "JtYY4RI2vgbq4MajGeESGSG/pllO8RUwmEyjCtKTYqwlRPH24arpXUYIJTO61WXjbsKwKJ"
    "ennUg1ptYkwlStW8dLLtcxVZYazMlq+5pyWZ3WJS9ChcLzFCJCWhAqdJFGEJ7gvg1qQsXt"
    "vUO26Vh1aaUXvVeZBr0zZ1RV2Pe9mkjcGg7dhzcHz4zq8xAd54/yu8CBf7X2eUP/0MPAM1"
    "sKDB9oprpebVtHXbAhZiI21uEn5AZlpBvGqe8XJBPCHL8d/FbHx8dPrh9OPJ+9OVJW3Vkm"
    "dAe9kg7K+omCwVIdoOg3pdkCvm/e7/AvgG4xvI+6u5BdHlM8JCTIysiWifnRVB++wsp4L5"
    "WQJtXk8/JVR/jJ6zfBwrikZgnCf9d38d5yu8K+H/atD/HAyPa8ExhZcYaXjn6LoBQSPg3s"
    "GWrtEdkTUzMjRJ02U6K3koWb4jTClXuc6rLM1WjV3mmqj8I33GY7a+otRC+KHeg/wkL3dc"
    "ULyvkNYPreVigdgiq+CX7yN+4dXPbkF6k+qPbBuyxq9c20ZYpUuTa+PQBjT1lq1NJ5N6fL"
    "30+AcxDf5B6u4FdXdozAjV7blQ0FyEqIFC+PZji3ymo/z+9CCiWcbIGgH1rtVLKTA1VmCK"
    "aj+2Xq5KZZRSaj91W+WaiMVj6vCE455lOYhm31CbNixXULY9AkV3KQrKyjwDwmabEJiE2t"
    "D4hwUGvcsOk20Jz3iggEHKJFp7Tokzm4PPFJrz/7kCbzqda2U8vB2Nu5dKbzS67Q5HfKgF"
    "FoSitDyQ6p4jJex6Sdjr7VdUClxTNE7OrqR4NU/tQn7mXmFJO0TTCOlvBzhz94CiGlAX0m"
    "miVA3E+qgQ1kc5WB9lYL2AZhLpnDtSQzTyjtQNIkX9b7P4Xk8Qyu1ebLuvDB9C/sooVQOx"
    "rsZpifnfnpZOm3fRQ4hqh7c8BJLK3l7yII0kZRZgL9RnWW3ob7HMNbGStFUVWVZ2GYxQ90"
    "FuzLA7UKgQBpix3fYPC3ikANo2Wpg2eHN357Uc+i1Iu7v76cAtM+FW23ArXHBaYNnQZqKn"
    "rlppppBtT79lC4isMsH7dlFlIqhIIlhsKkZWbcGp/Sj3X4vyXftjrhdAU8f3xMGax0AFYU"
    "2j3eZurUMd6g3hnVGIbWHlJERVTjnZn626Rd2EfztF1O1gfPOSYCuxacj7/RqsFUgdv9gx"
    "289Ss0Vu9wtdxy0sBsQpZY3U/BqpIcSSQAvX8exFZ9tPgF8s55ncZbWq6nkBDb5KQ8QDIF"
    "opFo3ogIM8m8a9N1Sh67EFrBo+FYAYBFd0A6/KJvAmQho3QvjDDoM21wjB85JdSwS/oBWr"
    "uqG7QKdZN6p6jLRySCuHtHJIvXw38AYstsR9FglSWbNUkJeEeQdTC7Gacu1WTtWFEE0Dfe"
    "QnBTT3k0y9/SQReON/f0vFO0dIG6jO7Yn6JrV2qbVLrX03QoLU2kUA3netvedJyplhCJH+"
    "gzydPSJzF1PZx3MEONnzOYDgEVGdvbQGVGgY/I87AEw/oqzBq1ELdLeAGOtgrMDgN4xqSe"
    "18KzOm3nwR2/uB5q8Ed1xErsHg8QuOCw9mAxU/3oF/X9jQxFwUqUh/9L4/Yvdl5DC3V9B5"
    "Wv+cOtgtQA7cJ/F/Tv/Vqh2HO8jR5cPrKiCSx8gaKJVXUq/L089dmETAjlA1z3lZCdQqxA"
    "TrjBMKw52kbB7kFdz/svoEJHHuYmeREJKi8Tor6t2xktV3SJBjMxmm0+19616eg2CGCR52"
    "x8Mfvf5n3mbTJVuJCW7f3Fz1+DAmRBg6H9X73B8MeQsTHPmHeYJv2sOvvMGE9IH/ftlts9"
    "80pr7Ev/WFwgC2Xp6APc4uw7PidA38QlQSc2HCpUFgqnsDQ7rMytpZEcWjh5a2VxBvv5hV"
    "npnRT4FaqeoMzYtevz38kV4K4iIlZerix7jbrnOwy/4sR53MJ4WsZmHlQ3CdY6S7sZvVxN"
    "Oyd+vsf3NLLHOUUp7mWq+yZ2lIkTszvXlhksbcTb9h8YdQxe6Y/Ubw7KSQywNU5wNkQMtW"
    "EKVpPvHs6mNRqiaox3lrWkntsdeOodkf/AWCPFgPf6sEoDklJ1YU8may8vUmpFNSOiWlU3"
    "IDp+R6EVJ9kpE1ynNJRgcWqawcC+k9BD3bAr5vE/ilmv37jCwAKQIj9+cL8gxU3ZwjarMZ"
    "rJ/B01w3EIBxq2UFj5hgSmz3jwTkEVEDmtaBX78ZPerEWV2/5PtDLWATAhxs6wa4uwsGKf"
    "4lKOt7DO7uqghLli7LbbssLcOZiZiig/GNq0Un72vaN6fkA/vTyrrIAto6Y926af+47vbH"
    "ys1w0OmORoMh92wtF9wTZFLCi2EQOsEXt72ry17/szL6MRp3r8/BvaMbGr8TwPtCTHB3eH"
    "MOEDUnuDNk/SpdlHGHnRwXCa09zo6tPU5W6yZT9hESOSMhkjovXW14EEVTfxuIoBylkkAX"
    "8dijGT+YKbbTbHU5TCMrNG5ylzcv3m/oC50xRkS5MErSPg2ZVuxM+iblpmzNqh1C696hVo"
    "qFqAjQK1KJcQrGnj4lYkVeUzSCX+/ahBzTZEWQTyGVRvyNV0Apf5ti/kzShVZnF5q/ZL4t"
    "yv8Ui3iksyeQH5qUD40s/7vDEluekbxMGE2UUrKwOrMwxnmsVH9SJs8KUeyOSR3tCYeSmb"
    "nZUDc3M1eW0G7aqqfwTvftE975bLdxKFQxVLc6RTq88Mk/fR0iY+XCTXfax2pl79lmyHLa"
    "p5Zr8UpSbIhXohJXExGL5CNvCFg8C7opeFUZxHFDiU0YT7/x/D3Z9wCmDzzIC+wwfRIl5E"
    "wqdBegNxw4Js8PSt7H5917bc1102SdBCMv/oLT8AgNt/cJ3c8JebDAlBgaoqlXAVb0GHkT"
    "YL1uAnzd8IBGR15YxKFpFwDmWM9XFNJ6XsJ2K1XeLbAKqfI2V/mRKu/fcdW3oPJWKWS3DZ"
    "RebNnryBWi4WrIi5Lzd6rbNsKBbGqxZzEYILagFzsLLbddnUM8Yz1zaAO28haXZm3whncR"
    "x74nz4CSJ0CmCZF5y/NPsI4fIdUhtsH7n34G7E/XefAznvHxNgEmIiYPnebx1m6QlOUWgg"
    "JMD0SUgYDfsvlk9PM+RD9nh5Cm41x12GijhHDET42dUZy2QBWbEH2dhXImv30anDPuMyUT"
    "/L097LuFaxh3xm7dms6wN+512lc87la3eSWkOAMrsjzbr0WzQJbFPgsiuz9EUucFKXkCKr"
    "kkfQ8yU2tSE0OouHstEiSbCK2GbKgbQlHMIZLdBzGHhBCe9mDr2Drkj30NOaSS0Ob9MgXs"
    "VH7ZT50wyxJQE53w0/MQuuFLCaXQ7znI0wqnzwoNBr2oFx4BtpNspnEBft+Nhe7uwH+zH/"
    "kE7EfeZ3mdfziENx2AKSUL9juaThE784/IzTMFaRftbHnu1KK+fF7e6U7BfwjTJur6Cml6"
    "8vod3reL63eCRSwqAwfjGygAb/nqjNWxKArtikBi+xK2AZMtnNAHG4vsaRGt7TRbaTtN1p"
    "UOs3FBoStO20Bb/J7IWYVCdfdLupYul70Xr9uI6uq8leZz8XpyxWu4HvOSdJ29zjIOqF5x"
    "QJmxE9mf8+zgiSZ80Y/PzooUCzk7yy4WwvuiH3V+qAQQ9oc3EN1KCq37BepFzIYhEln7QN"
    "BA+Kofs7/+H2PBwnI="
)
