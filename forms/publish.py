"""Publish definition files: record their sha256 in forms/published.yaml.

    python -m forms.publish documents/2-5.v2.yaml   # publish one new file
    python -m forms.publish --all                   # publish every unpublished file
    python -m forms.publish --check                 # exit 1 if anything is unpublished or changed

Publishing is one-way: an entry is never rewritten or removed here. Changing a published definition is
done by copying it to the next version (documents/2-5.v2.yaml), editing the copy and publishing that.
Dangerous: editing published.yaml by hand to "fix" a digest hides a change to a published form that
records already refer to.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from forms.loader import (FORMS_ROOT, MANIFEST, FormsError, definition_files, file_digest,
                          load_registry, read_manifest)

HEADER = ("# Published definitions: path -> sha256 (LF line endings). Never edit or remove a line;\n"
          "# a changed form is a new version file, added with `python -m forms.publish <path>`.\n")


def publish(paths: list[str], root: Path = FORMS_ROOT) -> list[str]:
    """Add ``paths`` (relative to ``root``) to the manifest. Returns the paths newly published.

    Refuses (FormsError) a path that is already published with a different digest, a path that is
    not a definition file, and any tree that does not load (a broken definition is never published).
    """
    manifest = read_manifest(root)
    files = set(definition_files(root))
    problems = []
    for rel in paths:
        if rel not in files:
            problems.append(f"{rel}: not a definition file under {root}")
        elif rel in manifest and manifest[rel] != file_digest(root / rel):
            problems.append(f"{rel}: already published with other content; make a new version")
    if problems:
        raise FormsError(problems)
    load_registry(root, allow_unpublished=True)
    added = [rel for rel in paths if rel not in manifest]
    for rel in added:
        manifest[rel] = file_digest(root / rel)
    lines = [f"{rel}: {manifest[rel]}" for rel in sorted(manifest)]
    (root / MANIFEST).write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    return added


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m forms.publish", description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="*", help="e.g. documents/2-5.v2.yaml")
    parser.add_argument("--all", action="store_true", help="publish every unpublished file")
    parser.add_argument("--check", action="store_true", help="only check; exit 1 on problems")
    args = parser.parse_args(argv)
    try:
        if args.check:
            load_registry()
            print("all definitions are published and unchanged")
            return 0
        paths = args.paths
        if args.all:
            paths = [r for r in definition_files(FORMS_ROOT) if r not in read_manifest(FORMS_ROOT)]
        for rel in publish(paths):
            print(f"published {rel}")
    except FormsError as exc:
        print(exc, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
