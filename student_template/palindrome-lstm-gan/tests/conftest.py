"""Makes part1/ and part2/ importable when you run `pytest` from the assignment folder.

Part I's files import each other as top-level modules (``from lstm import LSTM``), as
they do when you run ``python train.py`` inside part1/; Part II's likewise
(``from mnist import load_mnist``).
"""

import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent  # the folder that holds part1/ and part2/
for folder in (ROOT / "part1", ROOT / "part2"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))

torch.set_num_threads(1)  # small models: one thread is fastest and keeps timings stable
