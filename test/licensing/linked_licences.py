#!/usr/bin/env python3
"""List every shared library a built libvinfringe loads, with its Debian package and licence.

    /usr/bin/python3 test/licensing/linked_licences.py build/libvinfringe.so [--gpl]

Runs `readelf -d` (direct dependencies) and `ldd` (everything loaded), maps each file to its
Debian package with `dpkg -S`, and reads the licence of the package's main files (the `Files: *`
paragraph of /usr/share/doc/PACKAGE/copyright; "see copyright" when that file is not in Debian's
machine-readable format). The "via" column says which direct dependency pulls a library in.
The licence of a package's main files is not always that of the library it ships (util-linux's
libraries are LGPL or BSD while its programs are GPL): read the copyright file before deciding.
`--gpl` keeps only the rows whose main licence is the GPL (not the LGPL).
Used for docs/licensing.md; Debian-specific by design.
"""

import os
import re
import subprocess
import sys
from typing import Dict, List, Tuple


def run(*cmd: str) -> str:
    return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout


def loaded(path: str) -> List[Tuple[str, str]]:
    """(soname, resolved path) of every library `ldd` lists for `path`."""
    out = []
    for line in run("ldd", path).splitlines():
        m = re.match(r"\s*(\S+) => (/\S+)", line)
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def needed(path: str) -> List[str]:
    return re.findall(r"\(NEEDED\)\s+Shared library: \[([^\]]+)\]", run("readelf", "-d", path))


def package_of(path: str) -> str:
    for p in (os.path.realpath(path), path):
        out = run("dpkg", "-S", p).strip()
        if out:
            return out.splitlines()[0].split(":")[0]
    return "?"


_licence_cache: Dict[str, str] = {}


def main_licence(pkg: str) -> str:
    if pkg not in _licence_cache:
        lic = "see copyright"
        try:
            with open(f"/usr/share/doc/{pkg}/copyright", encoding="utf-8", errors="replace") as f:
                text = f.read()
        except OSError:
            text, lic = "", "?"
        for para in re.split(r"\n\s*\n", text):
            if re.search(r"^Files:\s*\*\s*$", para, re.M):
                m = re.search(r"^License:\s*(.+)$", para, re.M)
                if m:
                    lic = m.group(1).strip()
                break
        _licence_cache[pkg] = lic
    return _licence_cache[pkg]


def is_gpl(lic: str) -> bool:
    return bool(re.search(r"(?<![L])GPL", lic)) and not re.search(r"LGPL|LPGL", lic)


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    lib, only_gpl = sys.argv[1], "--gpl" in sys.argv[2:]
    libs = loaded(lib)
    paths = dict(libs)
    direct = needed(lib)
    via: Dict[str, List[str]] = {}
    for dep in direct:
        if dep in paths:
            for name, _ in loaded(paths[dep]):
                via.setdefault(name, []).append(dep)
    rows = []
    for name, path in libs:
        pkg = package_of(path)
        lic = main_licence(pkg)
        how = "direct" if name in direct else ",".join(sorted(set(
            d.split(".so")[0] for d in via.get(name, [])))) or "?"
        if not only_gpl or is_gpl(lic):
            rows.append((name, pkg, lic, how))
    print(f"# {lib}: {len(direct)} direct dependencies, {len(libs)} shared libraries loaded, "
          f"{len({package_of(p) for _, p in libs})} Debian packages")
    print("| library | Debian package | licence of the package's main files | via |")
    print("|---|---|---|---|")
    for r in rows:
        print("| " + " | ".join(r) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
