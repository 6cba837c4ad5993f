"""`pip install ./bindings/python` works with no network: the build backend
is in the package's folder and needs only the standard library. Installed
in a fresh virtual environment, with the library bundled into the wheel or
found through CSCALP_LIBRARY."""
import os
import subprocess
import sys

import pytest

from conftest import LIBRARY, PACKAGE_DIR, ROOT

# Any index lookup would fail at once: nothing listens on port 9.
OFFLINE = {"PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_FIND_LINKS": "",
           "PIP_RETRIES": "0", "PIP_TIMEOUT": "2", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}


def _env(**extra):
    env = {k: v for k, v in os.environ.items()
           if k not in ("CSCALP_LIBRARY", "PYTHONPATH", "PIP_CONFIG_FILE", "LD_LIBRARY_PATH")}
    env.update(OFFLINE)
    env.update(extra)
    return env


@pytest.fixture(scope="module")
def venv(tmp_path_factory):
    path = tmp_path_factory.mktemp("venv")
    # System site packages: numpy comes from Debian's python3-numpy.
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(path)],
                   check=True)
    return path


def _pip(venv, *args, **env):
    r = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--force-reinstall",
                        "--no-deps", *args], capture_output=True, text=True, cwd=ROOT,
                       env=_env(**env))
    assert r.returncode == 0, r.stdout + r.stderr
    return r


def _run(venv, code, **env):
    return subprocess.run([str(venv / "bin" / "python"), "-c", code], capture_output=True,
                          text=True, cwd="/", env=_env(**env))


def test_install_bundling_the_library(venv):
    _pip(venv, "./bindings/python", "--config-settings", f"library={LIBRARY}")
    r = _run(venv, "import cryptoscalp as cs, os; e = cs.Engine(); "
                   "print(cs._lib.lib._name); print(cs.version(), len(e.feature_names))")
    assert r.returncode == 0, r.stderr
    where, line = r.stdout.splitlines()
    assert where.startswith(str(venv)) and where.endswith("cryptoscalp/libcryptoscalp.so.1")
    assert line.startswith("1.0.0 ")
    # The package works on arrays from the installed copy too.
    r = _run(venv, "import cryptoscalp as cs, numpy as np; "
                   "e = cs.Engine(); print(e.push_quotes(ts_ns=[1, 2], bid_price=[1.0, 1.0], "
                   "bid_size=1.0, ask_price=[1.1, 1.1], ask_size=1.0))")
    assert r.returncode == 0 and r.stdout.strip() == "2", r.stderr


def test_install_pure_python_with_the_library_elsewhere(venv):
    _pip(venv, "./bindings/python")
    r = _run(venv, "import cryptoscalp")
    assert r.returncode != 0 and "LibraryNotFoundError" in r.stderr
    assert "CSCALP_LIBRARY" in r.stderr
    r = _run(venv, "import cryptoscalp as cs; print(cs._lib.lib._name)",
             CSCALP_LIBRARY=LIBRARY)
    assert r.returncode == 0 and r.stdout.strip() == LIBRARY, r.stderr


def test_sdist_and_editable(venv, tmp_path):
    out = tmp_path / "dist"
    r = subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "wheel", "--no-deps",
                        "-w", str(out), "./bindings/python"], capture_output=True, text=True,
                       cwd=ROOT, env=_env())
    assert r.returncode == 0, r.stderr
    wheels = os.listdir(out)
    assert wheels == ["cryptoscalp-1.0.0-py3-none-any.whl"]
    _pip(venv, "-e", "./bindings/python")
    r = _run(venv, "import cryptoscalp; print(cryptoscalp.__file__)", CSCALP_LIBRARY=LIBRARY)
    assert r.returncode == 0 and r.stdout.strip() == os.path.join(
        PACKAGE_DIR, "cryptoscalp", "__init__.py"), r.stderr
