#!/usr/bin/env python3
"""kindling's lint (`make lint`, run by CI before the tests): the size limits and habits of issue 16.

- No file in Sources over 500 lines and no function, initializer or closure-bodied property over 80.
  What was over when the limits came in is listed in scripts/lint-allowances.txt with its size then:
  such an entry may shrink (lower it, or remove it when under the limit) but never grow, and nothing new
  may join it.
- Every Swift line at most 180 characters (except text: a line inside a multi-line string, or one holding a
  string literal over 80 characters, which breaking would only make harder to find), no tabs, no trailing
  whitespace.
- Commit subjects at most 72 characters, for the commits after the one the limit came in with.

Prints each problem as `path:line: message` and exits 1 if there is any.
"""
import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FILE_LIMIT = 500
FUNCTION_LIMIT = 80
LINE_LIMIT = 180
SUBJECT_LIMIT = 72
# Commit subjects are held to the limit from this commit on (the one before the lint came in).
SUBJECTS_SINCE = "012d2f1"
LITERAL = re.compile(r'#"(?:[^"]|"(?!#))*"#|"(?:\\.|[^"\\])*"')
ALLOWANCES = os.path.join(ROOT, "scripts", "lint-allowances.txt")

DECLARATION = re.compile(r"^\s*(?:@\w+(?:\([^)]*\))?\s+)*(?:(?:public|private|fileprivate|internal|open|static|class|"
                         r"final|override|mutating|nonisolated|convenience|required|isolated|dynamic)\s+)*"
                         r"(func\s+[^\s(<]+|init[?!]?|deinit|subscript|var\s+\w+)\b")


def swift_files(directory):
    for base, _, names in os.walk(os.path.join(ROOT, directory)):
        for name in sorted(names):
            if name.endswith(".swift"):
                yield os.path.relpath(os.path.join(base, name), ROOT)


def strip(line):
    """The line without string literals and comments, so braces inside them do not count."""
    line = re.sub(r'"(?:\\.|[^"\\])*"', '""', line)
    return line.split("//", 1)[0]


def functions(lines):
    """(name, first line number, length) of every declaration with a body of its own."""
    found = []
    for index, line in enumerate(lines):
        match = DECLARATION.match(line)
        if not match:
            continue
        # The body opens on this line or a following one (wrapped signatures), before any other statement.
        depth, opened, end = 0, False, None
        for position in range(index, len(lines)):
            text = strip(lines[position])
            if not opened:
                if position > index + 12 or (position > index and DECLARATION.match(lines[position])):
                    break
                if match.group(1).startswith("var") and "{" not in text:
                    break
            for character in text:
                if character == "{":
                    depth += 1
                    opened = True
                elif character == "}":
                    depth -= 1
                    if opened and depth == 0:
                        end = position
                        break
            if end is not None:
                break
        if end is not None:
            found.append((match.group(1), index + 1, end - index + 1))
    return found


def load_allowances():
    allowances = {}
    if os.path.exists(ALLOWANCES):
        for line in open(ALLOWANCES, encoding="utf-8"):
            line = line.strip()
            if line and not line.startswith("#"):
                key, size = line.rsplit(" ", 1)
                allowances[key] = int(size)
    return allowances


def main():
    problems = []
    allowances = load_allowances()
    used = set()

    def over(key, size, limit, where, what):
        if size <= limit:
            return
        allowed = allowances.get(key)
        used.add(key)
        if allowed is None:
            problems.append(f"{where}: {what} is {size} lines, over the limit of {limit}")
        elif size > allowed:
            problems.append(f"{where}: {what} grew to {size} lines; its allowance is {allowed} (limit {limit})")

    for path in swift_files("Sources"):
        lines = open(os.path.join(ROOT, path), encoding="utf-8").read().split("\n")
        over(path, len(lines) - (lines[-1] == ""), FILE_LIMIT, f"{path}:1", "the file")
        for name, line, length in functions(lines):
            over(f"{path}#{name}", length, FUNCTION_LIMIT, f"{path}:{line}", name)
    for path in [*swift_files("Sources"), *swift_files("Tests"), *swift_files("bench")]:
        in_text = False
        for number, line in enumerate(open(os.path.join(ROOT, path), encoding="utf-8").read().split("\n"), 1):
            quotes = line.count('"""')
            text = in_text or quotes > 0 or any(len(literal) > 80 for literal in LITERAL.findall(line))
            in_text = in_text != (quotes % 2 == 1)
            if len(line) > LINE_LIMIT and not text:
                problems.append(f"{path}:{number}: line of {len(line)} characters, over {LINE_LIMIT}")
            if "\t" in line:
                problems.append(f"{path}:{number}: tab")
            if line != line.rstrip():
                problems.append(f"{path}:{number}: trailing whitespace")
    for key in sorted(set(allowances) - used):
        problems.append(f"{ALLOWANCES}: {key} is within its limit now (or gone): remove its allowance")

    log = subprocess.run(["git", "-C", ROOT, "log", "--format=%h %s", f"{SUBJECTS_SINCE}..HEAD"],
                         capture_output=True, text=True)
    if log.returncode == 0:
        for entry in log.stdout.splitlines():
            commit, subject = entry.split(" ", 1)
            if len(subject) > SUBJECT_LIMIT:
                problems.append(f"commit {commit}: subject of {len(subject)} characters, over {SUBJECT_LIMIT}: {subject}")

    for problem in problems:
        print(problem)
    debt = sum(1 for key in allowances if key in used)
    print(f"lint: {len(problems)} problem(s); {debt} allowance(s) left to pay off in {os.path.relpath(ALLOWANCES, ROOT)}",
          file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
