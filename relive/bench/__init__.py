"""`relive bench`: reconnect, overhead, scale and chaos figures against the raw SDK, same run.

Every run talks to the embedded emulator over real loopback sockets, so the figures are
reproducible offline. Ratios against the plain `google-genai` session measured side by side
matter more than absolute times on a noisy machine.
"""

from __future__ import annotations

from relive.bench._report import Aim, Report
from relive.bench._stats import Summary, percentile, summarize

__all__ = ["Aim", "Report", "Summary", "percentile", "summarize"]
