"""The core never imports the alerts ring (nor httpx): `pip install procrules` stays light."""

from __future__ import annotations

import subprocess
import sys


def test_core_does_not_import_alerts() -> None:
    code = (
        "import sys, procrules, procrules.api, procrules.cli, procrules.engine, procrules.report\n"
        "bad = sorted(m for m in sys.modules if m.startswith('procrules.alerts') or m == 'httpx')\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
