"""A PEP 517 / PEP 660 build backend for the cryptoscalp package, standard
library only, so that ``pip install ./bindings/python`` needs no network.

It builds a wheel of the pure-Python package ``cryptoscalp`` (metadata from
pyproject.toml) and, when asked, bundles the C library next to it:
``--config-settings library=PATH`` or ``CSCALP_BUNDLE_LIBRARY=PATH`` copies
PATH into the wheel as ``cryptoscalp/libcryptoscalp.so.1`` (the wheel is then
tagged for this platform). An sdist holds the package and this backend.
"""
from __future__ import annotations

import base64
import hashlib
import io
import os
import sysconfig
import tarfile
import zipfile
from typing import Dict, List, Optional, Tuple

try:
    import tomllib
except ImportError:  # Python < 3.11: the tiny subset of TOML this file uses
    tomllib = None

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PACKAGE = "cryptoscalp"
SONAME = "libcryptoscalp.so.1"


def _project() -> Dict[str, object]:
    path = os.path.join(HERE, "pyproject.toml")
    with open(path, "rb") as f:
        if tomllib is not None:
            return tomllib.load(f)["project"]
        text = f.read().decode()
    out: Dict[str, object] = {}
    section = ""
    for line in text.splitlines():
        line = line.strip()
        if line.startswith("["):
            section = line.strip("[]")
        elif section == "project" and "=" in line and not line.startswith("#"):
            key, value = (s.strip() for s in line.split("=", 1))
            if value.startswith('"'):
                out[key] = value.strip('"')
    return out


def _metadata() -> str:
    p = _project()
    lines = ["Metadata-Version: 2.1", f"Name: {p['name']}", f"Version: {p['version']}",
             f"Summary: {p.get('description', '')}",
             f"Requires-Python: {p.get('requires-python', '>=3.8')}"]
    for extra, reqs in dict(p.get("optional-dependencies", {}) or {}).items():
        lines.append(f"Provides-Extra: {extra}")
        for r in reqs:
            lines.append(f'Requires-Dist: {r}; extra == "{extra}"')
    readme = os.path.join(HERE, "README.md")
    body = ""
    if os.path.exists(readme):
        lines.append("Description-Content-Type: text/markdown")
        with open(readme, encoding="utf-8") as f:
            body = f.read()
    return "\n".join(lines) + "\n\n" + body


def _dist_info() -> str:
    p = _project()
    return f"{p['name']}-{p['version']}.dist-info"


def _library(config_settings: Optional[Dict[str, str]]) -> Optional[str]:
    lib = (config_settings or {}).get("library") or os.environ.get("CSCALP_BUNDLE_LIBRARY")
    if not lib:
        return None
    if not os.path.isabs(lib):
        # pip runs this backend from the package's folder; a relative path is
        # the user's, from the shell's working directory ($PWD survives).
        lib = os.path.join(os.environ.get("PWD", os.getcwd()), lib)
    if not os.path.isfile(lib):
        raise FileNotFoundError(f"library={lib}: no such file (build the C library first: "
                                "meson setup build && ninja -C build; an absolute path is "
                                "safest)")
    return os.path.realpath(lib)


def _tag(bundled: bool) -> str:
    if not bundled:
        return "py3-none-any"
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return f"py3-none-{plat}"


def _package_files() -> List[Tuple[str, str]]:
    pkg = os.path.join(HERE, PACKAGE)
    out = []
    for name in sorted(os.listdir(pkg)):
        if name.endswith(".py") or name == "py.typed":
            out.append((os.path.join(pkg, name), f"{PACKAGE}/{name}"))
    return out


def _record_line(arcname: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{arcname},sha256={digest},{len(data)}"


def _write_wheel(wheel_directory: str, files: List[Tuple[str, bytes]], tag: str) -> str:
    p = _project()
    name = f"{p['name']}-{p['version']}-{tag}.whl"
    dist = _dist_info()
    files = list(files)
    files.append((f"{dist}/METADATA", _metadata().encode()))
    files.append((f"{dist}/WHEEL", (f"Wheel-Version: 1.0\nGenerator: cryptoscalp_build\n"
                                    f"Root-Is-Purelib: {'true' if tag.endswith('any') else 'false'}\n"
                                    f"Tag: {tag}\n").encode()))
    files.append((f"{dist}/top_level.txt", f"{PACKAGE}\n".encode()))
    record = [_record_line(a, d) for a, d in files] + [f"{dist}/RECORD,,"]
    files.append((f"{dist}/RECORD", ("\n".join(record) + "\n").encode()))
    path = os.path.join(wheel_directory, name)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for arcname, data in files:
            info = zipfile.ZipInfo(arcname, date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = (0o755 if arcname.endswith(SONAME) else 0o644) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    return name


# ---------------------------------------------------------------- PEP 517

def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def get_requires_for_build_editable(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    dist = os.path.join(metadata_directory, _dist_info())
    os.makedirs(dist, exist_ok=True)
    with open(os.path.join(dist, "METADATA"), "w", encoding="utf-8") as f:
        f.write(_metadata())
    return _dist_info()


prepare_metadata_for_build_editable = prepare_metadata_for_build_wheel


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    files = []
    for src, arc in _package_files():
        with open(src, "rb") as f:
            files.append((arc, f.read()))
    lib = _library(config_settings)
    if lib:
        with open(lib, "rb") as f:
            files.append((f"{PACKAGE}/{SONAME}", f.read()))
    return _write_wheel(wheel_directory, files, _tag(lib is not None))


def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    """PEP 660: a wheel holding a .pth file that puts this folder on sys.path,
    so edits to the package take effect without reinstalling."""
    pth = (HERE + "\n").encode()
    return _write_wheel(wheel_directory, [(f"__editable__.{PACKAGE}.pth", pth)],
                        "py3-none-any")


def build_sdist(sdist_directory, config_settings=None):
    p = _project()
    base = f"{p['name']}-{p['version']}"
    path = os.path.join(sdist_directory, base + ".tar.gz")
    with tarfile.open(path, "w:gz", format=tarfile.PAX_FORMAT) as tar:
        members = [("pyproject.toml", os.path.join(HERE, "pyproject.toml")),
                   ("README.md", os.path.join(HERE, "README.md")),
                   ("build_backend/cryptoscalp_build.py", os.path.abspath(__file__))]
        members += [(arc, src) for src, arc in _package_files()]
        for arc, src in members:
            if os.path.exists(src):
                tar.add(src, arcname=f"{base}/{arc}")
        info = tarfile.TarInfo(f"{base}/PKG-INFO")
        data = _metadata().encode()
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return os.path.basename(path)
