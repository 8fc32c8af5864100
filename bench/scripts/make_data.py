"""Write synthetic tabular data: N rows x F numeric features and a binary target (run in a project's venv).

usage: make_data.py OUTPUT ROWS FEATURES SEED [SHIFTED]
The first SHIFTED features of the output are shifted by one standard deviation (a drifted batch).
"""

import sys

import numpy as np
import pandas as pd


def main(output: str, rows: int, features: int, seed: int, shifted: int = 0) -> None:
    rng = np.random.default_rng(seed)
    values = rng.standard_normal((rows, features), dtype=np.float64)
    values[:, :shifted] += 1.0
    frame = pd.DataFrame(values, columns=[f"f{i:02d}" for i in range(features)])
    signal = values[:, :5] @ np.array([1.0, -0.8, 0.6, 0.4, -0.2]) + rng.standard_normal(rows)
    frame["target"] = (signal > 0).astype("int64")
    frame.to_parquet(output, index=False)


if __name__ == "__main__":
    main(sys.argv[1], *(int(argument) for argument in sys.argv[2:]))
