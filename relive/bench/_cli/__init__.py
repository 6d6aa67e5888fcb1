"""`relive bench reconnect|overhead|cpu|memory|scale|wave|failover|replica|chaos|emulator`: sizes as
flags, a table or `--json`.

One module of flags per family of benches: `_client.py` (one client, relive vs the raw SDK:
reconnect, overhead, cpu, memory), `_sessions.py` (many sessions at once: scale, wave),
`_replicas.py` (`relive serve` replicas: failover, replica), `_chaos.py`, `_emulator.py` (the
emulator measured on its own). `_shared.py` has
the flags every bench takes and the run that turns a report into output and an exit status.

Defaults finish well under a minute on a 2-core machine; docs/performance.md lists bigger runs.
Exit status is 1 when a hard aim (0 lost, duplicated or stuck turns) is missed, 2 when a run
could not finish (the reason is printed).
"""

from __future__ import annotations

from typing import Any

from relive.bench._cli import _chaos, _client, _emulator, _replicas, _sessions


def register(subparsers: Any) -> None:
    """Add `bench` and its sub-subcommands to the `relive` parser."""
    bench = subparsers.add_parser(
        "bench",
        help="measure reconnects, overhead, scale and chaos against the raw SDK",
        description=(
            "Measure relive against the raw SDK in the same run: reconnect downtime, overhead per "
            "message, concurrent sessions, and turns lost under random faults. Defaults finish in "
            "under a minute; docs/performance.md lists bigger runs. Exit status 1: a hard aim "
            "(0 lost, duplicated or stuck turns) was missed; 2: a run could not finish."
        ),
    )
    sub = bench.add_subparsers(dest="bench_command", required=True, metavar="BENCH")
    _client.register(sub)
    _sessions.register(sub)
    _replicas.register(sub)
    _chaos.register(sub)
    _emulator.register(sub)
