"""The words of every toast the backend sends, per mode, and of the two the page raises itself.

One table, so the page, `relive chat` and any app built on relive say the same (the page holds no
copy: `tests/web/test_texts.py` checks it).
"""

from __future__ import annotations

from relive.session._states import NOTICES as SESSION_NOTICES
from relive.web._protocol import Mode, NoticeKind

# Per kind and mode. A new session's are the session manager's own (`NewSession.notice`), which
# `relive chat` prints too; text mode is "the conversation" there, so it is here too.
NOTICES: dict[NoticeKind, dict[Mode, str]] = {
    NoticeKind.RECONNECTED: {"call": "Reconnected", "text": "Reconnected"},
    NoticeKind.NEW_SESSION: SESSION_NOTICES,
    NoticeKind.FAILED: {
        "call": "The call could not be started:",
        "text": "The conversation could not be started:",
    },
    NoticeKind.GAVE_UP: {
        "call": "The call was lost and could not be reconnected.",
        "text": "The conversation was lost and could not be reconnected.",
    },
}


def page_toasts() -> dict[NoticeKind, str]:
    """The words of the toasts the page raises itself, sent once in `Welcome`: its socket came
    back (`reconnected`), or the server no longer knew it and a new call started (`new_session`).
    The page holds no copy of them."""
    return {
        NoticeKind.RECONNECTED: NOTICES[NoticeKind.RECONNECTED]["call"],
        NoticeKind.NEW_SESSION: NOTICES[NoticeKind.NEW_SESSION]["call"],
    }
