"""A local certificate authority (trustme) so SDKs reach the emulator over wss://."""

from __future__ import annotations

import ssl
import tempfile
from pathlib import Path

import trustme


class LocalTLS:
    """A throwaway CA and a server certificate for 127.0.0.1, localhost and ::1."""

    def __init__(self, ca_file: str | Path | None = None) -> None:
        self.ca = trustme.CA()
        self._cert = self.ca.issue_cert("127.0.0.1", "localhost", "::1")
        if ca_file is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="relive-emulator-")
            ca_file = Path(self._tmp.name) / "ca.pem"
        self.ca_pem_path = Path(ca_file)
        self.ca.cert_pem.write_to_path(str(self.ca_pem_path))

    def server_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self._cert.configure_cert(ctx)
        return ctx

    def client_context(self) -> ssl.SSLContext:
        """A client context trusting only this CA."""
        ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        self.ca.configure_trust(ctx)
        return ctx
