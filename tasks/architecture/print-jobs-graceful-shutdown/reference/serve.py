"""Run the print jobs API under uvicorn, draining in-flight requests on SIGTERM."""

from __future__ import annotations

import os
import signal

import uvicorn

# Seconds uvicorn waits for in-flight requests after SIGTERM before it cancels them. The longest
# job renders in 1 s; the bound of the prompt is 10 s from the signal to the exit.
GRACEFUL_SECONDS = 5


def main() -> None:
    # uvicorn drains on SIGTERM and then raises the signal again, under the handler that was in
    # place before it started: with the default one the process would die of SIGTERM (status
    # 143) instead of exiting 0, so a handler that does nothing is left there instead.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: None)
    config = uvicorn.Config(
        "app:app",
        host="127.0.0.1",
        port=int(os.environ["PORT"]),
        log_level="warning",
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
    )
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
