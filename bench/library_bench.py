"""The project's hand-written pieces against the kept libraries that could replace them.

Each pair does the same work on the same data, in one process, one after the other, so the
ratio holds on a noisy machine even where the absolute figures do not:

- ``engine/rank_index.py`` against ``sortedcontainers.SortedList`` at ``--players`` keys: a
  leaderboard move (a push adds a few dozen points: remove the old key, add the new one, read
  its position) and a rank read;
- ``server/token_bucket.py``'s ``KeyedBuckets`` (an ordered dict, least recently used first)
  against the same buckets kept in ``cachetools.TLRUCache``;
- ``server/token_cache.py``'s ``TokenCache`` (a dict in insertion order) against
  ``cachetools.TLRUCache`` with each token's expiry;
- reading a WebSocket ``clicks`` frame: ``orjson.loads`` then ``msgspec.convert`` into the typed
  message, against one ``msgspec.json.Decoder`` for the type, and msgpack's ``unpackb`` then
  ``convert`` against ``msgspec.msgpack.Decoder``.

Run: ``python bench/library_bench.py`` (``--players 100000`` for a quicker run). Needs the
``bench`` extra (sortedcontainers, cachetools).
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Callable
from typing import Any

import cachetools
import msgpack
import msgspec
import orjson
from sortedcontainers import SortedList

from engine.rank_index import RankIndex
from server.models import push_models
from server.token_bucket import KeyedBuckets, TokenBucket
from server.token_cache import TokenCache
from server.ws_protocol import Ping, Resync


def per_op(label: str, count: int, run: Callable[[], object], repeat: int = 3) -> float:
    """Microseconds per operation of ``run`` (which does ``count`` of them), best of ``repeat``."""
    best = min(_timed(run) for _ in range(repeat))
    micros = best / count * 1e6
    print(f"  {label:<44} {micros:8.2f} µs")
    return micros


def _timed(run: Callable[[], object]) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def ranks(players: int, moves: int, rng: random.Random) -> None:
    print(f"leaderboard keys, {players:,} players, {moves:,} moves and rank reads")
    scores = [rng.randrange(0, 50_000) for _ in range(players)]
    keys = [(-score << 64) | slot for slot, score in enumerate(scores)]
    plan = [(rng.randrange(players), rng.randrange(1, 60)) for _ in range(moves)]

    def moved(index_move: Callable[[int, int], int]) -> Callable[[], None]:
        def run() -> None:
            current = list(keys)
            for slot, gain in plan:
                old = current[slot]
                new = old - (gain << 64)
                index_move(old, new)
                current[slot] = new

        return run

    ours = RankIndex(keys)
    theirs = SortedList(keys)

    def sorted_move(old: int, new: int) -> int:
        theirs.remove(old)
        theirs.add(new)
        return int(theirs.bisect_left(new))

    # Once each: a run moves the keys on, so a second would start from other keys.
    a = per_op("RankIndex.move (position included)", moves, moved(ours.move), 1)
    b = per_op("SortedList remove + add + bisect_left", moves, moved(sorted_move), 1)
    print(f"  SortedList / RankIndex: {b / a:.2f}x")
    ours, theirs = RankIndex(keys), SortedList(keys)
    reads = [keys[rng.randrange(players)] for _ in range(moves)]
    a = per_op("RankIndex.position", moves, lambda: [ours.position(k) for k in reads])
    b = per_op("SortedList.bisect_left", moves, lambda: [theirs.bisect_left(k) for k in reads])
    print(f"  SortedList / RankIndex: {b / a:.2f}x")


def buckets(count: int, rng: random.Random) -> None:
    print(f"keyed token buckets, {count:,} takes over 5,000 addresses")
    keys = [f"10.0.{i // 256}.{i % 256}" for i in range(5000)]
    plan = [(keys[rng.randrange(len(keys))], i * 0.0005) for i in range(count)]
    ours = KeyedBuckets(rate=20.0, burst=60)

    def run_ours() -> None:
        for key, now in plan:
            ours.take(key, now)

    clock = [0.0]
    cache: cachetools.TLRUCache[str, TokenBucket] = cachetools.TLRUCache(
        maxsize=100_000, ttu=lambda _k, bucket, _now: bucket.full_at(), timer=lambda: clock[0]
    )

    def run_cachetools() -> None:
        for key, now in plan:
            clock[0] = now
            bucket = cache.get(key)
            if bucket is None:
                bucket = TokenBucket(20.0, 60, 60, now)
            bucket.take(now)
            cache[key] = bucket  # its expiry moves with its tokens

    a = per_op("KeyedBuckets.take (OrderedDict)", count, run_ours)
    b = per_op("TokenBucket in cachetools.TLRUCache", count, run_cachetools)
    print(f"  cachetools / ours: {b / a:.2f}x")


def tokens(count: int, rng: random.Random) -> None:
    print(f"verified tokens, {count:,} lookups over 2,000 players")
    known = [f"token-{i}" for i in range(2000)]
    plan = [known[rng.randrange(len(known))] for _ in range(count)]
    ours = TokenCache()

    def verify(token: str) -> tuple[str, float]:
        return token.removeprefix("token-"), 2e9

    def run_ours() -> None:
        for token in plan:
            ours.player(token, verify, lambda: 1.7e9)

    cache: cachetools.TLRUCache[str, tuple[str, float]] = cachetools.TLRUCache(
        maxsize=20_000, ttu=lambda _k, value, _now: value[1], timer=lambda: 1.7e9
    )

    def run_cachetools() -> None:
        for token in plan:
            found = cache.get(token)
            if found is None:
                found = cache[token] = verify(token)

    a = per_op("TokenCache.player (dict)", count, run_ours)
    b = per_op("cachetools.TLRUCache get", count, run_cachetools)
    print(f"  cachetools / ours: {b / a:.2f}x")


def frames(count: int) -> None:
    print(f"a clicks frame read into the typed message, {count:,} frames")
    message = {"type": "clicks", "batch_id": "b-1700000000-42", "clicks": [9, 11, 10]}
    as_json, as_msgpack = orjson.dumps(message), msgpack.packb(message)
    union: Any = push_models(200, 200).ws | Ping | Resync
    json_decoder = msgspec.json.Decoder(union)
    msgpack_decoder = msgspec.msgpack.Decoder(union)
    per_op(
        "orjson.loads + msgspec.convert",
        count,
        lambda: [msgspec.convert(orjson.loads(as_json), union) for _ in range(count)],
    )
    per_op(
        "msgspec.json.Decoder", count, lambda: [json_decoder.decode(as_json) for _ in range(count)]
    )
    per_op(
        "msgpack.unpackb + msgspec.convert",
        count,
        lambda: [msgspec.convert(msgpack.unpackb(as_msgpack), union) for _ in range(count)],
    )
    per_op(
        "msgspec.msgpack.Decoder",
        count,
        lambda: [msgpack_decoder.decode(as_msgpack) for _ in range(count)],
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--players", type=int, default=1_000_000)
    parser.add_argument("--ops", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    ranks(args.players, args.ops, rng)
    buckets(args.ops, rng)
    tokens(args.ops, rng)
    frames(args.ops)


if __name__ == "__main__":
    main()
