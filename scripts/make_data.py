"""Regenerate the data sets the workbook ships (``data/churn.csv``).

Run: ``python scripts/make_data.py``. The output is deterministic; a unit test
checks that the shipped file equals a fresh generation.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers.data import make_churn  # noqa: E402
from helpers.paths import data_dir  # noqa: E402


def main() -> None:
    rows = make_churn()
    path = data_dir() / "churn.csv"
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"wrote {len(rows)} rows to {path}")


if __name__ == "__main__":
    main()
