"""The conversation as people read it: turns built from transcriptions and text parts."""

from relive.transcript.condense import Condensed, ExtractiveSummarizer, Summarizer
from relive.transcript.transcript import Role, Transcript, Turn

__all__ = [
    "Condensed",
    "ExtractiveSummarizer",
    "Role",
    "Summarizer",
    "Transcript",
    "Turn",
]
