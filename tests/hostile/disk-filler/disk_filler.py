"""Write 256 MiB files into every place until writes fail, 3 GiB at most; report per place."""

import os
import sys

MiB = 1024**2
CHUNK = 16 * MiB
FILE_SIZE = 256 * MiB
PLACE_CAP = 1536 * MiB
TOTAL_CAP = 3 * 1024 * MiB
PLACES = [
    "/dev/shm",
    os.getcwd(),
    os.environ.get("HOME", "/home/agent"),
    "/tmp",
    "/var/tmp",
    "/",
    "/usr",
    "/etc",
    "/opt",
    sys.prefix,
    "/work",
]

total = 0
block = b"\x00" * CHUNK
for place in PLACES:
    written, error = 0, ""
    index = 0
    while written < PLACE_CAP and total < TOTAL_CAP and not error:
        path = os.path.join(place, f"fill-{os.getpid()}-{index}.bin")
        index += 1
        try:
            with open(path, "wb") as f:
                for _ in range(FILE_SIZE // CHUNK):
                    f.write(block)
                    written += CHUNK
                    total += CHUNK
        except OSError as ex:
            error = ex.strerror or type(ex).__name__
    print(f"disk filler: {place} wrote {written // MiB} MiB ({error or 'no error'})", flush=True)
print(f"disk filler: total {total // MiB} MiB", flush=True)
sys.exit(1)
