"""E-mail over SMTP (stdlib smtplib and email): a plain-text message in the reader's language,
SSL or STARTTLS, a login whose password comes from `password_env`. SMTP's own reply classes
decide: 4xx will pass (retry), 5xx will not (failed).
"""

from __future__ import annotations

import datetime as dt
import smtplib
import ssl
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime, make_msgid
from typing import Any

from .base import DeliveryResult, Notification, Outcome, Request
from .http import USER_AGENT, BaseChannel
from .text import plain

BODY_LIMIT_BYTES = 1_000_000  # a mail reader's patience rather than a protocol limit


class EmailChannel(BaseChannel):
    type = "email"

    @property
    def port(self) -> int:
        return int(self.settings["port"]) or (465 if self.settings["ssl"] else 25)

    def message(self, notification: Notification, now: dt.datetime) -> EmailMessage:
        notification = self.localise(notification)
        text, _ = plain(notification, BODY_LIMIT_BYTES)
        subject, _, body = text.partition("\n")
        msg = EmailMessage()
        msg["Subject"] = f"{self.settings['subject_prefix']}{subject}"
        msg["From"] = self.settings["from"]
        msg["To"] = ", ".join(self.settings["to"])
        msg["Date"] = format_datetime(now)
        domain = self.settings["from"].rpartition("@")[2] or "procrules"
        msg["Message-ID"] = (
            f"<{notification.id}@{domain}>" if notification.id else make_msgid(domain=domain)
        )
        msg["X-Mailer"] = USER_AGENT
        msg.set_content(body.lstrip("\n") + "\n", charset="utf-8")
        return msg

    def render(self, notification: Notification, *, now: dt.datetime | None = None) -> Request:
        msg = self.message(notification, now or notification.created_at)
        headers = {k: str(msg[k]) for k in ("From", "To", "Subject")}
        url = f"smtp://{self.settings['host']}:{self.port}"
        return Request(url, headers, msg.as_bytes(policy=SMTP), method="SMTP")

    def send(
        self, notification: Notification, *, client: Any = None, now: dt.datetime
    ) -> DeliveryResult:
        if not self.limiter.try_acquire(now):
            return self.rate_limited(now)
        password = self.secret("password_env")
        if self.settings["password_env"] and not password:
            var = self.settings["password_env"]
            return self.result("failed", "config", now, detail=f"'{var}' is not set")
        msg = self.message(notification, now)
        host, port = self.settings["host"], self.port
        try:
            server: smtplib.SMTP
            if self.settings["ssl"]:
                context = ssl.create_default_context()
                server = smtplib.SMTP_SSL(host, port, timeout=self.timeout, context=context)
            else:
                server = smtplib.SMTP(host, port, timeout=self.timeout)
            with server:
                if self.settings["starttls"]:
                    server.starttls(context=ssl.create_default_context())
                if self.settings["username"]:
                    server.login(self.settings["username"], password)
                refused = server.send_message(msg, to_addrs=list(self.settings["to"]))
        except TimeoutError as exc:
            return self.result("retry", "timeout", now, detail=str(exc) or "timed out")
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            outcome: Outcome = "retry" if all(400 <= c < 500 for c in codes) else "failed"
            detail = "; ".join(
                f"{to}: {c} {m.decode(errors='replace')}" for to, (c, m) in exc.recipients.items()
            )
            return self.result(outcome, "recipients_refused", now, detail=detail)
        except smtplib.SMTPResponseException as exc:  # sender refused, data refused, login, ...
            code = int(exc.smtp_code)
            message = exc.smtp_error
            text = message.decode(errors="replace") if isinstance(message, bytes) else str(message)
            temporary: Outcome = "retry" if 400 <= code < 500 else "failed"
            return self.result(temporary, f"smtp_{code}", now, error_code=str(code), detail=text)
        except smtplib.SMTPNotSupportedError as exc:
            return self.result("failed", "smtp_not_supported", now, detail=str(exc))
        except smtplib.SMTPServerDisconnected as exc:
            # smtplib reports a read that timed out as a disconnection ("...: timed out")
            reason = "timeout" if "timed out" in str(exc) else "connect_error"
            return self.result("retry", reason, now, detail=str(exc))
        except ssl.SSLError as exc:
            return self.result("failed", "tls_error", now, detail=str(exc))
        except OSError as exc:  # refused, unreachable, name not known
            return self.result("retry", "connect_error", now, detail=str(exc))
        if refused:
            detail = "; ".join(f"{to}: {code}" for to, (code, _) in refused.items())
            return self.result("sent", "sent", now, detail=f"refused some recipients: {detail}")
        return self.result("sent", "sent", now)
