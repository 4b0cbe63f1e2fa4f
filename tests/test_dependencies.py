"""No installed dependency is older than the fix of a known advisory (.ci/advisories.json).

pip-audit needs a vulnerability database these machines cannot reach, so the advisories that
matter here (pypdf above all: it parses untrusted papers) are kept in the repository and
checked against what is installed and against pyproject's floors."""

from __future__ import annotations

import json
import re
import tomllib
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pytest
from packaging.version import Version

REPO = Path(__file__).resolve().parent.parent
ADVISORIES = json.loads((REPO / ".ci" / "advisories.json").read_text())["advisories"]


def installed(package: str) -> Version | None:
    try:
        return Version(version(package))
    except PackageNotFoundError:
        return None


@pytest.mark.parametrize("advisory", ADVISORIES, ids=lambda a: f"{a['package']}-{a['id']}")
def test_installed_version_has_the_fix(advisory: dict) -> None:
    found = installed(advisory["package"])
    if found is None:
        pytest.skip(f"{advisory['package']} is not installed")
    assert found >= Version(advisory["fixed"]), (
        f"{advisory['package']} {found} is affected by {advisory['id']} ({advisory['what']}); "
        f"upgrade to {advisory['fixed']} or later"
    )


def test_pyproject_floors_exclude_vulnerable_pypdf_and_streamlit() -> None:
    """A fresh install must not be able to pick a vulnerable version of the direct
    dependencies that face untrusted input: the PDF parser and the web server."""
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    floors = {}
    for dep in deps:
        m = re.match(r"([A-Za-z0-9_.-]+)(?:\[[^\]]*\])?\s*(?:>=|==)\s*([\w.]+)", dep)
        if m:
            floors[m.group(1).lower()] = Version(m.group(2))
    for package in ("pypdf", "streamlit", "cryptography"):
        newest_fix = max(Version(a["fixed"]) for a in ADVISORIES if a["package"] == package)
        assert floors[package] >= newest_fix, f"pyproject allows {package} {floors[package]} < {newest_fix}"
