"""The conversation as people read it: turns built from transcriptions and text parts."""

from relive.transcript._condense import Condensed, ExtractiveSummarizer, Summarizer
from relive.transcript._transcript import Role, Transcript, Turn

__all__ = [
    "Condensed",
    "ExtractiveSummarizer",
    "Role",
    "Summarizer",
    "Transcript",
    "Turn",
]
