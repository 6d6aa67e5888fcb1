"""The relive web demo: a voice call and a text chat in the browser over relive sessions.

`create_app(WebBackend(make_opener(client, SessionSettings())))` is the ASGI app; `serve(app)` runs
it with uvicorn on 127.0.0.1; `relive demo` does both (see docs/web.md). The names here are the
web part's whole public surface; its underscored modules are free to change.
"""

from relive._extras import require

require("relive.web", "web")

from relive._errors import WebError  # noqa: E402
from relive.web._app import WebBackend, WebSettings, create_app  # noqa: E402
from relive.web._backend import SessionSettings, make_opener  # noqa: E402
from relive.web._bridge import Opener  # noqa: E402
from relive.web._limits import Limits  # noqa: E402
from relive.web._panel import FaultSwitch  # noqa: E402
from relive.web._server import Running, serve  # noqa: E402

__all__ = [
    "FaultSwitch",
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
