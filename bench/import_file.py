"""Write a generated import file set for measuring `licserver import`:
``python -m bench.import_file DIR N`` makes DIR/customers.csv (N/10 customers)
and DIR/licences.csv (N licences of product ``bench-import``, each with a legacy
key). Not a test: docs/performance.md has the figures of one run."""

from __future__ import annotations

import csv
import sys
from pathlib import Path


def main(folder: str, count: str) -> None:
    out, n = Path(folder), int(count)
    out.mkdir(parents=True, exist_ok=True)
    customers = max(1, n // 10)
    with (out / "customers.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["external_id", "name", "email"])
        for i in range(customers):
            w.writerow([f"C{i}", f"Customer {i}", f"it{i}@customer{i}.example"])
    with (out / "licences.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["external_id", "customer_external_id", "product", "seats", "expires_at",
                    "features", "legacy_keys"])  # fmt: skip
        for i in range(n):
            w.writerow([f"L{i}", f"C{i % customers}", "bench-import", 1 + i % 5, "2030-12-31",
                        "export", f"OLD-{i:08d}-LEGACYKEY"])  # fmt: skip


if __name__ == "__main__":
    main(*sys.argv[1:3])
