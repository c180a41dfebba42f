# Docs that cannot drift (issue 17): every option of every command's --help is documented for
# that command in the man page and in docs/cli.md, the man page carries the library's version,
# the README links every guide, docs/getting-started.md lists exactly the packages `make deps`
# installs, and docs/go.md documents the nested module's tag scheme.

for cmd in embed compare "index build" search report info train finetune; do
    # shellcheck disable=SC2086 # "index build" is two words on purpose
    run $cmd --help
    cp "$OUT" "$WORK/help-$(echo "$cmd" | tr ' ' _).txt"
done
check "every option of every --help is documented for its command in the man page and cli.md" \
    "$PY" - "$WORK" "$SRCDIR" <<'EOF'
import re, sys
work, src = sys.argv[1], sys.argv[2]
man = open(src + "/docs/vinfringe.1", encoding="utf-8").read()
md = open(src + "/docs/cli.md", encoding="utf-8").read()

def help_options(cmd):
    text = open("%s/help-%s.txt" % (work, cmd.replace(" ", "_")), encoding="utf-8").read()
    # option lines: "  -o, --output FILE  ..." or "      --json  ..."
    return sorted(set(re.findall(r"^ {2}(?:-\w, | {4})(--[a-z][a-z-]*)", text, re.M)))

def man_section(name):
    m = re.search(r"^\.SH %s\n(.*?)(?=^\.SH )" % re.escape(name), man, re.M | re.S)
    return m.group(1) if m else ""

def roff(opt):
    return opt.replace("-", "\\-")

def has_opt(text, opt):  # the option itself, not a longer one it starts
    return re.search(re.escape(roff(opt)) + r"(?![a-z]|\\-)", text) is not None

def md_section(title):
    m = re.search(r"^### `%s`\n(.*?)(?=^##)" % re.escape(title), md, re.M | re.S)
    return m.group(1) if m else ""

def md_has_opt(text, opt):
    return re.search(r"`%s[ `]" % re.escape(opt), text) is not None

problems = []
common = man_section("OPTIONS").split(".TP\n")[1:]
for cmd in ["embed", "compare", "index build", "search", "report", "info", "train", "finetune"]:
    opts = help_options(cmd)
    if len(opts) < 2:
        problems.append("%s: no options found in --help" % cmd)
    for opt in opts:
        if cmd in ("train", "finetune"):
            if not has_opt(man_section(cmd.upper() + " OPTIONS"), opt):
                problems.append("man page, %s OPTIONS: %s missing" % (cmd.upper(), opt))
            if not md_has_opt(md_section(cmd), opt):
                problems.append("cli.md, ### `%s`: %s missing" % (cmd, opt))
            continue
        entries = [e for e in common if has_opt(e.split("\n")[0], opt)]
        if not entries:
            problems.append("man page, OPTIONS: no entry for %s" % opt)
        elif not any(re.search(r"^Commands: .*\b(%s|all)\b" % re.escape(cmd), e, re.M)
                     for e in entries):
            problems.append("man page, OPTIONS: %s does not list '%s'" % (opt, cmd))
        rows = [l.split("|") for l in md.splitlines() if l.startswith("| ")]
        rows = [r for r in rows if len(r) > 3 and md_has_opt(r[1], opt)]
        if not rows:
            problems.append("cli.md, Options: no row for %s" % opt)
        elif not any(re.search(r"\b(%s|all)\b" % re.escape(cmd), r[2]) for r in rows):
            problems.append("cli.md, Options: the row of %s does not list '%s'" % (opt, cmd))
assert not problems, "\n".join(problems)
EOF

check "the man page carries the library's version (MAJOR.MINOR of include/vinfringe.h)" \
    test "$(sed -n 's/^\.TH VINFRINGE 1 "[^"]*" "libvinfringe \([0-9.]*\)".*/\1/p' \
    "$SRCDIR/docs/vinfringe.1")" = "$(sed -n 's/^#define VI_VERSION_MAJOR \([0-9]*\)/\1/p' \
    "$SRCDIR/include/vinfringe.h").$(sed -n 's/^#define VI_VERSION_MINOR \([0-9]*\)/\1/p' \
    "$SRCDIR/include/vinfringe.h")"

check "the README links every guide in docs/" "$PY" - "$SRCDIR" <<'EOF'
import glob, os, re, sys
src = sys.argv[1]
readme = open(src + "/README.md", encoding="utf-8").read()
linked = set(re.findall(r"\]\((docs/[^)#]+)\)", readme))
guides = {"docs/" + os.path.basename(p) for p in glob.glob(src + "/docs/*.md")} | {"docs/vinfringe.1"}
missing = sorted(guides - linked)
assert not missing, "README.md does not link: %s" % missing
broken = sorted(p for p in linked if not os.path.exists(os.path.join(src, p)))
assert not broken, "README.md links missing files: %s" % broken
EOF

deb=$(env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s --no-print-directory -C "$SRCDIR" \
    deb-packages 2>/dev/null)
check "docs/getting-started.md lists exactly the packages make deps installs" \
    "$PY" - "$SRCDIR/docs/getting-started.md" "$deb" <<'EOF'
import re, sys
text = open(sys.argv[1], encoding="utf-8").read()
m = re.search(r"<!-- packages:.*?-->\n(.*?)<!-- end packages -->", text, re.S)
assert m, "no <!-- packages --> block"
words = m.group(1).replace("apt-get install", "").replace("\\", " ").split()
listed = {w for w in words if not w.startswith("-")}
wanted = set(sys.argv[2].split())
assert wanted, "make deb-packages printed nothing"
assert listed == wanted, "only in the doc: %s; only in make deps: %s" % (
    sorted(listed - wanted), sorted(wanted - listed))
EOF

check "docs/go.md documents the nested module's tags (bindings/go/vX.Y.Z)" \
    grep -q 'bindings/go/vX\.Y\.Z' "$SRCDIR/docs/go.md"
check "every guide the README links is in the tree, the report screenshot too" \
    test -s "$SRCDIR/docs/report-example.png"
