"""CCM_SMTP_*: a bad setting stops start-up with a message naming the variable, never the
password."""

from __future__ import annotations

import pytest

from ccm_gateway.config import Settings, SmtpTarget
from ccm_gateway.errors import ConfigError


def settings(**env: str) -> Settings:
    return Settings.from_env({f"CCM_{k.upper()}": v for k, v in env.items()})


def test_unset_url_means_no_email() -> None:
    assert settings().smtp is None


@pytest.mark.parametrize(("url", "target"), [
    ("smtp://mail.example.com", SmtpTarget(host="mail.example.com", port=25)),
    ("smtp://mail.example.com:587?starttls=1",
     SmtpTarget(host="mail.example.com", port=587, start_tls=True)),
    ("smtp://127.0.0.1:2525?starttls=0", SmtpTarget(host="127.0.0.1", port=2525,
                                                    start_tls=False)),
    ("smtps://alerts%40corp:p%40ss%2Fw@mail.example.com",
     SmtpTarget(host="mail.example.com", port=465, username="alerts@corp",
                password="p@ss/w", use_tls=True)),
])
def test_urls(url: str, target: SmtpTarget) -> None:
    parsed = settings(smtp_url=url, smtp_from="ccm@example.com").smtp
    assert parsed == target
    assert parsed is not None and parsed.password == target.password


@pytest.mark.parametrize(("env", "names"), [
    ({"smtp_url": "http://mail.example.com"}, "smtp:// or smtps://"),
    ({"smtp_url": "smtp://"}, "needs a host"),
    ({"smtp_url": "smtp://mail.example.com:notaport"}, "bad host or port"),
    ({"smtp_url": "smtp://mail.example.com/inbox"}, "no path"),
    ({"smtp_url": "smtp://mail.example.com?tls=1"}, "unknown parameters tls"),
    ({"smtp_url": "smtp://mail.example.com?starttls=maybe"}, "starttls must be 1 or 0"),
    ({"smtp_url": "smtps://mail.example.com?starttls=1"}, "smtps:// is TLS already"),
    ({"smtp_url": "smtp://mail.example.com", "smtp_from": ""}, "CCM_SMTP_FROM is required"),
    ({"smtp_from": "not an address"}, "CCM_SMTP_FROM must be one e-mail address"),
    ({"smtp_timeout_seconds": "0"}, "CCM_SMTP_TIMEOUT_SECONDS must be between 1 and 300"),
    ({"smtp_timeout_seconds": "soon"}, "CCM_SMTP_TIMEOUT_SECONDS='soon' is not a valid int"),
    ({"smtp_retry_schedule": "60,-1"}, "CCM_SMTP_RETRY_SCHEDULE must be"),
    ({"smtp_retry_schedule": "a,b"}, "CCM_SMTP_RETRY_SCHEDULE must be"),
])
def test_bad_settings_are_refused_at_start(env: dict[str, str], names: str) -> None:
    with pytest.raises(ConfigError) as refused:
        settings(**({"smtp_from": "ccm@example.com"} | env))
    assert names in str(refused.value)
    if "smtp_url" in env:
        assert "CCM_SMTP_" in str(refused.value)


def test_the_password_is_never_shown() -> None:
    with pytest.raises(ConfigError) as refused:
        settings(smtp_url="smtp://alerts:hunter2-secret@mail.example.com/x",
                 smtp_from="ccm@example.com")
    assert "hunter2-secret" not in str(refused.value)
    assert "hunter2-secret" not in repr(settings(smtp_url="smtp://a:hunter2-secret@h",
                                                 smtp_from="ccm@example.com"))


def test_prod_refuses_a_password_in_clear_text() -> None:
    prod = {"env": "prod", "secret_key": "k" * 8 + "Qx7!pL2#vB9@mN4$zR6^tY1&wE3*uI5(",
            "database_url": "postgres://db/ccm", "redis_url": "redis://redis:6379/0",
            "public_url": "https://ccm.example.com", "metrics_token": "m" * 32,
            "smtp_from": "ccm@example.com"}
    with pytest.raises(ConfigError, match="without TLS"):
        settings(**prod, smtp_url="smtp://u:p@mail.example.com:587")
    assert settings(**prod, smtp_url="smtp://u:p@mail.example.com:587?starttls=1").smtp
    assert settings(**prod, smtp_url="smtps://u:p@mail.example.com").smtp
