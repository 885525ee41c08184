"""Real task queues on our key-value server: Celery (kombu's Redis transport, whose
periodic sweep takes a redis-py Lock released by EVALSHA, and the Redis result
backend) and RQ, each test with its own server and a real worker process; and BullMQ,
whose worker runs in the test, against our server and the reference alike."""

import os
import subprocess
import sys
import textwrap

import pytest

from compat_tests.servers import start_kvdb

CELERY_TASKS = """
from celery import Celery

app = Celery("tasks", broker="redis://127.0.0.1:{port}/0", backend="redis://127.0.0.1:{port}/1")
app.conf.update(broker_connection_retry_on_startup=True, result_expires=600)


@app.task
def add(x, y):
    return x + y


@app.task
def total(numbers):
    return sum(numbers)


@app.task(bind=True, max_retries=3)
def flaky(self, key):
    # Fails the first time it runs for `key`, then succeeds: a task retried once.
    import redis
    attempts = redis.Redis(host="127.0.0.1", port={port}).incr(key)
    if attempts == 1:
        raise self.retry(countdown=0.1)
    return attempts
"""


@pytest.fixture
def kvdb(tmp_path):
    directory = tmp_path / "data"
    directory.mkdir()
    server = start_kvdb(str(directory))
    yield server
    server.stop()


def start_worker(args: list, cwd: str) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=cwd + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.Popen([sys.executable, "-m", *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def stop_worker(worker: subprocess.Popen) -> str:
    worker.terminate()
    try:
        output, _ = worker.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        worker.kill()
        output, _ = worker.communicate()
    return output.decode(errors="replace")


def test_celery_worker_and_results(kvdb, tmp_path):
    pytest.importorskip("celery", reason="celery[redis] is not installed (the test extra)")
    import redis
    from celery import chord, group

    (tmp_path / "tasks.py").write_text(CELERY_TASKS.format(port=kvdb.port))
    sys.path.insert(0, str(tmp_path))
    worker = start_worker(["celery", "-A", "tasks", "worker", "--pool=solo", "--loglevel=info",
                           "--without-gossip", "--without-mingle", "--without-heartbeat"],
                          str(tmp_path))
    try:
        import tasks
        assert tasks.add.delay(2, 3).get(timeout=30) == 5
        assert group(tasks.add.s(i, i) for i in range(5))().get(timeout=30) == [0, 2, 4, 6, 8]
        assert chord(tasks.add.s(i, 1) for i in range(4))(tasks.total.s()).get(timeout=30) == 10
        assert tasks.flaky.delay("flaky-attempts").get(timeout=30) == 2
        # kombu's sweep of unacknowledged messages ran under a redis-py Lock, released
        # by a script (redis-py loads it after a NOSCRIPT: EVALSHA, SCRIPT LOAD, EVALSHA)
        stats = redis.Redis(host="127.0.0.1", port=kvdb.port).info("commandstats")
        assert stats["cmdstat_evalsha"]["calls"] >= 1
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("tasks", None)
        output = stop_worker(worker)
    assert "Traceback" not in output.split("Retry in")[0], output


RQ_JOBS = """
def multiply(x, y):
    return x * y
"""


def test_rq_enqueue_burst_worker_and_result(kvdb, tmp_path):
    rq = pytest.importorskip("rq", reason="rq is not installed (the test extra)")
    import redis

    (tmp_path / "rqjobs.py").write_text(textwrap.dedent(RQ_JOBS))
    connection = redis.Redis(host="127.0.0.1", port=kvdb.port)
    sys.path.insert(0, str(tmp_path))
    try:
        import rqjobs
        queue = rq.Queue("default", connection=connection)
        job = queue.enqueue(rqjobs.multiply, 6, 7)
        worker = start_worker(["rq.cli", "worker", "--burst", "--url",
                               f"redis://127.0.0.1:{kvdb.port}", "default"], str(tmp_path))
        output = worker.communicate(timeout=60)[0].decode(errors="replace")
        assert worker.returncode == 0, output
        job.refresh()
        assert job.get_status() == "finished", output
        assert job.return_value() == 42
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("rqjobs", None)
        connection.close()


def test_bullmq_priorities_retries_delays_and_obliterate(server):
    """BullMQ's Python queue runs its jobs by Lua scripts (cmsgpack, cjson, sorted sets,
    streams for events): against our server and real Redis alike."""
    bullmq = pytest.importorskip("bullmq", reason="bullmq is not installed (the test extra)")
    import asyncio

    import redis.asyncio

    options = {"connection": f"redis://{server.host}:{server.port}"}

    async def scenario():
        client = redis.asyncio.Redis(host=server.host, port=server.port)
        await client.flushall()
        queue = bullmq.Queue("jobs", options)
        done = []

        async def process(job, token):
            if job.data.get("fail"):
                raise Exception("boom")
            done.append(job.data["n"])
            return job.data["n"] * 2

        for n in range(20):
            await queue.add("job", {"n": n}, {"priority": n % 3 + 1 if n % 2 else 0})
        await queue.add("bad", {"fail": True}, {"attempts": 2,
                                                "backoff": {"type": "fixed", "delay": 50}})
        await queue.add("later", {"n": 100}, {"delay": 300})
        states = ("waiting", "prioritized", "delayed", "active", "completed", "failed")
        before = await queue.getJobCounts(*states)
        worker = bullmq.Worker("jobs", process, {**options, "concurrency": 3})
        for _ in range(100):
            await asyncio.sleep(0.1)
            counts = await queue.getJobCounts("completed", "failed")
            if counts == {"completed": 21, "failed": 1}:
                break
        after = await queue.getJobCounts(*states)
        returned = sorted(job.returnvalue for job in await queue.getJobs(["completed"], 0, 100))
        failed = [(job.name, job.attemptsMade, job.failedReason)
                  for job in await queue.getJobs(["failed"])]
        await queue.pause()
        paused = await queue.isPaused()
        await queue.resume()
        await worker.close()
        await queue.obliterate({"force": True})
        left = await client.keys("*")
        await queue.close()
        await client.aclose()
        return before, after, sorted(done), returned, failed, paused, left

    before, after, done, returned, failed, paused, left = asyncio.run(scenario())
    assert before == {"waiting": 11, "prioritized": 10, "delayed": 1, "active": 0,
                      "completed": 0, "failed": 0}
    assert after == {"waiting": 0, "prioritized": 0, "delayed": 0, "active": 0,
                     "completed": 21, "failed": 1}
    assert done == list(range(20)) + [100]
    assert returned == [2 * n for n in range(20)] + [200]
    assert failed == [("bad", 2, "boom")]
    assert paused is True
    assert left == []
