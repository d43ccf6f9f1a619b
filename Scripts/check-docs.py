#!/usr/bin/env python3
"""List the public API in Sources/ that has no `///` doc comment, and exit 1 if there is any.

A declaration is public when it is marked `public` or `open`, or when it sits without an access modifier in the
body of a `public protocol` (a requirement) or a `public extension`. It counts as documented when the nearest
non-attribute line above it is a `///` line or closes a `/** … */` block; attribute lines (`@inlinable`,
`@discardableResult`, …) may sit between the comment and the declaration.

Exempt, because DocC shows the documentation they inherit: `override`s of a documented superclass member, the
instance members of a conforming type that implement a documented requirement of one of the package's own public
protocols (`CPUBackend.upload` for `Backend.upload`), and the witnesses of standard-library and swift-argument-parser
requirements (`description`, `run()`, `init(argument:)`, …). Also exempt: extensions themselves (their members are
checked) and the cases of enums (the enum's comment says what they mean where it matters). Generated sources are
skipped.

Usage: python3 Scripts/check-docs.py [--count] [ROOT]   (ROOT defaults to the package root)
"""
import os
import re
import sys

GENERATED = {"tensorboard.pb.swift", "DigitsData.swift"}

KEYWORDS = r"(?:struct|class|enum|protocol|actor|func|init[?!]?|var|let|typealias|associatedtype|subscript|case|extension|macro)"
MODIFIERS = (r"(?:(?:public|open|private|fileprivate|internal|package)(?:\((?:set)\))?|static|class|final|override|"
             r"mutating|nonmutating|convenience|required|lazy|weak|unowned|indirect|nonisolated|dynamic|optional|"
             r"prefix|postfix|infix|isolated|consuming|borrowing|distributed)")
ATTRIBUTE = r"@[A-Za-z_][A-Za-z0-9_]*(?:\([^()]*(?:\([^()]*\)[^()]*)*\))?"
DECL = re.compile(rf"^\s*((?:{ATTRIBUTE}\s+)*)((?:{MODIFIERS}\s+)*)({KEYWORDS})\b\s*([A-Za-z_`][A-Za-z0-9_`]*|[^\sA-Za-z0-9_(<]+)?")
ATTRIBUTE_LINE = re.compile(rf"^\s*(?:{ATTRIBUTE}\s*)+$")

# Witnesses of protocols the package does not own: DocC shows the protocol's documentation for them.
INHERITED = {
    "description", "debugDescription", "errorDescription", "hash", "==", "<", "encode", "run", "validate",
    "configuration", "allValueStrings", "defaultValueDescription", "defaultCompletionKind", "makeIterator", "next",
    "startIndex", "endIndex", "index", "count", "rawValue", "allCases", "id",
}
INHERITED_INITS = ("init(argument:", "init?(argument:", "init(from decoder", "init(rawValue:", "init?(rawValue:")


def strip_strings_and_comments(line, in_block):
    """The line with string literals and comments removed (for brace counting), and the block-comment state."""
    out, i = [], 0
    while i < len(line):
        if in_block:
            end = line.find("*/", i)
            if end < 0:
                return "".join(out), True
            i, in_block = end + 2, False
        elif line.startswith("//", i):
            break
        elif line.startswith("/*", i):
            in_block, i = True, i + 2
        elif line[i] == '"':
            j = i + 1
            while j < len(line) and line[j] != '"':
                j += 2 if line[j] == "\\" else 1
            i = j + 1
        else:
            out.append(line[i])
            i += 1
    return "".join(out), in_block


def documented(lines, index):
    j = index - 1
    while j >= 0 and (ATTRIBUTE_LINE.match(lines[j]) or lines[j].strip().startswith("#if")
                      or lines[j].strip() in ("#else", "#endif")):
        j -= 1
    if j < 0:
        return False
    above = lines[j].strip()
    if above.startswith("///"):
        return True
    if above.endswith("*/"):
        # A block comment documents only when it opens with `/**`.
        while j > 0 and "/*" not in lines[j]:
            j -= 1
        return "/**" in lines[j]
    return False


def declarations(path):
    """(line index, keyword, name, code, is public, is exempt by rule, enclosing public protocol or None) per declaration."""
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    found = []
    # A stack of (depth at which the body opened, whether members without a modifier are public).
    scopes, depth, in_block, pending, pending_protocol = [], 0, False, None, None
    for n, line in enumerate(lines):
        code, was_in_block = line, in_block
        code, in_block = strip_strings_and_comments(line, in_block)
        m = None if was_in_block else DECL.match(code)
        if m:
            attrs, mods, keyword, name = m.group(1), m.group(2).split(), m.group(3), m.group(4) or ""
            access = next((x.split("(")[0] for x in mods if x.split("(")[0] in
                           ("public", "open", "private", "fileprivate", "internal", "package")), None)
            implicit = bool(scopes) and scopes[-1][1] and access is None
            is_public = access in ("public", "open") or implicit
            if keyword in ("struct", "class", "enum", "protocol", "actor", "extension"):
                pending = keyword in ("protocol", "extension") and access in ("public", "open")
                pending_protocol = name if keyword == "protocol" and pending else None
            exempt = (keyword in ("extension", "case") or "override" in mods
                      or name.strip("`") in INHERITED
                      or (keyword.startswith("init") and any(p in code for p in INHERITED_INITS)))
            protocol = scopes[-1][2] if scopes else None
            found.append((n, keyword, name.strip("`"), code.strip(), is_public, exempt, protocol,
                          "static" in mods or "class" in mods, documented(lines, n)))
        for ch in code:
            if ch == "{":
                depth += 1
                if pending is not None:
                    scopes.append((depth, pending, pending_protocol))
                    pending, pending_protocol = None, None
                elif scopes:
                    # Function and closure bodies inside a public scope declare nothing public.
                    scopes.append((depth, False, None))
            elif ch == "}":
                if scopes and scopes[-1][0] == depth:
                    scopes.pop()
                depth -= 1
    return found


def check(paths):
    """(path, line, label, code) for every public declaration without a doc comment that no rule exempts."""
    parsed = {path: declarations(path) for path in paths}
    # Requirements of the package's public protocols that carry a doc comment: their witnesses inherit it.
    requirements = {d[2] for decls in parsed.values() for d in decls if d[6] and d[8] and d[1] != "associatedtype"}
    missing = []
    for path, decls in parsed.items():
        for n, keyword, name, code, is_public, exempt, protocol, static, has_doc in decls:
            witness = protocol is None and not static and name in requirements
            if is_public and not exempt and not witness and not has_doc:
                missing.append((path, n + 1, f"{keyword} {name}".strip(), code))
    return missing


def main(argv):
    args = [a for a in argv[1:] if not a.startswith("--")]
    root = args[0] if args else os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    sources = os.path.join(root, "Sources")
    paths = [os.path.join(folder, name) for folder, _, files in sorted(os.walk(sources)) for name in sorted(files)
             if name.endswith(".swift") and name not in GENERATED]
    report = [f"{os.path.relpath(path, root)}:{line}: {label}: {code}" for path, line, label, code in check(paths)]
    for entry in report:
        print(entry)
    if "--count" in argv:
        print(f"{len(report)} public declarations without a doc comment")
    if report:
        print(f"check-docs: {len(report)} public declarations in Sources/ have no /// doc comment", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
