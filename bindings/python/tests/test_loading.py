"""How the package finds the shared library: its own folder, then VINFRINGE_LIBRARY, then the
system."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import vinfringe

PACKAGE_DIR = os.path.dirname(os.path.abspath(vinfringe.__file__))


def run(code: str, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=120)


class TestLoading(unittest.TestCase):
    def test_env_variable_wins_and_failure_names_it(self) -> None:
        env = dict(os.environ, VINFRINGE_LIBRARY="/nonexistent/libvinfringe.so.0",
                   PYTHONPATH=os.path.dirname(PACKAGE_DIR))
        r = run("import vinfringe", env)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("ImportError", r.stderr)
        self.assertIn("/nonexistent/libvinfringe.so.0", r.stderr)
        self.assertIn("VINFRINGE_LIBRARY", r.stderr)

    def test_bundled_library_wins_over_the_env_variable(self) -> None:
        # Issue 17: an installed package must use the library it bundles, whatever the
        # environment says (before, VINFRINGE_LIBRARY won and a stale value broke the import).
        lib = os.path.realpath(vinfringe.library_path)
        if not os.path.isfile(lib):
            self.skipTest(f"loaded library {vinfringe.library_path} is not a file path")
        with tempfile.TemporaryDirectory() as tmp:
            pkg = os.path.join(tmp, "vinfringe")
            shutil.copytree(PACKAGE_DIR, pkg, ignore=shutil.ignore_patterns("__pycache__"))
            shutil.copy(lib, os.path.join(pkg, "libvinfringe.so.0"))
            env = dict(os.environ, VINFRINGE_LIBRARY="/nonexistent/libvinfringe.so.0",
                       PYTHONPATH=tmp)
            r = run("import vinfringe; print(vinfringe.library_path)", env)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.strip(), os.path.join(pkg, "libvinfringe.so.0"))

    def test_library_in_the_package_folder_is_found(self) -> None:
        lib = os.path.realpath(vinfringe.library_path)
        if not os.path.isfile(lib):
            self.skipTest(f"loaded library {vinfringe.library_path} is not a file path")
        with tempfile.TemporaryDirectory() as tmp:
            pkg = os.path.join(tmp, "vinfringe")
            shutil.copytree(PACKAGE_DIR, pkg, ignore=shutil.ignore_patterns("__pycache__"))
            shutil.copy(lib, os.path.join(pkg, "libvinfringe.so.0"))
            env = {k: v for k, v in os.environ.items() if k != "VINFRINGE_LIBRARY"}
            env["PYTHONPATH"] = tmp
            r = run("import vinfringe; print(vinfringe.library_path); "
                    "print(vinfringe.version_string())", env)
            self.assertEqual(r.returncode, 0, r.stderr)
            path, ver = r.stdout.split()
            self.assertEqual(os.path.dirname(path), pkg)
            self.assertEqual(ver, vinfringe.version_string())


if __name__ == "__main__":
    unittest.main()
