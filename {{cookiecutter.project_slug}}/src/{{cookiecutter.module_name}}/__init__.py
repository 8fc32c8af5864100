"""The model pipeline: data checks, training, evaluation. Run it with `python -m {{ cookiecutter.module_name }}`."""


class UserError(Exception):
    """A problem the user can fix; the command line prints it as one line and exits with status 1."""
