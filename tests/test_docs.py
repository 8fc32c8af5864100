"""The documentation site: it builds strictly, its generated pages are in step with their sources, and the pull
request comment it shows is the one the default project renders."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from . import docs_pages
from .conftest import DEFAULTS, HOST_PYTHON, TEMPLATE, bake, run

SNIPPET = TEMPLATE / "docs" / "snippets" / "pr-comment.md"
COMMIT = re.compile(r"`[0-9a-f]{7}`")


def test_generated_pages_are_in_step_with_their_sources():
    for path, text in docs_pages.pages().items():
        assert path.read_text(encoding="utf-8") == text, (
            f"run `python -m tests.docs_pages`: {path.name} is behind"
        )


def test_every_option_has_a_question_and_every_question_an_option():
    options = {name for name in DEFAULTS if not name.startswith("_")}
    assert set(DEFAULTS["__prompts__"]) == options


def test_site_builds_strictly(tmp_path):
    mkdocs = Path(sys.executable).parent / "mkdocs"
    result = subprocess.run(
        [str(mkdocs), "build", "--strict", "--site-dir", str(tmp_path / "site")],
        cwd=TEMPLATE,
        env={**os.environ, "NO_MKDOCS_2_WARNING": "1"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    for page in (
        "getting-started",
        "lifecycle",
        "options",
        "security",
        "scaling",
        "troubleshooting",
        "updates",
    ):
        assert (tmp_path / "site" / page / "index.html").is_file()
    getting_started = (tmp_path / "site" / "getting-started" / "index.html").read_text(encoding="utf-8")
    assert "Model report" in getting_started, "the rendered pull-request comment is on the page"


@pytest.mark.slow
def test_pull_request_comment_on_the_page_is_what_the_project_renders(cookies_session):
    """The change the getting-started page walks through, made in the default project: its report, commit ids
    aside, is the snippet on the page. UPDATE_DOCS=1 rewrites the snippet instead."""
    project = bake(cookies_session, python_version=HOST_PYTHON)
    run(["make", "install"], cwd=project)
    run(["uv", "run", "--locked", "dvc", "repro", "--quiet"], cwd=project)
    run(["git", "add", "-A"], cwd=project)
    run(["git", "commit", "--quiet", "--no-verify", "-m", "Train the first model"], cwd=project)
    run(["git", "switch", "--quiet", "-c", "more-rounds"], cwd=project)
    params = yaml.safe_load((project / "params.yaml").read_text())
    params["model"]["params"]["max_iter"] = 300
    (project / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(["uv", "run", "--locked", "dvc", "repro", "--quiet"], cwd=project)
    run(["git", "commit", "--quiet", "--no-verify", "-am", "More boosting rounds"], cwd=project)
    run(["make", "report", "REPORT_IMAGES=mermaid"], cwd=project)
    rendered = (project / "reports" / "report.md").read_text(encoding="utf-8")
    assert json.loads((project / "reports" / "report.json").read_text())["gate"] == "pass"
    if os.environ.get("UPDATE_DOCS"):
        SNIPPET.write_text(rendered, encoding="utf-8")
    assert COMMIT.sub("`<commit>`", SNIPPET.read_text(encoding="utf-8")) == COMMIT.sub(
        "`<commit>`", rendered
    ), "the report changed: rerun with UPDATE_DOCS=1 and commit docs/snippets/pr-comment.md"


@pytest.mark.parametrize(
    "template", ["gh:acme/cookiecutter-ml-gitops", "https://github.com/acme/cookiecutter-ml-gitops.git"]
)
def test_generated_readme_links_the_template_docs(template):
    from cookiecutter.environment import StrictEnvironment
    from cookiecutter.generate import generate_context
    from cookiecutter.prompt import prompt_for_config

    context = generate_context(str(TEMPLATE / "cookiecutter.json"))
    answers = {**prompt_for_config(context, no_input=True), "_template": template}
    environment = StrictEnvironment(context={"cookiecutter": answers}, keep_trailing_newline=True)
    readme = (TEMPLATE / "{{cookiecutter.project_slug}}" / "README.md").read_text(encoding="utf-8")
    rendered = environment.from_string(readme).render(cookiecutter=answers)
    assert "(https://github.com/acme/cookiecutter-ml-gitops/blob/main/docs/index.md)" in rendered
