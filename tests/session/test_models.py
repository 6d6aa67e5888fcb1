"""Per-model client rules: what relive sends a 3.x Live model instead of clientContent."""

from __future__ import annotations

import pytest
from google.genai import types

from relive.session import _inputs as inputs
from relive.session import _models as models


@pytest.mark.parametrize(
    ("model", "family"),
    [
        ("gemini-3.1-flash-live-preview", "3.1"),
        ("models/gemini-3.8-live", "3.8"),
        ("gemini-3.5-flash-live-preview", "3.1"),
        ("gemini-live-2.5-flash-preview", "2.x"),
        ("gemini-2.5-flash-native-audio-preview-09-2025", "2.x"),
        ("some-new-model", "2.x"),
    ],
)
def test_rules_by_model_name(model: str, family: str) -> None:
    assert models.rules_for(model).family == family


def user(text: str) -> types.Content:
    return types.Content(role="user", parts=[types.Part(text=text)])


def test_on_3x_a_user_text_turn_goes_as_realtime_text() -> None:
    entry = models.adapt(
        inputs.client_content([user("Hello"), user("there")], True),
        models.GEMINI_31,
        opted_in=False,
    )
    assert entry.method == "send_realtime_input"
    assert (
        entry.kwargs == {"text": "Hello there"} and entry.ends_turn and entry.text == "Hello there"
    )


@pytest.mark.parametrize(
    ("turns", "turn_complete"),
    [
        ([user("a"), types.Content(role="model", parts=[types.Part(text="b")])], False),
        ([user("part one")], False),
        ([types.Content(role="user", parts=[types.Part(inline_data=types.Blob(data=b"x"))])], True),
    ],
)
def test_on_3x_other_client_content_is_refused_up_front(
    turns: list[types.Content], turn_complete: bool
) -> None:
    entry = inputs.client_content(turns, turn_complete)
    with pytest.raises(ValueError, match="refuse clientContent mid-session"):
        models.adapt(entry, models.GEMINI_31, opted_in=False)
    assert models.adapt(entry, models.GEMINI_31, opted_in=True) is entry  # the app's history


def test_2x_models_get_client_content_unchanged() -> None:
    entry = inputs.client_content([user("Hello")], True)
    assert models.adapt(entry, models.GEMINI_2, opted_in=False) is entry


def test_history_opt_in() -> None:
    plain = types.LiveConnectConfig()
    assert not models.history_opt_in(plain)
    opted = models.with_history_opt_in(plain)
    assert models.history_opt_in(opted) and plain.history_config is None
