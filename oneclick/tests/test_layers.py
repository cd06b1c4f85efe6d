"""The house in layers (README, "How it works"), checked on the code itself.

- core, the lib, imports no app; each app imports only core, itself and the apps below it (LAYERS),
  anywhere in a module: at the top, inside a function or under TYPE_CHECKING; no app imports oneclick,
  the roof (which may import anything). Tests and migrations are left out: a migration is history.
- No module of an app is over 400 lines.
- A production process (the web, both workers, beat) imports no demo module.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Lowest first: an app may import the ones before it in this list.
LAYERS = ["core", "accounts", "buttons", "messaging", "deliveries", "crm", "demo"]
PROJECT = {*LAYERS, "oneclick"}
MAX_LINES = 400


def app_modules() -> list[tuple[str, Path]]:
    found = []
    for app in LAYERS:
        for path in sorted((ROOT / app).rglob("*.py")):
            parts = path.relative_to(ROOT).parts
            if "tests" in parts or "migrations" in parts:
                continue
            found.append((app, path))
    return found


def imported_packages(path: Path) -> set[str]:
    """Every project package a module imports, wherever the import statement is."""
    packages = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            packages |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            packages.add(node.module.split(".")[0])
    return packages & PROJECT


def test_each_app_imports_only_the_layers_below_it() -> None:
    wrong = []
    for app, path in app_modules():
        allowed = set(LAYERS[: LAYERS.index(app) + 1])
        for package in imported_packages(path) - allowed:
            wrong.append(f"{path.relative_to(ROOT)} imports {package}")
    assert not wrong, "\n".join(wrong)


def test_the_check_sees_an_import_inside_a_function(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from crm import tokens\n"
                      "def f():\n    import oneclick.settings\n")
    assert imported_packages(module) == {"crm", "oneclick"}


def test_no_app_module_is_over_400_lines() -> None:
    long = {str(path.relative_to(ROOT)): lines for _, path in app_modules()
            if (lines := len(path.read_text().splitlines())) > MAX_LINES}
    assert not long


PROCESS_IMPORTS = {
    # gunicorn's workers load the ASGI application; the first request builds the URLconf and the admin.
    "web": "import oneclick.asgi; from django.urls import get_resolver; get_resolver().url_patterns",
    # Celery's worker and beat load the app, then every installed app's tasks module.
    "worker": "from oneclick.celery import app; app.loader.import_default_modules(); app.finalize()",
}


def modules_imported(process: str, local: bool) -> list[str]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_", "CELERY_"))},
        "DJANGO_SETTINGS_MODULE": "oneclick.settings", "ONECLICK_LOCAL": "true" if local else "false",
        "DJANGO_SECRET_KEY": "layers-test-only-secret-key-0123456789abcdefghij",
        "DATABASE_URL": "postgres://nobody@127.0.0.1:9/none", "CELERY_BROKER_URL": "redis://127.0.0.1:9/0",
    }
    if local:
        env.pop("DATABASE_URL"), env.pop("CELERY_BROKER_URL")
    code = ("import django, json, sys; django.setup(); " + PROCESS_IMPORTS[process]
            + "; print(json.dumps(sorted(sys.modules)))")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("process", sorted(PROCESS_IMPORTS))
def test_production_processes_import_no_demo_code(process: str) -> None:
    demo = [name for name in modules_imported(process, local=False) if name.split(".")[0] == "demo"]
    assert demo == []


def test_the_local_mode_does_load_the_demo() -> None:
    # The check above can fail: the same imports in the local mode bring the demo in.
    assert "demo.tasks" in modules_imported("worker", local=True)
    assert "demo.automation" in modules_imported("web", local=True)


def test_every_model_change_has_its_migration(db: None) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=out)
    except SystemExit:
        raise AssertionError(f"A model changed without a migration:\n{out.getvalue()}") from None
