"""Build hook: bundle the shared library into the package.

Where the library comes from, in order:

- WSCLIENT_PREBUILT_LIBRARY=PATH: that file (what `make dist` does with the
  self-contained build, which links OpenSSL statically);
- else `cargo build --release --lib` of the crate: the `rust/` folder of an
  sdist, or the repository this folder lives in (`pip install
  bindings/python`). WSCLIENT_CARGO_FEATURES is passed as `--features`
  (e.g. `vendored-tls`); without it the library links the system OpenSSL.
- WSCLIENT_NO_CARGO=1 bundles nothing (the package then finds the library
  next to it or through WSCLIENT_LIBRARY at run time).

The package is ctypes over a C library: one wheel serves every Python 3, so
the wheel is tagged py3-none-PLATFORM (`make dist` then gives it the
manylinux tag the library really needs, with auditwheel).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

try:  # setuptools >= 70.1 carries bdist_wheel; older ones take it from `wheel`
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:  # pragma: no cover
    from wheel.bdist_wheel import bdist_wheel  # type: ignore[no-redef]

HERE = Path(__file__).resolve().parent
LIB = "libwsclient.dylib" if sys.platform == "darwin" else "libwsclient.so"


def crate_dir() -> "Path | None":
    """The Rust crate to build: inside an sdist, or the checkout around us."""
    for candidate in (HERE / "rust", HERE.parent.parent):
        if (candidate / "Cargo.toml").is_file():
            return candidate
    return None


class BuildWithLibrary(build_py):
    """build_py that also bundles the shared library."""

    def run(self) -> None:
        super().run()
        lib = self._library()
        if lib is not None:
            dest = Path(self.build_lib) / "wsclient" / LIB
            # A new file renamed over the old one, never a rewrite in place
            # of a library some process may have loaded.
            tmp = dest.with_name(f"{dest.name}.tmp.{os.getpid()}")
            shutil.copy2(lib, tmp)
            os.replace(tmp, dest)
            print(f"wsclient: bundled {lib} into the package")

    def _library(self) -> "Path | None":
        prebuilt = os.environ.get("WSCLIENT_PREBUILT_LIBRARY")
        if prebuilt:
            if not Path(prebuilt).is_file():
                raise SystemExit(f"wsclient: WSCLIENT_PREBUILT_LIBRARY={prebuilt} is not a file")
            return Path(prebuilt)
        if os.environ.get("WSCLIENT_NO_CARGO"):
            return None
        crate = crate_dir()
        if crate is None or shutil.which("cargo") is None:
            print("wsclient: no crate or no cargo here; the library is not bundled", file=sys.stderr)
            return None
        cmd = ["cargo", "build", "--release", "--lib", "--locked"]
        features = os.environ.get("WSCLIENT_CARGO_FEATURES")
        if features:
            cmd += ["--features", features]
        subprocess.run(cmd, cwd=crate, check=True)
        target = Path(os.environ.get("CARGO_TARGET_DIR", crate / "target"))
        if not target.is_absolute():
            target = crate / target
        return target / "release" / LIB


class BinaryDistribution(Distribution):
    """The wheel carries a native library, so it is platform-specific."""

    def has_ext_modules(self) -> bool:
        return True


class AnyPythonWheel(bdist_wheel):
    """A platform wheel for every Python 3: the library is loaded by ctypes,
    not linked against Python, so the tag is py3-none-PLATFORM."""

    def get_tag(self) -> "tuple[str, str, str]":
        _, _, plat = super().get_tag()
        return "py3", "none", plat


setup(
    cmdclass={"build_py": BuildWithLibrary, "bdist_wheel": AnyPythonWheel},
    distclass=BinaryDistribution,
)
