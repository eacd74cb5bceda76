"""Wait until a URL answers 200 (at most 25 s): `python3 wait_ready.py URL`."""

from __future__ import annotations

import sys
import time

import httpx

if __name__ == "__main__":
    end = time.monotonic() + 25
    while time.monotonic() < end:
        try:
            if httpx.get(sys.argv[1], timeout=1).status_code == 200:
                sys.exit(0)
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    sys.exit(f"{sys.argv[1]} did not answer")
