"""Engines cross process boundaries through their checkpoint and resume
exactly where they stood (learn.mode inline is deterministic)."""
import pickle
from concurrent.futures import ProcessPoolExecutor
import multiprocessing

from conftest import SAMPLE

import cryptoscalp as cs


def _finish(engine, events):
    """In another process: push the rest, return what it ended with."""
    engine.push_events(events)
    return engine.stats_json(), engine.infer(), engine.to_bytes()


def test_pickle_round_trip_resumes_identically():
    events = cs.data.read(SAMPLE)
    first, rest = events.slice(0, 6000), events.slice(6000, len(events))
    with cs.Engine({"learn": {"mode": "inline"}}) as e:
        e.push_events(first)
        blob = pickle.dumps(e)
        assert len(blob) > 10000
        copy = pickle.loads(blob)
        assert copy.to_bytes() == e.to_bytes()
        here = _finish(e, rest)
        assert _finish(copy, rest) == here
        copy.close()
        # Across a process boundary (spawn: a fresh interpreter).
        ctx = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(1, mp_context=ctx) as pool:
            there = pool.submit(_finish, pickle.loads(blob), rest).result()
        assert there == here
        assert here[1].model_version >= 1


def test_unpickled_engine_has_no_callback_until_registered():
    seen = []
    with cs.Engine(on_health=seen.append) as e:
        e.push_quote(1, 100.0, 1.0, 100.1, 1.0)
        copy = pickle.loads(pickle.dumps(e))
    crossed = (100.2, 1.0, 100.1, 1.0)
    try:
        try:
            copy.push_quote(2, *crossed)
        except cs.MarketDataError:
            pass
        assert seen == []
        copy.set_health_callback(seen.append)
        try:
            copy.push_quote(3, *crossed)
        except cs.MarketDataError:
            pass
        assert [x.event for x in seen] == ["input_rejected"]
    finally:
        copy.close()
