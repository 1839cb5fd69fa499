"""`python -m imgtui.tui`: the app, with the terminal probe overlapping the imports."""

import sys

from imgtui.tui import run_app

sys.exit(run_app())
