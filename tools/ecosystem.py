#!/usr/bin/env python3
"""The ecosystem check: run the release binary over real repositories and compare its
findings with reviewed verdicts (as ruff's ecosystem check does for ruff).

    python3 tools/ecosystem.py            build, run, compare; exit 1 on new/gone/unreviewed
    python3 tools/ecosystem.py --update   also rewrite the expectations: new findings are
                                          added as `unreviewed`, gone ones are dropped

Inputs (paths under the corpus and the versions each is checked with) are listed in
tests/ecosystem/inputs.yaml; the reviewed findings are in tests/ecosystem/expected.yaml.
Both use a small YAML subset this script reads itself, so nothing beyond python3 and
cargo is needed. README "Ecosystem check" says how to review.
"""

import argparse
import concurrent.futures
import json
import os
import subprocess
import sys
from collections import Counter, OrderedDict

sys.dont_write_bytecode = True

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The run date the release data is judged against (end of life, IPF105). Pinned so that the
# check does not change with the calendar; move it forward on purpose and review the diff.
TODAY = "2026-12-01"
VERDICTS = ("true", "false", "debatable", "unreviewed")
# The fields that identify a finding: line numbers move, these do not.
IDENTITY = ("input", "code", "object", "field", "subject")


class FormatError(Exception):
    pass


# ---------------------------------------------------------------------------------------
# The YAML subset of inputs.yaml and expected.yaml: a top-level list of flat mappings.
#   - key: value          a record starts with "- "
#     key: value          further keys indented by two spaces
#     key: [a, "b c"]     a flow list of scalars
# A value is plain text or a JSON-style double-quoted string; lines starting with "#"
# (after indentation) are comments.
def parse_scalar(text, where):
    text = text.strip()
    if text.startswith('"'):
        try:
            value, end = json.JSONDecoder().raw_decode(text)
        except json.JSONDecodeError as err:
            raise FormatError(f"{where}: bad double-quoted string: {err}") from None
        rest = text[end:].strip()
        if rest and not rest.startswith("#"):
            raise FormatError(f"{where}: unexpected text after the string: {rest!r}")
        return value
    if text.startswith("'"):
        raise FormatError(f"{where}: use double quotes (JSON style), not single quotes")
    if " #" in text:
        text = text[: text.index(" #")].rstrip()
    return text


def parse_flow_list(text, where):
    inner = text.strip()
    if not inner.endswith("]"):
        raise FormatError(f"{where}: a flow list must end with ']'")
    inner = inner[1:-1].strip()
    items = []
    while inner:
        if inner.startswith('"'):
            try:
                value, end = json.JSONDecoder().raw_decode(inner)
            except json.JSONDecodeError as err:
                raise FormatError(f"{where}: bad string in list: {err}") from None
            items.append(value)
            inner = inner[end:].strip()
        else:
            end = inner.find(",")
            end = len(inner) if end < 0 else end
            items.append(inner[:end].strip())
            inner = inner[end:]
        if inner.startswith(","):
            inner = inner[1:].strip()
        elif inner:
            raise FormatError(f"{where}: expected ',' in list, found {inner!r}")
    return items


def read_records(path):
    records = []
    with open(path, encoding="utf-8") as handle:
        for number, line in enumerate(handle, 1):
            where = f"{os.path.relpath(path)}:{number}"
            stripped = line.strip()
            if not stripped or stripped.startswith("#"):
                continue
            if line.startswith("- "):
                records.append(OrderedDict(_line=number))
                body = line[2:]
            elif line.startswith("  ") and not line.startswith("   "):
                if not records:
                    raise FormatError(f"{where}: a key before the first '- ' record")
                body = line[2:]
            else:
                raise FormatError(f"{where}: expected '- key: value' or '  key: value'")
            key, sep, value = body.partition(":")
            key = key.strip()
            if not sep or not key or " " in key:
                raise FormatError(f"{where}: expected 'key: value', found {body.strip()!r}")
            if key in records[-1]:
                raise FormatError(f"{where}: key {key!r} given twice in one record")
            value = value.strip()
            if value.startswith("["):
                records[-1][key] = parse_flow_list(value, where)
            else:
                records[-1][key] = parse_scalar(value, where)
    return records


def quote(value):
    """A scalar as the subset writes it: plain when unambiguous, else double-quoted."""
    text = str(value)
    plain_ok = (
        text
        and text == text.strip()
        and not text[0] in "\"'[]{}&*!|>%@`#,-?:"
        and ": " not in text
        and " #" not in text
        and not text.endswith(":")
    )
    return text if plain_ok else json.dumps(text, ensure_ascii=False)


# ---------------------------------------------------------------------------------------
def load_inputs(path, corpus):
    inputs = []
    names = set()
    for record in read_records(path):
        where = f"{os.path.relpath(path)}:{record['_line']}"
        for key in ("name", "paths", "why"):
            if key not in record:
                raise FormatError(f"{where}: input needs '{key}'")
        unknown = set(record) - {"_line", "name", "paths", "args", "why"}
        if unknown:
            raise FormatError(f"{where}: unknown key(s) {sorted(unknown)}")
        if record["name"] in names:
            raise FormatError(f"{where}: input name {record['name']!r} used twice")
        names.add(record["name"])
        paths = record["paths"] if isinstance(record["paths"], list) else [record["paths"]]
        args = record.get("args", [])
        if not isinstance(args, list):
            raise FormatError(f"{where}: 'args' must be a list")
        for rel in paths:
            if not os.path.exists(os.path.join(corpus, rel)):
                raise FormatError(f"{where}: {rel} does not exist under {corpus}")
        inputs.append({"name": record["name"], "paths": paths, "args": args})
    return inputs


def load_expected(path):
    entries = OrderedDict()
    if not os.path.exists(path):
        return entries
    for record in read_records(path):
        where = f"{os.path.relpath(path)}:{record['_line']}"
        for key in ("input", "code", "object", "verdict", "reason"):
            if key not in record:
                raise FormatError(f"{where}: finding needs '{key}'")
        unknown = set(record) - {"_line", "severity", "count", *IDENTITY, "verdict", "reason"}
        if unknown:
            raise FormatError(f"{where}: unknown key(s) {sorted(unknown)}")
        if record["verdict"] not in VERDICTS:
            raise FormatError(f"{where}: verdict must be one of {', '.join(VERDICTS)}")
        if record["verdict"] != "unreviewed" and not record["reason"].strip():
            raise FormatError(f"{where}: a reviewed verdict needs a reason")
        key = tuple(record.get(k, "-") for k in IDENTITY)
        if key in entries:
            raise FormatError(f"{where}: the same finding is listed twice")
        try:
            count = int(record.get("count", "1"))
        except ValueError:
            raise FormatError(f"{where}: count must be a number") from None
        entries[key] = {
            "count": count,
            "severity": record.get("severity", "-"),
            "verdict": record["verdict"],
            "reason": record["reason"],
        }
    return entries


def finding_key(name, diagnostic):
    obj = diagnostic.get("object")
    if obj:
        namespace = obj.get("namespace") or ""
        label = f"{obj['kind']} {namespace + '/' if namespace else ''}{obj['name']}"
        if obj.get("cluster"):
            label = f"{obj['cluster']}: {label}"
        # An object and field already say what the finding is about.
        subject = "-"
    else:
        # Estate-level findings have no object; their message says what they are about.
        label = "-"
        subject = " ".join(diagnostic["message"].split())
    return (name, diagnostic["code"], label, diagnostic.get("field") or "-", subject)


def run_input(binary, corpus, item):
    command = [binary, "check", "--no-config", "--format", "json", "--fail-on", "never"]
    command += item["args"] + [os.path.join(corpus, p) for p in item["paths"]]
    env = dict(os.environ, ISTIO_PREFLIGHT_TODAY=TODAY)
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    if proc.returncode != 0:
        raise RuntimeError(
            f"input {item['name']}: `{' '.join(command)}` exited {proc.returncode}\n"
            f"{proc.stderr.strip()}"
        )
    try:
        report = json.loads(proc.stdout)
    except json.JSONDecodeError as err:
        raise RuntimeError(f"input {item['name']}: the JSON report does not parse: {err}")
    return report["diagnostics"]


def build_binary():
    print("ecosystem: building the release binary (cargo build --release --locked)", flush=True)
    subprocess.run(["cargo", "build", "--release", "--locked", "--quiet"], cwd=ROOT, check=True)
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
    return os.path.join(target, "release", "istio-preflight")


def write_expected(path, inputs, found, messages, expected):
    order = {item["name"]: index for index, item in enumerate(inputs)}
    lines = [
        "# Reviewed findings of the ecosystem check (tools/ecosystem.py; README \"Ecosystem check\").",
        "# One entry per finding, identified by input, code, object (Kind namespace/name), field",
        "# and, for findings without an object, subject (the message). verdict: true | false |",
        "# debatable | unreviewed, with a one-line reason as the repository's owner would judge it.",
        "# `--update` adds new findings as unreviewed and drops gone ones; the comment under each",
        "# entry is the current message, for the reviewer.",
    ]
    for key in sorted(found, key=lambda k: (order.get(k[0], 1 << 30), k[1:])):
        count, severity = found[key]
        old = expected.get(key, {"verdict": "unreviewed", "reason": ""})
        lines.append("")
        for field, value in zip(IDENTITY, key):
            if field != "subject" or value != "-":
                lines.append(f"{'- ' if field == 'input' else '  '}{field}: {quote(value)}")
        lines.append(f"  severity: {severity}")
        if count != 1:
            lines.append(f"  count: {count}")
        lines.append(f"  verdict: {old['verdict']}")
        lines.append(f"  reason: {json.dumps(old['reason'], ensure_ascii=False)}")
        if key[4] == "-":
            lines.append(f"  # {messages[key]}")
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def compare(found, expected):
    """Run findings ({key: (count, severity)}) against the expectations: the new and gone
    findings (key, how many), severity changes, verdict counts per rule, false errors."""
    new, gone, changed = [], [], []
    for key, (count, severity) in found.items():
        before = expected.get(key)
        if before is None:
            new.append((key, count))
        elif count > before["count"]:
            new.append((key, count - before["count"]))
        elif count < before["count"]:
            gone.append((key, before["count"] - count))
        if before is not None and before["severity"] not in ("-", severity):
            changed.append((key, before["severity"], severity))
    for key, before in expected.items():
        if key not in found:
            gone.append((key, before["count"]))

    # Precision per rule over the findings of this run that carry a verdict.
    table = {}
    false_errors = []
    for key, (count, severity) in found.items():
        verdict = expected[key]["verdict"] if key in expected else "unreviewed"
        if key in expected and count > expected[key]["count"]:
            table.setdefault(key[1], Counter())["unreviewed"] += count - expected[key]["count"]
            count = expected[key]["count"]
        table.setdefault(key[1], Counter())[verdict] += count
        if verdict == "false" and severity == "error":
            false_errors.append((key, count))

    return new, gone, changed, table, false_errors


def describe(key):
    name, code, label, field, subject = key
    text = f"{name}  {code}  {label}"
    if field != "-":
        text += f"  {field}"
    if subject != "-":
        text += f"  [{subject[:160]}]"
    return text


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--update", action="store_true",
                        help="rewrite the expectations: add new findings as unreviewed, drop gone ones")
    parser.add_argument("--binary", help="use this istio-preflight binary instead of building the release one")
    parser.add_argument("--corpus", default=os.path.join(ROOT, "..", "shared", "corpus"),
                        help="the corpus folder (default: ../shared/corpus)")
    parser.add_argument("--inputs", default=os.path.join(ROOT, "tests", "ecosystem", "inputs.yaml"))
    parser.add_argument("--expected", default=os.path.join(ROOT, "tests", "ecosystem", "expected.yaml"))
    parser.add_argument("--jobs", type=int, default=2, help="inputs checked at once (default 2)")
    options = parser.parse_args()

    corpus = os.path.normpath(options.corpus)
    if not os.path.isdir(os.path.join(corpus, "apps")):
        print(f"ecosystem: skipped: no corpus at {corpus} (the check needs ../shared/corpus)")
        return 0
    try:
        inputs = load_inputs(options.inputs, corpus)
        expected = load_expected(options.expected)
    except (FormatError, OSError) as err:
        print(f"ecosystem: {err}", file=sys.stderr)
        return 2
    binary = options.binary or build_binary()

    found = {}
    messages = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, options.jobs)) as pool:
        runs = {item["name"]: pool.submit(run_input, binary, corpus, item) for item in inputs}
        try:
            results = {name: run.result() for name, run in runs.items()}
        except (RuntimeError, OSError, subprocess.TimeoutExpired) as err:
            print(f"ecosystem: {err}", file=sys.stderr)
            return 2
    counts = Counter()
    severities = {}
    for item in inputs:
        for diagnostic in results[item["name"]]:
            key = finding_key(item["name"], diagnostic)
            counts[key] += 1
            severities.setdefault(key, diagnostic["severity"])
            messages.setdefault(key, " ".join(diagnostic["message"].split()))
    for key, count in counts.items():
        found[key] = (count, severities[key])

    new, gone, changed, table, false_errors = compare(found, expected)

    print(f"ecosystem: {len(inputs)} inputs, {sum(counts.values())} findings")
    print(f"{'rule':<8} {'findings':>8} {'true':>5} {'false':>5} {'debat.':>6} {'unrev.':>6} {'precision':>9}")
    total = Counter()
    for code in sorted(table):
        row = table[code]
        total.update(row)
        print(format_row(code, row))
    print(format_row("all", total))
    print(f"false findings of severity error: {sum(c for _, c in false_errors)}")
    for key, count in false_errors:
        print(f"  false error: {describe(key)}" + (f" (x{count})" if count > 1 else ""))
    for key, before, after in sorted(changed):
        print(f"  severity {before} -> {after}: {describe(key)}")
    for title, rows in (("new (not in the expectations)", new), ("gone (expected, not found)", gone)):
        if rows:
            print(f"{title}: {sum(c for _, c in rows)}")
            for key, count in sorted(rows):
                print(f"  {describe(key)}" + (f" (x{count})" if count > 1 else ""))
                if key in messages and key[4] == "-":
                    print(f"      {messages[key][:300]}")
    unreviewed = total["unreviewed"]

    if options.update:
        write_expected(options.expected, inputs, found, messages, expected)
        print(f"ecosystem: wrote {os.path.relpath(options.expected)}; review every `unreviewed` entry")
    if new or gone or unreviewed:
        print(f"ecosystem: FAILED: {sum(c for _, c in new)} new, {sum(c for _, c in gone)} gone, "
              f"{unreviewed} unreviewed (run `python3 tools/ecosystem.py --update`, then review)")
        return 1
    print("ecosystem: ok: every finding matches a reviewed verdict")
    return 0


def format_row(code, row):
    judged = row["true"] + row["false"]
    precision = f"{100 * row['true'] / judged:.1f}%" if judged else "-"
    findings = sum(row.values())
    return (f"{code:<8} {findings:>8} {row['true']:>5} {row['false']:>5} {row['debatable']:>6} "
            f"{row['unreviewed']:>6} {precision:>9}")


if __name__ == "__main__":
    sys.exit(main())
