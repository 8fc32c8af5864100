"""Validate the answers before anything is written.

A bad value stops the bake with one line naming the field and what to type instead; cookiecutter then
removes the project directory, so nothing half-made is left behind.
"""

import json
import keyword
import re
import sys

CONTEXT = json.loads({{cookiecutter | jsonify | tojson}})

CHOICES = {
    "python_version": ("3.11", "3.12", "3.13"),
    "task": ("classification", "regression"),
    "license": ("MIT", "Apache-2.0", "BSD-3-Clause", "proprietary"),
    "dvc_remote": ("none", "local", "s3", "gcs", "azure", "ssh"),
    "deploy_target": ("release", "container"),
}

# Import names the generated package must not shadow, and distribution names the project must not take.
DEPENDENCY_MODULES = {
    "dvc",
    "fastapi",
    "gto",
    "joblib",
    "matplotlib",
    "numpy",
    "pandas",
    "pyarrow",
    "pydantic",
    "pytest",
    "scipy",
    "skops",
    "sklearn",
    "uvicorn",
    "yaml",
}
DEPENDENCY_DISTRIBUTIONS = DEPENDENCY_MODULES | {"scikit-learn", "pyyaml", "pre-commit", "ruff"}

SLUG = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
MODULE = re.compile(r"^[a-z_][a-z0-9_]*$")
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
GITHUB_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")
REMOTE_URLS = {
    "s3": (re.compile(r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/\S*)?$"), "s3://my-bucket/dvc-store"),
    "gcs": (re.compile(r"^gs://[a-z0-9][a-z0-9._-]{1,61}[a-z0-9](/\S*)?$"), "gs://my-bucket/dvc-store"),
    "azure": (
        re.compile(r"^azure://[a-z0-9][a-z0-9-]{1,61}[a-z0-9](/\S*)?$"),
        "azure://my-container/dvc-store",
    ),
    "ssh": (
        re.compile(r"^ssh://([^@/\s]+@)?[A-Za-z0-9.-]+(:\d+)?/\S+$"),
        "ssh://user@host.example.com/srv/dvc",
    ),
}


def check_text(field: str) -> str | None:
    value = CONTEXT[field]
    if not value.strip():
        return f"{field} is empty: type some text"
    if "\n" in value or "\r" in value:
        return f"{field} spans several lines: type it on one line"
    return None


def check_choice(field: str) -> str | None:
    if CONTEXT[field] not in CHOICES[field]:
        return f"{field} '{CONTEXT[field]}' is not one of {', '.join(CHOICES[field])}: type one of those"
    return None


def check_slug() -> str | None:
    slug = CONTEXT["project_slug"]
    if not SLUG.match(slug):
        return (
            f"project_slug '{slug}' is not a valid slug: use lowercase ASCII letters, digits and single hyphens, "
            "e.g. churn-model"
        )
    if slug in DEPENDENCY_DISTRIBUTIONS:
        return f"project_slug '{slug}' is the name of a dependency: choose another, e.g. {slug}-model"
    return None


def check_module() -> str | None:
    module = CONTEXT["module_name"]
    if not MODULE.match(module) or not module.isidentifier():
        return (
            f"module_name '{module}' is not a valid Python package name: use lowercase ASCII letters, digits "
            "and underscores, starting with a letter, e.g. churn_model"
        )
    if keyword.iskeyword(module) or keyword.issoftkeyword(module):
        return f"module_name '{module}' is a Python keyword: choose another, e.g. {module}_model"
    if module in sys.stdlib_module_names:
        return f"module_name '{module}' shadows the standard library module '{module}': choose another, e.g. {module}_model"
    if module in DEPENDENCY_MODULES:
        return (
            f"module_name '{module}' shadows the dependency '{module}': choose another, e.g. {module}_model"
        )
    return None


def check_email() -> str | None:
    if not EMAIL.match(CONTEXT["author_email"]):
        return (
            f"author_email '{CONTEXT['author_email']}' is not an email address: type one like ada@example.com"
        )
    return None


def check_github_owner() -> str | None:
    if not GITHUB_OWNER.match(CONTEXT["github_owner"]):
        return (
            f"github_owner '{CONTEXT['github_owner']}' is not a GitHub user or organisation name: use letters, "
            "digits and single hyphens (at most 39), e.g. my-org"
        )
    return None


def check_remote_url() -> str | None:
    remote, url = CONTEXT["dvc_remote"], CONTEXT["dvc_remote_url"].strip()
    if remote == "none":
        if url:
            return f"dvc_remote_url '{url}' is set but dvc_remote is none: leave the URL empty or choose a remote"
        return None
    if not url:
        return f"dvc_remote_url is empty for the {remote} remote: type the remote's URL"
    if remote == "local":
        if "://" in url or url.startswith("~") or any(c.isspace() for c in url):
            return (
                f"dvc_remote_url '{url}' is not a local directory: type an absolute path or one relative to the "
                "project without spaces, e.g. ../dvc-storage"
            )
        return None
    pattern, example = REMOTE_URLS[remote]
    if not pattern.match(url):
        return f"dvc_remote_url '{url}' is not a valid {remote} URL: type one like {example}"
    return None


CRON_FIELDS = (  # name, lowest, highest, names allowed in place of numbers
    ("minute", 0, 59, ()),
    ("hour", 0, 23, ()),
    ("day of month", 1, 31, ()),
    ("month", 1, 12, ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")),
    ("day of week", 0, 6, ("sun", "mon", "tue", "wed", "thu", "fri", "sat")),
)
CRON_ITEM = re.compile(r"^(\*|\w+(?:-\w+)?)(?:/(\d+))?$")


def cron_value(text: str, low: int, high: int, names: tuple[str, ...]) -> int | None:
    if text.isdigit():
        return int(text) if low <= int(text) <= high else None
    return names.index(text.lower()) + low if text.lower() in names else None


def check_cron_field(text: str, name: str, low: int, high: int, names: tuple[str, ...]) -> str | None:
    for item in text.split(","):
        match = CRON_ITEM.match(item)
        if not match:
            return f"its {name} field '{text}' is not a number, range, list or step"
        span, step = match.groups()
        if step is not None and int(step) == 0:
            return f"its {name} field '{text}' has a step of 0"
        if span != "*" and any(cron_value(v, low, high, names) is None for v in span.split("-")):
            return f"its {name} field '{text}' is outside {low}-{high}"
    return None


def check_retrain_cron() -> str | None:
    cron = CONTEXT["retrain_cron"]
    fields = cron.split()
    if len(fields) != 5:
        return (
            f"retrain_cron '{cron}' has {len(fields)} fields, not 5: type minute hour day-of-month month "
            "day-of-week, e.g. 17 5 * * 1"
        )
    for text, (name, low, high, names) in zip(fields, CRON_FIELDS, strict=True):
        problem = check_cron_field(text, name, low, high, names)
        if problem:
            return f"retrain_cron '{cron}': {problem}: fix it, e.g. 17 5 * * 1 (Mondays 05:17 UTC)"
    minute = CRON_ITEM.match(fields[0].split(",")[0]).groups()
    if minute[0] == "*" and int(minute[1] or 1) < 5:
        return f"retrain_cron '{cron}' runs more often than GitHub allows (every 5 minutes at most): use e.g. 17 5 * * 1"
    return None


CHECKS = (
    lambda: check_text("project_name"),
    lambda: check_text("description"),
    lambda: check_text("author_name"),
    check_slug,
    check_module,
    check_email,
    check_github_owner,
    *(lambda field=field: check_choice(field) for field in CHOICES),
    check_remote_url,
    check_retrain_cron,
)


def main() -> int:
    for check in CHECKS:
        problem = check()
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
