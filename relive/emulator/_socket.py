"""The emulator's own `websockets` classes, given to `serve(create_connection=...)`.

`EmulatorProtocol` is websockets' server protocol with what the emulator adds: it lifts a
request body off the stream before the head is parsed (`POST auth_tokens` on the Live port),
counts the messages it reads, and hands each pong to the driver, which answers a ping in order
behind the messages read before it (and late, for the ping-delay fault). `EmulatorConnection`
puts that protocol in place before any byte is read.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Generator
from typing import Any

from websockets.asyncio.server import ServerConnection
from websockets.frames import Frame, Opcode
from websockets.protocol import CONNECTING, OPEN
from websockets.server import ServerProtocol

MAX_BODY = 1 << 20
_MAX_HEAD = 64 * 1024
_LENGTH = re.compile(rb"(?im)^content-length:[ \t]*(\d+)[ \t]*\r?\n")

DATA = (Opcode.TEXT, Opcode.BINARY, Opcode.CONT)

PongHold = Callable[[bytes], bool]
"""Called with each pong's payload; True when the caller took it over and will send it later
with `EmulatorProtocol.send_held_pong`."""


class EmulatorProtocol(ServerProtocol):
    """A `ServerProtocol` that reads a request body (Content-Length, at most `MAX_BODY`) into
    `request_body` before websockets parses the head, counts the client messages it has read
    (`messages_read`), and offers each pong to `hold_pong`."""

    request_body: bytes = b""
    messages_read = 0
    hold_pong: PongHold | None = None
    on_close: Callable[[], None] | None = None  # the client's close frame arrived

    def parse(self) -> Generator[None]:
        buffer = self.reader.buffer
        if self.state is CONNECTING:
            while (end := buffer.find(b"\r\n\r\n")) < 0 and not self.reader.eof:
                if len(buffer) > _MAX_HEAD:
                    break
                yield
            if end >= 0 and (match := _LENGTH.search(bytes(buffer[: end + 4]))):
                length = int(match.group(1))
                if 0 < length <= MAX_BODY:
                    while len(buffer) < end + 4 + length and not self.reader.eof:
                        yield
                    self.request_body = bytes(buffer[end + 4 : end + 4 + length])
                    del buffer[end + 4 : end + 4 + length]
                    del buffer[match.start() : match.end()]
        yield from super().parse()

    def recv_frame(self, frame: Frame) -> None:
        """Every incoming frame passes here, before its ping is answered: count messages."""
        if frame.fin and frame.opcode in DATA:
            self.messages_read += 1
        super().recv_frame(frame)
        if frame.opcode is Opcode.CLOSE and self.on_close is not None:
            self.on_close()

    def send_frame(self, frame: Frame) -> None:
        """Every outgoing frame passes here, the automatic pong to a ping too: the one place
        where a pong can be held."""
        hold = self.hold_pong
        if frame.opcode is Opcode.PONG and hold is not None and hold(bytes(frame.data)):
            return
        super().send_frame(frame)

    def send_held_pong(self, data: bytes) -> bool:
        """Queue a pong `hold_pong` took over; False when the connection is no longer open."""
        if self.state is not OPEN:
            return False
        super().send_frame(Frame(Opcode.PONG, data))
        return True


class EmulatorConnection(ServerConnection):
    """The emulator's connection class: websockets' own, over an `EmulatorProtocol`.

    When the socket is gone it breaks the cycles websockets leaves between the protocol and its
    finished parser (the generator stays suspended at its last `yield`, its frame holding the
    protocol; an end-of-stream error's traceback holds the parser's frames too), so a closed
    connection is freed at once by reference counting instead of waiting, with everything it
    holds, for a full garbage collection: a pause of 0.2-0.5 s per collection in a 1,000
    connection wave (tests/emulator/test_emulator_freed.py).
    """

    def __init__(self, protocol: ServerProtocol, *args: Any, **kwargs: Any) -> None:
        protocol.__class__ = EmulatorProtocol  # no data has been read yet: swap the parser
        protocol.parser = protocol.parse()
        next(protocol.parser)
        super().__init__(protocol, *args, **kwargs)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.keepalive_task = None  # as websockets 17 does: its traceback holds this connection
        protocol = self.protocol  # CLOSED now: its parser is never stepped again
        if protocol.parser_exc is not None:
            protocol.parser_exc.__traceback__ = None
        protocol.parser.close()
