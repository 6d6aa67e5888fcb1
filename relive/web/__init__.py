"""The relive web demo: a voice call and a text chat in the browser over relive sessions.

`create_app(WebBackend(make_opener(client, SessionSettings())))` is the ASGI app; `serve(app)` runs
it with uvicorn on 127.0.0.1; `relive demo` does both (see docs/web.md). The names here are the
web part's whole public surface; its underscored modules are free to change.
"""

from relive._errors import WebError
from relive.web._app import WebBackend, WebSettings, create_app
from relive.web._backend import SessionSettings, make_opener
from relive.web._bridge import Opener
from relive.web._limits import Limits
from relive.web._server import Running, serve

__all__ = [
    "Limits",
    "Opener",
    "Running",
    "SessionSettings",
    "WebBackend",
    "WebError",
    "WebSettings",
    "create_app",
    "make_opener",
    "serve",
]
