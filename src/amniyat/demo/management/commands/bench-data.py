"""``amniyat bench-data``: see :mod:`amniyat.demo.management.bench_data`."""

from amniyat.demo.management.bench_data import Command

__all__ = ["Command"]
