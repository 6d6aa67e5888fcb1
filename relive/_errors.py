"""relive's one error family: catch `ReliveError` for anything relive raises on purpose.

    ReliveError
    ├── IllegalTransitionError   a move a state table forbids: a bug in relive, never the server's
    ├── MissingExtraError        a part's extra is not installed (also an ImportError)
    ├── SessionError             the session manager (`relive.connect`)
    │   ├── SessionFailedError   the session could not be (re)established (also a ConnectionError)
    │   ├── SessionClosedError   the session is closed or gave up: nothing more can be sent
    │   ├── BufferFullError      the input buffer holds all the unanswered input the policy allows
    │   ├── UnsupportedBySdkError  the installed google-genai lacks what the call needs
│   └── ProbeClosedError  `relive.conformance`: a probe's session closed or refused
    ├── EmulatorError            `relive.emulator`
    │   ├── ProtocolError        (internal) a client message the real server would refuse
    │   └── HandleRejectedError  (internal) a resumption the emulator refuses
    ├── StoreError               `relive.store` (shared state of replicas)
    │   ├── SealError            a seal key that cannot be used
    │   └── StoreUnavailableError  Redis unreachable (also a ConnectionError; callers degrade)
    └── WebError                 `relive.web`
        ├── ProtocolError        (internal) a page message the backend refuses
        ├── ForbiddenError       (internal) a hello for a known page with the wrong secret
        └── BusyError            (internal) too many pages at once

The leaves live beside the code that raises them; the ones marked internal never leave their part
(they become close frames or error messages to the page), and are in the family so a bug that lets
one escape is still caught as a `ReliveError`.
"""

from __future__ import annotations


class ReliveError(Exception):
    """The root of every error relive raises on purpose."""


class IllegalTransitionError(ReliveError):
    """A move a state table does not allow: a bug in relive, never a server's fault."""


class MissingExtraError(ReliveError, ImportError):
    """A part was imported without its extra; the message names the extra to install."""


class SessionError(ReliveError):
    """An error from the session manager."""


class EmulatorError(ReliveError):
    """An error from the emulator."""


class WebError(ReliveError):
    """An error from the web backend."""
