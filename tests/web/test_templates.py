import pytest

from fromscratch.web.templates import (Environment, Markup, TemplateError, TemplateNotFound,
                                       TemplateSyntaxError)


def render(source, **context):
    return Environment().from_string(source).render(**context)


def test_expressions_are_escaped():
    assert render("<p>{{ x }}</p>", x="<b>'&\"") == "<p>&lt;b&gt;&#x27;&amp;&quot;</p>"
    assert render("{{ x|safe }}", x="<b>") == "<b>"
    assert render("{{ x }}", x=Markup("<i>")) == "<i>"
    assert render("{{ 1 + 2 * 3 }} {{ 'a' ~ 'b' if false else 'c' }}".replace(" ~ 'b'", "")) == "7 c"


def test_autoescape_can_be_turned_off():
    assert Environment(autoescape=False).from_string("{{ x }}").render(x="<b>") == "<b>"


def test_attribute_or_item_lookup_and_undefined():
    class User:
        name = "ann"
    assert render("{{ u.name }} {{ d.key }} {{ d['key'] }}", u=User(), d={"key": "v"}) == "ann v v"
    assert render("[{{ missing }}][{{ missing.deeper }}][{{ d.nokey }}]", d={}) == "[][][]"


def test_if_elif_else():
    source = "{% if n > 1 %}many{% elif n == 1 %}one{% else %}none{% endif %}"
    assert [render(source, n=n) for n in (0, 1, 5)] == ["none", "one", "many"]
    assert render("{% if a and not b %}y{% endif %}", a=True, b=None) == "y"


def test_for_with_loop_and_else():
    source = ("{% for x in items %}{{ loop.index }}:{{ x }}{% if not loop.last %},{% endif %}"
              "{% else %}empty{% endfor %}")
    assert render(source, items=["a", "b", "c"]) == "1:a,2:b,3:c"
    assert render(source, items=[]) == "empty"
    assert render("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}", d={"a": 1, "b": 2}) == "a=1;b=2;"
    nested = "{% for row in rows %}{% for c in row %}{{ loop.index0 }}{% endfor %}|{% endfor %}"
    assert render(nested, rows=[[1, 2], [3]]) == "01|0|"


def test_set_and_filters():
    assert render("{% set total = a + b %}{{ total }}", a=1, b=2) == "3"
    assert render("{{ name|upper }} {{ name|title|lower }}", name="ann lee") == "ANN LEE ann lee"
    assert render("{{ missing|default('anon') }} {{ ''|default('x', true) }}") == "anon x"
    assert render("{{ items|join(', ') }} {{ items|length }}", items=[1, 2]) == "1, 2 2"
    assert render("{{ text|truncate(5) }}", text="abcdefgh") == "ab..."
    assert render("{{ v|tojson }}", v={"a": "</script>"}) == '{"a": "\\u003c/script\\u003e"}'
    assert render('{{ "a|b"|replace("|", "-") }}') == "a-b"
    assert render("{{ x|int + 1 }} {{ 'z'|int(7) }}", x="41") == "42 7"


def test_whitespace_control_and_comments():
    assert render("a  {%- if true -%}  b  {%- endif -%}  c{# gone #}") == "abc"
    assert render("{{- ' x ' -}}") == " x "


def test_extends_blocks_and_include(tmp_path):
    (tmp_path / "base.html").write_text(
        "<title>{% block title %}Site{% endblock %}</title>"
        "<main>{% block content %}{% endblock %}</main>")
    (tmp_path / "row.html").write_text("<li>{{ item }} of {{ owner }}</li>")
    (tmp_path / "page.html").write_text(
        '{% extends "base.html" %}{% block title %}Page{% endblock %}'
        '{% block content %}<ul>{% for item in items %}{% include "row.html" %}{% endfor %}</ul>{% endblock %}')
    (tmp_path / "sub.html").write_text('{% extends "page.html" %}{% block title %}Sub{% endblock %}')
    env = Environment(str(tmp_path))
    assert env.render("page.html", items=[1, 2], owner="<me>") == (
        "<title>Page</title><main><ul><li>1 of &lt;me&gt;</li><li>2 of &lt;me&gt;</li></ul></main>")
    assert env.render("sub.html", items=[], owner="x") == "<title>Sub</title><main><ul></ul></main>"


def test_super_renders_the_parent_block(tmp_path):
    (tmp_path / "base.html").write_text("<head>{% block head %}<css>{% endblock %}</head>")
    (tmp_path / "mid.html").write_text('{% extends "base.html" %}{% block head %}{{ super() }}<mid>{% endblock %}')
    (tmp_path / "leaf.html").write_text('{% extends "mid.html" %}{% block head %}{{ super() }}<{{ x }}>{% endblock %}')
    (tmp_path / "bad.html").write_text('{% block solo %}{{ super() }}{% endblock %}')
    env = Environment(str(tmp_path))
    assert env.render("leaf.html", x="&") == "<head><css><mid><&amp;></head>"
    with pytest.raises(TemplateError):
        env.render("bad.html")
    with pytest.raises(TemplateSyntaxError) as info:
        env.from_string("\n{{ super() }}", name="top.html")
    assert "line 2" in str(info.value) and "inside a block" in str(info.value)


def test_compiled_once_and_cached(tmp_path):
    (tmp_path / "t.html").write_text("{{ 1 }}")
    env = Environment(str(tmp_path))
    assert env.get_template("t.html") is env.get_template("t.html")
    assert "def root(_ctx, _blocks, _w, _depth=0):" in env.get_template("t.html").python_source


def test_auto_reload(tmp_path):
    import os
    path = tmp_path / "t.html"
    path.write_text("one")
    env = Environment(str(tmp_path), auto_reload=True)
    assert env.render("t.html") == "one"
    path.write_text("two")
    os.utime(path, (1, 1))
    assert env.render("t.html") == "two"


@pytest.mark.parametrize("source, line, message", [
    ("ok\n{% if x %}\nno end", 2, "never closed"),
    ("{% for x %}{% endfor %}", 1, "for name in"),
    ("a\nb\n{{ 1 + }}", 3, "invalid expression"),
    ("{{ x|nofilter }}", 1, "unknown filter"),
    ("{% bogus %}", 1, "unknown tag"),
    ("\n\n{% endif %}", 3, "unexpected"),
    ("{{ x ", 1, "unclosed"),
    ("{% block a %}{% endblock b %}", 1, "closes block"),
])
def test_syntax_errors_name_template_and_line(source, line, message):
    with pytest.raises(TemplateSyntaxError) as info:
        Environment().from_string(source, name="page.html")
    assert info.value.name == "page.html" and info.value.line == line
    assert f"page.html, line {line}" in str(info.value) and message in str(info.value)


def test_runtime_errors_name_template_and_line(tmp_path):
    (tmp_path / "inner.html").write_text("one\ntwo {{ 1 // zero }}")
    (tmp_path / "outer.html").write_text('x\n{% include "inner.html" %}')
    env = Environment(str(tmp_path))
    with pytest.raises(ZeroDivisionError) as info:
        env.render("outer.html", zero=0)
    assert "in template inner.html, line 2" in info.value.__notes__


def test_missing_templates(tmp_path):
    env = Environment(str(tmp_path))
    with pytest.raises(TemplateNotFound):
        env.get_template("nope.html")
    with pytest.raises(TemplateNotFound):
        env.get_template("../etc/passwd")
