"""Coalesced wake-ups of other processes (PostgreSQL store): the first announcement after a
quiet spell goes at once, those within the interval go together at its end, and one made
while an announcement is on its way is sent again. The ``NOTIFY`` round trip is replaced by
a sender that records the loop time of each call."""

from __future__ import annotations

import asyncio

from agentcron.errors import StoreUnavailable
from agentcron.store.postgres.announce import Announcer

EVERY_S = 0.05
DEADLINE_S = 10.0


class Sender:
    def __init__(self) -> None:
        self.times: list[float] = []
        self.gate = asyncio.Event()
        self.gate.set()
        self.fail = False
        self.called = asyncio.Event()

    async def __call__(self) -> None:
        self.times.append(asyncio.get_running_loop().time())
        self.called.set()
        await self.gate.wait()
        if self.fail:
            raise StoreUnavailable("server gone")


async def _calls(send: Sender, n: int) -> None:
    """Until ``send`` was called ``n`` times (a deadline, not a guess)."""
    async with asyncio.timeout(DEADLINE_S):
        while len(send.times) < n:
            send.called.clear()
            await send.called.wait()


async def test_the_first_goes_at_once_and_the_next_ones_together_after_the_interval() -> None:
    send = Sender()
    announce = Announcer(send, EVERY_S)
    announce()
    await _calls(send, 1)
    for _ in range(5):
        announce()
    await _calls(send, 2)
    await announce.drain()
    assert len(send.times) == 2  # five announcements, one send
    assert send.times[1] - send.times[0] >= EVERY_S


async def test_an_announcement_made_while_one_is_on_its_way_is_sent_again() -> None:
    send = Sender()
    send.gate.clear()
    announce = Announcer(send, EVERY_S)
    announce()
    await _calls(send, 1)
    announce()  # its write may be committed after the first NOTIFY was delivered
    send.gate.set()
    await _calls(send, 2)
    await announce.drain()
    assert len(send.times) == 2


async def test_a_failed_send_is_not_fatal_and_the_next_announcement_goes() -> None:
    send = Sender()
    send.fail = True
    announce = Announcer(send, EVERY_S)
    announce()
    await announce.drain()
    send.fail = False
    announce()
    await _calls(send, 2)
    await announce.drain()


async def test_a_write_that_carries_the_announcement_counts_as_one() -> None:
    """A one-statement write may carry the NOTIFY itself when one is due; announcements
    within the interval after it wait for its end, and no other write carries one meanwhile."""
    send = Sender()
    announce = Announcer(send, EVERY_S)
    loop = asyncio.get_running_loop()
    carried_at = loop.time()
    assert announce.carry()  # nothing was announced yet: this write carries it
    assert not announce.carry()  # within the interval
    announce()  # committed after the write that carried it
    await _calls(send, 1)
    assert send.times[0] - carried_at >= EVERY_S
    await announce.drain()
    assert len(send.times) == 1
