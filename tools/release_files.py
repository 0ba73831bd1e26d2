#!/usr/bin/env python3
"""Files the release workflow derives from the archives tools/package.sh built.

  release_files.py checksums --version 0.1.0 DIST
      prints action/checksums.txt lines `<version> <target> <sha256>`, one per archive
  release_files.py krew --version 0.1.0 DIST [--template T] [--output FILE]
      renders the krew manifest template (plugins/istio-preflight.yaml): @VERSION@ and
      @SHA256:<target>@ become the version and each archive's SHA-256

Each archive's SHA-256 is computed here and must equal its `.sha256` file (written by
package.sh on the build runner); every target the template names must have an archive.
"""

import argparse
import hashlib
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE = ROOT / "plugins" / "istio-preflight.yaml"
VERSION = re.compile(r"^[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.]+)?$")


class ReleaseError(Exception):
    pass


def archives(version, dist):
    """{target: sha256} of the archives for `version` in `dist`, checked against .sha256."""
    prefix = f"istio-preflight-v{version}-"
    found = {}
    for path in sorted(Path(dist).iterdir()):
        name = path.name
        if not name.startswith(prefix) or not name.endswith((".tar.gz", ".zip")):
            continue
        target = name[len(prefix) :].removesuffix(".tar.gz").removesuffix(".zip")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        sum_file = path.with_name(name + ".sha256")
        if not sum_file.is_file():
            raise ReleaseError(f"{name}: no {sum_file.name} beside it")
        recorded = sum_file.read_text().split()
        if recorded[:2] != [digest, name]:
            raise ReleaseError(f"{name}: SHA-256 is {digest}, {sum_file.name} says {' '.join(recorded)}")
        if target in found:
            raise ReleaseError(f"two archives for {target}")
        found[target] = digest
    if not found:
        raise ReleaseError(f"no istio-preflight-v{version}-* archives in {dist}")
    return found


def checksum_lines(version, sums):
    return "".join(f"{version} {target} {digest}\n" for target, digest in sorted(sums.items()))


def render_krew(template, version, sums):
    def sha(match):
        target = match.group(1)
        if target not in sums:
            raise ReleaseError(f"the krew template names {target}, which has no archive")
        return sums[target]

    text = re.sub(r"@SHA256:([A-Za-z0-9_.-]+)@", sha, template).replace("@VERSION@", version)
    left = re.search(r"@[A-Z0-9_:.-]+@", text)
    if left:
        raise ReleaseError(f"placeholder {left.group(0)} left in the krew manifest")
    return text


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("checksums", "krew"):
        p = sub.add_parser(name)
        p.add_argument("--version", required=True)
        p.add_argument("dist")
        if name == "krew":
            p.add_argument("--template", default=str(TEMPLATE))
            p.add_argument("--output")
    args = parser.parse_args(argv)
    version = args.version.removeprefix("v")
    try:
        if not VERSION.match(version):
            raise ReleaseError(f"version {args.version!r} is not like 0.1.0")
        sums = archives(version, args.dist)
        if args.command == "checksums":
            sys.stdout.write(checksum_lines(version, sums))
        else:
            text = render_krew(Path(args.template).read_text(), version, sums)
            if args.output:
                Path(args.output).write_text(text)
            else:
                sys.stdout.write(text)
    except (ReleaseError, OSError) as e:
        print(f"release_files: error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
