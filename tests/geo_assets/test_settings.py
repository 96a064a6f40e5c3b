"""Production settings refuse to start without real secrets; check --deploy is clean."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
REAL_SECRET = "k3J9-vQ2_xP7zL0mN5bR8tW1yC4fH6dG9sA2eU5iO8pK1jM3nB7vX0qZ4wE6rT9"


def run(*args, **env_overrides):
    # DJANGO_ALLOW_ASYNC_UNSAFE is set by the browser tests and would (rightly) fail the deploy check
    env = {k: v for k, v in os.environ.items() if k not in ("SECRET_KEY", "DEBUG", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings_production", ALLOWED_HOSTS="assets.example.gov.cn",
               DATABASE_URL=os.environ.get("DATABASE_URL", "postgis://assets@/assets?host=/nonexistent"))
    env.update(env_overrides)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=120)


def test_production_refuses_to_start_without_secret_key():
    result = run("check")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_a_weak_secret_key():
    result = run("check", SECRET_KEY="dev-only-insecure-key")
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_production_refuses_to_start_without_database_url():
    env = {"SECRET_KEY": REAL_SECRET}
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={**{k: v for k, v in os.environ.items() if k != "DATABASE_URL"}, **env,
             "DJANGO_SETTINGS_MODULE": "config.settings_production", "ALLOWED_HOSTS": "x.example"},
    )
    assert result.returncode != 0
    assert "DATABASE_URL" in result.stderr


def test_check_deploy_is_clean_with_a_real_secret():
    result = run("check", "--deploy", "--fail-level", "WARNING", SECRET_KEY=REAL_SECRET)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout
