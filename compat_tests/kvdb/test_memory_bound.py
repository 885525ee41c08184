"""maxmemory and eviction, the same on our server and on real Redis."""

import time

import pytest
import redis

LIMIT = 8 * 1024 * 1024


@pytest.fixture(params=[2], ids=["resp2"])
def protocol(request):
    """Memory bounds don't depend on the protocol: one is enough (and these tests are
    the slow ones)."""
    return request.param
VALUE = "v" * 1000


def write_many(client, count: int, prefix: str = "key", ttl: int | None = None,
               batch: int = 1000) -> None:
    for start in range(0, count, batch):
        with client.pipeline(transaction=False) as pipe:
            for i in range(start, min(start + batch, count)):
                pipe.set(f"{prefix}:{i}", VALUE, ex=ttl)
            pipe.execute()


@pytest.fixture
def bounded(r):
    r.config_resetstat()
    r.config_set("maxmemory", LIMIT)
    yield r
    r.config_set("maxmemory", 0)
    r.config_set("maxmemory-policy", "noeviction")
    r.config_set("maxmemory-samples", 5)


@pytest.mark.parametrize("policy", ["allkeys-lru", "allkeys-lfu", "allkeys-random"])
def test_writing_ten_times_the_limit_stays_under_it(bounded, policy):
    bounded.config_set("maxmemory-policy", policy)
    write_many(bounded, 80_000)                        # ~80 MB of values through an 8 MB box
    info = bounded.info("memory")
    assert info["used_memory"] <= LIMIT * 1.05
    assert bounded.info("stats")["evicted_keys"] > 0
    assert 0 < bounded.dbsize() < 80_000


def test_lru_keeps_what_is_being_used(bounded):
    # The LRU clock counts seconds (in Redis too): let old keys age, read some of them,
    # then write enough new keys to force evictions. Random eviction would take read and
    # unread keys alike; LRU takes the unread ones first.
    bounded.config_set("maxmemory-policy", "allkeys-lru")
    bounded.config_set("maxmemory-samples", 10)
    write_many(bounded, 3_000, prefix="old", batch=100)
    time.sleep(2.1)
    hot = [f"old:{i}" for i in range(0, 3_000, 60)]
    bounded.mget(hot)
    # New keys until about half the unread ones are evicted. How many that takes
    # depends on what else the (shared) server holds, so it is counted, not fixed.
    for start in range(0, 20_000, 100):
        write_many(bounded, 100, prefix=f"new:{start}", batch=100)
        if bounded.info("stats")["evicted_keys"] >= 1_500:
            break
    assert bounded.info("stats")["evicted_keys"] > 1_000
    unread = [f"old:{i}" for i in range(3_000) if i % 60]
    hot_kept = sum(value is not None for value in bounded.mget(hot)) / len(hot)
    unread_kept = bounded.exists(*unread) / len(unread)
    assert hot_kept >= 0.7 and hot_kept >= unread_kept + 0.2, (hot_kept, unread_kept)


def test_noeviction_refuses_writes_and_serves_reads(bounded):
    bounded.config_set("maxmemory-policy", "noeviction")
    bounded.set("keep", "me")
    # redis-py raises OutOfMemoryError for "-OOM ...", and drops the code from the message
    with pytest.raises(redis.ResponseError, match="command not allowed when used memory"):
        write_many(bounded, 20_000)
    assert bounded.get("keep") == b"me"               # reads go on
    assert bounded.delete("keep") == 1                # and commands that free memory


def test_volatile_policies_only_evict_keys_with_a_ttl(bounded):
    bounded.config_set("maxmemory-policy", "volatile-lru")
    write_many(bounded, 3_000, prefix="forever")       # no TTL: never evicted
    write_many(bounded, 20_000, prefix="temp", ttl=3600)
    assert bounded.exists(*[f"forever:{i}" for i in range(3_000)]) == 3_000
    with pytest.raises(redis.exceptions.OutOfMemoryError):
        write_many(bounded, 20_000, prefix="more-forever")


def test_volatile_ttl_evicts_the_soonest_to_expire(bounded):
    bounded.config_set("maxmemory-policy", "volatile-ttl")
    write_many(bounded, 2_000, prefix="late", ttl=100_000)
    write_many(bounded, 4_000, prefix="soon", ttl=1_000)
    write_many(bounded, 6_000, prefix="filler", ttl=50_000)
    late = bounded.exists(*[f"late:{i}" for i in range(2_000)])
    soon = bounded.exists(*[f"soon:{i}" for i in range(4_000)])
    assert late / 2_000 > soon / 4_000


def test_lowering_maxmemory_evicts(r):
    r.config_set("maxmemory-policy", "allkeys-random")
    write_many(r, 20_000)
    try:
        r.config_set("maxmemory", LIMIT)
        for i in range(50):                              # Redis evicts in time-boxed steps
            r.set(f"trigger{i}", "x")
            if r.info("memory")["used_memory"] <= LIMIT * 1.05:
                break
            time.sleep(0.05)
        assert r.info("memory")["used_memory"] <= LIMIT * 1.05
    finally:
        r.config_set("maxmemory", 0)


def test_memory_usage_and_stats(r):
    r.set("small", "x")
    r.set("big", "x" * 100_000)
    assert 0 < r.memory_usage("small") < r.memory_usage("big")
    assert r.memory_usage("missing") is None
    stats = r.memory_stats()
    assert stats["keys.count"] == 2 and stats["dataset.bytes"] > 100_000


def test_time_over_maxmemory_is_counted(r):
    r.config_resetstat()
    r.set("k", "x" * 1000)
    r.config_set("maxmemory", 1)            # far below what is used; no eviction
    try:
        with pytest.raises(redis.ResponseError, match="command not allowed when used memory"):
            r.set("j", "y")
        time.sleep(0.2)
        with pytest.raises(redis.ResponseError, match="command not allowed when used memory"):
            r.set("j", "y")
        stats = r.info("stats")
        assert stats["current_eviction_exceeded_time"] >= 200
        assert stats["total_eviction_exceeded_time"] >= stats["current_eviction_exceeded_time"]
    finally:
        r.config_set("maxmemory", 0)


def test_info_has_every_field_of_redis_7_0(r):
    """Monitoring tools index INFO by name: every field Redis 7.0 shows is there (zero
    where nothing is behind it here, as protocol_specs/resp.md says)."""
    fields = {
        "memory": "allocator_allocated allocator_active allocator_resident used_memory_vm_eval "
                  "used_memory_lua_human used_memory_scripts_eval used_memory_vm_functions "
                  "used_memory_vm_total used_memory_vm_total_human used_memory_functions "
                  "used_memory_scripts_human allocator_frag_ratio allocator_frag_bytes "
                  "allocator_rss_ratio allocator_rss_bytes rss_overhead_ratio "
                  "rss_overhead_bytes active_defrag_running lazyfreed_objects",
        "persistence": "current_cow_size current_cow_size_age current_fork_perc "
                       "current_save_keys_processed current_save_keys_total "
                       "rdb_last_cow_size rdb_last_load_keys_expired "
                       "rdb_last_load_keys_loaded aof_rewrites_consecutive_failures "
                       "aof_last_cow_size module_fork_in_progress module_fork_last_cow_size",
        "stats": "expired_stale_perc expired_time_cap_reached_count "
                 "expire_cycle_cpu_milliseconds total_eviction_exceeded_time "
                 "current_eviction_exceeded_time active_defrag_hits active_defrag_misses "
                 "active_defrag_key_hits active_defrag_key_misses total_active_defrag_time "
                 "current_active_defrag_time dump_payload_sanitizations "
                 "reply_buffer_shrinks reply_buffer_expands",
    }
    for section, names in fields.items():
        missing = set(names.split()) - set(r.info(section))
        assert not missing, (section, missing)
