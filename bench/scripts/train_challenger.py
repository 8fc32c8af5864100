"""A challenger for the shadow benchmark: the project's own pipeline trained on the same rows with other parameters
(more, shallower trees, a higher learning rate), saved as models/challenger.skops next to the production model
(run in the project's venv, in the project's directory). Prints the file's path.
"""

from dataclasses import replace

import pandas as pd
from churn_model.pipeline import train
from ml_gitops.core import config, files, paths

CHALLENGER = paths.MODEL.with_name("challenger.skops")
PARAMS = {"learning_rate": 0.1, "max_iter": 300, "max_leaf_nodes": 7}


def main() -> None:
    settings = config.load()
    settings = replace(settings, model=replace(settings.model, params={**settings.model.params, **PARAMS}))
    rows = pd.read_parquet(paths.TRAIN)
    features, target = rows.drop(columns=[settings.data.target]), rows[settings.data.target]
    model = train.build(settings, features).fit(features, target)
    files.save_model(model, CHALLENGER)
    print(CHALLENGER)


if __name__ == "__main__":
    main()
