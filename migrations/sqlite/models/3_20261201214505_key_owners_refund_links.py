from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    # Hand-written: SQLite cannot drop a table's UNIQUE constraint, so the table is
    # rebuilt; records from before owners keep owner '' and replay for any caller.
    # Refunds that vendors posted before the link existed are linked to the payment
    # they were counted against (same account, reference and source): the
    # append-only trigger is lifted for that one statement.
    return """
        CREATE TABLE "idempotency_record_new" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "scope" VARCHAR(64) NOT NULL,
    "owner" VARCHAR(250) NOT NULL,
    "key" VARCHAR(200) NOT NULL,
    "request_hash" VARCHAR(64) NOT NULL,
    "response" JSON NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    CONSTRAINT "uid_idempotency_scope_d34add" UNIQUE ("scope", "owner", "key")
) /* The first outcome of a keyed write, replayed for the same key and request. */;
        INSERT INTO "idempotency_record_new" ("id", "scope", "owner", "key", "request_hash", "response", "created_at")
            SELECT "id", "scope", '', "key", "request_hash", "response", "created_at" FROM "idempotency_record";
        DROP TABLE "idempotency_record";
        ALTER TABLE "idempotency_record_new" RENAME TO "idempotency_record";
        ALTER TABLE "ledger_entry" ADD "refunds_id" CHAR(36) REFERENCES "ledger_entry" ("id") ON DELETE RESTRICT;
        CREATE INDEX "idx_ledger_entr_refunds_1966a8" ON "ledger_entry" ("refunds_id");
        DROP TRIGGER IF EXISTS "ledger_entry_no_update";
        UPDATE "ledger_entry" SET "refunds_id" = (SELECT p."id" FROM "ledger_entry" p
            WHERE p."account_id" = "ledger_entry"."account_id" AND p."kind" = 'payment'
              AND p."external_ref" = "ledger_entry"."external_ref" AND p."source_id" = "ledger_entry"."source_id"
            ORDER BY p."recorded_at" LIMIT 1)
        WHERE "ledger_entry"."kind" = 'refund' AND "ledger_entry"."external_ref" IS NOT NULL AND "ledger_entry"."refunds_id" IS NULL;
        CREATE TRIGGER IF NOT EXISTS "ledger_entry_no_update" BEFORE UPDATE ON "ledger_entry" BEGIN SELECT RAISE(ABORT, 'ledger_entry is append-only'); END;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE "idempotency_record_old" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "scope" VARCHAR(64) NOT NULL,
    "key" VARCHAR(200) NOT NULL,
    "request_hash" VARCHAR(64) NOT NULL,
    "response" JSON NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    CONSTRAINT "uid_idempotency_scope_7030bc" UNIQUE ("scope", "key")
) /* The first outcome of a keyed write, replayed for the same key and request. */;
        INSERT OR IGNORE INTO "idempotency_record_old" ("id", "scope", "key", "request_hash", "response", "created_at")
            SELECT "id", "scope", "key", "request_hash", "response", "created_at" FROM "idempotency_record" ORDER BY "id";
        DROP TABLE "idempotency_record";
        ALTER TABLE "idempotency_record_old" RENAME TO "idempotency_record";
        DROP INDEX IF EXISTS "idx_ledger_entr_refunds_1966a8";
        ALTER TABLE "ledger_entry" DROP COLUMN "refunds_id";"""


MODELS_STATE = (
    "eJztXVtz2ziW/isovUy6ynHFtyTrnp0qWVYSdWzJK8lJZ1pTNExCEtsUwCZB29re/u8L8C"
    "LxboISZYqNl8QGcED6A3B47viztSAaMuzDjmNTskBW6xz82cJwgdgPib4D0IKmue7hDRTe"
    "G+5gNTzq3qYWVClrn0LDRqxJQ7Zq6SbVCWat2DEM3khUNlDHs3WTg/U/HKRQMkN07r7Pb/"
    "9hzTrW0DOyg1/NB2WqI0OLvK6u8We77Qpdmm7b7W3v8pM7kj/uXlGJ4SzwerS5pHOCV8Md"
    "R9cOOQ3vmyGMLEiRFvoz+Fv6f3HQ5L0xa6CWg1avqq0bNDSFjsHBaP1z6mCVYwDcJ/F/Tv"
    "/lv1pomKL0B2Nl1B0rSksAO5VgjruOKQfqz7+8edeAuK0t/oDOl/bwzcn7n1wIiE1nltvp"
    "wtX6yyWEFHqkLuhrlN3/Ezh35tBKxzkYH0OavWgZjIOGHJADfCpAtLWAz4qB8IzO2a/H79"
    "7lQPytPXRRZqNcmAk7EN5J6ftdx14fh3sNr41mC4SpCMIhkuaB/P60AMbvTzMh5l1RhC3d"
    "flBMi0x1I2Mjd7GzcKHusReDWEUJyONzVIX7mnuuQF4gTXcWgjyjdTX4fg4M8jTB193L3u"
    "31OfDmmeAvvc9fzsFcn81bJZbn6H2B5Tl6n7k8vCt2ACikjl12YdbUO1wS9qXTH5HokrQ7"
    "49637jnwqCd40Fe+DK4uzwF76zkxtAm+uBp0vnZZy71B1Aek1WOBVMeyEFaXIiwqTLO7hd"
    "kZkzopgPFJJsQncYRNaFGGhpIm0GRjHKUqhbLP5mv5ITg6/lhkJx9/zN7KvC+K9COybP5W"
    "CZh7mKajHKKIQax7n+AqNvJRVQjP+Bu8PT46/XD68eT96Uc2xH3LVcuHHMx7/XGcNViI/+"
    "UKTJFfLlkP1Rcog0FEKGPIaj7pYfDDPjIM9gdqA2ws/UOUg+u4d90djdvXN/xxC9v+w3Dx"
    "a4+7vOfYbV3GWt/EOfhqEvC9N/4C+K/g34N+Ny7xr8aN/93i7wQdShRMnhSohc570BqgFl"
    "l1x9RKrnqUUq56XVY9wCi07O7bc9V7+hBSC3nDPVQfnqClKZGe9fZAzxRZGBqKhaYpct2F"
    "T/7p6xAZkKbzVt8S0fWnGqLpHm6Gv4LtH7SGYSXHJAvXaFeE22o6VaCqEidNYwyQHWA0Ju"
    "yfl/HtuDO21xNuLC/UB+DF8SIG8AJiOHPfkk/HiVO2WYo9LLYLs01i4Z2/fbPYby17aVPk"
    "qoKrJzHh7z+b2Msu9Fmm6JMqWKZIPf6u2MxUViVT9qSe/zo+Pjn5cPzu5P3Hs9MPH84+vl"
    "uJP8muPDnooveZi0IRRhzIRtl2tPXiFbbzrCgaqEJt384TPhMCKMfIGgh1JXZLKfo3TQgs"
    "IvoHTp/UM5bte4mRbdMJUw8RpITPJSFbJ1FOQvyJWEif4a9omTCLZkh4oan2E9qEdMeaLf"
    "i0km/im4thwP5yRF0UhmzDD3sd9m3O1lyEpHFByXKku++RECnd9lxZ0g5GSNdqY12rKlt2"
    "Iau6P347MsrryuQVC4N181o3Tfzjotn/EiyEcZhmh96623GnKrZQ9S6WQnY29M0SsktZWr"
    "nXeEML6xfibZ6GGP4i9gDMJkEb4nOFtBmyumyqZUNhMvSFTjdEiYuzV3yePWQk27HSC+oF"
    "UcN7Wgxm3DKfE4iZcAu8qDO0BhgBE1kg0J0OQQeqc6SBe2hwhdIGC/KIAGH8FTzpdA6YAg"
    "H8AwUg1oDLelgrpECFjo34gMVhK4Z4lc+R2k3dtRsZN1Rx3JB/8l0Orix0TFIsRnkOnnT6"
    "3YW5vKsK9B06fEJRXOx4MInb52xl1iNrBrki5VZkzglLrEOUTqJfDn2MqKLBZYpomQl8mG"
    "R3sJ9UjPvWwu10/Eh0lT1RUZdq+WD2lGl2Gc9OMJ0bS0FZpnXTHSrjYbs/4mHUg/45FysV"
    "hjW2oSsnTfD3bvfr1Y9z8ITQg7Gc4Ite0HKvB23Xg/74C28Kv8WrR1jLqNStHhMZn5gN9X"
    "5azbLiE+vtmn5VB8sWHdP1MkXW7UjV1Ra5lzhxr7ciLZKFLZJFYkaCcOAdRIzUgeNVES+y"
    "ka3X5WspJt6A32VbdufBiCpjQH5rhSzHfjrlf6Tp9FVNp3DBF6SM6SJOuTvtoCEB3CGOCk"
    "3qWKiUBSlJK61IJVdBehEq9iLsYQK+ibDG8RKDu3XT7V/2+p+57ciln+BO+2Z8O+Qp98GJ"
    "neBvg94lb3kkusZ/7/5603OHoGdTt+qSlW+hKeKbXCgCK0JUUcZ40yLdbOJYKvJgKntGol"
    "PUmSW1bkfd4TlwbGSx03HV6/bH7GwYOlNgJ5hx5+7nYduzv7IlQDMLerbX0Y/RuHt9DtYp"
    "S69/QnzUxbKBIkR1Xqg6HRGPMdolDK5Ryt0YXGtihau5fTUl90cGozbMrC6LPfwdV72IM8"
    "U3CQn6UqJUMssvLpBw47YYoiGSDeCsmdBeSc5kZlUM8ZRJwaIYNd2sL9rBo6c1wwwe379b"
    "wDfIfdzLTfsiqqETK5yJKnMXXjksv6ehhUkotx0OkUqsVL9NctBBnhNHXw9XrPX4F0P0x3"
    "MEprplU0AcqpIFAmQKIHhAS6SBJ4ttswNgIdOA/PcpsdzQeZu9Kh/ixs5biK2kTZNR+dud"
    "Or1UjUo8Ywd5wp4vkZHKUjV1srHnlKoJFq+w1SQgaKDFZPtZnasjURTeFUED4T0+K2SQOs"
    "sxSJ0lDFKc1wjg6w9vIrpVmPt85q/MoT0X8z5E6RqIdwXVy5FtsiemsONfRoN+FtBrmrjd"
    "RVcp+D9g6PYeqzZp4HI0IsaVANQ31+1f43h3rgYXcRWTT3Ah8+8bbvzaQv59lQpIWGVLUT"
    "1iGl220mG4AxW0GvmiutE2uVP8Lc/EPQQ3hKmx+iMCXjiRDdi62wg88TRcrgsEIXSAPCH7"
    "AGA0g+5wgpHNbx1gPXqK3lHRMwRj3DwlzDubMtDtdQPdHtjfly5CvOxVD2jrLEa42Hzung"
    "OV/UkzxF3o3wa9Tpe7z3kSFmu5af+4dr3sJlwuXDf7sPvptn95zpRstsDaBHeG3cvemD+G"
    "T+Tl7GJCGW378pfb0dgjh9rv7MQEM3zrDkftKz4HTxWCRvwsvo5LXsY1yoi6mkBfZUQdsf"
    "SZzkvKlt/vmVOU2vg1s+2+zr5fQVrmAKQSNy+CbssHYfqscCREgA6RNA/e0yLWmNNsY8yp"
    "jE6U0YkyOlHMXBl2wAkahlNIm8eUKgoJjV6FURTxOJ2EuxDc4TcTQDtG1jywzwqBfZYD9l"
    "kSbMJUai9JOUWmJ8RAEGcIkRHCGNr3jLIqBr5q2a1h6GIwuIrYfC96MSm9f3t90WVfThd+"
    "Nsgrl54mvKuu4F3GFB8jbaAtfk9s74WizMPWWcGFjpE2cKEb5nSREcdljrRAxDEvICCIaI"
    "hERhwnUi4drNmCgEapKsW0JplNMiT+1TYod/Yg8R0aIdsiqnWoByPTDCqFV6YZ1DTNIOXL"
    "tQVUt51TUMcCUdEvdgF4gzpNG2LbrLs44qiGBMsNEmO8teFFslMMuTI5Jq9CXPCZT+ImWC"
    "FuM+jqIBMUYAERkUi8RlwC9vwdW/zK7ubuW8FrFb3qjilBkpHSj/kXLK6NsQUCJIHt3L91"
    "CQDBXpwiXEcpLuCSRyquLi0BkA9DgD8mJRJyw8lSc67Cdfy48COzrWoUh5IdA1n6+o5Xu7"
    "ejIUuSuLqj/JUdsszfhisgr+p4TfRlkZfsBdlPl0uKr00WeWm0Rbs5cErz69/H/LqvsG5S"
    "5qXKBMK2w3Z19xGl3yoa6j3I040hH6eg1UCR7EFPaYX2/K06ZwAizb0AlE2A4AK8WSu5B4"
    "BY4O7Oi8m9u/spN12w9KQTPMEdTsLmDNOwLcn0Zn6xKAYzg9xDgz2ELaLt1T+x3bInmj51"
    "6+XSCQ4eYAOVLLjWrmNgQouRIeNngKA6D2bWbfaTbhhMn6dwwR75Fj3qGpsEuK+eUzLFpX"
    "e1d/RHQnn/LZZSzPaeWPKiVOh3pdCvF7JwXPeKooFB3duvicDPh9D+9gmkhaS0hsi4P7Fy"
    "0kyydIUwVQP3dgUpsi5kYmkhYZoGglxJxLx3a6QgypvEyRfAeKefyqqLXN3/jlQqzDFiZA"
    "3czZVBLcYzIkRyQ7+M8j1iKoFQGaY1xUZFmOrpw03DtZIaTHBK06rlZcO+IpCol0c9qNUm"
    "xlSiVM1LJ9s+V5EVxsps+Zp7WpLZLaaFHoXrJUaIpCRU4DSJIizBfQHcmpTFa5t6x63y0E"
    "ozaq86D3Jt2qauqOtxL5u0MRi0HToHx4fv/BoT4I33v8KLcLH/dUb508/AM1ADGxpsr7hW"
    "al5PW6c2sBEbSblJ+AGZaQXxqnnGywXxhCzHfxez8fHR6YfTjyfvT1eWtFVLngHtZYOwv6"
    "JislSEaDsM6nVBrpj3u/8L4BuMbyDvr+YeRJfPCAsxMbImon12VgTts7OcCuZnCbR5Rf2U"
    "UP0xes7ycawoGoFxnvTf/XWcr/CuhP+rQf9zMDyuBccUXmKk4Z2j6wYEjYB7B1u6RrdE1s"
    "zI0CRNl+ms5KFk+Y4wpVzlOq+yNFs1dplrovKP9BmP2fqKUgvhh3oP8pO83HFB8b5CWj+0"
    "l4sFYousgl++j/iVVz+7BelNS39k25A1fuXaNsKqtTS5Ng4psFLv2dp0MqnH10uPfxDT4B"
    "+k7l5Qd4fGjFg6nQsFzUWIGiiEbz+2yGc6yu9PDyKaZYysEVDvWr2UAlNjBaao9kP1clUq"
    "o5RS+6nbKtdELB5bDk847tm2g6zsO2rThuUKytQjUHSXoqCszDMgKNuEwCQWhcY/bDDoXX"
    "aYbEt4xoMFGKRMoqVzizizOfhsQXP+P1fgTadzrYyHt6Nx91LpjUa33eGID7XBglgoLQ+k"
    "uudICbteEvZ6+xWVAtcUjZOzKylezVO7kJ+5V1jSDtE0QvrbAc7cPaCoBtSFdJooVQOxPi"
    "qE9VEO1kcZWC+gmUQ6547UEI28I3WDSFH/2yy+1xOEcrsX2+4rw4eQvzJK1UCsq3FaYv63"
    "p6XT5l30EKLa4S0PgaSyt5c8SCNJmQXYC/VZVhv6WyxzTawkbVVFtp1dBiPUfZAbM+wOFC"
    "qEAWZst/3DBh4pgJSihUnBm7s7r+XQb0Ha3d1PB26ZCbfahlvhgtMCm0LKRE9dtdNMIdue"
    "fssWEFllgvftospEUJFEsNhUjKzaglP7Ue6/FuW79sdcL4Cmju+JgzWPgQrCmka7zd1ahz"
    "rUG8I7syCmwspJiKqccrI/W3WLugn/doqo28H45iXBVmLTkPf7NVgrkDp+sWO2n6Vmi9zu"
    "F7qOW1gMiFPKGqn5NVJDiCWBFq7j2YvOtp8Av1jOM7nLalXV8wIafJWGiAdAtFIsGtEBB3"
    "k2jXtvqGKtxxawavhUAGIQXNENvCqbwJsIadwI4Q87DNpcIwTPS3YtEfyCVqzqhu4CnWbd"
    "qOox0sohrRzSyiH18t3AG7DYEvdZJEhlzVJBXhLmHUwtxGrKtVs5VRdCNA30kZ8U0NxPMv"
    "X2k0Tgjf/9LRXvHCFtoDq3J+qb1Nql1i619t0ICVJrFwF437X2nicpZ4YhRPoP8nT2iMxd"
    "TGUfzxHgZM/nAIJHZOnspTWgQsPgf9wBYPqRxRq8GrVAdwuIsQ7GCgx+w6iW1M63MmPqzR"
    "exvR9o/kpwx0XkGgwev+C48GA2UPHjHfj3hQ1NzGUhFemP3vdH7L6MHOb2CjpP659TB7sF"
    "yIH7JP7P6b9ateNwBzm6fHhdBUTyGFkDpfJK6nV5+rkLkwjYEarmOS8rgVqFmGCdcUJhuJ"
    "OUzYO8gvtfVp+AJM5d7CwSQlI0XmdFvTtWsvoOCXJsJsN0ur1v3ctzEMwwwcPuePij1//M"
    "26i1ZCsxwe2bm6seH8aECEPno3qf+4Mhb2GCI/8wT/BNe/iVN5jQeuC/X3bb7DeNqS/xb3"
    "2hMICtlydgj6NleFacroFfiEpiLky4NAhMdW9gaC2zsnZWRPHooSX1CuLtF7PKMzP6KVAr"
    "VZ2hedHrt4c/0ktBXKSkTF38GHfbdQ522Z/lqJP5pJDVLKx8CK5zjHQ3drOaeFr2bp39b2"
    "6JZY5SytNc61X2LA0pcmemNy9M0pi76Tcs/hCq2B2z3wienRRyeYDqfIAMaFMFWVaaTzy7"
    "+liUqgnqcd6aVlJ77LVjaPYHf4EgD9bD3yoBaE7JiRWFvJmsfL0J6ZSUTknplNzAKblehF"
    "SfZGSN8lyS0YFFKivHQnoPQY/awPdtAr9Us3+fkQ2ghcDI/fmCPANVN+fIomwG+2fwNNcN"
    "BGDcalnBIybYItT9IwF5RJYBTfvAr9+MHnXirK5f8v2hNqCEAAdT3QB3d8Egxb8EZX2Pwd"
    "1dFWHJ0mW5bZelbTgzEVN0ML5xtejkfU375pR8YH9aWRdZQFtnrFs37R/X3f5YuRkOOt3R"
    "aDDknq3lgnuCTIvwYhjEmuCL297VZa//WRn9GI271+fg3tENjd8J4H0hJrg7vDkHyDInuD"
    "Nk/aq1KOMOOzkuElp7nB1be5ys1k2m7CMkckZCJHVeutrwIAtN/W0ggnKUSgJdxGOPZvxg"
    "pthOs9XlMI2s0LjJXd68eL+hL3TGGJHFhVGS9mnItGJn0jcpN2VrVu0QWveOZadYiIoAvS"
    "KVGKdg7OlTIlbkNUUj+PWuTcgxTVYE+RRSacTfeAWU8rcp5s8kXWh1dqH5S+bbovxPsYhH"
    "OnsC+aFJ+dDI8r87LLHlGcnLhNFEKSULqzMLY5zHTvUnZfKsEMXumNTRnnAomZmbDXVzM3"
    "NlCe2mrXoK73TfPuGdz3Ybh0IVQ3WrU6TDC5/809chMlYu3HSnfaxW9p5thiynfWq5Fq8k"
    "xYZ4JSpxNRGxSD7yhoDFs6CbgleVQRw3FqGE8fQbz9+TfQ9g+sCDvMAO0ydRQs6kQncBes"
    "OBY/L8oOR9fN691/ZcN03WSTDy4i84DY/QcHuf0P2ckAcbTImhISv1KsCKHiNvAqzXTYCv"
    "Gx7Q6MgLmzhW2gWAOdbzFYW0npew3UqVdwusQqq8zVV+pMr7d1z1Lai8VQrZbQOlF1v2On"
    "KFaLga8qLk/N3SKUU4kE1t9iwGA8Q29GJnoe22q3OIZ6xnDilgK29zaZaCN7yLOPSePAOL"
    "PAEyTYjMW55/gnX8CC0dYgre//QzYH+6zoOf8YyPpwSYiJg8dJrHW7tBUrZbCAowPRBZDA"
    "T8ls0no5/3Ifo5O4Q0Heeqw0YbJYQjfmpoRnHaAlVsQvR1FsqZ/PZpcM64z5RM8Pf2sO8W"
    "rmHcGbt1azrD3rjXaV/xuFud8kpIcQZWZHm2X4tmgWybfRZEdn+IpM4LUvIEVHJJ+h5kpt"
    "akJoZQcfdaJEg2EVoNUagbQlHMIZLdBzGHhBCe9kB1bB/yx76GHFJJaPN+mQJ2Kr/sp06Y"
    "ZQmoiU746XkI3fClhFLo9xzkaYXTZ8UKBr2oFx4BtpMo07gAv+/GRnd34L/Zj3wC9iPvs7"
    "3OPxzCmw7A1CIL9juaThE784/IzTMFaRftbHnu1KK+fF7e6U7BfwjTJur6Cml68vod3reL"
    "63eCRSwqAwfjGygAb/nqjNWxKArtikBi+xK2AZMtnNAHG4vsaRGt7TRbaTtN1pUOs3FBoS"
    "tO20Bb/J7IWYVCdfdLupYul70Xr9vI0tV5K83n4vXkitdwPeYl6Tp7nWUcUL3igDJjJ7I/"
    "59nBE034oh+fnRUpFnJ2ll0shPdFP+r8UAkg7A9vILqVFFr3C9SLmA1DJLL2gaCB8FU/Zn"
    "/9P3UNw+k="
)
