"""`python -m imgtui`: the same as the `imgtui` command."""

import sys

from imgtui.cli import main

sys.exit(main())
