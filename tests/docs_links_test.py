#!/usr/bin/python3
"""The documentation stays true to the tree: README.md and docs/*.md.

- Every markdown link or image to a relative path points to a file that exists, and
  a `#anchor` on it names a heading of that file (GitHub's heading slugs).
- README.md stays a page a newcomer finishes: at most 250 lines.
- Neither names tracker tickets ("issue 7", "issues #12"): the docs describe the
  tool as it is, history belongs in commit messages.

Usage: docs_links_test.py SOURCE_DIR. Exit 0 when all hold, 1 with one line per
problem otherwise.
"""

import pathlib
import re
import sys

README_MAX_LINES = 250
LINK = re.compile(r"!?\[(?:[^\]\\]|\\.)*\]\(\s*<?([^)\s>]+)>?(?:\s+\"[^\"]*\")?\s*\)")
FENCE = re.compile(r"^\s*(```|~~~)")
TICKET = re.compile(r"\bissues?\s*#?\s*\d+", re.IGNORECASE)
EXTERNAL = re.compile(r"^[a-z][a-z0-9+.-]*:", re.IGNORECASE)  # http:, mailto:, ...


def prose_lines(text):
    """(line number, line) outside fenced code blocks: links there are not links."""
    in_fence = False
    for number, line in enumerate(text.splitlines(), 1):
        if FENCE.match(line):
            in_fence = not in_fence
            continue
        if not in_fence:
            yield number, line


def slug(heading):
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to '-'."""
    text = re.sub(r"[`*]|<[^>]*>", "", heading.strip().lower())  # "_" stays: GitHub keeps it (io_uring)
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path):
    found = set()
    for _, line in prose_lines(path.read_text(encoding="utf-8")):
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            found.add(slug(m.group(1)))
    return found


def check_links(path, problems):
    text = path.read_text(encoding="utf-8")
    for number, line in prose_lines(text):
        for m in LINK.finditer(line):
            target = m.group(1)
            if EXTERNAL.match(target):
                continue
            file_part, _, anchor = target.partition("#")
            dest = (path.parent / file_part).resolve() if file_part else path
            where = f"{path.name}:{number}"
            if not dest.exists():
                problems.append(f"{where}: link to {target}: {file_part} does not exist")
            elif anchor and dest.suffix == ".md" and anchor not in anchors(dest):
                problems.append(f"{where}: link to {target}: no heading #{anchor} in {dest.name}")


def check_tickets(path, problems):
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        m = TICKET.search(line)
        if m:
            problems.append(f"{path.name}:{number}: names a tracker ticket ('{m.group(0)}')")


def main():
    if len(sys.argv) != 2:
        print("usage: docs_links_test.py SOURCE_DIR", file=sys.stderr)
        return 2
    root = pathlib.Path(sys.argv[1])
    readme = root / "README.md"
    files = [readme] + sorted((root / "docs").glob("*.md"))
    problems = []
    lines = len(readme.read_text(encoding="utf-8").splitlines())
    if lines > README_MAX_LINES:
        problems.append(f"README.md: {lines} lines, more than {README_MAX_LINES}")
    for path in files:
        check_links(path, problems)
        check_tickets(path, problems)
    for p in problems:
        print(p)
    print(f"docs_links: {len(files)} files, {len(problems)} problems")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
