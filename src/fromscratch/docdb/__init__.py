"""docdb: a document database that speaks MongoDB's wire protocol and a CouchDB-style
HTTP/JSON API, over one storage engine.

    bson.py         the BSON codec                    wire.py        wire protocol messages
    ordering.py     MongoDB's order across types      documents.py   dotted paths
    matcher.py      query filters                     query.py       sort and projection
    update.py       update operators                  expressions.py aggregation expressions
    aggregation.py  the pipeline                      indexes.py     secondary indexes
    planner.py      index choice and explain          storage.py     the engine
    journal.py      write-ahead journal, compaction   commands/      one module per family
    server.py       the MongoDB wire server           http_api.py    the CouchDB-style API
    scram.py        SCRAM-SHA-1/256 (server side)     cli.py         `fromscratch docdb`
"""
