"""E-mail over SMTP (smtplib): plain text, one connection per batch, STARTTLS when configured."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from signalight.domain.notifications import Mail, Outcome

__all__ = ["SmtpConfig", "SmtpMailer"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SmtpConfig:
    """Where mail goes out, and as whom."""

    host: str
    port: int = 587
    sender: str
    username: str = ""
    password: str = field(default="", repr=False)
    starttls: bool = True
    timeout_s: float = 30.0


class SmtpMailer:
    """Implements ``MailSender`` with smtplib."""

    def __init__(self, config: SmtpConfig) -> None:
        self._config = config

    def send(self, mails: Sequence[Mail]) -> list[Outcome]:
        """One attempt per mail over one connection; an Outcome per mail, in order."""
        outcomes: list[Outcome] = []
        if not mails:
            return outcomes
        config = self._config
        try:
            with smtplib.SMTP(config.host, config.port, timeout=config.timeout_s) as smtp:
                smtp.ehlo()
                if config.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if config.username:
                    smtp.login(config.username, config.password)
                # One by one into the list, so that a broken connection keeps what was sent.
                for mail in mails:
                    outcomes.append(self._send_one(smtp, mail))  # noqa: PERF401
        except (smtplib.SMTPException, OSError) as exc:
            # The connection failed: whatever was not sent on it failed with it.
            failed = Outcome(ok=False, code=_code(exc), error=_describe(exc))
            outcomes += [failed] * (len(mails) - len(outcomes))
        return outcomes

    def _send_one(self, smtp: smtplib.SMTP, mail: Mail) -> Outcome:
        message = EmailMessage()
        message["From"] = self._config.sender
        message["To"] = mail.to
        message["Subject"] = " ".join(mail.subject.split())  # no line breaks in a header
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = make_msgid(domain=self._config.sender.rpartition("@")[2] or None)
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
        message.set_content(mail.text)
        try:
            refused = smtp.send_message(message)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError) as exc:
            # One message refused; the connection is still good for the others.
            return Outcome(ok=False, code=_code(exc), error=_describe(exc))
        if refused:
            code, reply = next(iter(refused.values()))
            return Outcome(ok=False, code=code, error=_reply(reply))
        return Outcome(ok=True, code=250)


def _code(exc: BaseException) -> int | None:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return next((code for code, _ in exc.recipients.values()), None)
    code = getattr(exc, "smtp_code", None)
    return code if isinstance(code, int) else None


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = [_reply(reply) for _, reply in exc.recipients.values()]
        return "recipient refused: " + "; ".join(replies)
    if isinstance(exc, smtplib.SMTPResponseException):
        return f"SMTP {exc.smtp_code}: {_reply(exc.smtp_error)}"
    return f"{type(exc).__name__}: {exc}"


def _reply(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return " ".join(text.split())
