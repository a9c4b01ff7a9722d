"""Makes part1/ importable when you run `pytest` from the assignment folder."""

import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent  # the folder that holds part1/
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

torch.set_num_threads(1)  # small models: one thread is fastest and keeps timings stable
