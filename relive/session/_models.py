"""What each Live model family accepts from a client, as far as the session manager must know.

Gemini 3.x Live models (`gemini-3.1-flash-live-preview`, `gemini-3.8-live`) close the socket
with 1007 on a `clientContent` sent mid-session: text goes through `realtimeInput.text`, and
`clientContent` is accepted only as initial history on a fresh connection whose setup has
`historyConfig.initialHistoryInClientContent` (the server then waits for that history up to its
`turnComplete`, which does not start a model call). The 2.x models take `clientContent` any
time. Sources: ../shared/docs/live-protocol.md ("Per model, as of late 2026"); the
`HistoryConfig` docstring in google-genai; livekit/agents-js PR #1199, pipecat PR #4171,
google/adk-python PR #5999, yagudaev/voiceclaw PR #248 (1007 on a resumed 3.1 session that sent
history via `clientContent` without the opt-in).
"""

from __future__ import annotations

from dataclasses import dataclass

from google.genai import types

from relive.session import _inputs as inputs
from relive.session._journal import Entry


@dataclass(frozen=True)
class ModelRules:
    """The client-side rules of one model family.

    `client_content_mid_session`: `clientContent` may be sent at any time (2.x). When False
    (3.x), user text goes as `realtimeInput.text` and history only as initial history with
    `historyConfig`, so exchanges a stale handle lacks cannot be restored on a resumed
    connection.
    `live_handles`: a handle names the session's latest state, not a snapshot (3.8 sends one,
    right after setup). With snapshots and no mid-session history (3.1, whose handles come only
    while input streams), a connection lost after an answer its handle lacks is replaced by a
    new session seeded with the transcript rather than resumed into a state that forgot it.
    """

    family: str
    client_content_mid_session: bool = True
    live_handles: bool = False


GEMINI_2 = ModelRules(family="2.x")
GEMINI_31 = ModelRules(family="3.1", client_content_mid_session=False)
GEMINI_38 = ModelRules(family="3.8", client_content_mid_session=False, live_handles=True)


def rules_for(model: str) -> ModelRules:
    """The rules for a model name (`models/` prefix or not). Other 3.x Live models get the 3.1
    rules (the strictest reported); any other name gets the 2.x rules."""
    name = model.rpartition("/")[2].lower()
    if name.startswith("gemini-3.8-live"):
        return GEMINI_38
    if name.startswith("gemini-3") and "live" in name:
        return GEMINI_31
    return GEMINI_2


def history_opt_in(config: types.LiveConnectConfig) -> bool:
    """The app's config asks for initial history in `clientContent` (3.x `historyConfig`)."""
    history = config.history_config
    return bool(history is not None and history.initial_history_in_client_content)


def with_history_opt_in(config: types.LiveConnectConfig) -> types.LiveConnectConfig:
    """The config with `historyConfig.initialHistoryInClientContent` on (for a seeded session)."""
    return config.model_copy(
        update={"history_config": types.HistoryConfig(initial_history_in_client_content=True)}
    )


def _plain_user_text(entry: Entry) -> bool:
    turns: list[types.Content] = entry.kwargs["turns"]
    return bool(turns) and all(
        (c.role or "user") == "user"
        and all(
            p.text is not None and p.model_dump(exclude_none=True).keys() == {"text"}
            for p in (c.parts or [])
        )
        for c in turns
    )


def adapt(entry: Entry, rules: ModelRules, *, opted_in: bool) -> Entry:
    """The entry to journal instead of `entry`, so the model accepts it.

    On 3.x a complete user text turn sent with `send_client_content` becomes
    `realtimeInput.text` (same words, same turn). Other `clientContent` is passed on only when
    the app opted in to initial history (`opted_in`): then it is the app's initial history.
    Anything else raises `ValueError` here rather than have the server close the socket.
    """
    if rules.client_content_mid_session or entry.method != "send_client_content":
        return entry
    if entry.kwargs["turn_complete"] and entry.text and _plain_user_text(entry):
        return inputs.realtime_input({"text": entry.text})
    if opted_in:
        return entry
    raise ValueError(
        f"{rules.family} Live models refuse clientContent mid-session (1007): send user text "
        f"with turn_complete=True (relive sends it as realtimeInput.text), or set "
        f"history_config=HistoryConfig(initial_history_in_client_content=True) to send "
        f"initial history"
    )
