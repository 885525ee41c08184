"""Parsers for the statements other than queries: DML, DDL, transaction control,
settings and utilities. Each `stmt_<first word>` method is installed on the Parser, which
dispatches on the statement's first keyword.
"""

from __future__ import annotations

from ..errors import FEATURE_NOT_SUPPORTED, SqlError
from . import ast as A
from .lexer import EOF, IDENT, NUMBER, OP, PUNCT, QIDENT, STRING


class StatementParsers:
    # -- DML -----------------------------------------------------------------------------

    def stmt_insert(self):
        self.expect_kw("insert")
        self.expect_kw("into")
        pos = self.tok.pos
        name = self.qualified_name()
        alias = self.ident() if self.accept_kw("as") else None
        table = A.TableRef(name, alias, pos=pos)
        columns = []
        if self.is_punct("(") and not self._paren_query():
            columns = self.paren_ident_list()
        overriding = None
        if self.accept_kw("overriding"):
            overriding = self.expect_kw("system", "user")
            self.expect_kw("value")
        if self.accept_kw("default"):
            self.expect_kw("values")
            source = None
        else:
            source = self.query()
        stmt = A.Insert(table, columns, source, overriding=overriding)
        if self.accept_kw("on"):
            self.expect_kw("conflict")
            oc = A.OnConflict(target=[])
            if self.is_punct("("):
                self.advance()
                while True:
                    oc.target.append(self.ident())
                    if self.accept_kw("collate"):
                        self.qualified_name()
                    if not self.accept_punct(","):
                        break
                self.expect_punct(")")
                if self.accept_kw("where"):
                    self.expr()
            elif self.accept_kw("on"):
                self.expect_kw("constraint")
                oc.constraint = self.ident()
            self.expect_kw("do")
            if self.accept_kw("nothing"):
                oc.action = "nothing"
            else:
                self.expect_kw("update")
                self.expect_kw("set")
                oc.action = "update"
                oc.assignments = self.assignments()
                if self.accept_kw("where"):
                    oc.where = self.expr()
            stmt.on_conflict = oc
        if self.accept_kw("returning"):
            stmt.returning = self.target_list()
        return stmt

    def assignments(self):
        items = []
        while True:
            if self.is_punct("("):
                cols = self.paren_ident_list()
                self.expect_op_eq()
                if self.accept_kw("row"):
                    pass
                value = self.expr_or_default() if not self.is_punct("(") else self.primary_expr()
                items.append((cols, value))
            else:
                col = self.ident()
                while self.accept_punct("."):       # composite field or table-qualified
                    col = self.ident()
                if self.is_punct("["):
                    raise SqlError(FEATURE_NOT_SUPPORTED, "assigning to array elements is not supported")
                self.expect_op_eq()
                items.append(([col], self.expr_or_default()))
            if not self.accept_punct(","):
                return items

    def expect_op_eq(self):
        if not self.accept_op("="):
            raise self.error()

    def stmt_update(self):
        self.expect_kw("update")
        self.accept_kw("only")
        pos = self.tok.pos
        name = self.qualified_name()
        alias = None
        if not self.is_kw("set"):           # SET is unreserved, yet never an alias here
            alias, _ = self.alias_clause()
        self.expect_kw("set")
        stmt = A.Update(A.TableRef(name, alias, pos=pos), self.assignments())
        if self.accept_kw("from"):
            stmt.from_ = self.from_list()
        if self.accept_kw("where"):
            if self.accept_kw("current"):
                raise SqlError(FEATURE_NOT_SUPPORTED, "WHERE CURRENT OF is not supported")
            stmt.where = self.expr()
        if self.accept_kw("returning"):
            stmt.returning = self.target_list()
        return stmt

    def stmt_delete(self):
        self.expect_kw("delete")
        self.expect_kw("from")
        self.accept_kw("only")
        pos = self.tok.pos
        name = self.qualified_name()
        alias, _ = self.alias_clause()
        stmt = A.Delete(A.TableRef(name, alias, pos=pos))
        if self.accept_kw("using"):
            stmt.using = self.from_list()
        if self.accept_kw("where"):
            stmt.where = self.expr()
        if self.accept_kw("returning"):
            stmt.returning = self.target_list()
        return stmt

    # -- DDL -----------------------------------------------------------------------------

    def stmt_create(self):
        self.expect_kw("create")
        or_replace = False
        if self.accept_kw("or"):
            self.expect_kw("replace")
            or_replace = True
        temporary = False
        if self.accept_kw("temporary", "temp"):
            temporary = True
        elif self.accept_kw("global", "local"):
            self.expect_kw("temporary", "temp")
            temporary = True
        self.accept_kw("unlogged")
        if self.accept_kw("table"):
            return self.create_table(temporary)
        if self.is_kw("unique", "index"):
            return self.create_index()
        if self.accept_kw("view"):
            return self.create_view(or_replace)
        if self.accept_kw("sequence"):
            if_not_exists = self.if_not_exists()
            name = self.qualified_name()
            return A.CreateSequence(name, self.sequence_options(), if_not_exists)
        if self.accept_kw("schema"):
            if_not_exists = self.if_not_exists()
            name = self.ident()
            if self.accept_kw("authorization"):
                self.ident()
            return A.CreateSchema(name, if_not_exists)
        if self.accept_kw("database"):
            name = self.ident()
            self.skip_to_end()
            return A.CreateDatabase(name)
        if self.is_kw("role", "user"):
            self.advance()
            name = self.ident()
            return A.CreateRole(name, self.role_options())
        if self.accept_kw("type"):
            name = self.qualified_name()
            self.expect_kw("as")
            self.expect_kw("enum")
            self.expect_punct("(")
            labels = []
            if not self.is_punct(")"):
                while True:
                    t = self.advance()
                    if t.kind != STRING:
                        raise self.error(t)
                    labels.append(t.value)
                    if not self.accept_punct(","):
                        break
            self.expect_punct(")")
            return A.CreateEnum(name, labels)
        if self.is_kw("extension", "function", "trigger", "domain", "procedure",
                      "materialized", "rule", "policy", "aggregate", "operator", "collation",
                      "publication", "subscription", "tablespace"):
            raise SqlError(FEATURE_NOT_SUPPORTED,
                           f"CREATE {self.tok.value.upper()} is not supported")
        raise self.error()

    def skip_to_end(self):
        while not (self.tok.kind == EOF or self.is_punct(";")):
            self.advance()

    def role_options(self) -> dict:
        options = {}
        self.accept_kw("with")
        while self.tok.kind == IDENT:
            word = self.advance().value
            if word in ("password",):
                t = self.advance()
                options["password"] = t.value if t.kind == STRING else None
            elif word == "encrypted":
                continue
            elif word in ("valid", "connection", "in", "role", "admin", "sysid"):
                self.skip_to_end()
            else:
                options[word] = True
        return options

    def if_not_exists(self) -> bool:
        if self.is_kw("if") and self.peek_kw(1, "not"):
            self.i += 2
            self.expect_kw("exists")
            return True
        return False

    def if_exists(self) -> bool:
        if self.is_kw("if") and self.peek_kw(1, "exists"):
            self.i += 2
            return True
        return False

    def create_table(self, temporary: bool):
        if_not_exists = self.if_not_exists()
        name = self.qualified_name()
        stmt = A.CreateTable(name, [], [], if_not_exists, temporary)
        if self.accept_kw("as") or (self.is_punct("(") and self._paren_query()):
            stmt.as_query = self.query()
            if self.accept_kw("with"):
                stmt.with_data = not self.accept_kw("no")
                self.expect_kw("data")
            return stmt
        self.expect_punct("(")
        if not self.is_punct(")"):
            while True:
                if self.is_kw("constraint", "primary", "unique", "check", "foreign", "exclude"):
                    stmt.constraints.append(self.table_constraint())
                elif self.accept_kw("like"):
                    like = A.TableLike(self.qualified_name(), set())
                    while self.is_kw("including", "excluding"):
                        include = self.advance().value == "including"
                        option = self.ident(allow_reserved=True)
                        options = {"defaults", "constraints", "indexes", "generated",
                                   "identity"} if option == "all" else {option}
                        like.including = like.including | options if include else \
                            like.including - options
                    stmt.columns.append(like)
                else:
                    stmt.columns.append(self.column_def())
                if not self.accept_punct(","):
                    break
        self.expect_punct(")")
        self.table_options()
        if self.accept_kw("as"):
            stmt.as_query = self.query()
        return stmt

    def table_options(self):
        while True:
            if self.accept_kw("with"):
                if self.accept_kw("oids"):
                    raise SqlError(FEATURE_NOT_SUPPORTED, "tables declared WITH OIDS are not supported")
                self.expect_punct("(")
                depth = 1
                while depth:
                    t = self.advance()
                    if t.kind == EOF:
                        raise self.error(t)
                    if t.kind == PUNCT and t.value == "(":
                        depth += 1
                    elif t.kind == PUNCT and t.value == ")":
                        depth -= 1
            elif self.accept_kw("without"):
                self.expect_kw("oids")
            elif self.accept_kw("on"):
                self.expect_kw("commit")
                self.advance()
                self.accept_kw("rows")
            elif self.accept_kw("tablespace"):
                self.ident()
            elif self.accept_kw("inherits") or self.accept_kw("partition"):
                raise SqlError(FEATURE_NOT_SUPPORTED, "table inheritance and partitioning are not supported")
            else:
                return

    def column_def(self) -> A.ColumnDef:
        pos = self.tok.pos
        name = self.ident()
        col = A.ColumnDef(name, self.type_name(), pos=pos)
        while True:
            cname = None
            if self.accept_kw("constraint"):
                cname = self.ident()
            if self.accept_kw("not"):
                self.expect_kw("null")
                col.not_null = True
            elif self.accept_kw("null"):
                col.nullable_explicit = True
            elif self.accept_kw("primary"):
                self.expect_kw("key")
                col.primary_key = True
                col.constraint_names["primary"] = cname
                self.index_parameters()
            elif self.accept_kw("unique"):
                col.unique = True
                col.constraint_names["unique"] = cname
                self.index_parameters()
            elif self.accept_kw("default"):
                start = self.tok.pos
                col.default = self.expr()
                col.default_source = self.text[start:self.tok.pos].strip()
            elif self.accept_kw("check"):
                self.expect_punct("(")
                start = self.tok.pos
                col.check = self.expr()
                col.constraint_names["check_text"] = self.text[start:self.tok.pos].strip()
                self.expect_punct(")")
                col.constraint_names["check"] = cname
                if self.accept_kw("no"):
                    self.expect_kw("inherit")
            elif self.accept_kw("references"):
                col.references = self.references()
                col.constraint_names["foreign"] = cname
            elif self.accept_kw("generated"):
                if self.accept_kw("always"):
                    col.identity = "always"
                else:
                    self.expect_kw("by")
                    self.expect_kw("default")
                    col.identity = "by default"
                self.expect_kw("as")
                if self.accept_kw("identity"):
                    if self.is_punct("("):
                        self.advance()
                        self.sequence_options()
                        self.expect_punct(")")
                    col.not_null = True
                else:
                    if col.identity != "always":
                        raise self.error()
                    col.identity = None
                    self.expect_punct("(")
                    start = self.tok.pos
                    col.generated = self.expr()
                    col.generated_text = self.text[start:self.tok.pos].strip()
                    self.expect_punct(")")
                    self.expect_kw("stored")
            elif self.accept_kw("collate"):
                col.collation = self.qualified_name()[-1]
            elif self.accept_kw("deferrable", "initially", "immediate", "deferred"):
                pass
            else:
                return col

    def index_parameters(self):
        if self.accept_kw("include"):
            self.paren_ident_list()
        if self.is_kw("with") and self.peek().kind == PUNCT:
            self.table_options()
        if self.accept_kw("using"):
            self.expect_kw("index")
            self.expect_kw("tablespace")
            self.ident()

    def references(self) -> A.ForeignKey:
        table = self.qualified_name()
        cols = self.paren_ident_list() if self.is_punct("(") else []
        fk = A.ForeignKey(table, cols)
        while True:
            if self.accept_kw("on"):
                which = self.expect_kw("delete", "update")
                if self.accept_kw("cascade"):
                    action = "cascade"
                elif self.accept_kw("restrict"):
                    action = "restrict"
                elif self.accept_kw("no"):
                    self.expect_kw("action")
                    action = "no action"
                else:
                    self.expect_kw("set")
                    action = "set " + self.expect_kw("null", "default")
                if which == "delete":
                    fk.on_delete = action
                else:
                    fk.on_update = action
            elif self.accept_kw("match"):
                self.expect_kw("full", "simple", "partial")
            elif self.accept_kw("deferrable", "initially", "immediate", "deferred"):
                pass
            elif self.is_kw("not") and self.peek_kw(1, "deferrable"):
                self.i += 2
            else:
                return fk

    def table_constraint(self) -> A.TableConstraint:
        name = self.ident() if self.accept_kw("constraint") else None
        if self.accept_kw("primary"):
            self.expect_kw("key")
            c = A.TableConstraint("primary", name, self.paren_ident_list())
            self.index_parameters()
        elif self.accept_kw("unique"):
            c = A.TableConstraint("unique", name, self.paren_ident_list())
            self.index_parameters()
        elif self.accept_kw("check"):
            self.expect_punct("(")
            start = self.tok.pos
            e = self.expr()
            text = self.text[start:self.tok.pos].strip()
            self.expect_punct(")")
            c = A.TableConstraint("check", name, check=e, check_text=text)
            if self.accept_kw("no"):
                self.expect_kw("inherit")
        elif self.accept_kw("foreign"):
            self.expect_kw("key")
            cols = self.paren_ident_list()
            self.expect_kw("references")
            c = A.TableConstraint("foreign", name, cols, references=self.references())
        else:
            raise SqlError(FEATURE_NOT_SUPPORTED, "EXCLUDE constraints are not supported")
        while self.accept_kw("deferrable", "initially", "immediate", "deferred", "not"):
            pass
        return c

    def create_index(self):
        unique = self.accept_kw("unique")
        self.expect_kw("index")
        self.accept_kw("concurrently")
        if_not_exists = self.if_not_exists()
        name = None
        if not self.is_kw("on"):
            name = self.ident()
        self.expect_kw("on")
        self.accept_kw("only")
        table = self.qualified_name()
        method = "btree"
        if self.accept_kw("using"):
            method = self.ident()
        self.expect_punct("(")
        columns = []
        while True:
            item = self.sort_item_index()
            columns.append(item)
            if not self.accept_punct(","):
                break
        self.expect_punct(")")
        stmt = A.CreateIndex(name, table, columns, unique, if_not_exists, method)
        if self.accept_kw("include"):
            stmt.include = self.paren_ident_list()
        if self.accept_kw("nulls"):
            self.accept_kw("not")
            self.expect_kw("distinct")
        self.table_options()
        if self.accept_kw("where"):
            stmt.where = self.expr()
        return stmt

    def sort_item_index(self) -> A.SortItem:
        e = self.expr()
        if self.accept_kw("collate"):
            self.qualified_name()
        if self.tok.kind in (IDENT, QIDENT) and not self.is_kw("asc", "desc", "nulls"):
            self.qualified_name()            # an operator class
        item = A.SortItem(e)
        if self.accept_kw("desc"):
            item.descending = True
        else:
            self.accept_kw("asc")
        if self.accept_kw("nulls"):
            item.nulls_first = self.expect_kw("first", "last") == "first"
        return item

    def create_view(self, or_replace: bool):
        name = self.qualified_name()
        cols = self.paren_ident_list() if self.is_punct("(") else []
        if self.is_kw("with"):
            self.table_options()
        self.expect_kw("as")
        start = self.tok.pos
        q = self.query()
        text = self.text[start:self.tok.pos].strip()
        if self.accept_kw("with"):
            self.accept_kw("cascaded", "local")
            self.expect_kw("check")
            self.expect_kw("option")
        return A.CreateView(name, q, text, cols, or_replace)

    def sequence_options(self) -> dict:
        options = {}
        while True:
            if self.accept_kw("as"):
                options["as"] = self.type_name().name
            elif self.accept_kw("increment"):
                self.accept_kw("by")
                options["increment"] = self.signed_int()
            elif self.accept_kw("minvalue"):
                options["minvalue"] = self.signed_int()
            elif self.accept_kw("maxvalue"):
                options["maxvalue"] = self.signed_int()
            elif self.accept_kw("start"):
                self.accept_kw("with")
                options["start"] = self.signed_int()
            elif self.accept_kw("restart"):
                self.accept_kw("with")
                options["restart"] = self.signed_int() if self.tok.kind in (NUMBER, OP) else None
            elif self.accept_kw("cache"):
                options["cache"] = self.signed_int()
            elif self.accept_kw("cycle"):
                options["cycle"] = True
            elif self.accept_kw("no"):
                word = self.expect_kw("minvalue", "maxvalue", "cycle")
                options[word] = None if word != "cycle" else False
            elif self.accept_kw("owned"):
                self.expect_kw("by")
                options["owned_by"] = self.qualified_name()
            elif self.accept_kw("sequence"):
                self.expect_kw("name")
                self.qualified_name()
            else:
                return options

    def signed_int(self) -> int:
        sign = -1 if self.accept_op("-") else 1
        t = self.advance()
        if t.kind != NUMBER:
            raise self.error(t)
        return sign * int(t.value)

    def stmt_drop(self):
        self.expect_kw("drop")
        kind = self.expect_kw("table", "view", "index", "sequence", "schema", "database",
                              "type", "role", "user", "extension", "function", "materialized",
                              "owned", "trigger")
        if kind == "materialized":
            self.expect_kw("view")
            kind = "view"
        if kind in ("role", "user"):
            if_exists = self.if_exists()
            return A.DropRole(self.ident_list(), if_exists)
        if kind in ("extension", "function", "owned", "trigger"):
            raise SqlError(FEATURE_NOT_SUPPORTED, f"DROP {kind.upper()} is not supported")
        self.accept_kw("concurrently")
        if_exists = self.if_exists()
        names = [self.qualified_name()]
        while self.accept_punct(","):
            names.append(self.qualified_name())
        cascade = False
        if self.accept_kw("cascade"):
            cascade = True
        else:
            self.accept_kw("restrict")
        if kind == "database" and self.accept_punct("("):
            self.skip_parenthesised()
        return A.DropObjects(kind, names, if_exists, cascade)

    def skip_parenthesised(self):
        depth = 1
        while depth and self.tok.kind != EOF:
            t = self.advance()
            if t.kind == PUNCT and t.value == "(":
                depth += 1
            elif t.kind == PUNCT and t.value == ")":
                depth -= 1

    def stmt_alter(self):
        self.expect_kw("alter")
        if self.accept_kw("sequence"):
            self.if_exists()
            name = self.qualified_name()
            return A.AlterSequence(name, self.sequence_options())
        if self.is_kw("role", "user"):
            self.advance()
            name = self.ident()
            return A.CreateRole(name, self.role_options(), alter=True)
        if self.is_kw("type") and self.peek().kind in (IDENT, QIDENT):
            save = self.i
            self.advance()
            name = self.qualified_name()
            if self.accept_kw("add"):
                self.expect_kw("value")
                if_not_exists = self.if_not_exists()
                t = self.advance()
                if t.kind != STRING:
                    raise self.error(t)
                if self.is_kw("before", "after"):
                    raise SqlError(FEATURE_NOT_SUPPORTED, "ADD VALUE BEFORE/AFTER is not supported")
                return A.AlterEnum(name, t.value, if_not_exists)
            self.i = save
        if self.accept_kw("database", "schema", "index", "view", "system", "default", "type",
                          "extension", "function"):
            self.skip_to_end()
            return A.Utility("ALTER")
        self.expect_kw("table")
        if_exists = self.if_exists()
        self.accept_kw("only")
        name = self.qualified_name()
        actions = []
        while True:
            actions.append(self.alter_action())
            if not self.accept_punct(","):
                break
        return A.AlterTable(name, actions, if_exists)

    def alter_action(self) -> tuple:
        if self.accept_kw("add"):
            if self.is_kw("constraint", "primary", "unique", "check", "foreign"):
                return ("add_constraint", self.table_constraint())
            self.accept_kw("column")
            ine = self.if_not_exists()
            return ("add_column", self.column_def(), ine)
        if self.accept_kw("drop"):
            if self.accept_kw("constraint"):
                ie = self.if_exists()
                name = self.ident()
                self.accept_kw("cascade", "restrict")
                return ("drop_constraint", name, ie)
            self.accept_kw("column")
            ie = self.if_exists()
            name = self.ident()
            cascade = self.accept_kw("cascade")
            self.accept_kw("restrict")
            return ("drop_column", name, ie, cascade)
        if self.accept_kw("rename"):
            if self.accept_kw("to"):
                return ("rename_table", self.ident())
            if self.accept_kw("constraint"):
                old = self.ident()
                self.expect_kw("to")
                return ("rename_constraint", old, self.ident())
            self.accept_kw("column")
            old = self.ident()
            self.expect_kw("to")
            return ("rename_column", old, self.ident())
        if self.accept_kw("alter"):
            self.accept_kw("column")
            col = self.ident()
            if self.accept_kw("set"):
                if self.accept_kw("default"):
                    start = self.tok.pos
                    expr = self.expr()
                    return ("set_default", col, expr, self.text[start:self.tok.pos].strip())
                if self.accept_kw("not"):
                    self.expect_kw("null")
                    return ("set_not_null", col)
                if self.accept_kw("data"):
                    self.expect_kw("type")
                    return ("set_type", col, self.type_name(), self.using_clause())
                self.skip_alter_item()
                return ("noop",)
            if self.accept_kw("drop"):
                if self.accept_kw("default"):
                    return ("drop_default", col)
                if self.accept_kw("not"):
                    self.expect_kw("null")
                    return ("drop_not_null", col)
                self.skip_alter_item()
                return ("noop",)
            if self.accept_kw("type"):
                return ("set_type", col, self.type_name(), self.using_clause())
            self.skip_alter_item()
            return ("noop",)
        if self.accept_kw("owner"):
            self.expect_kw("to")
            self.ident(allow_reserved=True)
            return ("noop",)
        if self.accept_kw("set", "reset", "enable", "disable", "cluster", "replica", "force",
                          "no", "inherit", "validate"):
            self.skip_alter_item()
            return ("noop",)
        raise self.error()

    def using_clause(self):
        return self.expr() if self.accept_kw("using") else None

    def skip_alter_item(self):
        depth = 0
        while self.tok.kind != EOF and not (depth == 0 and (self.is_punct(",") or self.is_punct(";"))):
            t = self.advance()
            if t.kind == PUNCT and t.value == "(":
                depth += 1
            elif t.kind == PUNCT and t.value == ")":
                depth -= 1

    def stmt_truncate(self):
        self.expect_kw("truncate")
        self.accept_kw("table")
        self.accept_kw("only")
        tables = [self.qualified_name()]
        while self.accept_punct(","):
            tables.append(self.qualified_name())
        restart = False
        if self.accept_kw("restart"):
            self.expect_kw("identity")
            restart = True
        elif self.accept_kw("continue"):
            self.expect_kw("identity")
        cascade = self.accept_kw("cascade")
        self.accept_kw("restrict")
        return A.Truncate(tables, restart, cascade)

    def stmt_comment(self):
        self.expect_kw("comment")
        self.expect_kw("on")
        kind = self.expect_kw("table", "column", "view", "index", "schema", "sequence",
                              "database", "constraint")
        name = self.qualified_name()
        if kind == "constraint":
            self.expect_kw("on")
            self.qualified_name()
        self.expect_kw("is")
        t = self.advance()
        text = None if (t.kind == IDENT and t.value == "null") else t.value
        return A.Comment(kind, name, text)

    # -- transactions and session --------------------------------------------------------

    def transaction_modes(self) -> dict:
        options = {}
        while True:
            if self.accept_kw("isolation"):
                self.expect_kw("level")
                if self.accept_kw("read"):
                    options["isolation"] = "read " + self.expect_kw("committed", "uncommitted")
                elif self.accept_kw("repeatable"):
                    self.expect_kw("read")
                    options["isolation"] = "repeatable read"
                else:
                    self.expect_kw("serializable")
                    options["isolation"] = "serializable"
            elif self.accept_kw("read"):
                options["read_only"] = self.expect_kw("only", "write") == "only"
            elif self.accept_kw("deferrable"):
                options["deferrable"] = True
            elif self.is_kw("not") and self.peek_kw(1, "deferrable"):
                self.i += 2
                options["deferrable"] = False
            else:
                return options
            self.accept_punct(",")

    def stmt_begin(self):
        self.advance()
        self.accept_kw("work", "transaction")
        return A.Transaction("begin", options=self.transaction_modes())

    def stmt_start(self):
        self.advance()
        self.expect_kw("transaction")
        return A.Transaction("begin", options=self.transaction_modes(), tag="START TRANSACTION")

    def stmt_commit(self):
        self.advance()
        self.accept_kw("work", "transaction")
        if self.accept_kw("prepared"):
            raise SqlError(FEATURE_NOT_SUPPORTED, "prepared transactions are not supported")
        return A.Transaction("commit", chain=self.and_chain())

    stmt_end = stmt_commit

    def and_chain(self) -> bool:
        if self.accept_kw("and"):
            chain = not self.accept_kw("no")
            self.expect_kw("chain")
            return chain
        return False

    def stmt_rollback(self):
        self.advance()
        self.accept_kw("work", "transaction")
        if self.accept_kw("to"):
            self.accept_kw("savepoint")
            return A.Transaction("rollback_to", self.ident())
        if self.accept_kw("prepared"):
            raise SqlError(FEATURE_NOT_SUPPORTED, "prepared transactions are not supported")
        return A.Transaction("rollback", chain=self.and_chain())

    stmt_abort = stmt_rollback

    def stmt_savepoint(self):
        self.advance()
        return A.Transaction("savepoint", self.ident())

    def stmt_release(self):
        self.advance()
        self.accept_kw("savepoint")
        return A.Transaction("release", self.ident())

    def stmt_set(self):
        self.expect_kw("set")
        local = False
        if self.accept_kw("local"):
            local = True
        else:
            self.accept_kw("session")
        if self.is_kw("transaction") or (self.is_kw("session") and self.peek_kw(1, "characteristics")):
            if self.accept_kw("session"):
                self.expect_kw("characteristics")
                self.expect_kw("as")
                self.expect_kw("transaction")
                modes = self.transaction_modes()
                return A.SetVariable("default_transaction_isolation",
                                     [modes.get("isolation", "read committed")])
            self.advance()
            if self.accept_kw("snapshot"):
                self.advance()
                return A.Utility("SET")
            modes = self.transaction_modes()
            return A.SetVariable("transaction_isolation",
                                 [modes["isolation"]] if "isolation" in modes else None, local=True)
        if self.accept_kw("time"):
            self.expect_kw("zone")
            name = "timezone"
            if self.accept_kw("local") or self.accept_kw("default"):
                return A.SetVariable(name, None, local)
            return A.SetVariable(name, [self.setting_value_word()], local)
        if self.accept_kw("names"):
            return A.SetVariable("client_encoding", [self.setting_value_word()], local)
        if self.accept_kw("role", "session"):
            if self.accept_kw("authorization"):
                pass
            self.setting_value_word()
            return A.Utility("SET")
        name = self.ident(allow_reserved=True)
        while self.accept_punct("."):
            name += "." + self.ident(allow_reserved=True)
        if not (self.accept_kw("to") or self.accept_op("=")):
            raise self.error()
        if self.accept_kw("default"):
            return A.SetVariable(name, None, local)
        values = [self.setting_value_word()]
        while self.accept_punct(","):
            values.append(self.setting_value_word())
        return A.SetVariable(name, values, local)

    def setting_value_word(self) -> str:
        t = self.advance()
        if t.kind in (STRING, QIDENT, NUMBER):
            return t.value
        if t.kind == IDENT:
            return t.value
        if t.kind == OP and t.value in ("-", "+") and self.tok.kind == NUMBER:
            return t.value + self.advance().value
        raise self.error(t)

    def stmt_show(self):
        self.expect_kw("show")
        if self.accept_kw("transaction"):
            self.expect_kw("isolation")
            self.expect_kw("level")
            return A.ShowVariable("transaction_isolation")
        if self.accept_kw("time"):
            self.expect_kw("zone")
            return A.ShowVariable("timezone")
        if self.accept_kw("session"):
            self.expect_kw("authorization")
            return A.ShowVariable("session_authorization")
        name = self.ident(allow_reserved=True)
        while self.accept_punct("."):
            name += "." + self.ident(allow_reserved=True)
        return A.ShowVariable(name)

    def stmt_reset(self):
        self.expect_kw("reset")
        if self.accept_kw("time"):
            self.expect_kw("zone")
            return A.ResetVariable("timezone")
        return A.ResetVariable(self.ident(allow_reserved=True))

    def stmt_prepare(self):
        self.expect_kw("prepare")
        if self.accept_kw("transaction"):
            raise SqlError(FEATURE_NOT_SUPPORTED, "prepared transactions are not supported")
        name = self.ident()
        types = []
        if self.accept_punct("("):
            types.append(self.type_name())
            while self.accept_punct(","):
                types.append(self.type_name())
            self.expect_punct(")")
        self.expect_kw("as")
        start = self.tok.pos
        stmt = self.statement()
        return A.Prepare(name, types, stmt, self.text[start:self.tok.pos].strip())

    def stmt_execute(self):
        self.expect_kw("execute")
        name = self.ident()
        params = []
        if self.accept_punct("("):
            params = self.expr_list()
            self.expect_punct(")")
        return A.ExecutePrepared(name, params)

    def stmt_deallocate(self):
        self.expect_kw("deallocate")
        self.accept_kw("prepare")
        if self.accept_kw("all"):
            return A.Deallocate(None)
        return A.Deallocate(self.ident())

    def stmt_discard(self):
        self.expect_kw("discard")
        return A.Discard(self.expect_kw("all", "plans", "sequences", "temporary", "temp"))

    def stmt_explain(self):
        self.expect_kw("explain")
        analyze = verbose = False
        if self.is_punct("("):
            self.advance()
            while True:
                word = self.ident(allow_reserved=True)
                value = True
                if self.tok.kind in (IDENT, NUMBER, STRING) and not self.is_punct(","):
                    v = self.advance().value
                    value = str(v).lower() not in ("false", "off", "0")
                if word == "analyze":
                    analyze = value
                elif word == "verbose":
                    verbose = value
                if not self.accept_punct(","):
                    break
            self.expect_punct(")")
        else:
            analyze = self.accept_kw("analyze", "analyse")
            verbose = self.accept_kw("verbose")
        return A.Explain(self.statement(), analyze, verbose)

    def stmt_copy(self):
        self.expect_kw("copy")
        self.accept_kw("binary")
        table = query = None
        columns = []
        if self.accept_punct("("):
            query = self.statement()
            self.expect_punct(")")
        else:
            table = self.qualified_name()
            if self.is_punct("("):
                columns = self.paren_ident_list()
        direction = self.expect_kw("from", "to")
        if self.accept_kw("stdin", "stdout"):
            target = self.tokens[self.i - 1].value
        elif self.accept_kw("program"):
            raise SqlError(FEATURE_NOT_SUPPORTED, "COPY ... PROGRAM is not supported")
        else:
            t = self.advance()
            if t.kind != STRING:
                raise self.error(t)
            target = t.value
        options = {}
        self.accept_kw("with")
        if self.accept_punct("("):
            while True:
                word = self.ident(allow_reserved=True)
                value = True
                if not (self.is_punct(",") or self.is_punct(")")):
                    if self.is_punct("("):
                        self.advance()
                        value = self.ident_list() if not self.is_op("*") else ["*"]
                        if self.is_op("*"):
                            self.advance()
                        self.expect_punct(")")
                    else:
                        value = self.advance().value
                options[word] = value
                if not self.accept_punct(","):
                    break
            self.expect_punct(")")
        else:
            # The pre-9.0 option syntax: CSV, HEADER, DELIMITER 'x', NULL 'x', BINARY ...
            while self.tok.kind == IDENT:
                word = self.advance().value
                if word in ("delimiter", "null", "quote", "escape", "encoding"):
                    self.accept_kw("as")
                    options[word] = self.advance().value
                elif word == "csv":
                    options["format"] = "csv"
                elif word == "binary":
                    options["format"] = "binary"
                elif word == "header":
                    options["header"] = True
                elif word == "force":
                    self.accept_kw("not")
                    self.accept_kw("null", "quote")
                    self.ident_list()
                else:
                    raise self.error()
        return A.Copy(table, columns, query, direction, target, options)

    def stmt_vacuum(self):
        self.advance()
        analyze = False
        if self.is_punct("("):
            self.advance()
            while not self.accept_punct(")"):
                word = self.advance().value
                if word == "analyze" and not self.is_punct(",") and not self.is_punct(")"):
                    analyze = self.advance().value not in ("false", "off", "0")
                elif word == "analyze":
                    analyze = True
                elif not self.is_punct(",") and not self.is_punct(")"):
                    self.advance()              # an option's value
                self.accept_punct(",")
        while self.accept_kw("full", "freeze", "verbose", "analyze", "analyse"):
            if self.tokens[self.i - 1].value in ("analyze", "analyse"):
                analyze = True
        return A.Maintenance(True, analyze, self.maintenance_tables())

    def stmt_analyze(self):
        self.advance()
        self.accept_kw("verbose")
        return A.Maintenance(False, True, self.maintenance_tables())

    def maintenance_tables(self) -> list[list[str]]:
        tables = []
        while self.tok.kind == IDENT:
            tables.append(self.qualified_name())
            if self.is_punct("("):
                self.paren_ident_list()       # the columns: all are analyzed anyway
            if not self.accept_punct(","):
                break
        return tables

    stmt_analyse = stmt_analyze

    def stmt_checkpoint(self):
        self.advance()
        return A.Utility("CHECKPOINT")

    def stmt_reindex(self):
        self.advance()
        if self.accept_punct("("):                   # options: (VERBOSE) and the like
            while not self.accept_punct(")"):
                self.advance()
        kind = self.expect_kw("index", "table", "schema", "database", "system")
        self.accept_kw("concurrently")
        name = self.qualified_name() if self.tok.kind == IDENT else []
        return A.Reindex(kind, name)

    def stmt_cluster(self):
        self.advance()
        self.skip_to_end()
        return A.Utility("CLUSTER")

    def stmt_lock(self):
        self.advance()
        self.accept_kw("table")
        self.accept_kw("only")
        tables = [self.qualified_name()]
        while self.accept_punct(","):
            tables.append(self.qualified_name())
        mode = "access exclusive"
        if self.accept_kw("in"):
            words = []
            while not self.is_kw("mode"):
                words.append(self.advance().value)
            self.expect_kw("mode")
            mode = " ".join(words)
        return A.LockTable(tables, mode, self.accept_kw("nowait"))

    def stmt_grant(self):
        self.advance()
        self.skip_to_end()
        return A.Utility("GRANT")

    def stmt_revoke(self):
        self.advance()
        self.skip_to_end()
        return A.Utility("REVOKE")

    def stmt_listen(self):
        self.advance()
        return A.Listen("listen", self.ident())

    def stmt_unlisten(self):
        self.advance()
        if self.accept_op("*"):
            return A.Listen("unlisten", None)
        return A.Listen("unlisten", self.ident())

    def stmt_notify(self):
        self.advance()
        channel = self.ident()
        payload = ""
        if self.accept_punct(","):
            t = self.advance()
            if t.kind != STRING:
                raise self.error(t)
            payload = t.value
        return A.Listen("notify", channel, payload)

    def stmt_declare(self):
        self.expect_kw("declare")
        name = self.ident()
        while self.accept_kw("binary", "insensitive", "asensitive", "scroll", "no"):
            pass
        self.accept_kw("scroll")
        self.expect_kw("cursor")
        hold = False
        if self.accept_kw("with"):
            self.expect_kw("hold")
            hold = True
        elif self.accept_kw("without"):
            self.expect_kw("hold")
        self.expect_kw("for")
        return A.DeclareCursor(name, self.query(), hold)

    def stmt_fetch(self, move: bool = False):
        self.advance()
        count: int | None = 1
        if self.accept_kw("next"):
            count = 1
        elif self.accept_kw("all"):
            count = None
        elif self.accept_kw("forward"):
            if self.accept_kw("all"):
                count = None
            elif self.tok.kind == NUMBER:
                count = int(self.advance().value)
        elif self.tok.kind == NUMBER:
            count = int(self.advance().value)
        elif self.is_kw("prior", "first", "last", "absolute", "relative", "backward"):
            raise SqlError(FEATURE_NOT_SUPPORTED, "only forward cursor movement is supported")
        self.accept_kw("from", "in")
        return A.Fetch(self.ident(), count, move)

    def stmt_move(self):
        return self.stmt_fetch(move=True)

    def stmt_close(self):
        self.advance()
        if self.accept_kw("all"):
            return A.CloseCursor(None)
        return A.CloseCursor(self.ident())


def install(parser_class) -> None:
    for name, value in vars(StatementParsers).items():
        if not name.startswith("__"):
            setattr(parser_class, name, value)
