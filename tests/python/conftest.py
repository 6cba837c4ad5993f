"""Shared setup of the Python tests: where the build, the library, the
package and the real data are. Run by meson (tests/python/meson.build sets
the environment) or by hand from the checkout:

    /usr/bin/python3 -m pytest tests/python        # after ninja -C build
"""
import os
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BUILD = os.environ.get("CSCALP_BUILD_ROOT", os.path.join(ROOT, "build"))
SHARED = os.environ.get("CSCALP_SHARED_DATA", os.path.join(ROOT, "..", "shared", "data"))
PACKAGE_DIR = os.path.join(ROOT, "bindings", "python")
LIBRARY = os.path.join(BUILD, "src", "libcryptoscalp.so.1")
SAMPLE = os.path.join(ROOT, "examples", "data", "btcusdt_20240718.gz")

os.environ.setdefault("CSCALP_LIBRARY", LIBRARY)
# Children run from other folders: a relative library path would not hold.
os.environ["CSCALP_LIBRARY"] = os.path.abspath(os.environ["CSCALP_LIBRARY"])
LIBRARY = os.environ["CSCALP_LIBRARY"]  # the library under test (meson sets it per build)
if PACKAGE_DIR not in sys.path:
    sys.path.insert(0, PACKAGE_DIR)


def tool(*parts: str) -> str:
    """A program of the build; a missing one fails the test (CI builds all)."""
    path = os.path.join(BUILD, *parts)
    if not os.access(path, os.X_OK):
        pytest.fail(f"{path} is missing: build it first (ninja -C {BUILD})")
    return path


def shared(*parts: str) -> str:
    path = os.path.join(SHARED, *parts)
    if not os.path.exists(path):
        pytest.fail(f"{path} is missing: ../shared/data must sit beside the checkout")
    return path


def child_env(**extra: str) -> dict:
    """The environment for a child Python that imports the package."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_DIR, env.get("PYTHONPATH")) if p)
    env.update(extra)
    return env
