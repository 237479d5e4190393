"""Deployment package size: `chalice package --stage prod` into a temporary directory, the zip measured.

DESIGN.md's budget: at most 30 MB zipped. Also prints what takes the room, largest first.
Run: `make bench` (or `.venv/bin/python -m bench.package_size`).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter
from pathlib import Path

from vre_app.deploy import remove_bytecode

ROOT = Path(__file__).resolve().parent.parent
BUDGET_BYTES = 30 * 1000 * 1000
_CHALICE_MAIN = "import sys; from chalice.cli import main; sys.exit(main())"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vre-package-") as out:
        began = time.perf_counter()
        # As `make package` does: the policies Chalice packages, rendered with a placeholder account.
        subprocess.run(
            [sys.executable, "-m", "vre_app", "policies", "--stage", "prod"],
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        )
        remove_bytecode(ROOT)  # as the deploy does: what tests left in chalicelib/ is not shipped
        subprocess.run(
            [sys.executable, "-c", _CHALICE_MAIN, "package", "--stage", "prod", out],
            cwd=ROOT,
            # Packaging makes the CloudFormation template, which names a region; none is called.
            env={**os.environ, "AWS_DEFAULT_REGION": os.environ.get("AWS_DEFAULT_REGION", "eu-west-1")},
            check=True,
            capture_output=True,
            text=True,
        )
        seconds = time.perf_counter() - began
        package = Path(out) / "deployment.zip"
        size = package.stat().st_size
        with zipfile.ZipFile(package) as archive:
            by_top = Counter[str]()
            for info in archive.infolist():
                by_top[info.filename.split("/", 1)[0]] += info.compress_size
            unzipped = sum(info.file_size for info in archive.infolist())

    print(f"deployment package, `chalice package --stage prod` ({seconds:.0f} s to build)")
    print(
        f"  zipped {size / 1e6:.1f} MB ({size:,} bytes), unzipped {unzipped / 1e6:.1f} MB; "
        f"budget {BUDGET_BYTES / 1e6:.0f} MB zipped: {'within' if size <= BUDGET_BYTES else 'OVER'}"
    )
    print("  largest, zipped: " + ", ".join(f"{name} {n / 1e6:.1f} MB" for name, n in by_top.most_common(6)))


if __name__ == "__main__":
    main()
