from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.conf import settings


def pytest_configure(config: pytest.Config) -> None:
    Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)


@pytest.fixture(autouse=True)
def _defaults(settings: object) -> None:
    settings.AMNIYAT_REQUIRE_2FA = False  # type: ignore[attr-defined]
    settings.AXES_ENABLED = True  # type: ignore[attr-defined]


@pytest.fixture(autouse=True)
def _english() -> None:
    from django.utils import translation

    translation.activate("en")


IN_CI = os.environ.get("CI") == "true"
