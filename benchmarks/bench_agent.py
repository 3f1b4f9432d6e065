"""Restore agent throughput against a plain local copy of the same bytes, in one run.

    python benchmarks/bench_agent.py [--mb 256]

The agent fetches chunks from a local repository, decompresses and verifies each, and
writes them; the baseline copies the raw disk image. The issue's target: 0.5x or better.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import shutil
import tempfile
from pathlib import Path

from timing import best_of

from datapath.agent import restore_disk
from datapath.repository import LocalStore, SourceDisk, backup

CHUNK = 4 * 1024 * 1024


def image(mb: int, seed: int = 1) -> bytes:
    """Disk-like content: half compressible text, a quarter random, a quarter zeros."""
    rng = random.Random(seed)
    text = b"restorelab " * (CHUNK // 11 + 1)
    parts = []
    for i in range(mb * 1024 * 1024 // CHUNK):
        kind = i % 4
        parts.append(text[:CHUNK] if kind < 2 else rng.randbytes(CHUNK) if kind == 2
                     else bytes(CHUNK))
    return b"".join(parts)



def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mb", type=int, default=256)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    data = image(args.mb)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        raw = root / "disk.raw"
        raw.write_bytes(data)
        store = LocalStore(root / "repo")
        manifest, _ = backup({"name": "bench"}, [SourceDisk("os", None, "Premium_LRS",
                                                            io.BytesIO(data))], store, "rp")
        disk = manifest.disks[0]

        def agent() -> None:
            target = root / "restored.img"
            result = restore_disk(disk, store, target, threads=os.cpu_count() or 2)
            assert result.verified
            target.unlink()

        def copy() -> None:
            target = root / "copied.img"
            shutil.copyfile(raw, target)
            with open(target, "rb+") as handle:
                os.fsync(handle.fileno())
            target.unlink()

        agent_s, copy_s = best_of(args.rounds, agent), best_of(args.rounds, copy)
    mb = len(data) / 2**20
    print(f"agent: {mb / agent_s:,.0f} MB/s ({agent_s:.2f} s for {mb:.0f} MB, verified)")
    print(f"plain copy: {mb / copy_s:,.0f} MB/s")
    print(f"ratio agent/copy: {copy_s / agent_s:.2f} (target >= 0.5: "
          f"{'met' if copy_s / agent_s >= 0.5 else 'NOT met'})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
