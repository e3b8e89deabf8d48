"""Do the shipped (reconstructed) ferritin HRs still reproduce every published summary,
checked by the reconstruction script itself, independently of the engines?"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_reconstruction_check_passes() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "validation" / "reconstruct_ferritin.py"), "--check"],
        capture_output=True, text=True, check=False, timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "=> ALL PASS (30 targets)" in proc.stdout
    assert proc.stdout.count(" PASS") >= 30
