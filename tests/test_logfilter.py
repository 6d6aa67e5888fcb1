"""At DEBUG, the libraries under relive print headers, URLs and frames: the API key and the
resumption handles must still never appear (relive/_logfilter.py)."""

from __future__ import annotations

import logging
import secrets

import httpx
import pytest

from relive._logfilter import redact_text
from relive.emulator import Emulator
from tests.emulator.sdk_helpers import MODEL, resumable_config


async def _handle_of(emu: Emulator, key: str, handle: str | None = None) -> str:
    async with emu.client(api_key=key).aio.live.connect(
        model=MODEL, config=resumable_config(handle)
    ) as session:
        await session.send_realtime_input(text="hi")  # 2.x models send a handle after a turn
        while True:
            async for message in session.receive():
                update = message.session_resumption_update
                if update is not None and update.new_handle:
                    return update.new_handle


async def test_debug_logs_hold_no_key_and_no_handle(
    relive_emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    key = "AIza" + secrets.token_urlsafe(30)
    handle = await _handle_of(relive_emulator, key)
    second = await _handle_of(relive_emulator, key, handle)  # the setup frame carries `handle`
    ctx = relive_emulator.ssl_context()
    async with httpx.AsyncClient(verify=ctx) as http:
        await http.get(f"{relive_emulator.url}/emulator/health?key={key}")
    text = caplog.text
    # The libraries did log what would have leaked (so this test can fail) ...
    assert "x-goog-api-key: <redacted>" in text
    assert "?key=<redacted>" in text
    assert "TEXT <payload <redacted>>" in text or "BINARY <payload <redacted>>" in text
    # ... and nothing of the secrets themselves.
    for secret in (key, handle, second):
        assert secret not in text
        assert secret[:16] not in text


@pytest.mark.parametrize(
    ("line", "kept"),
    [
        ("> x-goog-api-key: AIzaSECRET", "> x-goog-api-key: <redacted>"),
        ("{'X-Goog-Api-Key': 'AIzaSECRET', 'a': 1}", "{'X-Goog-Api-Key': '<redacted>', 'a': 1}"),
        ("> Authorization: Bearer ya29.SECRET", "> Authorization: Bearer <redacted>"),
        ("> Authorization: Token auth_tokens/SECRET", "> Authorization: Token <redacted>"),
        ("GET /ws/x?key=SECRET&alt=1 HTTP/1.1", "GET /ws/x?key=<redacted>&alt=1 HTTP/1.1"),
        ("GET /ws/x?access_token=SECRET", "GET /ws/x?access_token=<redacted>"),
        ('{"resumption": {"handle": "SECRET"}}', '{"resumption": {"handle": "<redacted>"}}'),
        ('{"newHandle":"SECRET","resumable":true}', '{"newHandle":"<redacted>","resumable":true}'),
        ("< TEXT '{\"a\": \"h...SECRET\"}' [81 bytes]", "< TEXT <payload <redacted>> [81 bytes]"),
        ("nothing secret here", "nothing secret here"),
    ],
)  # fmt: skip
def test_redaction_patterns(line: str, kept: str) -> None:
    assert redact_text(line) == kept
