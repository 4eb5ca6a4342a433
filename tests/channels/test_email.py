"""E-mail against a real SMTP receiver (aiosmtpd) on a loopback port."""

from __future__ import annotations

import email
import email.policy
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from procrules.alerts.channels import build_channel

from .conftest import NOW, notification


@dataclass
class Handler:
    messages: list[Any] = field(default_factory=list)
    rcpt_answer: str = "250 OK"
    data_answer: str = "250 OK"

    async def handle_RCPT(self, server, session, envelope, address, options):  # type: ignore[no-untyped-def]  # noqa: N802
        if self.rcpt_answer.startswith("250"):
            envelope.rcpt_tos.append(address)
        return self.rcpt_answer

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]  # noqa: N802
        if self.data_answer.startswith("250"):
            self.messages.append(envelope)
        return self.data_answer


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def smtp() -> Iterator[tuple[Handler, int]]:
    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield handler, port
    controller.stop()


def channel(port: int, **more: Any):  # type: ignore[no-untyped-def]
    config = {
        "type": "email",
        "host": "127.0.0.1",
        "port": port,
        "from": "alerts@water.example",
        "to": ["office@water.example", "supervisor@water.example"],
        "subject_prefix": "[procrules] ",
        **more,
    }
    return build_channel(config, env={})


def test_mail_arrives_in_chinese(smtp: tuple[Handler, int]) -> None:
    handler, port = smtp
    result = channel(port).send(notification(2), now=NOW)
    assert result.ok, result
    [envelope] = handler.messages
    assert envelope.mail_from == "alerts@water.example"
    assert envelope.rcpt_tos == ["office@water.example", "supervisor@water.example"]
    msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
    assert msg["Subject"] == "[procrules] 【红牌】2 件办件时限预警"
    assert msg["Message-ID"] == "<n-red-2@water.example>"
    assert msg["Date"] == "Fri, 09 Oct 2026 09:00:00 +0800"
    body = msg.get_content()
    assert "- WT-2026-0002 · 客户 张*明 · 环节 现场核查 · 责任 营业所" in body
    assert "https://board.example/cases/WT-2026-0001" in body


@pytest.mark.parametrize(
    "where,answer,outcome,reason",
    [
        ("data", "451 4.3.0 try again later", "retry", "smtp_451"),
        ("data", "554 5.7.1 rejected as spam", "failed", "smtp_554"),
        ("rcpt", "550 5.1.1 no such mailbox", "failed", "recipients_refused"),
        ("rcpt", "450 4.2.1 mailbox busy", "retry", "recipients_refused"),
    ],
)
def test_smtp_reply_classes(
    smtp: tuple[Handler, int], where: str, answer: str, outcome: str, reason: str
) -> None:
    handler, port = smtp
    setattr(handler, f"{where}_answer", answer)
    result = channel(port).send(notification(), now=NOW)
    assert (result.outcome, result.reason) == (outcome, reason)
    assert answer.split(" ", 1)[1].split(" ", 1)[1] in result.detail


def test_no_server_is_a_retry() -> None:
    result = channel(free_port(), timeout_seconds=1).send(notification(), now=NOW)
    assert (result.outcome, result.reason) == ("retry", "connect_error")


def test_starttls_refused_by_a_server_without_it(smtp: tuple[Handler, int]) -> None:
    _, port = smtp
    result = channel(port, starttls=True).send(notification(), now=NOW)
    assert (result.outcome, result.reason) == ("failed", "smtp_not_supported")


def test_render_is_the_message() -> None:
    request = channel(2525).render(notification(), now=NOW)
    assert request.url == "smtp://127.0.0.1:2525"
    assert request.headers["Subject"] == "[procrules] 【红牌】1 件办件时限预警"
    assert b'Content-Type: text/plain; charset="utf-8"' in request.body


def test_server_that_never_greets_is_a_time_out() -> None:
    with socket.socket() as listener:  # accepts the connection, never says 220
        listener.bind(("127.0.0.1", 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        result = channel(port, timeout_seconds=0.2).send(notification(), now=NOW)
    assert (result.outcome, result.reason) == ("retry", "timeout")
