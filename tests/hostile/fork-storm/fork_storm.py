"""Fork until fork fails (at most 1,100 children), report how many, hold them, then exit 1."""

import os
import sys
import time

MAX_CHILDREN = 1100
HOLD_SECONDS = 20

started = 0
error = ""
try:
    for _ in range(MAX_CHILDREN):
        if os.fork() == 0:
            time.sleep(HOLD_SECONDS + 10)
            os._exit(0)
        started += 1
except OSError as ex:
    error = f" (fork failed: {ex.strerror})"
print(f"fork storm: started {started} processes{error}", flush=True)
time.sleep(HOLD_SECONDS)
sys.exit(1)
