"""Each findings test starts with nothing kept in the process: ids and times repeat from one
test's database to the next, and what one test's findings showed must not answer another's."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from amniyat.findings import services, shown


@pytest.fixture(autouse=True)
def _nothing_kept() -> Iterator[None]:
    shown.forget()
    services.indicators_read.cache_clear()
    yield
    shown.forget()
