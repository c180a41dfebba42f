"""The ctypes declarations in vinfringe/_capi.py match include/vinfringe.h and the library."""

from __future__ import annotations

import ctypes
import os
import re
import shutil
import subprocess
import tempfile
import unittest

import vinfringe
from vinfringe import _capi

import _support


def header_text() -> str:
    path = os.path.join(_support.srcdir(), "include", "vinfringe.h")
    if not os.path.isfile(path):
        raise unittest.SkipTest(f"{path} not found (set VI_SRCDIR)")
    with open(path, encoding="utf-8") as f:
        return f.read()


class TestDeclarations(unittest.TestCase):
    def test_every_public_function_is_declared(self) -> None:
        names = set(re.findall(r"VI_API\s+[^;(]*?\b(vi_\w+)\s*\(", header_text()))
        self.assertGreater(len(names), 40)
        self.assertEqual(sorted(names - set(_capi.FUNCTIONS)), [], "missing from _capi.py")
        self.assertEqual(sorted(set(_capi.FUNCTIONS) - names), [], "not in the header")

    def test_status_codes_match_header(self) -> None:
        text = header_text()
        for name, value in re.findall(r"\b(VI_(?:OK|E_\w+))\s*=\s*(\d+)", text):
            self.assertEqual(getattr(_capi, name), int(value), name)
            self.assertEqual(vinfringe.Status[name.replace("VI_E_", "").replace("VI_", "")],
                             int(value))

    def test_symbols_txt_if_present(self) -> None:
        path = os.path.join(_support.srcdir(), "docs", "symbols.txt")
        if not os.path.isfile(path):
            self.skipTest("docs/symbols.txt not written yet")
        with open(path, encoding="utf-8") as f:
            listed = set(re.findall(r"\b(vi_[a-z0-9_]+)\b", f.read()))
        self.assertEqual(sorted(set(_capi.FUNCTIONS) - listed), [])

    @unittest.skipUnless(shutil.which("cc"), "no C compiler")
    def test_struct_layouts_match_c(self) -> None:
        include = os.path.join(_support.srcdir(), "include")
        # Every Structure mirrored in _capi, probed field by field from the C header.
        structs = {name: cls for name, cls in vars(_capi).items()
                   if isinstance(cls, type) and issubclass(cls, ctypes.Structure)
                   and name.startswith("vi_")}
        lines = []
        for name, cls in structs.items():
            lines.append(f'    printf("{name} %zu\\n", sizeof({name}));')
            lines += [f"    F({name}, {fname});" for fname, _ in cls._fields_]
        probe = ("#include <stddef.h>\n#include <stdio.h>\n#include \"vinfringe.h\"\n"
                 "#define F(s, f) printf(#s \".\" #f \" %zu %zu\\n\", offsetof(s, f), "
                 "sizeof(((s *)0)->f))\nint main(void) {\n" + "\n".join(lines) +
                 '\n    printf("vi_status %zu\\n", sizeof(vi_status));\n    return 0;\n}\n')
        with tempfile.TemporaryDirectory() as tmp:
            src = os.path.join(tmp, "probe.c")
            exe = os.path.join(tmp, "probe")
            with open(src, "w", encoding="ascii") as f:
                f.write(probe)
            subprocess.run(["cc", "-std=c11", "-I", include, src, "-o", exe], check=True)
            out = subprocess.run([exe], check=True, capture_output=True, text=True).stdout
        expected = {}
        for line in out.splitlines():
            parts = line.split()
            expected[parts[0]] = [int(p) for p in parts[1:]]
        for name, cls in structs.items():
            self.assertEqual(ctypes.sizeof(cls), expected[name][0], name)
            for fname, ftype in cls._fields_:
                off, size = expected[f"{name}.{fname}"]
                self.assertEqual(getattr(cls, fname).offset, off, f"{name}.{fname}")
                self.assertEqual(ctypes.sizeof(ftype), size, f"{name}.{fname}")
        self.assertEqual(ctypes.sizeof(_capi.vi_status), expected["vi_status"][0])

    def test_library_exports_every_declared_function(self) -> None:
        # _capi refuses to import otherwise; this states the property and shows which library.
        for name in _capi.FUNCTIONS:
            self.assertTrue(hasattr(_capi.lib, name), name)
        self.assertTrue(vinfringe.library_path)

    def test_version(self) -> None:
        v = vinfringe.version()
        self.assertEqual(v // 10000, _capi.API_MAJOR)
        self.assertGreaterEqual((v // 100) % 100, _capi.API_MINOR)
        self.assertEqual(vinfringe.version_string(),
                         f"{v // 10000}.{(v // 100) % 100}.{v % 100}")
        text = header_text()
        parts = [int(re.search(rf"#define VI_VERSION_{p} (\d+)", text).group(1))  # type: ignore
                 for p in ("MAJOR", "MINOR", "PATCH")]
        self.assertEqual(v, parts[0] * 10000 + parts[1] * 100 + parts[2])

    def test_status_str(self) -> None:
        for status in vinfringe.Status:
            text = vinfringe.status_str(status)
            self.assertIsInstance(text, str)
            self.assertTrue(text)
        self.assertNotEqual(vinfringe.status_str(vinfringe.Status.IO),
                            vinfringe.status_str(vinfringe.Status.DECODE))


if __name__ == "__main__":
    unittest.main()
