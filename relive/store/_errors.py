"""The store's errors, in relive's family."""

from __future__ import annotations

from relive._errors import ReliveError


class StoreError(ReliveError):
    """An error from the shared state store."""


class SealError(StoreError):
    """A seal key that cannot be used, or a sealed value no key of the ring opens."""


class StoreUnavailableError(StoreError, ConnectionError):
    """The store (Redis) cannot be reached; callers fall back to what this replica holds."""
