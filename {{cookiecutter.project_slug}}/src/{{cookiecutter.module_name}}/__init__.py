"""{{ cookiecutter.project_name }}: your model code is in `pipeline/`; ml-gitops runs the rest (review, release,
serving, monitoring). `python -m {{ cookiecutter.module_name }} --help` lists the commands."""
