"""What the installed google-genai and websockets can do, for tests of features that need more.

make test-sdk-oldest runs the SDK tests on the oldest google-genai relive supports (2.25), whose
`websockets` is older than 17: tests marked here are skipped there, and the clear error that
replaces the feature is tested instead (tests/session/test_sdk_support.py).
"""

from __future__ import annotations

from importlib.metadata import version

import pytest
from google.genai import types

HAS_CONTEXT_UPDATE = hasattr(types, "LiveClientContextUpdate")
SDK_MAJOR = int(version("google-genai").split(".")[0])
WEBSOCKETS_MAJOR = int(version("websockets").split(".")[0])

needs_context_update = pytest.mark.skipif(
    not HAS_CONTEXT_UPDATE, reason="this google-genai has no Live context updates"
)
# websockets' HTTP parser takes POST (the emulator's control and REST endpoints) from 17 on.
needs_http_post = pytest.mark.skipif(
    WEBSOCKETS_MAJOR < 17, reason="the emulator's POST endpoints need websockets >= 17"
)
# docs/emulator.md's coverage tables are generated from the project's google-genai (3.x); an
# older SDK has fewer fields, so its tables would differ (every field is still classified).
describes_this_sdk = pytest.mark.skipif(
    SDK_MAJOR < 3, reason="the coverage tables describe google-genai 3.x"
)
