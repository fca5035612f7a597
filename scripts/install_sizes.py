"""What an install of ferkit costs on disk: every installed distribution, largest first, and ferkit's shipped
model files, as a Markdown table. Run it with the Python of the environment to measure:

    .venv-runtime/bin/python scripts/install_sizes.py
    podman run --rm -i --entrypoint python3 IMAGE - < scripts/install_sizes.py
"""

from __future__ import annotations

import sys
import sysconfig
from importlib import metadata
from pathlib import Path

MB = 1e6


def distribution_sizes() -> dict[str, int]:
    """Bytes per distribution, from the files its RECORD lists (shared libraries and bytecode included)."""
    sizes: dict[str, int] = {}
    for dist in metadata.distributions():
        total = 0
        for file in dist.files or []:
            path = Path(str(dist.locate_file(file)))
            if path.is_file():
                total += path.stat().st_size
        name = dist.metadata["Name"]
        sizes[name] = sizes.get(name, 0) + total
    return sizes


def tree_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def shipped_files() -> dict[str, int]:
    import ferkit

    weights = Path(ferkit.__file__).parent / "runtime" / "weights"
    return {str(path.relative_to(weights)): path.stat().st_size for path in sorted(weights.rglob("*.*"))}


def main() -> int:
    site = Path(sysconfig.get_paths()["purelib"])
    environment = Path(sys.prefix)
    sizes = distribution_sizes()
    in_all, in_site = tree_size(environment) / MB, tree_size(site) / MB
    print(f"{environment}: {in_all:.0f} MB in all, {in_site:.0f} MB in site-packages\n")
    print("| distribution | MB |\n| --- | ---: |")
    for name, size in sorted(sizes.items(), key=lambda item: -item[1]):
        if size >= 0.5 * MB:
            print(f"| {name} | {size / MB:.1f} |")
    small = [size for size in sizes.values() if size < 0.5 * MB]
    print(f"| {len(small)} others | {sum(small) / MB:.1f} |")
    files = shipped_files()
    print(f"\nferkit's shipped files: {sum(files.values()) / MB:.1f} MB\n")
    print("| file | MB |\n| --- | ---: |")
    for name, size in sorted(files.items(), key=lambda item: -item[1]):
        if size >= 0.1 * MB:
            print(f"| {name} | {size / MB:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
