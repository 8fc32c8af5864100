"""The template's own GitHub files meet the bar it sets for the projects it generates."""

from .conftest import TEMPLATE, check_github_files


def test_template_github_files_pass_zizmor_at_both_personas_and_actionlint(actionlint):
    check_github_files(TEMPLATE, actionlint)
