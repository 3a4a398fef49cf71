"""What every CLI test runs in: a data directory of its own, the embedded database, wide tables."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A data directory of the test's own, no database URL, warnings only, no wrapped cells."""
    monkeypatch.setenv("SIGNALIGHT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("SIGNALIGHT_DATABASE_URL", raising=False)
    monkeypatch.setenv("SIGNALIGHT_LOG_LEVEL", "WARNING")
    monkeypatch.setenv("COLUMNS", "200")  # wide enough that no table cell is wrapped
    return tmp_path
