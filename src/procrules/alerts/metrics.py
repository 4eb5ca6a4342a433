"""Prometheus metrics of the alerts, read from the store (so they survive restarts and agree
across replicas): firing cards by level and process, notifications by channel and result,
rate-limited attempts, outbox depth, the watcher's last run. Text exposition format 0.0.4;
the service appends it to /metrics."""

from __future__ import annotations

from .store import AlertStore


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _labels(**kw: str) -> str:
    return "{" + ",".join(f'{k}="{_escape(v)}"' for k, v in kw.items()) + "}"


def render_metrics(store: AlertStore) -> str:
    counts = store.counts()
    out = [
        "# HELP procrules_alerts_firing Cards firing now (not silenced or inhibited).",
        "# TYPE procrules_alerts_firing gauge",
    ]
    for level, process, n in sorted(counts["firing"], key=lambda r: (r[0] or "", r[1])):
        out.append(f"procrules_alerts_firing{_labels(level=level or '', process=process)} {n}")
    out += [
        "# HELP procrules_notifications_total Notifications by channel and result.",
        "# TYPE procrules_notifications_total counter",
    ]
    depth = 0
    limited: dict[str, int] = {}
    for channel, status, n, rate_limited in sorted(counts["outbox"]):
        if status in ("pending", "sending"):
            depth += n
        else:
            out.append(
                f"procrules_notifications_total{_labels(channel=channel, result=status)} {n}"
            )
        limited[channel] = limited.get(channel, 0) + rate_limited
    out += [
        "# HELP procrules_notifications_rate_limited_total Attempts held back by a rate limit.",
        "# TYPE procrules_notifications_rate_limited_total counter",
    ]
    for channel, n in sorted(limited.items()):
        out.append(f"procrules_notifications_rate_limited_total{_labels(channel=channel)} {n}")
    out += [
        "# HELP procrules_outbox_depth Notifications recorded and not yet sent or given up.",
        "# TYPE procrules_outbox_depth gauge",
        f"procrules_outbox_depth {depth}",
    ]
    last = counts["last_run"]
    if last:
        out += [
            "# HELP procrules_watch_run_seconds How long the last watcher pass took.",
            "# TYPE procrules_watch_run_seconds gauge",
            f"procrules_watch_run_seconds {last['seconds']:.6f}",
            "# HELP procrules_watch_cases Open cases judged by the last pass.",
            "# TYPE procrules_watch_cases gauge",
            f"procrules_watch_cases {last['cases']}",
        ]
    return "\n".join(out) + "\n"
