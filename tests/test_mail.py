"""mail.send against a real SMTP server (aiosmtpd on 127.0.0.1): delivery, STARTTLS, implicit TLS,
AUTH with the password from the environment, retries on transient errors, per-recipient failures.
"""

from __future__ import annotations

import shutil
import ssl
import subprocess
from dataclasses import replace
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from pipeline.digest import select
from pipeline.errors import ConfigError
from pipeline.mail import MailParams, send
from pipeline.render import email
from tests.conftest import Recorder, free_port
from tests.test_digest import BUILT, DAY, IN_WINDOW, PARAMS, make_story, sample_digest
from tests.test_email import MAIL, SITE, check_message

PASSWORD_ENV = "DIGEST_TEST_SMTP_PASSWORD"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory) -> tuple[Path, Path]:
    if not shutil.which("openssl"):
        pytest.skip("openssl command not available to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=IP:127.0.0.1,DNS:localhost",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    return cert, key


def _authenticator(server, session, envelope, mechanism, auth_data: Any) -> AuthResult:
    ok = (
        isinstance(auth_data, LoginPassword)
        and auth_data.login == b"digest"
        and auth_data.password == b"s3cret"
    )
    return AuthResult(success=ok, handled=False)


def _params(port: int, **changes: Any) -> MailParams:
    base = replace(
        MAIL,
        host="127.0.0.1",
        port=port,
        security="none",
        helo="localhost",
        backoff_s=0.0,
        timeout_s=5.0,
    )
    return replace(base, **changes)


def test_each_recipient_gets_their_own_complete_copy(smtp_server):
    handler, port = smtp_server
    digest = sample_digest()
    message = email.build_message(digest, MAIL, SITE)
    report = send(message, _params(port))
    assert report.ok and report.sent == MAIL.recipients and report.attempts == 1
    assert [r[1] for r in handler.received] == [["ada@example.org"], ["grace@example.org"]]
    for (mail_from, (rcpt,), data), expected in zip(handler.received, MAIL.recipients, strict=True):
        assert mail_from == "digest@news.example.org"
        assert rcpt == expected
        parsed = message_from_bytes(data, policy=policy.default)
        assert parsed["To"] == expected  # nobody sees the other addresses
        assert parsed["Subject"] == message["Subject"]
        assert parsed["List-Unsubscribe"] == "<https://news.example.org/unsubscribe?list=daily>"
        assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        check_message(parsed, digest)
    assert (
        message["To"] == "ada@example.org, grace@example.org"
    )  # the caller's message is untouched


def test_a_refused_recipient_is_reported_and_the_others_still_get_it(smtp_server):
    handler, port = smtp_server
    handler.refuse.add("grace@example.org")
    params = _params(port, recipients=("ada@example.org", "grace@example.org", "linus@example.org"))
    report = send(email.build_message(sample_digest(), params, SITE), params)
    assert report.sent == ("ada@example.org", "linus@example.org")
    (failure,) = report.failed
    assert failure.recipient == "grace@example.org" and failure.permanent
    assert failure.error.startswith("550")
    assert report.attempts == 1 and not report.ok


def test_transient_refusals_are_retried_with_backoff(smtp_server):
    handler, port = smtp_server
    handler.defer["grace@example.org"] = 2
    waits: list[float] = []
    params = _params(port, backoff_s=0.5, retries=3)
    report = send(email.build_message(sample_digest(), params, SITE), params, sleep=waits.append)
    assert report.ok and set(report.sent) == set(MAIL.recipients)
    assert report.attempts == 3 and waits == [0.5, 1.0]
    assert sorted(r[1][0] for r in handler.received) == sorted(MAIL.recipients)  # each exactly once


def test_a_recipient_still_deferred_after_every_retry_is_reported_transient(smtp_server):
    handler, port = smtp_server
    handler.defer["grace@example.org"] = 99
    params = _params(port, retries=2)
    report = send(email.build_message(sample_digest(), params, SITE), params, sleep=lambda s: None)
    assert report.sent == ("ada@example.org",)
    (failure,) = report.failed
    assert not failure.permanent and failure.error.startswith("451") and report.attempts == 3


def test_an_unreachable_server_fails_every_recipient_after_the_retries():
    waits: list[float] = []
    params = _params(free_port(), retries=2, backoff_s=0.25)
    report = send(email.build_message(sample_digest(), params, SITE), params, sleep=waits.append)
    assert report.sent == () and report.attempts == 3 and waits == [0.25, 0.5]
    assert [f.recipient for f in report.failed] == list(MAIL.recipients)
    assert all(not f.permanent and "ConnectionRefused" in f.error for f in report.failed)


def _tls_context(certificate: tuple[Path, Path]) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*map(str, certificate))
    return context


def test_starttls_with_auth_password_from_the_environment(certificate, monkeypatch):
    handler = Recorder()
    port = free_port()
    controller = Controller(
        handler,
        hostname="127.0.0.1",
        port=port,
        tls_context=_tls_context(certificate),
        require_starttls=True,
        authenticator=_authenticator,
        auth_required=True,
    )
    controller.start()
    try:
        params = _params(
            port,
            security="starttls",
            cafile=str(certificate[0]),
            user="digest",
            password_env=PASSWORD_ENV,
        )
        monkeypatch.setenv(PASSWORD_ENV, "s3cret")
        message = email.build_message(sample_digest(), params, SITE)
        assert send(message, params).ok
        assert len(handler.received) == 2
        monkeypatch.setenv(PASSWORD_ENV, "wrong")
        waits: list[float] = []
        report = send(message, params, sleep=waits.append)
        assert report.attempts == 1 and waits == []  # bad credentials are not retried
        assert all(f.permanent and "authentication failed" in f.error for f in report.failed)
        untrusted = replace(params, cafile="")
        monkeypatch.setenv(PASSWORD_ENV, "s3cret")
        report = send(message, untrusted, sleep=waits.append)
        assert all(f.permanent and "does not verify" in f.error for f in report.failed)
        assert len(handler.received) == 2
    finally:
        controller.stop()


def test_implicit_tls(certificate):
    handler = Recorder()
    port = free_port()
    context = _tls_context(certificate)
    controller = Controller(handler, hostname="127.0.0.1", port=port, ssl_context=context)
    controller.start()
    try:
        params = _params(port, security="tls", cafile=str(certificate[0]))
        report = send(email.build_message(sample_digest(), params, SITE), params)
        assert report.ok and len(handler.received) == 2
    finally:
        controller.stop()


def test_starttls_is_never_downgraded(smtp_server):
    handler, port = smtp_server  # this server offers no STARTTLS
    params = _params(port, security="starttls")
    report = send(email.build_message(sample_digest(), params, SITE), params, sleep=lambda s: None)
    assert report.attempts == 1 and handler.received == []
    assert all(f.permanent and "STARTTLS" in f.error for f in report.failed)


def test_configuration_errors_are_raised_before_connecting(monkeypatch):
    message = email.build_message(sample_digest(), MAIL, SITE)
    with pytest.raises(ConfigError, match="recipients"):
        send(message, replace(MAIL, recipients=()))
    with pytest.raises(ConfigError, match="sender"):
        send(message, replace(MAIL, sender=""))
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    with pytest.raises(ConfigError, match=PASSWORD_ENV):
        send(message, replace(MAIL, user="digest", password_env=PASSWORD_ENV))


def test_a_headline_with_header_text_adds_no_header_on_the_wire(smtp_server):
    handler, port = smtp_server
    evil = make_story(1, "Scoop\r\nBcc: victim@example.org\r\nX-Injected: yes", times=(IN_WINDOW,))
    digest = select([evil], DAY, PARAMS, BUILT)
    params = _params(port, recipients=("ada@example.org",))
    assert send(email.build_message(digest, params, SITE), params).ok
    ((_, rcpts, data),) = handler.received
    assert rcpts == ["ada@example.org"]
    parsed = message_from_bytes(data, policy=policy.default)
    assert parsed["Bcc"] is None and parsed["X-Injected"] is None
    assert parsed["Subject"].endswith("Scoop Bcc: victim@example.org X-Injected: yes")
    check_message(parsed, digest)
