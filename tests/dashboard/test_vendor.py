"""Vendored front-end files are exactly what MANIFEST.md says (package, version, SHA-256)."""

from __future__ import annotations

import hashlib
import re

from edge.dashboard.server import STATIC_DIR

VENDOR = STATIC_DIR / "vendor"


def test_ok__every_vendored_file_matches_its_manifest_hash() -> None:
    """Prevents: a silently edited or swapped library, or a file shipped without a licence record."""
    rows = re.findall(
        r"^\| `([^`]+)` \|.*\| `([0-9a-f]{64})` \|$", (VENDOR / "MANIFEST.md").read_text(), re.M
    )
    listed = {name: digest for name, digest in rows}
    on_disk = {p.name for p in VENDOR.iterdir() if p.name != "MANIFEST.md"}
    assert set(listed) == on_disk
    for name, digest in listed.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name


def test_ok__page_loads_nothing_from_the_network() -> None:
    """Prevents: a CDN link sneaking in (the device may be offline)."""
    for name in ("index.html", "app.js", "style.css"):
        text = (STATIC_DIR / name).read_text()
        assert not re.search(r"(src|href)=\"(https?:)?//", text), name
        assert "cdn" not in text.lower(), name
