"""ml-gitops: the machinery of an ML project whose models live in Git.

Review (champion, comparison, gate, report, comment), release (register, publish, production, serving, batch
scoring, prediction log), monitoring (drift, performance, retraining), the GitHub client and settings, and the
shared core. A project names its own model code with an entry point (see `ml_gitops.project`) and runs everything
through one command line, `python -m ml_gitops` (or `python -m <its module>`).
"""

__version__ = "0.1.0"
__all__ = ["UserError", "__version__"]


class UserError(Exception):
    """A problem the user can fix; the command line prints it as one line and exits with status 1."""
