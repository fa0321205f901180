"""The layer rules in ``.importlinter`` fail when code breaks them (``make lint`` runs them).

Each test copies the core and the first-party plugins to a temporary folder, plants one
forbidden import there and runs ``lint-imports`` on the copy with the project's contracts.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
SKIPPED = shutil.ignore_patterns("__pycache__", "translations", "data", "static", "templates")


def lint_copy(tmp_path: Path, planted: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` on a copy of ``kb`` and ``plugins`` with the ``planted`` modules added."""
    for package in ("kb", "plugins"):
        shutil.copytree(ROOT / package, tmp_path / package, ignore=SKIPPED)
    for module, source in planted.items():
        path = tmp_path / module
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source, encoding="utf-8")
    shutil.copyfile(ROOT / ".importlinter", tmp_path / ".importlinter")
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", ".importlinter"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def test_the_code_as_it_is_keeps_every_contract(tmp_path: Path) -> None:
    result = lint_copy(tmp_path, {})

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


def test_a_plugins_own_tests_may_set_up_data_with_the_core(tmp_path: Path) -> None:
    """``plugins/<name>/tests/`` is exempt from the toolkit-only rule; the plugin is not."""
    planted = {
        "plugins/planted/__init__.py": "from kb.toolkit import hookimpl\n",
        "plugins/planted/tests/__init__.py": "",
        "plugins/planted/tests/test_planted.py": "from kb.models import Case\n",
    }
    result = lint_copy(tmp_path, planted)

    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("module", "source", "contract", "offence"),
    [
        (
            "kb/search/planted.py",
            "from kb import plugins\n",
            "kb.search imports neither the plugin manager nor the web layer",
            "kb.search.planted -> kb.plugins",
        ),
        (
            "kb/search/planted.py",
            "from kb.web import public\n",
            "kb.search imports neither the plugin manager nor the web layer",
            "kb.search.planted -> kb.web.public",
        ),
        (
            "kb/search/planted.py",
            "from kb.models import Case\n",
            "kb.search reads neither the models nor the services",
            "kb.search.planted -> kb.models",
        ),
        (
            "kb/search/planted.py",
            "from kb.services.indexing import documents\n",
            "kb.search reads neither the models nor the services",
            "kb.search.planted -> kb.services.indexing.documents",
        ),
        (
            "plugins/planted/__init__.py",
            "from kb.search import get_backend\n",
            "plugins import only kb.toolkit from the core",
            "plugins.planted -> kb.search",
        ),
        (
            "plugins/planted/__init__.py",
            "import kb.models\n",
            "plugins import only kb.toolkit from the core",
            "plugins.planted -> kb.models",
        ),
        (
            "plugins/exports/testing.py",
            "from kb.models import Case\n",
            "plugins import only kb.toolkit from the core",
            "plugins.exports.testing -> kb.models",
        ),
        (
            "kb/models/planted.py",
            "from kb.services import catalogue\n",
            "kb.web -> kb.services -> kb.search -> kb.models",
            "kb.models.planted -> kb.services.catalogue",
        ),
        (
            "kb/services/planted.py",
            "from kb.web import public\n",
            "kb.web -> kb.services -> kb.search -> kb.models",
            "kb.services.planted -> kb.web.public",
        ),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    tmp_path: Path, module: str, source: str, contract: str, offence: str
) -> None:
    result = lint_copy(tmp_path, {module: source})

    assert result.returncode != 0
    broken = result.stdout[result.stdout.index("Broken contracts") :]
    assert contract in broken
    assert offence in broken
