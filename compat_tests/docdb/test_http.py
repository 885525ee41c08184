"""The CouchDB-style HTTP API with urllib (and curl when present), written from CouchDB's
API reference: each check is what the documentation says CouchDB answers, so these
tests should pass against a real CouchDB too (point FROMSCRATCH_COUCHDB_URL at one)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
import uuid

import pymongo
import pytest

REFERENCE_URL = os.environ.get("FROMSCRATCH_COUCHDB_URL")


@pytest.fixture(params=["fromscratch"] + (["couchdb"] if REFERENCE_URL else []))
def base(request, docdb):
    return docdb.http if request.param == "fromscratch" else REFERENCE_URL.rstrip("/")


def call(method: str, url: str, body=None, headers: dict | None = None, raw: bytes | None = None):
    """(status, headers, decoded JSON body or None)."""
    data = raw if raw is not None else (json.dumps(body).encode() if body is not None else None)
    request = urllib.request.Request(url, data=data, method=method)
    if data is not None and raw is None:
        request.add_header("Content-Type", "application/json")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            payload = response.read()
            status, response_headers = response.status, response.headers
    except urllib.error.HTTPError as error:
        payload, status, response_headers = error.read(), error.code, error.headers
    return status, response_headers, (json.loads(payload) if payload.strip() else None)


@pytest.fixture
def db(base):
    name = "t" + uuid.uuid4().hex[:12]
    assert call("PUT", f"{base}/{name}")[0] == 201
    yield f"{base}/{name}"
    call("DELETE", f"{base}/{name}")


def test_server_endpoints(base):
    status, headers, body = call("GET", f"{base}/")
    assert status == 200 and body["couchdb"] == "Welcome" and "version" in body
    assert headers["Content-Type"].startswith("application/json")
    assert call("GET", f"{base}/_up")[2]["status"] == "ok"
    uuids = call("GET", f"{base}/_uuids?count=3")[2]["uuids"]
    assert len(uuids) == 3 and len(set(uuids)) == 3 and all(len(u) == 32 for u in uuids)


def test_database_lifecycle(base):
    name = "life" + uuid.uuid4().hex[:8]
    assert call("PUT", f"{base}/{name}")[:1] == (201,)
    status, _, body = call("PUT", f"{base}/{name}")
    assert (status, body["error"]) == (412, "file_exists")
    assert name in call("GET", f"{base}/_all_dbs")[2]
    status, _, info = call("GET", f"{base}/{name}")
    assert status == 200 and info["db_name"] == name and info["doc_count"] == 0
    assert call("HEAD", f"{base}/{name}")[0] == 200
    assert call("DELETE", f"{base}/{name}")[2] == {"ok": True}
    status, _, body = call("GET", f"{base}/{name}")
    assert (status, body["error"]) == (404, "not_found")
    assert call("HEAD", f"{base}/{name}")[0] == 404
    assert call("DELETE", f"{base}/{name}")[0] == 404
    status, _, body = call("PUT", f"{base}/Bad%20Name")
    assert (status, body["error"]) == (400, "illegal_database_name")


def test_document_revisions(db):
    status, headers, body = call("PUT", f"{db}/doc1", {"n": 1})
    assert status == 201 and body["ok"] and body["id"] == "doc1"
    rev1 = body["rev"]
    assert rev1.startswith("1-") and headers["ETag"] == f'"{rev1}"'
    status, headers, doc = call("GET", f"{db}/doc1")
    assert doc == {"_id": "doc1", "_rev": rev1, "n": 1} and headers["ETag"] == f'"{rev1}"'
    # An update without the current revision is a conflict.
    status, _, body = call("PUT", f"{db}/doc1", {"n": 2})
    assert (status, body["error"]) == (409, "conflict")
    # The revision in the body, in ?rev= or in If-Match: all accepted.
    status, _, body = call("PUT", f"{db}/doc1", {"n": 2, "_rev": rev1})
    rev2 = body["rev"]
    assert status == 201 and rev2.startswith("2-")
    status, _, body = call("PUT", f"{db}/doc1?rev={rev2}", {"n": 3})
    rev3 = body["rev"]
    status, _, body = call("PUT", f"{db}/doc1", {"n": 4}, {"If-Match": rev3})
    rev4 = body["rev"]
    assert status == 201 and rev4.startswith("4-")
    status, _, body = call("PUT", f"{db}/doc1", {"n": 5, "_rev": rev1})       # stale
    assert status == 409
    assert call("GET", f"{db}/doc1", headers={"If-None-Match": f'"{rev4}"'})[0] == 304
    status, _, body = call("DELETE", f"{db}/doc1")                            # no rev
    assert status == 409
    status, _, body = call("DELETE", f"{db}/doc1?rev={rev4}")
    assert status == 200 and body["ok"] and body["rev"].startswith("5-")
    status, _, body = call("GET", f"{db}/doc1")
    assert (status, body["error"], body["reason"]) == (404, "not_found", "deleted")
    status, _, body = call("GET", f"{db}/never")
    assert (status, body["reason"]) == (404, "missing")


def test_post_generates_an_id(db):
    status, headers, body = call("POST", db, {"kind": "generated"})
    assert status == 201 and len(body["id"]) == 32
    assert call("GET", f"{db}/{body['id']}")[2]["kind"] == "generated"
    status, _, body = call("POST", db, raw=b'{"a": 1}', headers={"Content-Type": "text/plain"})
    assert (status, body["error"]) == (415, "bad_content_type")


def test_bad_json_is_400(db):
    status, _, body = call("PUT", f"{db}/x", raw=b'{"unterminated": ',
                           headers={"Content-Type": "application/json"})
    assert (status, body["error"]) == (400, "bad_request")
    status, _, body = call("PUT", f"{db}/x", raw=b'[1, 2]',
                           headers={"Content-Type": "application/json"})
    assert status == 400
    status, _, body = call("POST", f"{db}/_find", raw=b"\xff\xfe",
                           headers={"Content-Type": "application/json"})
    assert status == 400
    status, _, body = call("PUT", f"{db}/_bogus", {"a": 1})
    assert (status, body["error"]) == (400, "illegal_docid")


def test_all_docs(db):
    for name in ["c", "a", "b", "d"]:
        call("PUT", f"{db}/{name}", {"v": name})
    status, _, body = call("GET", f"{db}/_all_docs")
    assert body["total_rows"] == 4 and [r["id"] for r in body["rows"]] == ["a", "b", "c", "d"]
    assert body["rows"][0]["value"]["rev"].startswith("1-")
    body = call("GET", f'{db}/_all_docs?include_docs=true&startkey="b"&endkey="c"')[2]
    assert [r["doc"]["v"] for r in body["rows"]] == ["b", "c"]
    body = call("GET", f"{db}/_all_docs?descending=true&limit=2&skip=1")[2]
    assert [r["id"] for r in body["rows"]] == ["c", "b"]
    body = call("POST", f"{db}/_all_docs?include_docs=true", {"keys": ["d", "zz", "a"]})[2]
    assert body["rows"][0]["doc"]["v"] == "d"
    assert body["rows"][1] == {"key": "zz", "error": "not_found"}
    body = call("GET", f'{db}/_all_docs?keys=["a"]')[2]
    assert [r["id"] for r in body["rows"]] == ["a"]


def test_bulk_docs(db):
    status, _, results = call("POST", f"{db}/_bulk_docs",
                              {"docs": [{"_id": "one", "n": 1}, {"n": 2}, {"_id": "one", "n": 3}]})
    assert status == 201
    assert results[0]["ok"] and results[1]["ok"]
    assert results[2] == {"id": "one", "error": "conflict", "reason": "Document update conflict."}
    rev = results[0]["rev"]
    results = call("POST", f"{db}/_bulk_docs",
                   {"docs": [{"_id": "one", "_rev": rev, "_deleted": True}]})[2]
    assert results[0]["ok"]
    assert call("GET", f"{db}/one")[0] == 404


def test_find_and_indexes(db):
    call("POST", f"{db}/_bulk_docs", {"docs": [
        {"_id": f"p{i}", "name": f"n{i}", "age": 20 + i, "tags": ["x"] if i % 2 else []}
        for i in range(10)]})
    status, _, body = call("POST", f"{db}/_find", {"selector": {"age": {"$gt": 25}},
                                                   "fields": ["_id", "age"]})
    assert status == 200
    assert sorted(d["age"] for d in body["docs"]) == [26, 27, 28, 29]
    assert all(set(d) == {"_id", "age"} for d in body["docs"])
    status, _, body = call("POST", f"{db}/_find", {"selector": {"age": {"$gt": 25}},
                                                   "sort": [{"age": "desc"}]})
    assert (status, body["error"]) == (400, "no_usable_index")
    status, _, body = call("POST", f"{db}/_index", {"index": {"fields": ["age"]}, "name": "by-age"})
    assert status == 200 and body["result"] == "created"
    assert call("POST", f"{db}/_index", {"index": {"fields": ["age"]},
                                         "name": "by-age"})[2]["result"] == "exists"
    indexes = call("GET", f"{db}/_index")[2]["indexes"]
    assert [i["name"] for i in indexes] == ["_all_docs", "by-age"]
    body = call("POST", f"{db}/_find", {"selector": {"age": {"$gt": 21}},
                                        "sort": [{"age": "desc"}], "limit": 3})[2]
    assert [d["age"] for d in body["docs"]] == [29, 28, 27]
    assert all(d["_rev"].startswith("1-") for d in body["docs"])
    more = call("POST", f"{db}/_find", {"selector": {"age": {"$gt": 21}},
                                        "sort": [{"age": "desc"}], "limit": 3,
                                        "bookmark": body["bookmark"]})[2]
    assert [d["age"] for d in more["docs"]] == [26, 25, 24]
    body = call("POST", f"{db}/_find", {"selector": {"tags": {"$size": 1},
                                                     "name": {"$regex": "^n[13]$"}}})[2]
    assert sorted(d["_id"] for d in body["docs"]) == ["p1", "p3"]
    body = call("POST", f"{db}/_find", {"selector": {"$or": [{"age": 20}, {"age": 29}]}})[2]
    assert len(body["docs"]) == 2
    body = call("POST", f"{db}/_find", {"selector": {"age": {"$type": "number"}},
                                        "skip": 8})[2]
    assert len(body["docs"]) == 2
    status, _, body = call("POST", f"{db}/_find", {"fields": ["a"]})
    assert status == 400


def test_changes_feeds(db):
    call("PUT", f"{db}/a", {"n": 1})
    status, _, body = call("PUT", f"{db}/b", {"n": 2})
    rev_b = body["rev"]
    call("DELETE", f"{db}/b?rev={rev_b}")
    body = call("GET", f"{db}/_changes")[2]
    assert [r["id"] for r in body["results"]] == ["a", "b"]
    assert body["results"][1]["deleted"] is True
    assert body["results"][1]["changes"][0]["rev"].startswith("2-")
    since = body["last_seq"]
    body = call("GET", f"{db}/_changes?include_docs=true&limit=1")[2]
    assert body["results"][0]["doc"]["n"] == 1 and len(body["results"]) == 1
    assert call("GET", f"{db}/_changes?since={since}")[2]["results"] == []

    def later():
        time.sleep(0.3)
        call("PUT", f"{db}/c", {"n": 3})
    threading.Thread(target=later).start()
    body = call("GET", f"{db}/_changes?feed=longpoll&since={since}&timeout=10000")[2]
    assert [r["id"] for r in body["results"]] == ["c"]

    request = urllib.request.Request(f"{db}/_changes?feed=continuous&since=0&timeout=300")
    with urllib.request.urlopen(request, timeout=10) as response:
        lines = [json.loads(line) for line in response.read().splitlines() if line.strip()]
    assert [line["id"] for line in lines[:-1]] == ["a", "b", "c"]
    assert "last_seq" in lines[-1]
    request = urllib.request.Request(f"{db}/_changes?feed=eventsource&since=0&timeout=300")
    with urllib.request.urlopen(request, timeout=10) as response:
        text = response.read().decode()
    assert text.count("data: ") == 3 and "id: " in text


def test_documents_shared_with_pymongo(docdb, db):
    name = db.rsplit("/", 1)[1]
    client = pymongo.MongoClient(docdb.uri)
    collection = client.couch[name]
    call("PUT", f"{db}/from-http", {"via": "http", "n": 1})
    assert collection.find_one({"_id": "from-http"}) == {"_id": "from-http", "via": "http", "n": 1}
    inserted = collection.insert_one({"via": "pymongo"}).inserted_id
    status, _, doc = call("GET", f"{db}/{inserted}")
    assert status == 200 and doc["via"] == "pymongo" and doc["_id"] == str(inserted)
    collection.update_one({"_id": "from-http"}, {"$inc": {"n": 1}})
    status, _, doc = call("GET", f"{db}/from-http")
    assert doc["n"] == 2 and doc["_rev"].startswith("2-")
    client.close()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed")
def test_with_curl(db):
    def curl(*args):
        result = subprocess.run(["curl", "-s", "-w", "\n%{http_code}", *args],
                                capture_output=True, text=True, timeout=10)
        body, _, code = result.stdout.rpartition("\n")
        return int(code), json.loads(body) if body else None

    assert curl("-X", "PUT", f"{db}/curl", "-d", '{"hello": "curl"}')[0] == 201
    code, doc = curl(f"{db}/curl")
    assert code == 200 and doc["hello"] == "curl"
    code, body = curl("-X", "POST", f"{db}/_find", "-H", "Content-Type: application/json",
                      "-d", '{"selector": {"hello": "curl"}}')
    assert code == 200 and len(body["docs"]) == 1
    code, body = curl("-X", "PUT", f"{db}/bad", "-d", "not json")
    assert (code, body["error"]) == (400, "bad_request")


def test_basic_auth(tmp_path):
    from .conftest import DocdbServer
    server = DocdbServer(str(tmp_path), "--auth")
    try:
        client = server.client()
        client.admin.command("createUser", "admin", pwd="pw", roles=["root"])
        client.close()
        assert call("GET", f"{server.http}/")[0] == 200
        status, headers, body = call("GET", f"{server.http}/_all_dbs")
        assert (status, body["error"]) == (401, "unauthorized")
        import base64
        token = base64.b64encode(b"admin:pw").decode()
        assert call("GET", f"{server.http}/_all_dbs",
                    headers={"Authorization": f"Basic {token}"})[0] == 200
        wrong = base64.b64encode(b"admin:nope").decode()
        assert call("GET", f"{server.http}/_all_dbs",
                    headers={"Authorization": f"Basic {wrong}"})[0] == 401
    finally:
        server.stop()


def test_both_protocols_write_at_once(docdb, db):
    """HTTP views run in worker threads, the wire server on the event loop: writes from
    both sides at once all land, and every revision is counted once."""
    name = db.rsplit("/", 1)[1]
    errors = []

    def http_writer(slot):
        try:
            for i in range(40):
                status, _, body = call("PUT", f"{db}/h{slot}-{i}", {"i": i})
                assert status == 201
                status, _, body = call("PUT", f"{db}/h{slot}-{i}?rev={body['rev']}", {"i": -i})
                assert status == 201 and body["rev"].startswith("2-")
        except Exception as error:        # reported below
            errors.append(error)

    def mongo_writer(slot):
        try:
            client = pymongo.MongoClient(docdb.uri)
            for i in range(40):
                client.couch[name].insert_one({"_id": f"m{slot}-{i}", "i": i})
                client.couch[name].update_one({"_id": f"m{slot}-{i}"}, {"$set": {"i": -i - 1}})
            client.close()
        except Exception as error:        # reported below
            errors.append(error)

    threads = [threading.Thread(target=http_writer, args=(n,)) for n in range(3)] + \
        [threading.Thread(target=mongo_writer, args=(n,)) for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    info = call("GET", db)[2]
    assert info["doc_count"] == 240
    rows = call("GET", f"{db}/_all_docs")[2]["rows"]
    assert [row["id"] for row in rows if not row["value"]["rev"].startswith("2-")] == []
    assert len(call("GET", f"{db}/_changes")[2]["results"]) == 240
