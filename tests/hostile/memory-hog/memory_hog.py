"""Allocate and touch 64 MiB at a time up to 6 GiB, reporting each step; hold, then exit 1."""

import sys
import time

CHUNK = 64 * 1024**2
CAP = 6 * 1024**3
HOLD_SECONDS = 15

blocks = []
total = 0
while total < CAP:
    blocks.append(b"\x01" * CHUNK)  # written, so the pages are really used
    total += CHUNK
    print(f"memory hog: allocated {total // 1024**2} MiB", flush=True)
time.sleep(HOLD_SECONDS)
sys.exit(1)
