"""E-mail through a real SMTP server (aiosmtpd): sent, logged in, refused, unreachable."""

from __future__ import annotations

from signalight.adapters.smtp import SmtpConfig, SmtpMailer
from signalight.domain.notifications import Mail
from tests.receivers import _free_port, smtp_server


def test_mails_go_out_over_one_connection() -> None:
    with smtp_server() as box:
        mailer = SmtpMailer(
            SmtpConfig(
                host="127.0.0.1", port=box.port, sender="alarms@city.example", starttls=False
            )
        )
        outcomes = mailer.send(
            [
                Mail("ops@city.example", "[Signalight] one", "first\n"),
                Mail("boss@city.example", "[Signalight] two\r\nBcc: x@evil.example", "second\n"),
            ]
        )
    assert [o.ok for o in outcomes] == [True, True]
    assert [m["To"] for m in box.messages] == ["ops@city.example", "boss@city.example"]
    first, second = box.messages
    assert first["From"] == "alarms@city.example"
    assert first["Subject"] == "[Signalight] one"
    assert first["Auto-Submitted"] == "auto-generated"
    assert first.get_content().replace("\r\n", "\n") == "first\n"
    # A line break in the subject cannot add a header.
    assert second["Bcc"] is None
    assert second["Subject"] == "[Signalight] two Bcc: x@evil.example"


def test_login_when_a_user_is_set() -> None:
    with smtp_server(user="signalight", password="s3cret") as box:
        config = SmtpConfig(
            host="127.0.0.1",
            port=box.port,
            sender="alarms@city.example",
            username="signalight",
            password="s3cret",
            starttls=False,
        )
        [ok] = SmtpMailer(config).send([Mail("ops@city.example", "s", "t")])
        wrong = SmtpConfig(
            host="127.0.0.1",
            port=box.port,
            sender="alarms@city.example",
            username="signalight",
            password="wrong",
            starttls=False,
        )
        [refused] = SmtpMailer(wrong).send([Mail("ops@city.example", "s", "t")])
    assert ok.ok
    assert box.logins == ["signalight"]
    assert not refused.ok
    assert refused.code == 535
    assert "wrong" not in repr(wrong)  # the password stays out of reprs and logs


def test_a_refused_recipient_fails_alone() -> None:
    with smtp_server() as box:
        box.refuse.add("gone@city.example")
        mailer = SmtpMailer(
            SmtpConfig(host="127.0.0.1", port=box.port, sender="a@city.example", starttls=False)
        )
        outcomes = mailer.send(
            [Mail("gone@city.example", "s", "t"), Mail("ops@city.example", "s", "t")]
        )
    assert [(o.ok, o.code) for o in outcomes] == [(False, 550), (True, 250)]
    assert outcomes[0].error.startswith("recipient refused: 5.1.1 no such mailbox")
    assert len(box.messages) == 1


def test_no_server_fails_every_mail() -> None:
    mailer = SmtpMailer(
        SmtpConfig(host="127.0.0.1", port=_free_port(), sender="a@city.example", timeout_s=2)
    )
    outcomes = mailer.send([Mail("a@city.example", "s", "t"), Mail("b@city.example", "s", "t")])
    assert [o.ok for o in outcomes] == [False, False]
    assert outcomes[0].error.startswith("ConnectionRefusedError")
