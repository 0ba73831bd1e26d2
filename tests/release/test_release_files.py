"""tools/release_files.py and the release naming the workflow, install.sh, binstall and the
krew manifest must share. Run: python3 -m unittest discover -s tests/release"""

import hashlib
import re
import sys
import tempfile
import tomllib
import unittest
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tools"))
import release_files  # noqa: E402

try:
    import yaml
except ImportError:  # .ci/run installs PyYAML
    yaml = None

VERSION = "1.2.3"


def workflow_targets():
    text = (ROOT / ".github/workflows/release.yml").read_text()
    return re.findall(r"^\s+- target: (\S+)$", text, re.M)


def install_sh_targets():
    text = (ROOT / "action/install.sh").read_text()
    return re.findall(r'target="([a-z0-9_-]+)" ;;', text)


def archive_name(target):
    """The name tools/package.sh gives an archive (read from the script, not assumed)."""
    script = (ROOT / "tools/package.sh").read_text()
    assert 'name="istio-preflight-v$version-$target"' in script
    assert 'asset="$name.$ext"' in script
    ext = "zip" if "windows" in target else "tar.gz"
    return f"istio-preflight-v{VERSION}-{target}.{ext}"


def fake_dist(directory, targets, corrupt=None):
    sums = {}
    for target in targets:
        name = archive_name(target)
        data = f"archive for {target}".encode()
        (directory / name).write_bytes(data)
        digest = hashlib.sha256(data).hexdigest()
        recorded = "0" * 64 if target == corrupt else digest
        (directory / f"{name}.sha256").write_text(f"{recorded}  {name}\n")
        sums[target] = digest
    return sums


class Naming(unittest.TestCase):
    def test_the_workflow_builds_every_target_install_sh_downloads(self):
        self.assertEqual(sorted(workflow_targets()), sorted(install_sh_targets()))
        self.assertEqual(len(workflow_targets()), 5)

    def test_install_sh_downloads_the_names_package_sh_writes(self):
        text = (ROOT / "action/install.sh").read_text()
        self.assertIn('asset="istio-preflight-v$version-$target.$ext"', text)
        self.assertIn('url="$base_url/v$version/$asset"', text)

    def test_binstall_urls_are_the_archive_names(self):
        meta = tomllib.loads((ROOT / "Cargo.toml").read_text())["package"]["metadata"]["binstall"]
        for target in workflow_targets():
            entry = {**meta, **meta.get("overrides", {}).get(target, {})}
            url = (
                entry["pkg-url"]
                .replace("{ repo }", "https://github.com/istio-preflight/istio-preflight")
                .replace("{ version }", VERSION)
                .replace("{ name }", "istio-preflight")
                .replace("{ target }", target)
            )
            self.assertTrue(url.endswith("/v1.2.3/" + archive_name(target)), url)
            self.assertEqual(entry["pkg-fmt"], "zip" if "windows" in target else "tgz")


class ChecksumLines(unittest.TestCase):
    def test_one_install_sh_line_per_archive(self):
        with tempfile.TemporaryDirectory() as d:
            sums = fake_dist(Path(d), workflow_targets())
            lines = release_files.checksum_lines(VERSION, release_files.archives(VERSION, d))
        self.assertEqual(
            lines.splitlines(), [f"{VERSION} {t} {sums[t]}" for t in sorted(sums)]
        )

    def test_an_archive_that_differs_from_its_sha256_file_is_refused(self):
        with tempfile.TemporaryDirectory() as d:
            fake_dist(Path(d), workflow_targets(), corrupt="x86_64-apple-darwin")
            with self.assertRaisesRegex(release_files.ReleaseError, "x86_64-apple-darwin"):
                release_files.archives(VERSION, d)

    def test_the_command_exits_1_on_a_bad_version(self):
        with tempfile.TemporaryDirectory() as d:
            self.assertEqual(release_files.main(["checksums", "--version", "latest", d]), 1)


class Krew(unittest.TestCase):
    def render(self, targets):
        with tempfile.TemporaryDirectory() as d:
            sums = fake_dist(Path(d), targets)
            text = release_files.render_krew(
                release_files.TEMPLATE.read_text(), VERSION, release_files.archives(VERSION, d)
            )
        return text, sums

    def test_a_target_without_an_archive_is_an_error(self):
        with self.assertRaisesRegex(release_files.ReleaseError, "aarch64-apple-darwin"):
            self.render([t for t in workflow_targets() if t != "aarch64-apple-darwin"])

    @unittest.skipIf(yaml is None, "PyYAML is not installed")
    def test_the_rendered_manifest_has_krews_plugin_shape(self):
        text, sums = self.render(workflow_targets())
        self.assertNotIn("@", text.split("platforms:")[1])
        plugin = yaml.safe_load(text)
        self.assertEqual(plugin["apiVersion"], "krew.googlecontainertools.github.com/v1alpha2")
        self.assertEqual(plugin["kind"], "Plugin")
        # krew: the manifest file is named after the plugin; a dash in the name is kept
        # (krew links the binary as kubectl-istio_preflight, kubectl maps `_` back to `-`).
        self.assertEqual(plugin["metadata"]["name"], release_files.TEMPLATE.stem)
        self.assertRegex(plugin["metadata"]["name"], r"^[a-z0-9]+(-[a-z0-9]+)*$")
        spec = plugin["spec"]
        self.assertEqual(spec["version"], "v" + VERSION)
        self.assertTrue(spec["shortDescription"] and len(spec["shortDescription"]) <= 80)
        seen = set()
        by_platform = {
            ("linux", "amd64"): "x86_64-unknown-linux-musl",
            ("linux", "arm64"): "aarch64-unknown-linux-musl",
            ("darwin", "amd64"): "x86_64-apple-darwin",
            ("darwin", "arm64"): "aarch64-apple-darwin",
            ("windows", "amd64"): "x86_64-pc-windows-msvc",
        }
        for p in spec["platforms"]:
            labels = p["selector"]["matchLabels"]
            key = (labels["os"], labels["arch"])
            self.assertNotIn(key, seen)
            seen.add(key)
            target = by_platform[key]
            name = archive_name(target)
            self.assertEqual(
                p["uri"],
                f"https://github.com/istio-preflight/istio-preflight/releases/download/v{VERSION}/{name}",
            )
            self.assertEqual(p["sha256"], sums[target])
            self.assertRegex(p["sha256"], r"^[0-9a-f]{64}$")
            exe = "istio-preflight.exe" if labels["os"] == "windows" else "istio-preflight"
            self.assertEqual(p["bin"], exe)
            top = name.removesuffix(".tar.gz").removesuffix(".zip")
            self.assertIn({"from": f"{top}/{exe}", "to": "."}, p["files"])
        self.assertEqual(seen, set(by_platform))


if __name__ == "__main__":
    unittest.main()
