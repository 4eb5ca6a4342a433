from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from procrules.alerts.channels import Notification

from .receiver import Receiver

SHANGHAI = dt.timezone(dt.timedelta(hours=8))
NOW = dt.datetime(2026, 10, 9, 9, 0, tzinfo=SHANGHAI)


def alert(case_id: str = "WT-2026-0042", level: str = "red", **notes: str) -> dict[str, Any]:
    annotations = {
        "summary_zh": "现场核查已超期",
        "summary_en": "Site check is overdue",
        "due": "10月8日（周四）前",
        "overdue_by": "超期 1 个工作日",
        "customer": "张*明",
        "link": f"https://board.example/cases/{case_id}",
        "step_name": "现场核查",
        "role_name": "营业所",
        **notes,
    }
    return {
        "labels": {
            "process": "water_type_change",
            "step": "site_check",
            "rule": "WT-VERIFY",
            "role": "business_office",
            "case_id": case_id,
            "level": level,
        },
        "annotations": annotations,
        "fingerprint": f"fp-{case_id}-{level}",
        "starts_at": "2026-10-09T00:00:00+08:00",
    }


def notification(
    n: int = 1, level: str = "red", status: str = "firing", lang: str = "zh", **more: Any
) -> Notification:
    return Notification(
        receiver="business_office",
        group_key=f'{{}}:{{role="business_office",level="{level}"}}',
        status=status,  # type: ignore[arg-type]
        level=level,  # type: ignore[arg-type]
        alerts=tuple(alert(f"WT-2026-{i:04d}", level) for i in range(1, n + 1)),
        created_at=NOW,
        lang=lang,
        id=more.pop("id", f"n-{level}-{n}"),
        reason="first notification",
        **more,
    )


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture(scope="session")
def client() -> Iterator[httpx.Client]:
    with httpx.Client() as c:
        yield c
