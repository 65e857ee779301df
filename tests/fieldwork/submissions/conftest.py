from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Path) -> None:
    """Export files (and imports' uploads) go to the test's own folder."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
