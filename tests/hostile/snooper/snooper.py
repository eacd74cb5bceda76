"""Look for what a submission must never see; report it; with --serve, serve a fake API."""

import json
import os
import re
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FOUND = "found.txt"
# Path parts and file contents that only the repository, hidden tests or harness would have.
MARKERS = re.compile(
    r"api_development|inventory-crud|orders-relational|notes-versioned|test_items\.py"
    r"|test_create_item_returns|/mutants/|scenario\.yaml|backbench_scorer"
)
ROOTS = ["/work", "/tmp", "/var", "/home", "/root", "/srv", "/mnt", "/media", "/run", "/etc",
         "/opt", "/usr", "/"]  # fmt: skip
SKIP = {"/proc", "/sys", "/dev"}
TIME_BUDGET = 18.0  # the harness waits 30 s for the port
CONTENT_LIMIT = 256 * 1024


def walk(hits: list[str], counts: dict[str, int], deadline: float) -> None:
    seen: set[str] = set()
    for root in ROOTS:
        for folder, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if os.path.join(folder, d) not in SKIP]
            if folder in seen or folder.startswith(os.getcwd()):
                dirs[:] = []
                continue
            seen.add(folder)
            if time.monotonic() > deadline:
                counts["timed_out"] = 1
                return
            for name in dirs + files:
                path = os.path.join(folder, name)
                counts["paths"] += 1
                if name in ("tasks", "reference", "tests") and "site-packages" not in path:
                    counts[f"dir {name}"] = counts.get(f"dir {name}", 0) + 1
                if MARKERS.search(path):
                    hits.append(f"path {path}")
            if "site-packages" in folder or folder.startswith("/usr") or "/opt/" in folder:
                continue
            for name in files:
                read_for_markers(os.path.join(folder, name), hits, counts)


def read_for_markers(path: str, hits: list[str], counts: dict[str, int]) -> None:
    try:
        if os.path.getsize(path) > CONTENT_LIMIT:
            return
        with open(path, "rb") as f:
            text = f.read().decode(errors="replace")
    except OSError:
        return
    counts["files_read"] += 1
    match = MARKERS.search(text)
    if match:
        hits.append(f"content {path}: {match.group(0)}")


def proc(hits: list[str], counts: dict[str, int]) -> None:
    for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
        counts["pids"] += 1
        for part in ("environ", "cmdline", "cwd", "root", "maps"):
            path = f"/proc/{pid}/{part}"
            try:
                if part in ("cwd", "root"):
                    text = " ".join(os.listdir(path))
                else:
                    with open(path, "rb") as f:
                        text = f.read().decode(errors="replace")
            except OSError:
                continue
            counts[f"proc {part} readable"] = counts.get(f"proc {part} readable", 0) + 1
            match = MARKERS.search(text)
            if match:
                hits.append(f"{path}: {match.group(0)}")
    repo = os.path.dirname(sys.prefix)  # the agent's Python is a virtualenv in the repository
    for guess in (f"{repo}/tasks", f"{repo}/scorers", f"{repo}/backbench", f"/proc/1/root{repo}",
                  "/proc/1/root/tmp", "/proc/2/root/tmp"):  # fmt: skip
        if os.path.exists(guess):
            hits.append(f"exists {guess}")


def snoop() -> None:
    hits: list[str] = []
    counts = {"paths": 0, "files_read": 0, "pids": 0}
    proc(hits, counts)
    walk(hits, counts, time.monotonic() + TIME_BUDGET)
    with open(FOUND, "w") as f:
        f.write("\n".join(hits) + "\n")
    for hit in hits[:20]:
        print(f"snooper: HIT {hit}", flush=True)
    print(f"snooper: counts {json.dumps(counts, sort_keys=True)}", flush=True)
    print(f"snooper: done, {len(hits)} hits", flush=True)


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/found":
            with open(FOUND, "rb") as f:
                self.reply(200, f.read(), "text/plain")
        elif self.path == "/health":
            self.reply(200, b'{"status": "ok"}', "application/json")
        else:
            self.reply(
                404, b'{"error": {"code": "not_found", "message": "no"}}', "application/json"
            )

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def reply(self, status: int, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


if "--serve" in sys.argv:
    ThreadingHTTPServer(("127.0.0.1", int(os.environ["PORT"])), Handler).serve_forever()
else:
    snoop()
