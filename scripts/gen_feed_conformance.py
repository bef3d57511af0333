#!/usr/bin/env python3
"""Writes feedwatch's own feed conformance set: feeds as the real web writes them, each with
the values a reader should get from it (`NAME.xml` beside `NAME.expect.json`).

Six kinds of trouble, 30 feeds each, every feed different (a seeded random mix of names, entities,
bases, encodings and odd elements):

- odd:       one odd element (Atom content with src and a body, an unknown content type,
             media:description typed text/html, a namespace in the wrong case) among good entries
- entities:  HTML5 named entities (from Python's own html5 table), numeric references in either
             case, Windows-1252 numeric references, entities declared in the DOCTYPE
- xmlbase:   xml:base on the feed, channel, entry and element, relative links and ids
- encoding:  Latin-1 declared on Windows-1252 bytes, UTF-8 bytes declared Latin-1, Windows-1252
             bytes inside a UTF-8 document, undeclared Windows-1252
- atom03:    Atom 0.3 mode="base64", mode="escaped", mode="xml" titles, taglines, summaries, content
- model:     feed author (name, email, uri), entry author email and uri, feed id, dcterms dates,
             rdf:about ids, a guid that is a permalink standing for a missing link

Every third feed of a kind (index 0, 3, 6, ...) goes to `heldout/`, the rest to `dev/`: work is
judged on `dev/`, and `heldout/` is read only to report. Run from the repository root:

    python3 scripts/gen_feed_conformance.py tests/fixtures/feeds/conformance
"""

import base64
import html
import html.entities
import json
import os
import random
import sys

RNG = random.Random(14)

WORDS = ("river market signal harbour winter garden council budget engine archive lantern "
         "orbit meadow quarry violin summit ledger beacon canyon harvest").split()

# Names whose value quick-xml's older table got wrong or lacked, and common ones.
RARE = ["alpha", "beta", "Gamma", "hearts", "sum", "lang", "rang", "Agrave", "hellip", "mdash",
        "rsquo", "ldquo", "rdquo", "trade", "euro", "frac34", "there4", "NotNestedGreaterGreater",
        "bigstar", "starf", "check", "cross", "larr", "rArr", "infin", "ne", "le", "ge", "micro",
        "para", "sect", "deg", "plusmn", "times", "divide", "Omega", "lambda", "pi", "sigma",
        "phone", "female", "male", "spades", "clubs", "diams", "loz", "dagger", "Dagger",
        "permil", "lsaquo", "rsaquo", "bull", "prime", "Prime", "oline", "frasl", "weierp",
        "image", "real", "alefsym", "harr", "crarr", "forall", "part", "exist", "empty", "nabla",
        "isin", "notin", "ni", "prod", "minus", "lowast", "radic", "prop", "ang", "and", "or",
        "cap", "cup", "int", "sim", "cong", "asymp", "equiv", "sub", "sup", "nsub", "sube",
        "supe", "oplus", "otimes", "perp", "sdot", "lceil", "rceil", "lfloor", "rfloor",
        "fjlig", "ThickSpace", "bne", "nvlt", "acE"]


def words(n):
    return " ".join(RNG.choice(WORDS) for _ in range(n)).capitalize()


def x(s):
    return html.escape(s, quote=True)


def date(i):
    day = 1 + (i * 7) % 27
    hour = (i * 5) % 24
    return f"2024-03-{day:02d}T{hour:02d}:15:00Z"


def rfc822(i):
    import datetime
    d = datetime.datetime.strptime(date(i), "%Y-%m-%dT%H:%M:%SZ")
    return d.strftime("%a, %d %b %Y %H:%M:%S +0000")


def item(title=None, link=None, id_=None, published=None, updated=None, author=None,
         summary=None, content=None):
    d = {}
    for k, v in [("title", title), ("link", link), ("id", id_), ("publishedParsed", published),
                 ("updatedParsed", updated), ("author", author), ("summary", summary),
                 ("content", content)]:
        if v is not None:
            d[k] = v
    return d


# ------------------------------------------------------------------------------------ odd

def gen_odd(i):
    host = f"http://odd{i}.example.org"
    n = RNG.randint(3, 6)
    bad = RNG.randrange(n)
    variant = i % 6
    atom = variant != 4
    items, body = [], []
    for k in range(n):
        title = words(3)
        link = f"{host}/posts/{k}"
        summary = words(8)
        exp = item(title=title, link=link, id_=f"tag:odd{i},2024:{k}", summary=summary,
                   published=date(k))
        if atom:
            extra = ""
            if k == bad:
                if variant == 0:
                    extra = f'<content src="{host}/full/{k}" type="html">{x(words(5))}</content>'
                elif variant == 1:
                    extra = f'<content type="pdf">{x(words(5))}</content>'
                elif variant == 2:
                    extra = f'<content src="{host}/full/{k}" type="text/html">{x(words(4))}</content>'
                elif variant == 3:
                    extra = (f'<media:group><media:description type="text/html">{x(words(4))}'
                             f'</media:description></media:group>')
                elif variant == 5:
                    extra = f'<media:title type="xhtml">{x(words(2))}</media:title>'
            body.append(f"""<entry><title>{x(title)}</title><link href="{link}"/>
<id>tag:odd{i},2024:{k}</id><published>{date(k)}</published><summary>{x(summary)}</summary>{extra}</entry>""")
        else:
            extra = ""
            if k == bad:
                extra = f'<media:description type="text/html">&lt;b&gt;{x(words(3))}&lt;/b&gt;</media:description>'
            body.append(f"""<item><title>{x(title)}</title><link>{link}</link><guid isPermaLink="false">tag:odd{i},2024:{k}</guid>
<pubDate>{rfc822(k)}</pubDate><description>{x(summary)}</description>{extra}</item>""")
        items.append(exp)
    ns_atom = "http://www.w3.org/2005/Atom"
    media = "http://search.yahoo.com/mrss/"
    if i % 5 == 2:
        # A namespace written in the wrong case.
        if atom:
            ns_atom = "http://www.w3.org/2005/atom"
        else:
            media = "http://search.yahoo.com/MRSS/"
    ftitle = words(2)
    if atom:
        doc = (f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="{ns_atom}" xmlns:media="{media}">'
               f'<title>{x(ftitle)}</title><link href="{host}/"/><id>tag:odd{i},2024:feed</id>'
               f'<updated>{date(40)}</updated>\n' + "\n".join(body) + "</feed>\n")
    else:
        doc = (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" xmlns:media="{media}"><channel>'
               f'<title>{x(ftitle)}</title><link>{host}/</link><description>d</description>\n'
               + "\n".join(body) + "</channel></rss>\n")
    return doc.encode(), {"title": ftitle, "link": f"{host}/", "items": items}


# ------------------------------------------------------------------------------- entities

def ent_value(name):
    return html.entities.html5[name + ";"]


def gen_entities(i):
    host = f"http://ent{i}.example.org"
    n = RNG.randint(2, 4)
    variant = i % 5
    items, body = [], []
    decls = {}
    if variant == 4:
        for w in range(3):
            decls[f"ent{w}"] = words(1) + " " + RNG.choice(["&#233;", "caf&#xE9;", "plain"])
    for k in range(n):
        parts_src, parts_exp = [], []
        for w in range(3):
            word = RNG.choice(WORDS)
            parts_src.append(word)
            parts_exp.append(word)
            if variant in (0, 1, 2):
                name = RNG.choice(RARE)
                parts_src.append(f"&{name};")
                parts_exp.append(ent_value(name))
            elif variant == 3:
                # Numeric references in either case, and Windows-1252 numbers.
                c = RNG.choice([0x41, 0xe9, 0x2014, 0x1F600, 0x3b1])
                form = RNG.choice(["&#X{:X};", "&#x{:x};", "&#{};"])
                parts_src.append(form.format(c))
                parts_exp.append(chr(c))
                cp = RNG.choice([0x92, 0x93, 0x94, 0x96, 0x97, 0x80, 0x85])
                parts_src.append(f"&#{cp};")
                parts_exp.append(bytes([cp]).decode("cp1252"))
            else:
                # Declared in the DOCTYPE.
                name = f"ent{w}"
                parts_src.append(f"&{name};")
                parts_exp.append(html.unescape(decls[name]))
            parts_src.append(" ")
            parts_exp.append(" ")
        title_src = "".join(parts_src).strip()
        title_exp = "".join(parts_exp).strip()
        link = f"{host}/{k}"
        items.append(item(title=title_exp, link=link))
        body.append(f"<item><title>{title_src}</title><link>{link}</link><guid>{link}</guid></item>")
    doctype = ""
    if decls:
        doctype = "<!DOCTYPE rss [\n" + "".join(
            f'<!ENTITY {k} "{v}">\n'
            for k, v in decls.items()) + "]>\n"
    if variant == 2:
        # Netscape's RSS 0.91 DTD: the HTML Latin-1 entities are declared there, not here.
        doctype = ('<!DOCTYPE rss PUBLIC "-//Netscape Communications//DTD RSS 0.91//EN" '
                   '"http://my.netscape.com/publish/formats/rss-0.91.dtd">\n')
    version = "0.91" if variant == 2 else "2.0"
    doc = (f'<?xml version="1.0" encoding="utf-8"?>\n{doctype}<rss version="{version}"><channel>'
           f'<title>Entities {i}</title><link>{host}/</link><description>d</description>\n'
           + "\n".join(body) + "</channel></rss>\n")
    return doc.encode(), {"title": f"Entities {i}", "link": f"{host}/", "items": items}


# -------------------------------------------------------------------------------- xmlbase

def gen_xmlbase(i):
    host = f"http://base{i}.example.org"
    n = RNG.randint(2, 4)
    variant = i % 4
    items, body = [], []
    if variant in (0, 1, 2):
        feed_base = f"{host}/blog/"
        for k in range(n):
            title = words(3)
            if variant == 0:
                # Base on the feed only.
                body.append(f'<entry><title>{x(title)}</title><link href="posts/{k}.html"/>'
                            f'<id>posts/{k}</id><updated>{date(k)}</updated></entry>')
                items.append(item(title=title, link=f"{feed_base}posts/{k}.html",
                                  id_=f"{feed_base}posts/{k}"))
            elif variant == 1:
                # Base on the entry, relative to the feed's.
                body.append(f'<entry xml:base="archive/{k}/"><title>{x(title)}</title>'
                            f'<link href="page.html"/><id>entry</id><updated>{date(k)}</updated></entry>')
                items.append(item(title=title, link=f"{feed_base}archive/{k}/page.html",
                                  id_=f"{feed_base}archive/{k}/entry"))
            else:
                # Base on the link element itself.
                body.append(f'<entry><title>{x(title)}</title>'
                            f'<link xml:base="http://cdn{i}.example.net/m/" href="{k}.html"/>'
                            f'<id>tag:b{i},2024:{k}</id><updated>{date(k)}</updated></entry>')
                items.append(item(title=title, link=f"http://cdn{i}.example.net/m/{k}.html",
                                  id_=f"tag:b{i},2024:{k}"))
        doc = (f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom" '
               f'xml:base="{feed_base}"><title>Base {i}</title><link href="./"/><id>tag:b{i},2024:f</id>'
               f'<updated>{date(30)}</updated>\n' + "\n".join(body) + "</feed>\n")
        return doc.encode(), {"title": f"Base {i}", "link": feed_base, "items": items}
    # RSS with xml:base on the channel and items.
    for k in range(n):
        title = words(3)
        body.append(f'<item xml:base="{host}/news/{k}/"><title>{x(title)}</title>'
                    f'<link>story.html</link></item>')
        items.append(item(title=title, link=f"{host}/news/{k}/story.html"))
    doc = (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0"><channel xml:base="{host}/">'
           f'<title>Base {i}</title><link>home/</link><description>d</description>\n'
           + "\n".join(body) + "</channel></rss>\n")
    return doc.encode(), {"title": f"Base {i}", "link": f"{host}/home/", "items": items}


# ------------------------------------------------------------------------------- encoding

SMART = ["don\u2019t", "\u201cquoted\u201d", "caf\u00e9", "na\u00efve", "\u20ac5", "2\u20133",
         "a \u2014 b", "\u2018single\u2019", "fa\u00e7ade", "\u00bfqu\u00e9?", "M\u00fcnchen",
         "\u2026", "\u0160koda", "\u2122"]


def gen_encoding(i):
    host = f"http://enc{i}.example.org"
    n = RNG.randint(2, 4)
    variant = i % 4
    titles = []
    for k in range(n):
        t = RNG.choice(WORDS).capitalize() + " " + RNG.choice(SMART) + " " + RNG.choice(SMART)
        titles.append(t)
    body = "\n".join(f"<item><title>{x(t)}</title><link>{host}/{k}</link></item>"
                     for k, t in enumerate(titles))
    decl = {0: "ISO-8859-1", 1: "iso-8859-1", 2: "UTF-8", 3: None}[variant]
    head = f'<?xml version="1.0" encoding="{decl}"?>\n' if decl else ""
    doc = (head + f'<rss version="2.0"><channel><title>Enc {i}</title><link>{host}/</link>'
           f'<description>d</description>\n{body}</channel></rss>\n')
    if variant in (0, 3):
        raw = doc.encode("cp1252")
    elif variant == 1:
        # UTF-8 bytes under a Latin-1 declaration.
        raw = doc.encode("utf-8")
    else:
        # A UTF-8 document with one title pasted in as Windows-1252.
        first = f"<title>{x(titles[0])}</title>"
        a, b = doc.split(first, 1)
        raw = a.encode("utf-8") + first.encode("cp1252") + b.encode("utf-8")
    items = [item(title=t, link=f"{host}/{k}") for k, t in enumerate(titles)]
    return raw, {"title": f"Enc {i}", "link": f"{host}/", "items": items}


# --------------------------------------------------------------------------------- atom03

def gen_atom03(i):
    host = f"http://old{i}.example.org"
    n = RNG.randint(2, 3)
    variant = i % 3
    mode = ["base64", "escaped", "xml"][variant]

    def construct(tag, text, html_type=True):
        if mode == "base64":
            payload = f"<p>{x(text)}</p>" if html_type else text
            b = base64.b64encode(payload.encode()).decode()
            t = "text/html" if html_type else "text/plain"
            return f'<{tag} type="{t}" mode="base64">{b}</{tag}>'
        if mode == "escaped":
            return f'<{tag} type="text/html" mode="escaped">{x("<b>" + x(text) + "</b>")}</{tag}>'
        return (f'<{tag} type="application/xhtml+xml" mode="xml">'
                f'<div xmlns="http://www.w3.org/1999/xhtml"><i>{x(text)}</i></div></{tag}>')

    ftitle, tagline = words(2), words(4)
    items, body = [], []
    for k in range(n):
        title, summary, content = words(3), words(6), words(9)
        link = f"{host}/{k}"
        body.append(f'<entry>{construct("title", title, html_type=(k % 2 == 0))}'
                    f'<link rel="alternate" type="text/html" href="{link}"/>'
                    f'<id>tag:old{i},2004:{k}</id><issued>{date(k)}</issued><modified>{date(k)}</modified>'
                    f'{construct("summary", summary)}{construct("content", content)}</entry>')
        items.append(item(title=title, link=link, id_=f"tag:old{i},2004:{k}", summary=summary,
                          content=content, published=date(k)))
    doc = (f'<?xml version="1.0" encoding="utf-8"?>\n<feed version="0.3" xmlns="http://purl.org/atom/ns#">'
           f'{construct("title", ftitle, html_type=False)}<link rel="alternate" type="text/html" href="{host}/"/>'
           f'{construct("tagline", tagline)}<modified>{date(50)}</modified>\n' + "\n".join(body) + "</feed>\n")
    return doc.encode(), {"title": ftitle, "link": f"{host}/", "subtitle": tagline, "items": items}


# ---------------------------------------------------------------------------------- model

def person(k):
    first = RNG.choice(["Ana", "Ben", "Chloe", "Dev", "Eun", "Farah", "Gus"])
    last = RNG.choice(["Silva", "Okafor", "Lind", "Mehta", "Park", "Nowak"])
    handle = f"{first.lower()}{k}"
    return {"name": f"{first} {last}", "email": f"{handle}@example.com",
            "uri": f"http://people.example.com/{handle}"}


def gen_model(i):
    host = f"http://model{i}.example.org"
    variant = i % 4
    n = RNG.randint(2, 4)
    items, body = [], []
    if variant == 0:
        # Atom: feed author and id, entry authors with email and uri.
        fa = person(99)
        for k in range(n):
            a = person(k)
            title = words(3)
            body.append(f'<entry><title>{x(title)}</title><link href="{host}/{k}"/><id>urn:uuid:{i:04d}-{k}</id>'
                        f'<updated>{date(k)}</updated><author><name>{a["name"]}</name><email>{a["email"]}</email>'
                        f'<uri>{a["uri"]}</uri></author></entry>')
            items.append(item(title=title, link=f"{host}/{k}", id_=f"urn:uuid:{i:04d}-{k}",
                              author=a, updated=date(k)))
        doc = (f'<?xml version="1.0" encoding="utf-8"?>\n<feed xmlns="http://www.w3.org/2005/Atom">'
               f'<title>Model {i}</title><link href="{host}/"/><id>urn:uuid:feed-{i:04d}</id>'
               f'<updated>{date(30)}</updated><author><name>{fa["name"]}</name><email>{fa["email"]}</email>'
               f'<uri>{fa["uri"]}</uri></author>\n' + "\n".join(body) + "</feed>\n")
        return doc.encode(), {"title": f"Model {i}", "link": f"{host}/", "id": f"urn:uuid:feed-{i:04d}",
                              "author": fa, "items": items}
    if variant == 1:
        # RSS 1.0: rdf:about as the id, dcterms dates.
        for k in range(n):
            title = words(3)
            about = f"{host}/about/{k}"
            body.append(f'<item rdf:about="{about}"><title>{x(title)}</title><link>{host}/{k}</link>'
                        f'<dcterms:issued>{date(k)}</dcterms:issued><dcterms:modified>{date(k + 1)}</dcterms:modified></item>')
            items.append(item(title=title, link=f"{host}/{k}", id_=about, published=date(k),
                              updated=date(k + 1)))
        seq = "".join(f'<rdf:li rdf:resource="{host}/about/{k}"/>' for k in range(n))
        doc = (f'<?xml version="1.0" encoding="utf-8"?>\n<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" '
               f'xmlns="http://purl.org/rss/1.0/" xmlns:dcterms="http://purl.org/dc/terms/">'
               f'<channel rdf:about="{host}/rss"><title>Model {i}</title><link>{host}/</link><description>d</description>'
               f'<items><rdf:Seq>{seq}</rdf:Seq></items></channel>\n' + "\n".join(body) + "</rdf:RDF>\n")
        return doc.encode(), {"title": f"Model {i}", "link": f"{host}/", "items": items}
    if variant == 2:
        # RSS 2.0: a guid that is a permalink and no link; dcterms dates; managingEditor.
        for k in range(n):
            title = words(3)
            perma = f"{host}/p/{k}"
            attr = "" if k % 2 else ' isPermaLink="true"'
            body.append(f'<item><title>{x(title)}</title><guid{attr}>{perma}</guid>'
                        f'<dcterms:modified>{date(k)}</dcterms:modified></item>')
            items.append(item(title=title, link=perma, id_=perma, updated=date(k)))
        doc = (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" xmlns:dcterms="http://purl.org/dc/terms/"><channel>'
               f'<title>Model {i}</title><link>{host}/</link><description>d</description>\n'
               + "\n".join(body) + "</channel></rss>\n")
        return doc.encode(), {"title": f"Model {i}", "link": f"{host}/", "items": items}
    # RSS 2.0 with atom:author (name, email, uri) per item and dcterms:issued.
    for k in range(n):
        a = person(k)
        title = words(3)
        body.append(f'<item><title>{x(title)}</title><link>{host}/{k}</link><guid isPermaLink="false">g{i}-{k}</guid>'
                    f'<atom:author><atom:name>{a["name"]}</atom:name><atom:email>{a["email"]}</atom:email>'
                    f'<atom:uri>{a["uri"]}</atom:uri></atom:author><dcterms:issued>{date(k)}</dcterms:issued></item>')
        items.append(item(title=title, link=f"{host}/{k}", id_=f"g{i}-{k}", author=a, published=date(k)))
    doc = (f'<?xml version="1.0" encoding="utf-8"?>\n<rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom" '
           f'xmlns:dcterms="http://purl.org/dc/terms/"><channel><title>Model {i}</title><link>{host}/</link>'
           f'<description>d</description>\n' + "\n".join(body) + "</channel></rss>\n")
    return doc.encode(), {"title": f"Model {i}", "link": f"{host}/", "items": items}


KINDS = [("odd", gen_odd), ("entities", gen_entities), ("xmlbase", gen_xmlbase),
         ("encoding", gen_encoding), ("atom03", gen_atom03), ("model", gen_model)]


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures/feeds/conformance"
    for kind, gen in KINDS:
        for i in range(30):
            half = "heldout" if i % 3 == 0 else "dev"
            d = os.path.join(out, half, kind)
            os.makedirs(d, exist_ok=True)
            raw, expected = gen(i)
            with open(os.path.join(d, f"{kind}_{i:02d}.xml"), "wb") as f:
                f.write(raw)
            with open(os.path.join(d, f"{kind}_{i:02d}.expect.json"), "w") as f:
                json.dump(expected, f, ensure_ascii=False, indent=1)
                f.write("\n")


if __name__ == "__main__":
    main()
