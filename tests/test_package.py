"""The package and the template are one product with one version: the ml-gitops version a project pins is the
package's own, and the changelog's newest entry names it."""

import re
import tomllib

from .conftest import TEMPLATE

PACKAGE = TEMPLATE / "package"


def package_version() -> str:
    return tomllib.loads((PACKAGE / "pyproject.toml").read_text())["project"]["version"]


def test_the_generated_project_pins_the_package_s_own_version():
    pyproject = (TEMPLATE / "{{cookiecutter.project_slug}}" / "pyproject.toml").read_text()
    assert re.findall(r'"ml-gitops==([^"]+)"', pyproject) == [package_version()]


def test_the_package_says_its_version_where_python_reads_it():
    init = (PACKAGE / "src" / "ml_gitops" / "__init__.py").read_text()
    assert re.search(r'^__version__ = "([^"]+)"$', init, re.MULTILINE).group(1) == package_version()


def test_the_changelog_s_newest_entry_is_this_version():
    changelog = (TEMPLATE / "CHANGELOG.md").read_text()
    assert re.search(r"^## (\S+)", changelog, re.MULTILINE).group(1) == package_version()
