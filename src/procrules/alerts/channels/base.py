"""The shapes shared by every channel: a notification in, a request on the wire, a result out.

Pure data and pure functions only; no network, no clock (times are passed in).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar, overload

if TYPE_CHECKING:
    import httpx

    from .ratelimit import RateLimiter

Status = Literal["firing", "resolved"]
Level = Literal["blue", "yellow", "red"]
Outcome = Literal["sent", "retry", "failed"]

STATUSES: tuple[str, ...] = ("firing", "resolved")
LEVELS: tuple[str, ...] = ("blue", "yellow", "red")  # in rising order of urgency

# The label and annotation keys the channels read from each alert (all values are strings).
LABEL_KEYS = ("alertname", "process", "step", "rule", "role", "case_id", "level")
ANNOTATION_KEYS = (
    "summary_zh",
    "summary_en",
    "due",  # as people write it: "10月10日（周六）17:00前" / "Sat 10 Oct, by 17:00"
    "overdue_by",  # "超期 2 个工作日" / "2 working days over"; empty while in time
    "time_left",  # "剩余 0.5 个工作日"; for blue reminders
    "customer",  # already masked by the watcher: "张*明"
    "link",  # the case page
    "step_name",  # the step as people call it (falls back to the step label)
    "role_name",  # the responsible role or team as people call it
    "process_name",
)


T = TypeVar("T")
U = TypeVar("U")

PAGE = 200  # alerts read at a time from a stored message


class PagedAlerts(Sequence[Mapping[str, Any]]):
    """The alerts of a long message, kept where they were recorded and read `PAGE` at a time:
    `len()` is known without reading them, iterating holds one page, indexing reads what it
    needs. A channel that cuts a message at its size limit reads only the alerts that fit."""

    def __init__(self, count: int, read: Callable[[int, int], Sequence[Mapping[str, Any]]]) -> None:
        """`read(start, stop)` returns the alerts start..stop-1, in order."""
        self.total = count
        self.read = read

    def __len__(self) -> int:
        return self.total

    @overload
    def __getitem__(self, index: int) -> Mapping[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[Mapping[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> Mapping[str, Any] | list[Mapping[str, Any]]:
        if isinstance(index, slice):
            start, stop, step = index.indices(self.total)
            if step != 1:
                return list(self)[index]
            return list(self.read(start, stop)) if start < stop else []
        if index < 0:
            index += self.total
        if not 0 <= index < self.total:
            raise IndexError(index)
        return self.read(index, index + 1)[0]

    def __iter__(self) -> Iterator[Mapping[str, Any]]:
        for start in range(0, self.total, PAGE):
            yield from self.read(start, min(start + PAGE, self.total))


class Mapped(Sequence[U]):
    """`fn` over a sequence, applied when an item is read, never to all at once."""

    def __init__(self, items: Sequence[T], fn: Callable[[T], U]) -> None:
        self.items = items
        self.fn = fn

    def __len__(self) -> int:
        return len(self.items)

    @overload
    def __getitem__(self, index: int) -> U: ...
    @overload
    def __getitem__(self, index: slice) -> list[U]: ...
    def __getitem__(self, index: int | slice) -> U | list[U]:
        if isinstance(index, slice):
            return [self.fn(x) for x in self.items[index]]
        return self.fn(self.items[index])

    def __iter__(self) -> Iterator[U]:
        return (self.fn(x) for x in self.items)


def _iso(value: dt.datetime) -> str:
    return value.isoformat()


def _time(value: Any, what: str) -> dt.datetime:
    if isinstance(value, dt.datetime):
        parsed = value
    elif isinstance(value, str):
        parsed = dt.datetime.fromisoformat(value)
    else:
        raise ValueError(f"{what} must be a time, not {type(value).__name__}")
    if parsed.tzinfo is None:
        raise ValueError(f"{what} must carry a UTC offset")
    return parsed


@dataclass(frozen=True)
class Notification:
    """One message for one receiver: a group of alerts at one level, as the watcher decided it.

    `alerts` holds Alertmanager-shaped dicts:
        {"labels": {"process", "step", "rule", "role", "case_id", "level", ...: str},
         "annotations": {"summary_zh", "summary_en", "due", "overdue_by", "customer", "link", ...},
         "fingerprint": str, "status": "firing"|"resolved" (default: the notification's),
         "starts_at": ISO time (optional), "ends_at": ISO time (optional)}
    A `fingerprint` label is accepted in place of the top-level key.
    """

    receiver: str
    group_key: str
    status: Status
    level: Level
    alerts: Sequence[Mapping[str, Any]]  # a tuple, or PagedAlerts for a stored long message
    created_at: dt.datetime
    lang: str = "zh"
    id: str = ""  # the outbox id: sent as an idempotency header, written to JSON Lines
    reason: str = ""  # why it is sent, Alertmanager's words: "first notification", ...
    group_labels: Mapping[str, str] = field(default_factory=dict)
    external_url: str = ""  # the board, for the webhook's externalURL
    digest_of: tuple[str, ...] = ()  # for a digest: the ids (or group keys) it stands for

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)}, not {self.status!r}")
        if self.level not in LEVELS:
            raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {self.level!r}")
        if self.lang not in ("zh", "en"):
            raise ValueError(f"lang must be zh or en, not {self.lang!r}")
        if isinstance(self.alerts, PagedAlerts):  # checked when recorded; read when needed
            checked: Sequence[Mapping[str, Any]] = ()
        else:
            object.__setattr__(self, "alerts", tuple(self.alerts))
            checked = self.alerts
        object.__setattr__(self, "digest_of", tuple(self.digest_of))
        object.__setattr__(self, "created_at", _time(self.created_at, "created_at"))
        for i, alert in enumerate(checked):
            if not isinstance(alert, Mapping) or not isinstance(alert.get("labels", {}), Mapping):
                raise ValueError(f"alerts[{i}] must be a mapping with a labels mapping")

    def __hash__(self) -> int:  # the alert dicts are not hashable; equal ones share these
        return hash((self.receiver, self.group_key, self.id, self.status, self.created_at))

    @property
    def is_digest(self) -> bool:
        return bool(self.digest_of)

    def to_dict(self, *, alerts: bool = True) -> dict[str, Any]:
        """A JSON-ready dict (for the outbox and JSON Lines); `from_dict` reads it back.
        `alerts=False` leaves the alerts out (an empty list), for a writer that streams them."""
        return {
            "id": self.id,
            "receiver": self.receiver,
            "group_key": self.group_key,
            "status": self.status,
            "level": self.level,
            "lang": self.lang,
            "reason": self.reason,
            "created_at": _iso(self.created_at),
            "group_labels": dict(self.group_labels),
            "external_url": self.external_url,
            "digest_of": list(self.digest_of),
            "alerts": [_plain(a) for a in self.alerts] if alerts else [],
        }

    def json_chunks(self, head: Mapping[str, Any] | None = None) -> Iterator[bytes]:
        """`{**head, **to_dict()}` as compact UTF-8 JSON, an alert at a time: a long stored
        message is written without holding all its alerts as objects."""
        import json

        def dump(value: Any) -> bytes:
            return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

        start = dump({**(head or {}), **self.to_dict(alerts=False)})
        assert start.endswith(b"[]}")  # "alerts" is the last key
        yield start[:-2]
        for i, alert in enumerate(self.alerts):
            yield (b"," if i else b"") + dump(_plain(alert))
        yield b"]}"

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Notification:
        return cls(
            receiver=data["receiver"],
            group_key=data["group_key"],
            status=data["status"],
            level=data["level"],
            alerts=_alerts(data.get("alerts", ())),
            created_at=_time(data["created_at"], "created_at"),
            lang=data.get("lang", "zh"),
            id=data.get("id", ""),
            reason=data.get("reason", ""),
            group_labels=dict(data.get("group_labels", {})),
            external_url=data.get("external_url", ""),
            digest_of=tuple(data.get("digest_of", ())),
        )


def _alerts(alerts: Any) -> Sequence[Mapping[str, Any]]:
    return alerts if isinstance(alerts, PagedAlerts) else tuple(alerts)


def _plain(value: Any) -> Any:
    """Mappings and sequences as dicts and lists, times as ISO text: what json.dumps takes."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return _iso(value)
    return value


@dataclass(frozen=True)
class AlertView:
    """One alert dict read defensively: every field a string, never a KeyError."""

    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    fingerprint: str
    status: str
    starts_at: str
    ends_at: str

    @classmethod
    def of(cls, alert: Mapping[str, Any], default_status: str) -> AlertView:
        labels = {str(k): str(v) for k, v in dict(alert.get("labels") or {}).items()}
        annotations = {str(k): str(v) for k, v in dict(alert.get("annotations") or {}).items()}
        fingerprint = str(alert.get("fingerprint") or labels.get("fingerprint", ""))
        status = str(alert.get("status") or default_status)

        def when(key: str) -> str:
            value = alert.get(key)
            return _iso(value) if isinstance(value, dt.datetime) else str(value or "")

        return cls(labels, annotations, fingerprint, status, when("starts_at"), when("ends_at"))

    def label(self, key: str) -> str:
        return self.labels.get(key, "")

    def note(self, key: str) -> str:
        return self.annotations.get(key, "")


def views(notification: Notification) -> Sequence[AlertView]:
    """The notification's alerts as views, each made when it is read (a stored long message is
    never read whole for a channel that keeps only what fits)."""
    status = notification.status
    return Mapped(notification.alerts, lambda a: AlertView.of(a, status))


@dataclass(frozen=True)
class Request:
    """What goes on the wire. For HTTP: POST url with headers and body. For e-mail: url is
    smtp://host:port, headers are the envelope (From, To, Subject) and body the RFC 5322 message.
    For JSON Lines: url is file:///path and body is the line written."""

    url: str
    headers: Mapping[str, str]
    body: bytes
    method: str = "POST"


@dataclass(frozen=True)
class DeliveryResult:
    """What became of one attempt. `sent`; `retry` (temporary: rate limited, 429, 5xx, time-out,
    connection refused; `retry_after` when the far side or the limiter says how long);
    `failed` (permanent: bad key, signature or keyword refused, other 4xx, quota spent)."""

    outcome: Outcome
    channel: str
    reason: str  # a stable code: sent, rate_limited, http_429, http_503, timeout, errcode, ...
    detail: str = ""  # the far side's own words (errmsg, SMTP reply), never a secret
    status_code: int | None = None
    error_code: str | None = None  # the platform's errcode/code, as text
    retry_after: dt.timedelta | None = None
    attempted_at: dt.datetime | None = None

    @property
    def ok(self) -> bool:
        return self.outcome == "sent"

    def describe(self, lang: str = "en") -> str:
        from .text import describe_result

        return describe_result(self, lang)


class Channel(Protocol):
    """One configured channel. Build with `build_channel(config)`."""

    name: str
    type: str
    lang: str | None  # when set, overrides the notification's language
    send_resolved: bool
    limiter: RateLimiter

    def render(self, notification: Notification, *, now: dt.datetime | None = None) -> Request:
        """The request `send` would make at `now` (default: the notification's created_at)."""
        ...

    def send(
        self,
        notification: Notification,
        *,
        client: httpx.Client | None = None,
        now: dt.datetime,
    ) -> DeliveryResult:
        """Take a token from the limiter, render at `now`, deliver, classify the answer."""
        ...


def level_of(alerts: Sequence[AlertView], fallback: str) -> str:
    """The most urgent level among the alerts."""
    found = [a.label("level") for a in alerts if a.label("level") in LEVELS]
    return max(found, key=LEVELS.index) if found else fallback
