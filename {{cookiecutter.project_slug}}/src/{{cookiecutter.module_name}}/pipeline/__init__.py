"""Your model: the data and its checks, prepare, train, evaluate, metrics, plots. Yours to change."""
