"""reldb: a PostgreSQL-compatible relational database.

    sql/        lexer, parser and AST (text -> tree)
    planner     binds names against the catalog and builds a tree of operators
    executor    runs operators as iterators over rows
    storage     the storage interface and the in-memory implementation
    catalog     databases, schemas, tables, columns, constraints, sequences, views
    engine      sessions: statements, transactions, settings, prepared statements
    pgwire/     the PostgreSQL v3 protocol (codec, authentication, server glue)
"""
