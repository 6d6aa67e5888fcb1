"""The connect config the manager sends: the app's own, plus resumption and compression.

`sessionResumption` is always set (a connection without it gets no handles). A sliding-window
`contextWindowCompression` is added when the app set none (the app's own setting wins);
an audio session without it hits the server's session limit, so that gets a warning.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any

from google.genai import types

from relive.session._policy import Mode, Policy

log = logging.getLogger("relive.session")


class CompressionWarning(UserWarning):
    """An audio session runs without a sliding-window context compression."""


def _is_audio(cfg: types.LiveConnectConfig, mode: Mode) -> bool:
    modalities = list(cfg.response_modalities or [])
    if cfg.generation_config is not None and cfg.generation_config.response_modalities:
        modalities += list(cfg.generation_config.response_modalities)
    if modalities:
        return any(str(m).upper().endswith("AUDIO") for m in modalities)
    return mode == "call"


def prepare(
    config: types.LiveConnectConfig | dict[str, Any] | None, *, policy: Policy, mode: Mode
) -> types.LiveConnectConfig:
    """A copy of the app's config with resumption on and compression defaulted."""
    if config is None:
        cfg = types.LiveConnectConfig()
    elif isinstance(config, dict):
        cfg = types.LiveConnectConfig.model_validate(config)
    elif isinstance(config, types.LiveConnectConfig):
        cfg = config.model_copy(deep=True)
    else:
        raise TypeError(
            f"config must be a google.genai.types.LiveConnectConfig or a dict, "
            f"got {type(config).__name__}"
        )
    if cfg.context_window_compression is None and policy.compression:
        cfg.context_window_compression = types.ContextWindowCompressionConfig(
            sliding_window=types.SlidingWindow()
        )
    compression = cfg.context_window_compression
    if _is_audio(cfg, mode) and (compression is None or compression.sliding_window is None):
        message = (
            "this audio session runs without contextWindowCompression.slidingWindow: the server "
            "will end it at its session limit (about 15 minutes of audio). Leave "
            "Policy(compression=True) or set a sliding window in the config."
        )
        log.warning(message)
        warnings.warn(message, CompressionWarning, stacklevel=3)
    if cfg.session_resumption is None:
        cfg.session_resumption = types.SessionResumptionConfig()
    return cfg


def with_handle(cfg: types.LiveConnectConfig, handle: str | None) -> types.LiveConnectConfig:
    """The config for one connection: resuming `handle`, or starting fresh when None."""
    resumption = (cfg.session_resumption or types.SessionResumptionConfig()).model_copy(
        update={"handle": handle}
    )
    return cfg.model_copy(update={"session_resumption": resumption})


def with_context(cfg: types.LiveConnectConfig, context: dict[str, Any]) -> types.LiveConnectConfig:
    """The config with the instructions/tools of the latest `send_context_update`."""
    update = {k: v for k, v in context.items() if k in ("system_instruction", "tools")}
    if "tools" in update:
        update["tools"] = list(update["tools"])
    return cfg.model_copy(update=update)
