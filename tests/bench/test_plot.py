"""The downtime plot is a real PNG file."""

from __future__ import annotations

from pathlib import Path

import pytest

from relive.bench._plot import plot_downtime

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_plot_writes_a_png(tmp_path: Path) -> None:
    out = plot_downtime(
        {"relive goAway": [10.0, 12.0, 15.0], "raw connect+setup": [8.0, 9.0, 11.0, 30.0]},
        tmp_path / "sub" / "downtime.png",
    )
    data = out.read_bytes()
    assert data.startswith(PNG_MAGIC)
    assert len(data) > 5000


def test_plot_refuses_empty_series(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="empty"):
        plot_downtime({"a": []}, tmp_path / "x.png")
    assert not (tmp_path / "x.png").exists()
