"""Build hook: compile the Rust library and bundle it into the package.

`pip install bindings/python` runs `cargo build --release --lib` in the
repository this package lives in and copies the shared library into the
`wsclient` package. Set WSCLIENT_NO_CARGO=1 to skip that (the package then
finds the library next to it or through WSCLIENT_LIBRARY at run time).
"""

import os
import shutil
import subprocess
import sys
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py
from setuptools.dist import Distribution

HERE = Path(__file__).resolve().parent
CRATE = HERE.parent.parent
LIB = "libwsclient.dylib" if sys.platform == "darwin" else "libwsclient.so"


class BuildWithLibrary(build_py):
    """build_py that also bundles the shared library."""

    def run(self) -> None:
        super().run()
        lib = self._build_library()
        if lib is not None:
            dest = Path(self.build_lib) / "wsclient" / LIB
            # A new file renamed over the old one, never a rewrite in place
            # of a library some process may have loaded.
            tmp = dest.with_name(f"{dest.name}.tmp.{os.getpid()}")
            shutil.copy2(lib, tmp)
            os.replace(tmp, dest)
            print(f"wsclient: bundled {lib} into the package")

    def _build_library(self) -> "Path | None":
        if os.environ.get("WSCLIENT_NO_CARGO"):
            return None
        if not (CRATE / "Cargo.toml").is_file() or shutil.which("cargo") is None:
            print("wsclient: no crate or no cargo here; the library is not bundled", file=sys.stderr)
            return None
        subprocess.run(["cargo", "build", "--release", "--lib", "--locked"], cwd=CRATE, check=True)
        target = Path(os.environ.get("CARGO_TARGET_DIR", CRATE / "target"))
        if not target.is_absolute():
            target = CRATE / target
        return target / "release" / LIB


class BinaryDistribution(Distribution):
    """The wheel carries a native library, so it is platform-specific."""

    def has_ext_modules(self) -> bool:
        return True


setup(cmdclass={"build_py": BuildWithLibrary}, distclass=BinaryDistribution)
