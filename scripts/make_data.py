"""Regenerate the data sets the workbook ships (``data/churn.csv``).

Run: ``python scripts/make_data.py``. The output is deterministic; a unit test
checks that the shipped file equals a fresh generation.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from helpers.paths import data_dir  # noqa: E402


def make_churn(n_rows: int = 1000, seed: int = 7) -> list[dict[str, Any]]:
    """Generate the synthetic customer-churn table (mixed numeric and categorical columns).

    The churn label follows a fixed logistic rule plus noise, so models can learn it.
    """
    rng = np.random.RandomState(seed)
    contracts = np.array(["month-to-month", "one-year", "two-year"])
    payments = np.array(["card", "bank-transfer", "electronic-check", "mailed-check"])
    internets = np.array(["none", "dsl", "fiber"])
    contract = contracts[rng.choice(3, n_rows, p=[0.55, 0.25, 0.20])]
    payment = payments[rng.choice(4, n_rows)]
    internet = internets[rng.choice(3, n_rows, p=[0.2, 0.4, 0.4])]
    tenure = rng.randint(1, 73, n_rows)
    senior = (rng.rand(n_rows) < 0.16).astype(int)
    charges = np.round(20 + 30 * (internet == "dsl") + 55 * (internet == "fiber") + rng.normal(0, 8, n_rows), 2)
    calls = rng.poisson(1.5, n_rows)
    logit = (
        -1.0 + 1.6 * (contract == "month-to-month") - 1.2 * (contract == "two-year")
        + 0.8 * (payment == "electronic-check") + 0.6 * (internet == "fiber")
        - 0.045 * tenure + 0.02 * (charges - 60) + 0.35 * calls + 0.4 * senior
    )
    churn = (rng.rand(n_rows) < 1 / (1 + np.exp(-logit))).astype(int)
    return [
        {
            "tenure_months": int(tenure[i]), "monthly_charges": float(charges[i]),
            "support_calls": int(calls[i]), "senior": int(senior[i]), "contract": str(contract[i]),
            "payment_method": str(payment[i]), "internet": str(internet[i]), "churn": int(churn[i]),
        }
        for i in range(n_rows)
    ]


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
