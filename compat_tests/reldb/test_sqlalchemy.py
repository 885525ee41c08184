"""SQLAlchemy 2 (Core and ORM, psycopg and pg8000 dialects) against reldb and PostgreSQL."""

from __future__ import annotations

import datetime as dt
import enum
import uuid
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


def test_column_types_and_postgresql_constructs(engine):
    from sqlalchemy import JSON, Interval, LargeBinary, Text, Uuid, case, delete, or_, update
    from sqlalchemy.dialects.postgresql import ARRAY, JSONB
    from sqlalchemy.dialects.postgresql import insert as pg_insert

    class Base2(DeclarativeBase):
        pass

    class Thing(Base2):
        __tablename__ = "things"
        id: Mapped[int] = mapped_column(primary_key=True)
        uid: Mapped[uuid.UUID] = mapped_column(Uuid, default=uuid.uuid4)
        name: Mapped[str] = mapped_column(String(40), index=True)
        data: Mapped[dict] = mapped_column(JSONB, default=dict)
        meta: Mapped[dict | None] = mapped_column(JSON)
        blob: Mapped[bytes | None] = mapped_column(LargeBinary)
        span: Mapped[dt.timedelta | None] = mapped_column(Interval)
        active: Mapped[bool] = mapped_column(Boolean, server_default="true")
        price: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
        created: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True),
                                                     server_default=func.now())
        tags: Mapped[list | None] = mapped_column(ARRAY(Text))

    Base2.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([Thing(name="a", data={"k": 1}, meta={"m": [1]}, blob=b"\x00\x01",
                         span=dt.timedelta(hours=2), price=Decimal("9.99"), tags=["x", "y"]),
                   Thing(name="b", data={"k": 2})])
        s.commit()
        t = s.scalars(select(Thing).where(Thing.data["k"].as_integer() == 1)).one()
        assert (t.name, t.data, t.meta, t.blob, t.span, t.active, t.price, t.tags) == \
            ("a", {"k": 1}, {"m": [1]}, b"\x00\x01", dt.timedelta(hours=2), True,
             Decimal("9.99"), ["x", "y"])
        assert isinstance(t.uid, uuid.UUID) and t.created.tzinfo is not None
        bands = s.execute(select(Thing.name, case((Thing.price > 5, "pricey"), else_="cheap"))
                          .order_by(Thing.name)).all()
        assert bands == [("a", "pricey"), ("b", "cheap")]
        s.execute(update(Thing).where(Thing.name == "b").values(price=Thing.id * 2))
        s.commit()
        assert s.execute(select(func.sum(Thing.price), func.count())
                         .where(or_(Thing.name == "a", Thing.active))).one() == (Decimal("13.99"), 2)
        s.execute(pg_insert(Thing).values(id=1, name="a2")
                  .on_conflict_do_update(index_elements=["id"], set_={"name": "upserted"}))
        s.commit()
        assert s.scalars(select(Thing.name).where(Thing.tags.contains(["x"]))).all() == ["upserted"]
        ranked = s.execute(select(Thing.name, func.row_number().over(order_by=Thing.name.desc())))
        assert ranked.all() == [("upserted", 1), ("b", 2)]
        s.execute(delete(Thing).where(Thing.name == "b"))
        s.commit()
        assert s.scalar(select(func.count(Thing.id))) == 1
    Base2.metadata.drop_all(engine)


class Color(enum.Enum):
    red = "red"
    green = "green"
    blue = "blue"


def test_native_enum(engine):
    from sqlalchemy import Enum

    class Base3(DeclarativeBase):
        pass

    class Paint(Base3):
        __tablename__ = "paints"
        id: Mapped[int] = mapped_column(primary_key=True)
        color: Mapped[Color] = mapped_column(Enum(Color, name="color"))

    Base3.metadata.create_all(engine)
    with Session(engine) as s:
        s.add_all([Paint(color=Color.blue), Paint(color=Color.red), Paint(color=Color.green)])
        s.commit()
        assert s.scalars(select(Paint.color).order_by(Paint.color)).all() == \
            [Color.red, Color.green, Color.blue]
        assert s.scalar(select(func.count()).where(Paint.color > Color.red)) == 2
    assert [e["name"] for e in inspect(engine).get_enums()] == ["color"]
    Base3.metadata.drop_all(engine)
    assert inspect(engine).get_enums() == []
