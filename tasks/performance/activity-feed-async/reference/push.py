"""The push gateway that delivers notifications to the users' phones.

The gateway is a separate service; here its call is simulated by a wait of the time the real
call takes (PUSH_SECONDS), which must stay as it is. The wait is awaited: while one request
waits for the gateway, the event loop serves the others.
"""

from __future__ import annotations

import asyncio

PUSH_SECONDS = 0.3  # one call to the gateway takes 300 ms


async def send_event(user_id: int, event_id: int) -> None:
    """Deliver a new event to the user's devices."""
    await asyncio.sleep(PUSH_SECONDS)


async def send_badge(user_id: int, unread: int) -> None:
    """Set the unread badge on the user's devices."""
    await asyncio.sleep(PUSH_SECONDS)
