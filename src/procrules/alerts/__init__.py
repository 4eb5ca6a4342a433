"""SLA alerts: the ring around the core that tells people about deadlines (issue 11).

Nothing in the core imports this package; it needs the `[alerts]` extra (httpx).
"""
