"""Sending the digest email over SMTP, with a report per recipient.

Each recipient gets their own copy (``To:`` is theirs alone, so addresses are
never disclosed to each other) in its own SMTP transaction over one shared
connection, so one refused address cannot sink the others and the report says
exactly who got it. Transient failures (4xx replies, dropped or refused
connections, timeouts) are retried with exponential back-off, reconnecting
as needed, for the recipients not yet served; permanent ones (5xx replies,
bad credentials, a server without STARTTLS, a certificate that does not
verify) are reported at once and never retried. Security is never
downgraded: ``starttls`` fails rather than sending in clear text.

The password is read from the environment variable named in the params, so it
never sits in a settings file. "At most once per day" is the caller's rule
(the ``digests.sent_at`` column); this module sends when asked.
"""

from __future__ import annotations

import copy
import logging
import os
import smtplib
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.utils import parseaddr

from .errors import ConfigError
from .sanitize import safe_url

LOGGER = logging.getLogger(__name__)

SECURITY = ("starttls", "tls", "none")


@dataclass(frozen=True, slots=True)
class MailParams:
    """Where and how the digest is sent, and to whom."""

    host: str = "localhost"
    port: int = 587
    security: str = "starttls"  # "starttls" (port 587), "tls" (implicit, port 465) or "none"
    user: str = ""  # empty: no AUTH
    password_env: str = "DIGEST_SMTP_PASSWORD"  # name of the variable holding the password
    sender: str = ""  # From:, e.g. "AI news digest <digest@example.org>"
    recipients: tuple[str, ...] = ()
    unsubscribe: str = ""  # https:// (one-click) or mailto: URL; empty: mailto the sender
    timeout_s: float = 30.0
    retries: int = 3  # further attempts for transient failures
    backoff_s: float = 2.0  # first retry delay, doubling per attempt
    cafile: str = ""  # extra CA certificates to trust (a relay with a private CA)
    helo: str = ""  # name sent in EHLO; empty: this machine's fully qualified name

    def __post_init__(self) -> None:
        if self.security not in SECURITY:
            raise ConfigError(f"mail security must be one of {', '.join(SECURITY)}")
        if not 0 < self.port < 65536:
            raise ConfigError(f"mail port out of range: {self.port}")
        for value in (self.sender, self.user, self.helo, *self.recipients):
            if "\r" in value or "\n" in value:
                raise ConfigError(f"line break in mail setting {value!r}")
        for address in self.recipients:
            if "@" not in parseaddr(address)[1]:
                raise ConfigError(f"not an email address: {address!r}")
        if self.unsubscribe and not safe_url(self.unsubscribe):
            raise ConfigError(f"unsubscribe must be an https: or mailto: URL: {self.unsubscribe!r}")


@dataclass(frozen=True, slots=True)
class Failure:
    """One recipient the message did not reach, and why."""

    recipient: str
    error: str
    permanent: bool  # False: still failing after every retry


@dataclass(frozen=True, slots=True)
class SendReport:
    """Who got the message, who did not, and how many connection attempts it took."""

    sent: tuple[str, ...]
    failed: tuple[Failure, ...]
    attempts: int

    @property
    def ok(self) -> bool:
        return not self.failed


class _Permanent(Exception):
    """A connection-level failure that retrying cannot fix."""


def send(
    message: EmailMessage,
    params: MailParams,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> SendReport:
    """Send ``message`` to each of ``params.recipients`` and report per recipient."""
    envelope_from = parseaddr(params.sender)[1]
    if "@" not in envelope_from:
        raise ConfigError("mail sender is not set (an address is needed for the envelope)")
    if not params.recipients:
        raise ConfigError("no mail recipients configured")
    password = _password(params)
    pending = list(dict.fromkeys(params.recipients))
    sent: list[str] = []
    failed: dict[str, Failure] = {}
    last_error: dict[str, str] = {}
    attempts = 0
    while pending and attempts <= params.retries:
        if attempts:
            sleep(params.backoff_s * 2 ** (attempts - 1))
        attempts += 1
        retry: list[str] = []
        try:
            with _connect(params, password) as smtp:
                for recipient in pending:
                    error = _deliver(smtp, message, envelope_from, recipient)
                    if error is None:
                        sent.append(recipient)
                    elif error[1]:
                        failed[recipient] = Failure(recipient, error[0], permanent=True)
                    else:
                        retry.append(recipient)
                        last_error[recipient] = error[0]
        except _Permanent as exc:
            for recipient in _unserved(pending, sent, failed):
                failed[recipient] = Failure(recipient, str(exc), permanent=True)
            pending = []
            break
        except (smtplib.SMTPException, OSError) as exc:
            reason = f"{type(exc).__name__}: {exc}"
            LOGGER.warning(
                "SMTP %s:%s attempt %d failed: %s", params.host, params.port, attempts, reason
            )
            retry = _unserved(pending, sent, failed)
            last_error.update(dict.fromkeys(retry, reason))
        pending = retry
    for recipient in pending:
        failed[recipient] = Failure(
            recipient, last_error.get(recipient, "not sent"), permanent=False
        )
    for failure in failed.values():
        LOGGER.warning("mail to %s failed: %s", failure.recipient, failure.error)
    order = {r: i for i, r in enumerate(params.recipients)}
    return SendReport(
        sent=tuple(sent),
        failed=tuple(sorted(failed.values(), key=lambda f: order[f.recipient])),
        attempts=attempts,
    )


def _password(params: MailParams) -> str | None:
    if not params.user:
        return None
    password = os.environ.get(params.password_env)
    if not password:
        raise ConfigError(
            f"SMTP user is set but the environment variable {params.password_env} is empty"
        )
    return password


def _connect(params: MailParams, password: str | None) -> smtplib.SMTP:
    """An open, greeted, secured and authenticated session; ``_Permanent`` if it never can be."""
    context = ssl.create_default_context(cafile=params.cafile or None)
    helo = params.helo or None
    smtp: smtplib.SMTP
    try:
        if params.security == "tls":
            smtp = smtplib.SMTP_SSL(
                params.host, params.port, helo, timeout=params.timeout_s, context=context
            )
        else:
            smtp = smtplib.SMTP(params.host, params.port, helo, timeout=params.timeout_s)
    except ssl.SSLCertVerificationError as exc:
        raise _Permanent(f"TLS certificate of {params.host} does not verify: {exc}") from exc
    try:
        smtp.ehlo()
        if params.security == "starttls":
            smtp.starttls(context=context)
            smtp.ehlo()
        if params.user and password is not None:
            smtp.login(params.user, password)
    except smtplib.SMTPNotSupportedError as exc:
        smtp.close()
        raise _Permanent(f"{params.host} does not offer STARTTLS or AUTH: {exc}") from exc
    except smtplib.SMTPAuthenticationError as exc:
        smtp.close()
        raise _Permanent(f"authentication failed for {params.user!r}: {exc.smtp_code}") from exc
    except ssl.SSLCertVerificationError as exc:
        smtp.close()
        raise _Permanent(f"TLS certificate of {params.host} does not verify: {exc}") from exc
    except BaseException:
        smtp.close()
        raise
    return smtp


def _deliver(
    smtp: smtplib.SMTP, message: EmailMessage, envelope_from: str, recipient: str
) -> tuple[str, bool] | None:
    """Send one copy; None on success, else (error, permanent). Connection errors propagate."""
    copy_ = copy.deepcopy(message)
    del copy_["To"]
    copy_["To"] = recipient
    data = copy_.as_bytes(policy=policy.SMTP)
    try:
        smtp.sendmail(envelope_from, [parseaddr(recipient)[1]], data)
    except smtplib.SMTPRecipientsRefused as exc:
        code, text = next(iter(exc.recipients.values()))
        return _reply(code, text), code >= 500
    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
        return _reply(exc.smtp_code, exc.smtp_error), exc.smtp_code >= 500
    return None


def _reply(code: int, text: bytes | str) -> str:
    shown = text.decode("utf-8", "replace") if isinstance(text, bytes) else text
    return f"{code} {shown}"


def _unserved(pending: list[str], sent: list[str], failed: dict[str, Failure]) -> list[str]:
    done = set(sent) | set(failed)
    return [r for r in pending if r not in done]
