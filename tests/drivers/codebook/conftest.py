"""Each codebook test starts with no findings' results kept in the process (the codebook
shows the latest findings' values): ids and times repeat from one test's database to the
next."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from amniyat.findings import shown


@pytest.fixture(autouse=True)
def _nothing_kept() -> Iterator[None]:
    shown.forget()
    yield
    shown.forget()
