"""Scenario outcomes, appended as JSON lines to $RELIVE_INTEGRATIONS_REPORT when it is set.

`python -m tests.integrations.report FILE` prints them as the table in docs/integrations.md.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from tests.integrations.scenarios import SCENARIOS, Outcome


def record(framework: str, service: str, outcome: Outcome) -> None:
    path = os.environ.get("RELIVE_INTEGRATIONS_REPORT")
    if not path:
        return
    row = {
        "framework": framework,
        "service": service,
        "scenario": outcome.scenario,
        "summary": outcome.summary(),
        "perfect": outcome.perfect,
    }
    with Path(path).open("a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


def table(path: Path) -> str:
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    cells = {(r["framework"], r["service"], r["scenario"]): r for r in rows}
    columns = sorted({(r["framework"], r["service"]) for r in rows})
    head = "| scenario | " + " | ".join(f"{fw}: {svc}" for fw, svc in columns) + " |"
    out = [head, "|---" * (len(columns) + 1) + "|"]
    for scenario in SCENARIOS:
        line = [scenario]
        for fw, svc in columns:
            r = cells.get((fw, svc, scenario))
            line.append("—" if r is None else ("✅ " if r["perfect"] else "❌ ") + r["summary"])
        out.append("| " + " | ".join(line) + " |")
    return "\n".join(out)


if __name__ == "__main__":
    print(table(Path(sys.argv[1])))
