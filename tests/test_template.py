"""The template's own files meet the bar it sets for the projects it generates."""

import json
import re

from .conftest import TEMPLATE, check_github_files

PROJECT = TEMPLATE / "{{cookiecutter.project_slug}}"
JINJA = re.compile(r"\{%|\{\{\s*cookiecutter|\{#")


def test_template_github_files_pass_zizmor_at_both_personas_and_actionlint(actionlint):
    check_github_files(TEMPLATE, actionlint)


def test_workflows_hold_no_jinja_and_are_copied_without_rendering():
    """Every workflow reads the same in the template as in a project: variants are whole files."""
    workflows = sorted(PROJECT.glob(".github/workflows*/*.yml"))
    assert len(workflows) >= 9
    with_jinja = {
        path.relative_to(PROJECT).as_posix(): len(JINJA.findall(path.read_text())) for path in workflows
    }
    assert {name: count for name, count in with_jinja.items() if count} == {}
    copied = json.loads((TEMPLATE / "cookiecutter.json").read_text())["_copy_without_render"]
    assert {".github/workflows/*", ".github/workflows-container/*"} <= set(copied)


def test_every_uv_is_the_one_pinned_by_hash():
    """Issue 28: uv was installed by version alone (the Dockerfile, the template's Makefile) or, by setup-uv without
    a version, as whatever is newest. One file pins it with every wheel's hash; setup-uv reads its version there."""
    requirement = (PROJECT / ".github" / "uv-requirements.txt").read_text()
    (version,) = re.findall(r"^uv==(\S+) \\$", requirement, re.MULTILINE)
    setups = [
        (path.name, block)
        for path in sorted(
            [*TEMPLATE.glob(".github/workflows/*.yml"), *PROJECT.glob(".github/workflows*/*.yml")]
        )
        for block in re.findall(r"uses: astral-sh/setup-uv@.*\n((?:\s{8,}.*\n)*)", path.read_text())
    ]
    assert len(setups) >= 20
    assert [name for name, block in setups if "version-file:" not in block] == []
    assert version.count(".") == 2
    assert "--require-hashes --requirement /tmp/uv-requirements.txt" in (PROJECT / "Dockerfile").read_text()
    assert "uv==" not in (TEMPLATE / "Makefile").read_text() + (PROJECT / "Dockerfile").read_text()
