"""LocalBlocks: a process's memory of keys a shared rate limiter refused."""

from __future__ import annotations

from ccm_gateway.kit.ratelimit import LocalBlocks


def test_a_blocked_key_is_refused_until_its_time_passes():
    blocks = LocalBlocks()
    assert blocks.retry_after("ip:a", now=100.0) == 0
    blocks.block("ip:a", now=100.0, seconds=30.0)
    assert blocks.retry_after("ip:a", now=110.0) == 20.0
    assert blocks.retry_after("ip:b", now=110.0) == 0
    assert blocks.retry_after("ip:a", now=130.0) == 0
    assert blocks.retry_after("ip:a", now=110.0) == 0  # forgotten once it expired


def test_blocking_again_moves_the_time_and_the_store_stays_bounded():
    blocks = LocalBlocks(max_keys=3)
    blocks.block("ip:a", now=0.0, seconds=10.0)
    blocks.block("ip:a", now=5.0, seconds=10.0)
    assert blocks.retry_after("ip:a", now=12.0) == 3.0
    for name in "bcd":
        blocks.block(f"ip:{name}", now=12.0, seconds=10.0)
    # Full at three keys: the oldest (a) made room for d.
    assert [blocks.retry_after(f"ip:{n}", now=13.0) for n in "abcd"] == [0, 9.0, 9.0, 9.0]
