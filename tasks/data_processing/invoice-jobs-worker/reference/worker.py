"""An RQ worker of the deliveries queue: `python3 worker.py delivery-worker`.

SimpleWorker runs each job in this very process, with no work horse forked per job (RQ's
default Worker, which the harness also finds and kills); start.sh runs several of them.
"""

from __future__ import annotations

import logging
import os
import sys

from redis import Redis
from rq import Queue, SimpleWorker

import store
from jobs import QUEUE_NAME

if __name__ == "__main__":
    logging.basicConfig(level=logging.WARNING, stream=sys.stdout)
    store.create_schema()
    connection = Redis.from_url(os.environ["REDIS_URL"])
    worker = SimpleWorker([Queue(QUEUE_NAME, connection=connection)], connection=connection)
    worker.work(logging_level="WARNING", with_scheduler=False)
