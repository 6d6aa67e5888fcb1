"""The relive web demo: a voice call and a text chat in the browser over relive sessions.

`create_app(WebBackend(opener))` is the ASGI app; `relive demo` runs it (see docs/web.md).
"""

from relive.web._app import WebBackend, WebSettings, create_app
from relive.web._backend import SessionSettings, make_opener
from relive.web._limits import Limits

__all__ = ["Limits", "SessionSettings", "WebBackend", "WebSettings", "create_app", "make_opener"]
