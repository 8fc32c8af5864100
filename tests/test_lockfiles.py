"""The lockfiles shipped with the template match the pyproject.toml each DVC remote variant generates."""

import pytest

from .conftest import tool_env
from .lockfiles import VARIANTS, lock


@pytest.mark.parametrize("variant", VARIANTS)
def test_lockfile_is_current(variant, monkeypatch):
    for key, value in tool_env().items():
        monkeypatch.setenv(key, value)
    result = lock(variant, check=True)
    assert result.returncode == 0, f"{variant}.lock is stale: run `make lock`\n{result.stderr}"
