from tortoise import BaseDBAsyncClient

RUN_IN_TRANSACTION = True


async def upgrade(db: BaseDBAsyncClient) -> str:
    return """
        CREATE TABLE IF NOT EXISTS "api_client" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "client_id" VARCHAR(64) NOT NULL UNIQUE,
    "name" VARCHAR(200) NOT NULL,
    "secret_hash" VARCHAR(255) NOT NULL,
    "scopes" TEXT NOT NULL,
    "roles" VARCHAR(255) NOT NULL,
    "expires_at" TIMESTAMP,
    "revoked_at" TIMESTAMP,
    "created_at" TIMESTAMP NOT NULL
) /* An OAuth 2.0 client (client_credentials); only a salted hash of its secret is kept. */;
        CREATE TABLE IF NOT EXISTS "signing_key" (
    "id" INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    "kid" VARCHAR(64) NOT NULL UNIQUE,
    "algorithm" VARCHAR(16) NOT NULL,
    "private_jwk" TEXT NOT NULL,
    "created_at" TIMESTAMP NOT NULL,
    "retired_at" TIMESTAMP
) /* An asymmetric JWS key; the private JWK is encrypted at rest. */;"""


async def downgrade(db: BaseDBAsyncClient) -> str:
    return """
        DROP TABLE IF EXISTS "signing_key";
        DROP TABLE IF EXISTS "api_client";"""


MODELS_STATE = (
    "eJztXW1z2roS/isaPrUzaaZ5bW96584Q4ja0CWQIac855YwrbAEqtuTaJim3t//9SjIG29"
    "gEGUwcH33Ji6yVzbPSsvtotf5Vs6mJLG+/MfF8aiO3dgZ+1Qi0Eftj6doeqEHHWVzhDT7s"
    "W6KzEe3V93wXGj5rH0DLQ6zJRJ7hYsfHlLBWMrEs3kgN1hGT4aJpQvCPCdJ9OkT+SDzP17"
    "9ZMyYm+om88F9nrA8wsszY42KT31u06/7UEW13d82L96Inv11fN6g1scmitzP1R5TMu08m"
    "2NznMvzaEBHkQh+ZkY/Bn3L2icOm4IlZg+9O0PxRzUWDiQZwYnEwav8eTIjBMQDiTvzH8X"
    "9mjxbppuutdle/1bq6XpPAzqCE446Jz4H69TsYdwGIaK3xGzQu650XR6cvBQTU84euuCjg"
    "qv0WgtCHgagAfYGy+L2Ec2ME3XScw/4JpNmD5sE4bFgBcohPAYjWbPhTtxAZ+iP27+Hr1y"
    "sg/lzvCJRZLwEzZQsiWCmt2aXD4BqHewGvh4Y2Ir4MwhGR6oF8erwGxqfHmRDzS3GEXeyN"
    "dcelA2xlTGSNTGwBdZM9GCQGWoI8OUZRuC+s5xxkG5l4YkvajNpV+8sZsOhDj1xrF8276z"
    "MQjNMjl80Pl2dghIejWg71HJyuoZ6D00z18EuJBeBDf+LlVcxCeocqYd90+B7JqqTe6DY/"
    "a2cgkO6Rdku/bF9dnAH21CNqmT1yftVufNJYS9+ixhiZ5VCQMXFdRIypjImKyuxOMTszUk"
    "drYHyUCfFREmEHuj5DQ09zaLIxjkvlQnlm5kv5RXBw+HadmXz4Nnsq82txpO+R6/GnWoK5"
    "Sfx0lCMSCYhx8BVcxEQ+KArhIX+CV4cHx2+O3x6dHr9lXcRTzlverMC82eomTYOL+CfXYY"
    "r/csGu+NhGGQYiJplA1pyJ7od/PEeDwT6g2SbWdLaIVuDabV5rt9369Q2/ne15PyyBX72r"
    "8SuHonWaaH2RtODzQcCXZvcS8H/BX+2WlvT45/26f9X4M8GJT3VCH3RoRtZ72BqiFtP6xD"
    "Fzaj0uqbReFq2HGEXULp6eh96DcSQs5A19aIwfoGvqsSuL6YF++sgl0NJdNEjx685n4u8/"
    "dZAF/XTbOmMitNlQHTR4hpPhdzj9w9YorPSQZuEavxSztib2dWgYdJIWMYbItgnqUvbjcX"
    "wbYsT6YsCN/YXyAGwf2gmAbUjgUDwlH44Lp0yzFD4sMQuzKbHozN8+Lfa15k09H4lQcH4n"
    "5vz9vQlfdo6Hma5PqmOZ4vXMZsVmVFmRRjnwev51eHh09Obw9dHp25PjN29O3r6euz/Ll1"
    "b5QefND9wVihni0DfK5tEWylub55lLVDCE2j7PE10TEignxCoIdSG8pXL9q+YEruP6h5s+"
    "qWsse+8lIbbNTZhyuCA59lyWfOtllJchfk9dhIfkE5ou0aIZHl5kqOcJ7ZJ3x5pd+DD3b5"
    "KTi2HAPjnyBQodNuE7zQb7bs6OXKS8cUnP8haL51hyKUX7Sl/SC3uordXKbq0aTO1SrPqs"
    "/3Z8lKf1yQt2Bsu2a10194+7Zv+lRArjqMwOd+vuuo2izELRs1g52dnQV8vJzsW08l3jDR"
    "nWSxpMnooQfzE+gLBB0Ib4XCFziFyNDTWtKEwWtrG/IUrcnb3i4zxDQ7Idll4yLogT72k5"
    "mElmfkUi5tK2wKMxQ61NEHCQC8LYaR80oDFCJuhDiweUHrDpPQKU2VfwgP0RYAEEmC0oAI"
    "kJhOlhrdAHBpx4iHew92sJxIu8j4puyh7dqLyhgvOGZitfWHDdxoSmMEarNnjS5XeX5vK6"
    "KNB3uOETyeJiy4N53DPLlkcfWSMojeTTyIgL5tBDXE6hnw99gnzdhNMU1zIT+KjI7mA/Kh"
    "j3raXbYXJPscHuqBtTI38ye8owu8xnp8QfWVNJX6Z2o3X0bqfeuuVp1O3WGXcrdYY18aDw"
    "k3rki6Z9uvrzDDwgNLamPXLeDFv6OGy7bre6l7wp+hRPnmGtslK3ukxUfmI21M+TNcvKTy"
    "z31vSTbrBscWO6XFRk2ZZUWbnIZ4kT3/XWFSO5NiO5Ts5ImA68g4yRMli8IvJFNuJ6hV1L"
    "oXhDe5fN7I7CHkXmgHytRZjj2XHKvxV1+qTUKbS5QvJQF0nJ3UUHFUngjlhU6PgTF+VikJ"
    "ZlFYuUUwtqF6HgXYRneADfQcTkeMnBXbvRWhfN1gfOHQn5HmnUb7p3HX7kPlyxPfK53bzg"
    "LfcUm/x/7Y+bpuiCfjrYLcupfBcNEJ/kUhlYMaGCToxXLdPNoxPXQAFMeddIfIgym6Ta3a"
    "3WOQMTD7lsdVw1tVaXrQ0LswC2R5h11j506gH/ylSAhi4MuNfbP2+72vUZWBxZevoVMkNd"
    "7jRQTKjMiirTEgkMo5eDcI1L7oZwLQkLV3J+NeXsj0pGrRitroo9/BO1vs5myowSktxLiU"
    "upU35Jh4ST23KIRkQ2gLNkTnshZyYzq2LIH5mULIpR0sn6KA8eX60ZNHhy/m4B3/Ds47Oc"
    "tI+iGlmx0idR1dmFJ07Lb5rIdqjPucMOMqibum+z3Glv1SYOXnTX3UX/R1P0uyMEBtj1fE"
    "AnvkFtBOgAQDBGU2SCB5dNsz3gIseC/P8BdUXqvMcelXcRufMuYpr0/OWs/O0OnV6qxqAB"
    "2cEkVIWaMlHrKyrUhDpbmywJBSpIlGz/MCdfCRLgzrpXENpCOKiZRdJH0BvJUeJxuQriXU"
    "BJbeQ57I4pxuLjbbuVBfRCJkkGYMMH/wMW9p6xv50GLkcjFvGHoL64rv+RxLtx1T5Pxj18"
    "gHN1KLzijMwWDoUX6RVH44gUfzgRZmR7wpboqKN5z0d94LrDd2pf8eOh++CGstgK3yMQ5L"
    "h4gOndQ+CBnw3lDmqY1wXoA/L2AEFDKLpTgjxeCp9dwSnOcEH3kEy8CiKDYG2q7Kunzb4a"
    "s8+Xd6s3lC2zGyGw+aCdAYN9pCHi+7qf282Gxvd0+ckg1nJT//NabP06cGqLvd+O9v6udX"
    "HGIj+mYLNHGh3totnlt+EDBQdJCQtze6R+8fHuthuIQ/M7WzHhCJ+1zm39io/Bz69Aqxz7"
    "xCrZTqV5lQT6ItO8qIuHmNc5zT/fM4fINfFLRjg+zbyfQ5pnAaQKVy+ta8sLYfBT50jIAB"
    "0RqR68x+uwMcfZZMyxSplTKXMqZU6OrozuCkkSwymi1TNKBeUpxt/PsC7iSTkF91pwR59M"
    "Au2EWPXAPlkL7JMVYJ8sg01ZSB2cnE3x6Sm1ECQZTmRMMIF2n0kWZcDnLbslhs7b7asY53"
    "veTHjprbvrc419cwr4Waeghnea824IxzsPFZ8QrSAX/0y497VSn6PsrKSiE6IVVHTFNl1U"
    "GmyeJS2RBstPtUsiGhFRabAqqbg4NIOdCeRJIpoQ2yKqZaiooRK1C4VXJWqXNFE7+aW1BU"
    "irVW4/CWnka3oLb2FatsrLCpCsbbRZRnwZbPGjOkh8FclXN1qC3dT7Kfyk/Mtmq3scQfKF"
    "YEFdspRMqljRstWvBlswNmtkUQFv0n8lBAAlQTITXKQy2XDK05nm5fYB5N0Q4LdJSZfacL"
    "DU0wLRClT8S0cdGCjRZnV2olTuwvNPVnG+IipZKjqfv9i8KlC1oQZUkfmnRF+VJ8hWyPPk"
    "ZVMIeVWeoNJMYnXgVLTXP4f2eq6wblKgoMhTRvUJm9XaPUp/H17k6t6q2Bjyfjqad5Q5Yh"
    "QErdAbvTJGDEBkilfXsQEQtMGLRZC7B6gLvn0LEve+fXu58kxR7kF7pEcaXISNGZVhU5LF"
    "zfyVeAQMLdqHFrsJU6IXnNz3xIF9Ew9EpUe/R8IbeMCgNo/aMQEOdJkYst4BBI1RODL22F"
    "/Yslg870Ob3fIVuscmGwSIR19x2F/Ii+gd/VgK3r8mzh2yuSd3wkkF9LsK6BeKXDv5cy5R"
    "wczP7R+c5utDan7PBBRDkjtCZNafuity0bNihahUBed2AefoBGRyueNRmQqCXEhabfC+M0"
    "mUN0mmXQPjnX5VFmyjaf87Mnxpi5EQq+BsLgxqOZsRE1IT+nGU+4iFBFK1WhYSG1VqKece"
    "bhquhRRqgQM/7X1M2bDPBRTq+VEPCzrJGZW4VPXOnGzfqqgyRHmmfMl3WpZT4B0X3UsXVY"
    "sJKU9ojdUki7AC9xFwS1I7q+7ghjgKXksjtecX91Zy2g7WjUW/xyltAtr1iT8Ch/uvZwfR"
    "wYvgt84r9bDfmEm+fAcCghp40GJzRbDUvBIs9j3gIdbT55TwGDlpVbOKucfjVbOkmON/Cm"
    "284auzswnhmUblfKmY0HYM1NOCXLDtF78l8A37V9D2F/MGL2FnpJ2YhFgV0T45WQftk5Ns"
    "tPm1BNq8KHRKqn4X/cza45hLVALjVd6/9kd3dcA7d/6v2q0PYfdkFJwIeKmVhveKWDcUqA"
    "TcO5jSJXq/WclIhipFuixmpeOcZ/yjkkrLZdayoq0qq+aShPy3eMhztj6h1GrZkat7qw95"
    "iX5hha+1on7oTW0bMSUb4OOXW/6ylneiarXj4ns2DVnjJx5tI2K4U4dH49AHbuobYjYdTM"
    "Xx5Yrjx3IR/FjF7mvG7tAaUhf7I6mkuZhQBZ3w7ecWzYyO/v1hLBNZJsQqAfWuw0vlMFXW"
    "YYpHPz7OV8ouLqmin7JpuSRucR0xV3KU5hLPrqx0h+Giz2OecLZilVdaLq+UlxeRTGWNiF"
    "Ti23wH7CVfVDLOadC9gugerLW5dLBic+lgeXOJ3dFHaec6s9P8IiLqRXiSmX5P+mX2+/8V"
    "fSls"
)
