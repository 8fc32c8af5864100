"""What keeps a bake fast (issue 29) without changing a byte of what it bakes.

- `_copy_without_render` in cookiecutter.json names the template's files (and whole folders) that hold no Jinja:
  cookiecutter copies those instead of compiling each one as a template. A file named there must hold no Jinja of
  cookiecutter's (it would ship unrendered), must read the same copied as rendered, and every file without Jinja is
  named there (otherwise it costs every bake a compile).
- The post-generation hook starts as few processes as it can: one git process for both commits it needs, and no
  import of cookiecutter's modules (requests, yaml...) to expand a `gh:` address.
"""

import json
import os
import re
import shutil
import stat
import subprocess
import sys
from fnmatch import fnmatch
from pathlib import Path

import pytest
from cookiecutter.config import BUILTIN_ABBREVIATIONS
from cookiecutter.generate import generate_file, is_copy_only_path
from cookiecutter.repository import expand_abbreviations
from cookiecutter.utils import create_env_with_context, work_in
from jinja2 import FileSystemLoader

from .conftest import DEFAULTS, TEMPLATE

PROJECT = TEMPLATE / "{{cookiecutter.project_slug}}"
COPIED = DEFAULTS["_copy_without_render"]
JINJA = re.compile(r"\{\{|\{%|\{#")
# A workflow's ${{ ... }} is GitHub's expression, not Jinja: the reason workflows are copied without rendering.
GITHUB_EXPRESSION = re.compile(r"\$\{\{.*?\}\}", re.DOTALL)
# The answers every copied file is rendered with: a file without Jinja renders the same under any answers.
CONTEXT = {
    "cookiecutter": {
        **{
            key: value[0] if isinstance(value, list) and not key.startswith("_") else value
            for key, value in DEFAULTS.items()
        },
        "project_slug": "churn-model",
        "module_name": "churn_model",
    }
}


def template_files() -> dict[str, bool]:
    """Every file of the project template, as cookiecutter names it (relative to the project folder), and whether
    cookiecutter copies it without rendering: the file matches a pattern, or a folder above it does (cookiecutter
    then copies that folder whole and never looks at its files)."""
    files = {}
    for root, dirs, names in os.walk(PROJECT):
        parts = Path(root).relative_to(PROJECT).parts
        folder_copied = any(
            is_copy_only_path(os.path.join(*parts[:end]), CONTEXT) for end in range(1, len(parts) + 1)
        )
        dirs[:] = [d for d in dirs if d != "__pycache__"]
        for name in names:
            path = os.path.join(*parts, name)
            files[path] = folder_copied or is_copy_only_path(path, CONTEXT)
    return files


def text(path: str) -> str:
    return (PROJECT / path).read_bytes().decode("utf-8", errors="surrogateescape")


def cookiecutter_jinja(path: str) -> list[str]:
    """The Jinja markers in a file, GitHub's expressions set aside in workflows."""
    content = text(path)
    if path.startswith(".github/workflows"):
        content = GITHUB_EXPRESSION.sub("", content)
    return JINJA.findall(content)


FILES = template_files()


def test_the_walk_sees_the_template():
    """The walk above is the one cookiecutter makes: the lockfiles and workflows are copied, the README rendered."""
    assert len(FILES) >= 40
    assert FILES[".locks/none.lock"]
    assert FILES[".github/workflows/ci.yml"]
    assert not FILES["README.md"]
    assert not FILES["src/{{cookiecutter.module_name}}/pipeline/data.py"]


def test_copied_files_hold_no_jinja():
    """A file with Jinja named in _copy_without_render would reach the project with its Jinja unrendered."""
    with_jinja = {path: len(cookiecutter_jinja(path)) for path, copied in FILES.items() if copied}
    assert {path: count for path, count in with_jinja.items() if count} == {}, (
        "these files hold Jinja: take them (or their folder) out of _copy_without_render in cookiecutter.json"
    )


def test_every_file_without_jinja_is_copied():
    """Rendering a file that holds no Jinja costs a bake a template compile and changes nothing."""
    rendered_plain = sorted(
        path for path, copied in FILES.items() if not copied and not JINJA.search(text(path))
    )
    assert rendered_plain == [], (
        "these files hold no Jinja: add them to _copy_without_render in cookiecutter.json (the copy is checked "
        "against the rendering here)"
    )


def test_every_pattern_names_a_template_file_or_folder():
    folders = {
        os.path.normpath(parent) for path in FILES for parent in Path(path).parents if parent != Path(".")
    }
    stale = [pattern for pattern in COPIED if not any(fnmatch(path, pattern) for path in [*FILES, *folders])]
    assert stale == [], "_copy_without_render names files that are gone: remove them"


@pytest.mark.parametrize(
    "path", sorted(path for path, copied in FILES.items() if copied and not JINJA.search(text(path)))
)
def test_copied_file_reads_the_same_as_rendered(tmp_path, path):
    """Copying instead of rendering changes no byte and no permission: rendered by cookiecutter's own
    generate_file (newlines, trailing newline, encoding), the file is the template's file."""
    env = create_env_with_context(CONTEXT)
    rendered_name = env.from_string(path).render(**CONTEXT)
    (tmp_path / rendered_name).parent.mkdir(parents=True, exist_ok=True)
    with work_in(PROJECT):
        env.loader = FileSystemLoader(["."])
        generate_file(str(tmp_path), path, CONTEXT, env)
    rendered = tmp_path / rendered_name
    assert rendered.read_bytes() == (PROJECT / path).read_bytes()
    assert stat.S_IMODE(rendered.stat().st_mode) == stat.S_IMODE((PROJECT / path).stat().st_mode)


def test_a_bake_starts_three_git_processes(tmp_path):
    """The post-generation hook asks git for the commits of the version's tag and of HEAD in one process
    (`cat-file --batch-check`), then for the template's origin, then runs `git init`: three processes, where it
    took five."""
    shim, log = tmp_path / "bin", tmp_path / "git.log"
    shim.mkdir()
    real_git = shutil.which("git")
    (shim / "git").write_text(f'#!/bin/sh\necho "$*" >> "{log}"\nexec "{real_git}" "$@"\n')
    (shim / "git").chmod(0o755)
    env = {**os.environ, "PATH": f"{shim}{os.pathsep}{os.environ['PATH']}"}
    command = [sys.executable, "-m", "cookiecutter", "--no-input", "--output-dir", str(tmp_path / "out")]
    heads = {template_head()}  # the template's HEAD before and after the bake (someone may commit meanwhile)
    result = subprocess.run([*command, str(TEMPLATE)], capture_output=True, text=True, env=env, timeout=120)
    heads.add(template_head())
    assert result.returncode == 0, result.stdout + result.stderr
    calls = log.read_text().splitlines()
    assert [call.split()[2] if call.startswith("-C") else call.split()[0] for call in calls] == [
        "cat-file",
        "remote",
        "init",
    ], calls
    project = tmp_path / "out" / "churn-model"
    assert (project / ".git").is_dir()
    assert json.loads((project / ".cruft.json").read_text())["commit"] in heads
    # The callers are pinned to the commit of the version's tag when the template has one, else to its HEAD.
    pinned, version = re.search(
        r"@([0-9a-f]{40}) # v(\S+)", (project / ".github/workflows/ci.yml").read_text()
    ).groups()
    assert pinned in heads | {template_head(f"v{version}^{{commit}}")}


def template_head(revision: str = "HEAD") -> str:
    """The commit a revision names in the template's checkout ("" when it names none)."""
    return subprocess.run(
        ["git", "-C", str(TEMPLATE), "rev-parse", "--verify", "--quiet", revision],
        capture_output=True,
        text=True,
    ).stdout.strip()


def rendered_post_hook(template: str, repo_dir: Path) -> str:
    context = {"cookiecutter": {**CONTEXT["cookiecutter"], "_template": template, "_repo_dir": str(repo_dir)}}
    source = (TEMPLATE / "hooks" / "post_gen_project.py").read_text(encoding="utf-8")
    return create_env_with_context(context).from_string(source).render(**context)


ADDRESSES = [
    "gh:ada/churn-template",
    "gl:team/template",
    "bb:team/template",
    "gh",
    "https://github.com/ada/churn-template.git",
    "git+file:///srv/git/template",
    "git@github.com:ada/churn-template.git",
]


def test_template_address_expands_as_cookiecutter_does_without_importing_it(tmp_path):
    """A bake from gh:owner/name names its template by the URL cookiecutter cloned, as cookiecutter's own
    expand_abbreviations does, without importing cookiecutter (its repository module pulls in requests and yaml,
    ~0.1 s of every such bake)."""
    hook = tmp_path / "hook.py"
    hook.write_text(rendered_post_hook("gh:ada/churn-template", tmp_path))
    probe = (
        "import json, sys\n"
        f"namespace = {{'__name__': 'post_gen_project'}}\n"
        f"exec(compile(open({str(hook)!r}).read(), 'hook.py', 'exec'), namespace)\n"
        f"addresses = [namespace['template_address'](address) for address in {ADDRESSES!r}]\n"
        "print(json.dumps([addresses, sorted(name for name in sys.modules if name.startswith('cookiecutter'))]))\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    addresses, imported = json.loads(result.stdout)
    assert addresses == [expand_abbreviations(address, BUILTIN_ABBREVIATIONS) for address in ADDRESSES]
    assert imported == []
