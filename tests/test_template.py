"""The template's own workflows meet the bar it sets for the projects it generates."""

from .conftest import TEMPLATE, run


def test_template_workflows_pass_zizmor_and_actionlint(actionlint):
    workflows = sorted(str(p) for p in (TEMPLATE / ".github" / "workflows").glob("*.yml"))
    assert workflows
    zizmor = run(["zizmor", "--offline", "--no-progress", *workflows], cwd=TEMPLATE, check=False)
    assert zizmor.returncode == 0, zizmor.stdout + zizmor.stderr
    run([*actionlint, *workflows], cwd=TEMPLATE)
