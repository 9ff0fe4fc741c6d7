"""``python -m recommender``: see :mod:`recommender.cli`."""

import os
import sys

from .cli import main

code = main()
sys.stdout.flush()
sys.stderr.flush()
# Every file is written whole and renamed before this point; skipping the interpreter's tear-down of
# TensorFlow saves over a second on each command.
os._exit(code)
