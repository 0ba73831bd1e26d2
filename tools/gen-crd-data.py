#!/usr/bin/env python3
"""Regenerate the CRD-derived data under rules/ from Istio's generated CRD bundles.

Maintainer tool. It is NOT needed to build, test or run istio-preflight: its
outputs are committed, and the Rust build only embeds them. Re-run it when an
Istio release is added (see rules/README.md, "Adding an Istio release").

Inputs (from the shared corpus, default ../shared/corpus relative to the repo):
  istio-crds/<version>/crd-all.gen.yaml   Istio's CRD bundle, one per release
  PROVENANCE.tsv                          commit and source path of each bundle
  LICENSES/Apache-2.0.txt                 licence text copied to rules/LICENSES/
and rules/releases.yaml, whose `releases[].minor` list says which minors to emit.

Outputs:
  rules/crds.yaml                  per release: CRDs, served/storage/deprecated versions
  rules/schemas/index.yaml         release -> CRD -> version -> schema file
  rules/schemas/<crd>/<hash>.json  each distinct openAPIV3Schema of a CRD, stored once
  rules/LICENSES/Apache-2.0.txt    copied from the corpus

For each minor the newest bundle in the corpus is used: the highest patch tag
(e.g. istio-crds/1.30.3), or `<minor>-dev` (head of the release branch) when no
final tag of that minor is in the corpus. `master` is never used.

Requires Python 3.8+ and PyYAML (`pip install pyyaml`).
"""

import argparse
import csv
import hashlib
import json
import os
import re
import shutil
import sys

try:
    import yaml
except ImportError:  # pragma: no cover - maintainer convenience
    sys.exit("PyYAML is required: pip install pyyaml")

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
RULES_DIR = os.path.join(REPO_ROOT, "rules")
SCHEMAS_DIR = os.path.join(RULES_DIR, "schemas")
SIZE_BUDGET = 6_000_000  # bytes for all schema JSON files together
HASH_LEN = 10

VERSION_DIR = re.compile(r"^(\d+)\.(\d+)(?:\.(\d+)|-dev)$")


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument(
        "--corpus",
        default=os.path.join(REPO_ROOT, "..", "shared", "corpus"),
        help="path to the shared corpus (default: ../shared/corpus next to the repo)",
    )
    p.add_argument(
        "--strip-descriptions",
        choices=["auto", "always", "never"],
        default="auto",
        help="drop schema `description` keywords; auto = only if the schemas exceed %d bytes"
        % SIZE_BUDGET,
    )
    p.add_argument("--check", action="store_true",
                   help="do not write; exit 1 if the generated files differ from rules/")
    return p.parse_args()


def minor_key(minor):
    a, b = minor.split(".")
    return (int(a), int(b))


def wanted_minors():
    with open(os.path.join(RULES_DIR, "releases.yaml")) as f:
        data = yaml.safe_load(f)
    return [r["minor"] for r in data["releases"]]


def read_provenance(corpus):
    rows = {}
    with open(os.path.join(corpus, "PROVENANCE.tsv"), newline="") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            path = row["corpus_path"]
            if path.startswith("istio-crds/") and path.endswith("/crd-all.gen.yaml"):
                rows[path.split("/")[1]] = row
    return rows


def pick_bundles(corpus, minors):
    """Return {minor: corpus_dir_name}, newest bundle per wanted minor."""
    best = {}
    for name in os.listdir(os.path.join(corpus, "istio-crds")):
        m = VERSION_DIR.match(name)
        if not m:
            continue
        minor = "%s.%s" % (m.group(1), m.group(2))
        # A final tag always beats -dev; otherwise the higher patch wins.
        rank = (1, int(m.group(3))) if m.group(3) is not None else (0, 0)
        if minor not in best or rank > best[minor][0]:
            best[minor] = (rank, name)
    missing = [m for m in minors if m not in best]
    if missing:
        sys.exit("no CRD bundle in %s/istio-crds for: %s" % (corpus, ", ".join(missing)))
    return {m: best[m][1] for m in minors}


def source_ref(prov_row):
    # source_path looks like "manifests/charts/base/files/crd-all.gen.yaml (tag/branch 1.30.3)"
    m = re.match(r"^(\S+) \(tag/branch (\S+)\)$", prov_row["source_path"])
    if not m:
        sys.exit("unexpected PROVENANCE source_path: %r" % prov_row["source_path"])
    return m.group(1), m.group(2)


def strip_descriptions(schema):
    """Remove the `description` keyword everywhere, but not properties named `description`."""
    if isinstance(schema, list):
        return [strip_descriptions(x) for x in schema]
    if not isinstance(schema, dict):
        return schema
    out = {}
    for k, v in schema.items():
        if k == "description":
            continue
        if k in ("properties", "patternProperties", "definitions") and isinstance(v, dict):
            out[k] = {name: strip_descriptions(sub) for name, sub in v.items()}
        else:
            out[k] = strip_descriptions(v)
    return out


def canonical(obj):
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def yaml_scalar(v):
    """Render a scalar or a flat list the way the hand-written rules files do."""
    if v is None:
        return "null"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list):
        return "[" + ", ".join(yaml_scalar(x) for x in v) + "]"
    s = str(v)
    if re.match(r"^[A-Za-z][A-Za-z0-9._/-]*$", s) and s not in ("true", "false", "null", "yes", "no", "on", "off"):
        return s
    return json.dumps(s)


def load_bundle(path):
    with open(path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d]
    crds = [d for d in docs if d.get("kind") == "CustomResourceDefinition"]
    crds.sort(key=lambda c: (c["spec"]["group"], c["spec"]["names"]["kind"]))
    return crds


def main():
    args = parse_args()
    corpus = os.path.abspath(args.corpus)
    minors = sorted(wanted_minors(), key=minor_key)
    prov = read_provenance(corpus)
    bundles = pick_bundles(corpus, minors)

    releases = []   # for crds.yaml
    schemas = {}    # (crd_name, version, hash) -> schema object
    index = []      # for schemas/index.yaml
    for minor in minors:
        d = bundles[minor]
        row = prov.get(d)
        if row is None:
            sys.exit("istio-crds/%s has no row in PROVENANCE.tsv" % d)
        src_path, ref = source_ref(row)
        crds = load_bundle(os.path.join(corpus, "istio-crds", d, "crd-all.gen.yaml"))
        rel_crds, rel_index = [], []
        for c in crds:
            spec, names = c["spec"], c["spec"]["names"]
            versions = spec["versions"]
            storage = [v["name"] for v in versions if v.get("storage")]
            if len(storage) != 1:
                sys.exit("%s in %s: expected one storage version, got %s" % (c["metadata"]["name"], d, storage))
            entry = {
                "name": c["metadata"]["name"],
                "group": spec["group"],
                "kind": names["kind"],
                "plural": names["plural"],
                "singular": names.get("singular"),
                "short_names": names.get("shortNames") or [],
                "scope": spec["scope"],
                "served": [v["name"] for v in versions if v.get("served")],
                "not_served": [v["name"] for v in versions if not v.get("served")],
                "storage": storage[0],
                "deprecated": [v["name"] for v in versions if v.get("deprecated")],
            }
            warnings = {v["name"]: v["deprecationWarning"] for v in versions if v.get("deprecationWarning")}
            if warnings:
                entry["deprecation_warnings"] = warnings
            rel_crds.append(entry)
            files = {}
            for v in versions:
                schema = v.get("schema", {}).get("openAPIV3Schema")
                if schema is None:
                    continue
                files[v["name"]] = schema
            rel_index.append((entry["name"], files))
        releases.append({
            "minor": minor, "corpus_dir": d, "ref": ref, "commit": row["commit"],
            "path": src_path, "crds": rel_crds,
        })
        index.append((minor, ref, row["commit"], rel_index))

    # Decide on stripping, then hash and deduplicate.
    def build(strip):
        files, idx = {}, []
        for minor, ref, commit, rel_index in index:
            rel = []
            for crd_name, versions in rel_index:
                vmap = {}
                for vname, schema in versions.items():
                    s = strip_descriptions(schema) if strip else schema
                    h = hashlib.sha256(canonical(s).encode()).hexdigest()[:HASH_LEN]
                    rel_path = "%s/%s.json" % (crd_name, h)
                    prev = files.get(rel_path)
                    if prev is not None and canonical(prev) != canonical(s):
                        sys.exit("hash collision on %s; raise HASH_LEN" % rel_path)
                    files[rel_path] = s
                    vmap[vname] = rel_path
                rel.append((crd_name, vmap))
            idx.append((minor, ref, commit, rel))
        rendered = {p: json.dumps(s, indent=1, ensure_ascii=False) + "\n" for p, s in files.items()}
        return rendered, idx

    strip = args.strip_descriptions == "always"
    rendered, idx = build(strip)
    total = sum(len(t.encode()) for t in rendered.values())
    if args.strip_descriptions == "auto" and total > SIZE_BUDGET:
        strip = True
        rendered, idx = build(True)
        total = sum(len(t.encode()) for t in rendered.values())

    outputs = {
        os.path.join(RULES_DIR, "crds.yaml"): render_crds(releases),
        os.path.join(SCHEMAS_DIR, "index.yaml"): render_index(idx, strip, len(rendered), total),
    }
    for p, text in rendered.items():
        outputs[os.path.join(SCHEMAS_DIR, p)] = text
    with open(os.path.join(corpus, "LICENSES", "Apache-2.0.txt")) as f:
        outputs[os.path.join(RULES_DIR, "LICENSES", "Apache-2.0.txt")] = f.read()

    stale = []
    if os.path.isdir(SCHEMAS_DIR):
        for root, _, fnames in os.walk(SCHEMAS_DIR):
            for fn in fnames:
                full = os.path.join(root, fn)
                if fn.endswith(".json") and full not in outputs:
                    stale.append(full)

    if args.check:
        differ = [p for p, t in outputs.items() if not os.path.exists(p) or open(p).read() != t]
        for p in differ + stale:
            print("out of date: %s" % os.path.relpath(p, REPO_ROOT))
        sys.exit(1 if differ or stale else 0)

    for p, text in outputs.items():
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, "w") as f:
            f.write(text)
    for p in stale:
        os.remove(p)
    for root, dirs, fnames in os.walk(SCHEMAS_DIR, topdown=False):
        if not dirs and not fnames:
            os.rmdir(root)
    print("wrote rules/crds.yaml (%d releases), %d schema files (%d bytes%s), removed %d stale"
          % (len(releases), len(rendered), total, ", descriptions stripped" if strip else "", len(stale)))


HEADER = """\
# GENERATED by tools/gen-crd-data.py from Istio's CRD bundles. Do not edit by hand;
# re-run the generator (see rules/README.md).
#
# Derived from istio/istio (https://github.com/istio/istio), Copyright Istio Authors,
# licensed under the Apache License 2.0 (rules/LICENSES/Apache-2.0.txt, rules/NOTICE.md).
# Source file per release: manifests/charts/base/crds/crd-all.gen.yaml up to 1.23,
# manifests/charts/base/files/crd-all.gen.yaml from 1.24; ref and commit are given
# per release below. Each release uses the newest patch of that minor in the corpus
# (served/storage versions were checked to be identical across all patches of each
# minor 1.18-1.30 when this data was first generated).
"""


def render_crds(releases):
    out = [HEADER, "#\n",
           "# Per CRD: name, group, kind, plural, singular, short_names, scope,\n",
           "# served (versions with served: true), not_served, storage (the one storage version),\n",
           "# deprecated (versions marked deprecated: true), deprecation_warnings (if any).\n",
           "schema_version: 1\n", "releases:\n"]
    for r in releases:
        out.append("  - minor: %s\n" % json.dumps(r["minor"]))
        out.append("    ref: %s\n" % json.dumps(r["ref"]))
        out.append("    commit: %s\n" % r["commit"])
        out.append("    source: istio/istio@%s:%s\n" % (r["ref"], r["path"]))
        out.append("    crds:\n")
        for c in r["crds"]:
            fields = ["name", "group", "kind", "plural", "singular", "short_names", "scope",
                      "served", "not_served", "storage", "deprecated"]
            body = ", ".join("%s: %s" % (k, yaml_scalar(c[k])) for k in fields)
            if c.get("deprecation_warnings"):
                body += ", deprecation_warnings: {%s}" % ", ".join(
                    "%s: %s" % (v, json.dumps(w)) for v, w in sorted(c["deprecation_warnings"].items()))
            out.append("      - {%s}\n" % body)
    return "".join(out)


def render_index(idx, stripped, nfiles, total):
    out = [HEADER.replace("Istio's CRD bundles", "Istio's CRD bundles (openAPIV3Schema of every served CRD version)"),
           "#\n",
           "# Maps release -> CRD name -> API version -> schema file (relative to rules/schemas/).\n",
           "# Identical schemas are stored once (across API versions and releases of a CRD): the file\n",
           "# name is the first %d hex digits of sha256 over the canonical JSON (sorted keys, no\n" % HASH_LEN,
           "# whitespace), so two versions mapping to the same file have identical schemas.\n",
           "# Each file is the CRD's spec.versions[].schema.openAPIV3Schema exactly as Istio ships it,\n",
           "# including x-kubernetes-* extensions (preserve-unknown-fields, int-or-string, list-type,\n",
           "# validations). Kubernetes adds apiVersion, kind and metadata implicitly; they are not in\n",
           "# the files. See rules/README.md for how strict unknown-field checking must be applied.\n",
           "# description keywords: %s\n" % ("STRIPPED to stay under the size budget" if stripped else "kept"),
           "# %d files, %d bytes.\n" % (nfiles, total),
           "schema_version: 1\n",
           "descriptions_stripped: %s\n" % ("true" if stripped else "false"),
           "releases:\n"]
    for minor, ref, commit, rel in idx:
        out.append("  %s:\n" % json.dumps(minor))
        out.append("    ref: %s\n" % json.dumps(ref))
        out.append("    commit: %s\n" % commit)
        out.append("    crds:\n")
        for crd_name, vmap in rel:
            out.append("      %s:\n" % crd_name)
            for vname in sorted(vmap):
                out.append("        %s: %s\n" % (vname, vmap[vname]))
    return "".join(out)


if __name__ == "__main__":
    main()
