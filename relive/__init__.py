"""relive: resilient sessions for the Gemini Live API.

The public surface is re-exported here so users never import from submodules.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
