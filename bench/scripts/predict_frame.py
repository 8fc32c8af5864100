"""The baseline of batch scoring: the pipeline's own `predict` on one Parquet file's rows, read whole, in one
process. Prints the peak resident memory in MiB.

Usage: python predict_frame.py INPUT
"""

import resource
import sys

import pandas as pd
from churn_model.pipeline.train import MODEL_TYPES
from ml_gitops.core import files, paths


def main() -> None:
    model = files.load_model(paths.MODEL, MODEL_TYPES)
    frame = pd.read_parquet(sys.argv[1])
    model.predict(frame)
    print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


if __name__ == "__main__":
    main()
