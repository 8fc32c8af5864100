"""Your model: the data and its checks, prepare, train, evaluate, plots. Yours to change.

ml-gitops finds this package through the entry point in pyproject.toml ([project.entry-points.ml_gitops]) and
calls the modules its docs name (data, columns, features, train, evaluate, commands); TASK tells it the task.
"""

TASK = "{{ cookiecutter.task }}"
