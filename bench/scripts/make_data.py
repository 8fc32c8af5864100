"""Write synthetic tabular data: N rows x F numeric features, C categorical ones, and a binary target (run in a
project's venv).

usage: make_data.py OUTPUT ROWS FEATURES SEED [SHIFTED] [CATEGORICAL]
The first SHIFTED numeric features are shifted by one standard deviation (a drifted batch). The CATEGORICAL columns
have 5 to 1,000 levels (spread evenly on a log scale); the even ones hold number codes (c00, c02, ...: declare them
under data.categorical), the odd ones text (found without it). The target depends on five numeric features and
on two categorical ones.
"""

import sys

import numpy as np
import pandas as pd

MAX_LEVELS = 1000


def main(output: str, rows: int, features: int, seed: int, shifted: int = 0, categorical: int = 0) -> None:
    rng = np.random.default_rng(seed)
    values = rng.standard_normal((rows, features), dtype=np.float64)
    values[:, :shifted] += 1.0
    frame = pd.DataFrame(values, columns=[f"f{i:02d}" for i in range(features)])
    signal = values[:, :5] @ np.array([1.0, -0.8, 0.6, 0.4, -0.2]) + rng.standard_normal(rows)
    levels = np.geomspace(5, MAX_LEVELS, categorical).round().astype(int) if categorical else []
    for index, count in enumerate(levels):
        codes = rng.integers(0, count, rows)
        effect = rng.normal(size=count)
        if index < 2:
            signal += effect[codes]
        name = f"c{index:02d}"
        frame[name] = (
            codes + 1
            if index % 2 == 0
            else pd.Categorical.from_codes(codes, [f"level {i}" for i in range(count)])
        )
    frame["target"] = (signal > 0).astype("int64")
    frame.to_parquet(output, index=False)


if __name__ == "__main__":
    main(sys.argv[1], *(int(argument) for argument in sys.argv[2:]))
