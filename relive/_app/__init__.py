"""The command-line apps layered over the library (`relive chat`); nothing here is public API."""
