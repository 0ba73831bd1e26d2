"""Tests of tools/ecosystem.py itself: the YAML subset it reads and writes, and how a run is
compared with the expectations. Run: python3 -m unittest discover -s tests/ecosystem"""

import os
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "..", "tools"))
import ecosystem  # noqa: E402


def entry(verdict, count=1, severity="warning"):
    return {"count": count, "severity": severity, "verdict": verdict, "reason": "r"}


KEY_A = ("demo", "IPF404", "Deployment shop/cart", "/spec/replicas", "-")
KEY_B = ("demo", "IPF405", "Deployment shop/cart", "/spec/x", "-")
KEY_C = ("demo", "IPF105", "-", "-", "the target Istio 1.2 is old")


class SubsetTest(unittest.TestCase):
    def parse(self, text):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as handle:
            handle.write(text)
        try:
            return ecosystem.read_records(handle.name)
        finally:
            os.unlink(handle.name)

    def test_records_lists_and_quoted_strings(self):
        records = self.parse(
            '# comment\n- name: a\n  paths: [x/y, "z w"]\n  why: "says: \\"hi\\""\n'
            "\n- name: b  # trailing comment\n  args: []\n"
        )
        self.assertEqual([r["name"] for r in records], ["a", "b"])
        self.assertEqual(records[0]["paths"], ["x/y", "z w"])
        self.assertEqual(records[0]["why"], 'says: "hi"')
        self.assertEqual(records[1]["args"], [])

    def test_errors_name_the_line(self):
        for text, message in (
            ("  name: a\n", ":1: a key before the first"),
            ("- name: a\n  name: b\n", ":2: key 'name' given twice"),
            ("- name: 'a'\n", ":1: use double quotes"),
            ("- name a\n", ":1: expected 'key: value'"),
            ("- paths: [a\n", ":1: a flow list must end"),
        ):
            with self.assertRaises(ecosystem.FormatError) as caught:
                self.parse(text)
            self.assertIn(message, str(caught.exception))

    def test_quote_round_trips(self):
        for value in ("plain text", "-", "a: b", "# x", "x #y", '"q"', "[l]", "é ü", "ends:"):
            records = self.parse(f"- v: {ecosystem.quote(value)}\n")
            self.assertEqual(records[0]["v"], value, value)


class CompareTest(unittest.TestCase):
    def test_new_gone_and_counts(self):
        found = {KEY_A: (3, "warning"), KEY_C: (1, "warning")}
        expected = {KEY_A: entry("false", count=2), KEY_B: entry("true")}
        new, gone, _, table, _ = ecosystem.compare(found, expected)
        self.assertEqual(new, [(KEY_A, 1), (KEY_C, 1)])
        self.assertEqual(gone, [(KEY_B, 1)])
        self.assertEqual(table["IPF404"]["false"], 2)
        self.assertEqual(table["IPF404"]["unreviewed"], 1)
        self.assertEqual(table["IPF105"]["unreviewed"], 1)

    def test_fewer_than_expected_is_gone(self):
        new, gone, _, _, _ = ecosystem.compare({KEY_A: (1, "warning")}, {KEY_A: entry("true", 3)})
        self.assertEqual((new, gone), ([], [(KEY_A, 2)]))

    def test_false_errors_and_severity_changes(self):
        found = {KEY_B: (1, "error"), KEY_A: (1, "error")}
        expected = {KEY_B: entry("false", severity="error"), KEY_A: entry("debatable")}
        _, _, changed, table, false_errors = ecosystem.compare(found, expected)
        self.assertEqual(false_errors, [(KEY_B, 1)])
        self.assertEqual(changed, [(KEY_A, "warning", "error")])
        self.assertEqual(table["IPF404"]["debatable"], 1)

    def test_precision_row(self):
        row = ecosystem.Counter(true=3, false=1, debatable=5)
        self.assertIn("75.0%", ecosystem.format_row("IPF1", row))
        self.assertTrue(ecosystem.format_row("IPF2", ecosystem.Counter(debatable=1)).rstrip().endswith("-"))

    def test_finding_keys(self):
        diagnostic = {"code": "IPF404", "message": "m", "field": "/spec/replicas",
                      "object": {"kind": "Deployment", "namespace": "shop", "name": "cart"}}
        self.assertEqual(ecosystem.finding_key("demo", diagnostic), KEY_A)
        estate = {"code": "IPF105", "message": "the target  Istio 1.2\nis old", "object": None, "field": None}
        self.assertEqual(ecosystem.finding_key("demo", estate), KEY_C)


if __name__ == "__main__":
    unittest.main()
