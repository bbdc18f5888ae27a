#!/usr/bin/env python3
"""Lists the functions and class bodies longer than a limit in ipcbench's own code.

    function_size.py [--limit N] [--top K] ROOT

Exit 1 when any body outside tests/ runs past --limit lines (default 80); --top K
prints the K longest instead and always exits 0 (for the layout before and after a
change).

C++: the code is clang-formatted (Google style, namespaces not indented), so every
function, class or struct defined at namespace scope opens on a line that starts in
column 0 and closes on the first later line that is `}` or `};` in column 0. Member
functions defined inside a class count with the class: a class body is one unit of
reading too. Blocks that are data (a designated initialiser, a table) are not
functions and are skipped: their opening line has no parameter list.
Python: every function and class, from the ast, nested ones included.
"""
import argparse
import ast
import os
import re
import sys

CPP_DIRS = ("bench", "harness", "mechanisms", "tests")
PY_DIRS = ("plots", "scripts", "tests")


def strip_code(text):
    """The text with comments, strings and character literals blanked (newlines kept),
    so that only real braces are counted."""
    pattern = re.compile(r'//[^\n]*|/\*.*?\*/|R"(\w*)\(.*?\)\1"|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'',
                         re.S)
    return pattern.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)


def cpp_units(path):
    """(name, first line, length) of each function/class body at namespace scope."""
    with open(path, encoding="utf-8") as f:
        raw = f.read()
    lines = raw.split("\n")
    code = strip_code(raw).split("\n")
    units, depth, opened = [], 0, []  # opened: (line of '{', depth before it)
    for i, line in enumerate(code):
        for ch in line:
            if ch == "{":
                opened.append(i)
                depth += 1
            elif ch == "}":
                depth -= 1
                o = opened.pop()
                if line.strip() in ("}", "};") and not lines[i][0].isspace():
                    unit = classify(code, lines, o)
                    if unit:
                        units.append((unit[0], unit[1] + 1, i - unit[1] + 1))
    return units


def classify(code, lines, o):
    """The (head, first line) of the block opened on line o when it is a function or a
    class, else None (a namespace, extern "C", or data such as an initialiser)."""
    s = o
    # The head may span lines (a wrapped signature): walk back over its continuations.
    while s > 0:
        prev = code[s - 1].strip()
        if not prev or prev.endswith((";", "}", "{", ":")) or prev.startswith("#"):
            break
        s -= 1
    head = " ".join(c.strip() for c in code[s:o + 1])
    head = head[:head.index("{")] if "{" in head else head
    if re.match(r"(namespace|extern\s*$)", head) or not head:
        return None
    if re.match(r"(template\s*<.*>\s*)?(class|struct|union)\b", head):
        return lines[s].strip(), s
    before_paren = head.split("(")[0]
    if "(" not in head or "=" in before_paren or "[" in before_paren:
        return None
    return lines[s].strip(), s


def py_units(path):
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read(), path)
    return [(f"{type(n).__name__[:-3].lower()} {n.name}", n.lineno, n.end_lineno - n.lineno + 1)
            for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.ClassDef))]


def files(root, dirs, exts):
    for d in dirs:
        for base, _, names in os.walk(os.path.join(root, d)):
            if "/build" in base or "/data" in base:
                continue
            for n in sorted(names):
                if n.endswith(exts):
                    yield os.path.join(base, n)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--limit", type=int, default=80)
    ap.add_argument("--top", type=int, default=0)
    ap.add_argument("root")
    args = ap.parse_args(argv)
    found = []
    for path in files(args.root, CPP_DIRS, (".cpp", ".hpp")):
        found += [(n, path, line, length) for n, line, length in cpp_units(path)]
    for path in files(args.root, PY_DIRS, (".py",)):
        found += [(n, path, line, length) for n, line, length in py_units(path)]
    found.sort(key=lambda u: -u[3])
    rel = lambda p: os.path.relpath(p, args.root)
    if args.top:
        for name, path, line, length in found[:args.top]:
            print(f"{length:5d}  {rel(path)}:{line}  {name}")
        return 0
    over = [u for u in found if u[3] > args.limit and not rel(u[1]).startswith("tests/")]
    for name, path, line, length in over:
        print(f"{rel(path)}:{line}: {length} lines (limit {args.limit}): {name}")
    checked = sum(1 for u in found if not rel(u[1]).startswith("tests/"))
    print(f"{checked} functions and classes checked outside tests/, {len(over)} over {args.limit} lines")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
