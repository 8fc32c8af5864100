"""The report comment is made harmless before it is posted: it was written by pull-request code."""

import pytest

from ml_gitops.review import comment, inputs

ALLOWED = ("https://github.com/acme/churn/", comment.ASSET_HOST, "plots/")


@pytest.mark.parametrize(
    ("written", "posted"),
    [
        ("<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)>"),
        ('<a href="https://evil.example">click</a>', '&lt;a href="`https://evil.example`">click&lt;/a>'),
        ("<picture><source srcset=x></picture>", "&lt;picture>&lt;source srcset=x>&lt;/picture>"),
        ("cc @acme/maintainers and @octocat", "cc @&#8203;acme/maintainers and @&#8203;octocat"),
        ("[docs](https://evil.example/phish)", "docs (link removed: it pointed outside this repository)"),
        ("![t](https://tracker.example/p.png)", "t (link removed: it pointed outside this repository)"),
        ("see https://evil.example/x now", "see `https://evil.example/x` now"),
        ("![ROC](plots/roc.png)", "![ROC](plots/roc.png)"),
        (
            "[run](https://github.com/acme/churn/actions/runs/1)",
            "[run](https://github.com/acme/churn/actions/runs/1)",
        ),
        ("<details><summary>Reproduce</summary>", "<details><summary>Reproduce</summary>"),
        ("> [!WARNING]\n> careful", "> [!WARNING]\n> careful"),
        ("mail ada@example.com", "mail ada@example.com"),
    ],
)
def test_report_is_sanitised(written, posted):
    assert comment.sanitise(written, ALLOWED) == posted + "\n"


@pytest.mark.parametrize(
    "written",
    [
        '```mermaid\nxychart-beta\n    title "<ROC>"\n```',
        "<details><summary>Reproduce</summary>\n\n```bash\ngit checkout <commit>\n```\n</details>",
    ],
)
def test_the_report_s_own_code_blocks_are_left_as_written(written):
    assert comment.sanitise(written, ALLOWED) == written + "\n"


@pytest.mark.parametrize(
    ("written", "posted"),
    [  # each a way to make the sanitiser think a line is code while GitHub renders it
        ("  ```\n<img src=x>\n```", "  \\```\n&lt;img src=x>\n\\```"),
        ("<details>\n```bash\n<img src=x>\n```", "<details>\n\\```bash\n&lt;img src=x>\n\\```"),
        ("~~~\n\n```mermaid\n~~~\n<img src=x>", "\\~~~\n\n\\```mermaid\n\\~~~\n&lt;img src=x>"),
        ("```python\n<img src=x>\n```", "\\```python\n&lt;img src=x>\n\\```"),
        ("```bash\nok\n````\n<img src=x>", "```bash\nok\n\\````\n<img src=x>\n```"),
    ],
)
def test_lines_github_could_read_as_fences_open_or_close_nothing(written, posted):
    assert comment.sanitise(written, ALLOWED) == posted + "\n"


def test_the_trusted_headline_replaces_the_report_s_own():
    posted = comment.with_headline(
        "## Model report: ✅ gate passed\n\n**fine.**\n", "## Model report: ❌ gate failed"
    )
    assert posted == "## Model report: ❌ gate failed\n\n**fine.**\n"


@pytest.mark.parametrize(
    ("path", "is_input"),
    [
        ("params.yaml", True),
        ("dvc.lock", True),
        ("data/raw/batch.csv.dvc", True),
        ("src/churn_model/pipeline/train.py", True),
        ("uv.lock", True),
        ("README.md", False),
        ("docs/params.yaml", False),
        (".github/workflows/ci.yml", False),
        ("tests/pipeline/test_data.py", False),
        ("Makefile", False),
    ],
)
def test_which_files_are_model_inputs(path, is_input):
    assert inputs.model_inputs([path]) == ([path] if is_input else [])
