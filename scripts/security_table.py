#!/usr/bin/env python3
"""Rewrite SECURITY.md's tables: the hostile cases, from the verdicts the last test run
recorded, and the verdict principle, from its data (``tests/hostile/principle.py``).

    .venv/bin/python -m pytest tests/test_hostile.py   # records build/hostile-verdicts.json
    .venv/bin/python scripts/security_table.py         # renders it into SECURITY.md

A backend the run could not use (no Docker engine, say) keeps its committed column.
``--check`` changes nothing and exits 1 if SECURITY.md differs from what it would write.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(ROOT))

from hostile import principle, table  # noqa: E402
from hostile.cases import TINY_RNN  # noqa: E402
from hostile.lstm_cases import LSTM_CASES  # noqa: E402
from hostile.training_cases import TRAINING_CASES  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--verdicts", type=Path, default=table.VERDICTS)
    parser.add_argument("--check", action="store_true", help="only say whether it is current")
    args = parser.parse_args(argv)
    records = table.load_records(args.verdicts)
    if not records:  # the committed cells stay; the principle table is rendered anyway
        print(f"no verdicts in {args.verdicts}: run tests/test_hostile.py first", file=sys.stderr)
    current = table.SECURITY.read_text()
    updated = principle.update(
        table.update(current, TINY_RNN + LSTM_CASES + TRAINING_CASES, records)
    )
    if args.check:
        if updated != current:
            print("SECURITY.md is out of date: run scripts/security_table.py", file=sys.stderr)
            return 1
        return 0
    table.SECURITY.write_text(updated)
    print(f"SECURITY.md: tables rewritten, verdicts from {', '.join(sorted(records)) or 'none'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
