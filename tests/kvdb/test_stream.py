"""The stream structures: the block map of ids checked against a plain sorted list under
random operations, trimming, and a consumer group's bookkeeping."""

import random

from fromscratch.kvdb.structures.stream import (BLOCK_SIZE, ConsumerGroup, IdMap, Stream,
                                                format_id, make_id)


def check(idmap: IdMap, model: dict) -> None:
    keys = sorted(model)
    assert len(idmap) == len(keys)
    assert [key for key, _ in idmap.items()] == keys
    assert [key for key, _ in idmap.items_reversed()] == keys[::-1]
    assert idmap.starts == [block.ids[0] for block in idmap.blocks]
    assert all(block.ids for block in idmap.blocks)


def test_idmap_matches_a_sorted_model_under_random_operations():
    rng = random.Random(7)
    idmap, model = IdMap(), {}
    for step in range(6000):
        key = rng.randrange(5000)
        roll = rng.random()
        if roll < 0.55:
            idmap.set(key, step)
            model[key] = step
        elif roll < 0.9:
            assert idmap.pop(key) == model.pop(key, None)
        else:
            assert idmap.get(key) == model.get(key)
        if step % 500 == 0:
            check(idmap, model)
    check(idmap, model)
    keys = sorted(model)
    for _ in range(200):
        low, high = sorted(rng.randrange(5200) for _ in range(2))
        inside = [key for key in keys if low <= key <= high]
        assert [key for key, _ in idmap.items(low, high)] == inside
        assert [key for key, _ in idmap.items_reversed(high, low)] == inside[::-1]
        count = rng.randrange(4)
        after = [key for key in keys if key > low][:count or None]
        ids, values = idmap.after(low, count)
        assert ids == after and values == [model[key] for key in after]


def test_appends_fill_blocks_of_block_size():
    idmap = IdMap()
    for key in range(BLOCK_SIZE * 3 + 1):
        idmap.append(key, key)
    assert [len(block.ids) for block in idmap.blocks] == [BLOCK_SIZE] * 3 + [1]
    assert idmap.after(BLOCK_SIZE - 2, 3)[0] == [BLOCK_SIZE - 1, BLOCK_SIZE, BLOCK_SIZE + 1]


def test_a_stream_fills_blocks_to_the_node_size_of_each_append():
    stream = Stream()
    for seq in range(25):
        stream.add(make_id(1, seq), [b"f", b"v"], node_entries=10)
    for seq in range(25, 30):
        stream.add(make_id(1, seq), [b"f", b"v"], node_entries=2)   # the last block is full
    for seq in range(30, 33):
        stream.add(make_id(1, seq), [b"f", b"v"], node_entries=0)   # 0: no limit
    assert [len(block.ids) for block in stream.entries.blocks] == [10, 10, 5, 2, 2, 4]
    # `~` takes whole blocks while enough remain, within the limit.
    assert stream.trim(maxlen=10, minid=None, approx=True, limit=25) == 20
    assert stream.length == 13


def filled(count: int) -> Stream:
    stream = Stream()
    for seq in range(count):
        stream.add(make_id(1, seq), [b"f", b"v"])
    return stream


def test_exact_and_approximate_trims():
    stream = filled(1000)
    assert stream.trim(maxlen=950, minid=None, approx=True, limit=0) == 0    # no whole block
    assert stream.trim(maxlen=850, minid=None, approx=True, limit=0) == 100
    assert stream.trim(maxlen=850, minid=None, approx=False, limit=0) == 50
    assert stream.length == 850 and stream.first_id == make_id(1, 150)
    assert stream.trim(maxlen=0, minid=None, approx=True, limit=300) == 250   # 50, 100, 100
    assert stream.trim(maxlen=None, minid=make_id(1, 777), approx=False, limit=0) == 377
    assert format_id(stream.first_id) == b"1-777"
    assert stream.trim(maxlen=0, minid=None, approx=False, limit=0) == 223
    assert stream.length == 0 and stream.first_id == 0


def test_entries_read_and_lag_follow_deletions():
    stream = filled(5)
    group = stream.groups[b"g"] = ConsumerGroup(b"g", 0, None)
    assert stream.lag(group) == 5                     # before the first entry: all to read
    stream.advance_group(group, [make_id(1, 0)])
    assert (group.entries_read, stream.lag(group)) == (1, 4)
    stream.delete(make_id(1, 3))                      # a tombstone ahead: lag unknown
    assert stream.lag(group) is None
    stream.advance_group(group, [make_id(1, 1), make_id(1, 2), make_id(1, 4)])
    assert (group.entries_read, stream.lag(group)) == (5, 0)


def test_redelivery_moves_a_pending_entry_to_the_new_consumer():
    stream = filled(2)
    group = stream.groups[b"g"] = ConsumerGroup(b"g", 0, None)
    alice, bob = group.add_consumer(b"alice", 0), group.add_consumer(b"bob", 0)
    group.deliver([make_id(1, 0)], alice, 10)
    group.pending.get(make_id(1, 0)).delivery_count = 5
    group.deliver([make_id(1, 0)], bob, 20)           # after XGROUP SETID backwards
    nack = group.pending.get(make_id(1, 0))
    assert (nack.consumer, nack.delivery_time, nack.delivery_count) == (bob, 20, 1)
    assert len(alice.pending) == 0 and bob.pending.get(make_id(1, 0)) is nack
    assert group.remove_consumer(b"bob") == 1 and len(group.pending) == 0


def test_copy_is_deep_and_keeps_pending_entries_shared():
    stream = filled(3)
    group = stream.groups[b"g"] = ConsumerGroup(b"g", 0, None)
    consumer = group.add_consumer(b"c", 0)
    group.deliver([make_id(1, 1)], consumer, 5)
    twin = stream.copy()
    twin_group = twin.groups[b"g"]
    nack = twin_group.pending.get(make_id(1, 1))
    assert nack is not group.pending.get(make_id(1, 1))
    assert twin_group.consumers[b"c"].pending.get(make_id(1, 1)) is nack
    twin.delete(make_id(1, 0))
    assert stream.length == 3 and twin.length == 2


def test_bulk_extend_matches_appending_one_by_one():
    one_by_one, in_bulk = IdMap(), IdMap()
    for key in range(5):
        one_by_one.append(key, key)
        in_bulk.append(key, key)
    keys = list(range(5, 5 + 3 * BLOCK_SIZE + 7))
    for key in keys:
        one_by_one.append(key, -key)
    in_bulk.extend(keys, [-key for key in keys])
    assert list(in_bulk.items()) == list(one_by_one.items())
    assert [b.ids for b in in_bulk.blocks] == [b.ids for b in one_by_one.blocks]
    assert in_bulk.starts == one_by_one.starts and len(in_bulk) == len(one_by_one)


def test_deleted_entries_keep_their_place_as_redis_nodes_do():
    stream = filled(BLOCK_SIZE)                        # one full block
    for seq in range(1, BLOCK_SIZE):
        stream.delete(make_id(1, seq))
    assert stream.length == 1 and stream.entries.block_count() == 1
    stream.add(make_id(2, 0), [b"f", b"v"])          # the full block takes no more
    assert stream.entries.block_count() == 2
    stream.delete(make_id(1, 0))                       # its last live entry: it goes
    assert stream.entries.block_count() == 1 and stream.first_id == make_id(2, 0)


def test_approximate_minid_looks_at_a_blocks_last_id_even_deleted():
    stream = filled(BLOCK_SIZE + 1)
    stream.delete(make_id(1, BLOCK_SIZE - 1))          # the first block now ends in a tombstone
    assert stream.trim(maxlen=None, minid=make_id(1, BLOCK_SIZE - 1), approx=True, limit=0) == 0
    assert stream.trim(maxlen=None, minid=make_id(1, BLOCK_SIZE), approx=True, limit=0) == 99
    assert stream.trim(maxlen=None, minid=make_id(1, 60), approx=False, limit=0) == 0


def test_an_exact_trim_may_leave_a_block_with_no_live_entry():
    stream = filled(BLOCK_SIZE + 1)
    stream.delete(make_id(1, BLOCK_SIZE - 1))
    assert stream.trim(maxlen=None, minid=make_id(1, BLOCK_SIZE - 1), approx=False, limit=0) == 99
    assert stream.entries.block_count() == 2 and stream.length == 1
    ids, _ = stream.entries.after(0)
    assert ids == [make_id(1, BLOCK_SIZE)] and stream.first_id == make_id(1, BLOCK_SIZE)
    twin = stream.copy()
    assert twin.entries.block_count() == 2 and list(twin.entries.items()) == list(
        stream.entries.items())
