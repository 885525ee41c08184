"""SQLAlchemy 2 (Core and ORM, psycopg and pg8000 dialects) against reldb and PostgreSQL."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

sa = pytest.importorskip("sqlalchemy")
from sqlalchemy import (Boolean, Column, DateTime, ForeignKey, Integer, MetaData,  # noqa: E402
                        Numeric, String, Table, func, inspect, select, text)
from sqlalchemy.orm import (DeclarativeBase, Mapped, Session, mapped_column,  # noqa: E402
                            relationship, selectinload)


class Base(DeclarativeBase):
    pass


class Author(Base):
    __tablename__ = "authors"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    books: Mapped[list["Book"]] = relationship(back_populates="author",
                                               cascade="all, delete-orphan")


class Book(Base):
    __tablename__ = "books"
    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200), index=True)
    price: Mapped[Decimal] = mapped_column(Numeric(8, 2))
    published: Mapped[dt.datetime | None] = mapped_column(DateTime)
    author_id: Mapped[int] = mapped_column(ForeignKey("authors.id", ondelete="CASCADE"))
    author: Mapped[Author] = relationship(back_populates="books")


@pytest.fixture(params=["psycopg", "pg8000"])
def engine(request, server, database):
    dbname = database.split("dbname=")[1].split()[0]
    engine = sa.create_engine(
        f"postgresql+{request.param}://postgres@{server.host}:{server.port}/{dbname}")
    yield engine
    engine.dispose()


def test_orm_crud_and_relationships(engine):
    Base.metadata.create_all(engine)
    with Session(engine) as s:
        ann = Author(name="Ann", books=[
            Book(title="First", price=Decimal("10.50"), published=dt.datetime(2001, 1, 1)),
            Book(title="Second", price=Decimal("12.00"))])
        bob = Author(name="Bob", books=[Book(title="Third", price=Decimal("7.25"))])
        s.add_all([ann, bob])
        s.commit()
        authors = s.scalars(select(Author).options(selectinload(Author.books))
                            .order_by(Author.name)).all()
        assert [(a.name, sorted(b.title for b in a.books)) for a in authors] == \
            [("Ann", ["First", "Second"]), ("Bob", ["Third"])]
        totals = s.execute(select(Author.name, func.sum(Book.price), func.count(Book.id))
                           .join(Book).group_by(Author.name).order_by(Author.name)).all()
        assert totals == [("Ann", Decimal("22.50"), 2), ("Bob", Decimal("7.25"), 1)]
        book = s.scalars(select(Book).where(Book.title == "Third")).one()
        book.price = Decimal("8.00")
        s.commit()
        assert s.scalar(select(Book.price).where(Book.id == book.id)) == Decimal("8.00")
        s.delete(ann)
        s.commit()
        assert s.scalar(select(func.count()).select_from(Book)) == 1
    Base.metadata.drop_all(engine)


def test_core_and_inspect(engine):
    meta = MetaData()
    items = Table("items", meta,
                  Column("id", Integer, primary_key=True),
                  Column("name", String(30), nullable=False, unique=True),
                  Column("active", Boolean, server_default=text("true")),
                  Column("qty", Integer, server_default="0"))
    Table("tags", meta, Column("id", Integer, primary_key=True),
          Column("item_id", Integer, ForeignKey("items.id")), Column("tag", String(20)))
    meta.create_all(engine)
    with engine.begin() as c:
        c.execute(items.insert(), [{"name": "a"}])
        c.execute(items.insert(), [{"name": "b", "qty": 3}])
        rows = c.execute(select(items.c.name, items.c.active, items.c.qty)
                         .order_by(items.c.name)).all()
        assert rows == [("a", True, 0), ("b", True, 3)]
        result = c.execute(items.update().where(items.c.name == "a").values(qty=items.c.qty + 5))
        assert result.rowcount == 1
    insp = inspect(engine)
    assert set(insp.get_table_names()) >= {"items", "tags"}
    columns = {c["name"]: c for c in insp.get_columns("items")}
    assert list(columns) == ["id", "name", "active", "qty"]
    assert columns["name"]["nullable"] is False
    assert str(columns["name"]["type"]) == "VARCHAR(30)"
    assert insp.get_pk_constraint("items")["constrained_columns"] == ["id"]
    fks = insp.get_foreign_keys("tags")
    assert fks[0]["referred_table"] == "items" and fks[0]["constrained_columns"] == ["item_id"]
    assert [u["column_names"] for u in insp.get_unique_constraints("items")] == [["name"]]
    assert insp.has_table("items") and not insp.has_table("nope")
    meta.drop_all(engine)
    assert not inspect(engine).has_table("items")


def test_textual_sql_and_transactions(engine):
    with engine.connect() as c:
        c.execute(text("CREATE TABLE kv (k text PRIMARY KEY, v int)"))
        c.execute(text("INSERT INTO kv VALUES (:k, :v)"), [{"k": "x", "v": 1}, {"k": "y", "v": 2}])
        c.commit()
        c.execute(text("UPDATE kv SET v = v + 10"))
        c.rollback()
        assert c.execute(text("SELECT sum(v) FROM kv")).scalar() == 3
        upsert = text("INSERT INTO kv VALUES (:k, :v) ON CONFLICT (k) DO UPDATE "
                      "SET v = kv.v + excluded.v RETURNING v")
        assert c.execute(upsert, {"k": "x", "v": 5}).scalar() == 6
        c.commit()
