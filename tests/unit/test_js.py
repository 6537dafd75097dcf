"""The JavaScript unit tests (tests/js/*.test.mjs) under `node --test`, so `make test` runs them.

They cover the pure parts of the apps: the kit's resume rules, offline queue,
translation and error sentences, and the courier app's view model. Without
Node the test is skipped with the reason, except with CI=true, where it fails.
"""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest

from backend.settings import REPO_ROOT

JS_TESTS = REPO_ROOT / "tests" / "js"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def test_node_unit_tests_pass() -> None:
    node = shutil.which("node")
    if node is None:
        if IN_CI:
            pytest.fail("CI=true but node is not installed (Node 20 runs tests/js)")
        pytest.skip("node is not installed: the JS unit tests in tests/js need Node 20")
    files = sorted(str(p) for p in JS_TESTS.glob("*.test.mjs"))
    assert files, f"no JS tests found in {JS_TESTS}"
    run = subprocess.run([node, "--test", *files], capture_output=True, text=True, timeout=120, cwd=REPO_ROOT)
    assert run.returncode == 0, f"node --test failed:\n{run.stdout[-6000:]}\n{run.stderr[-2000:]}"
