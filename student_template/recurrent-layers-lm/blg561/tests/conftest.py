"""Makes the blg561 package importable when it is not installed (pytest from any folder)."""

import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)          # the folder that holds setup.py and blg561/
for path in (ROOT, HERE):             # HERE: for `from layer_test_utils import ...`
    if path not in sys.path:
        sys.path.insert(0, path)
