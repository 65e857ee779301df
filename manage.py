#!/usr/bin/env python
"""Django's manage.py, for those who expect it; ``amniyat`` does the same."""

import sys

from amniyat.cli import main

if __name__ == "__main__":
    main(sys.argv)
