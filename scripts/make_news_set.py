#!/usr/bin/env python3
"""Builds the `news` development set: article pages laid out as news sites and blogs of every
era serve them, with the article text as truth.

    scripts/make_news_set.py [BENCH_DIR] [OUT_DIR]

BENCH_DIR is the shared extraction data (default ../shared/bench/extraction); OUT_DIR gets two
sets laid out as the shared ones (`truth.json`, `html/<id>.html.gz`), readable by
`benches/extract.rs` and `score.py`:

- `OUT_DIR/news-dev/`: the half to tune on;
- `OUT_DIR/news-holdout/`: the other half, to be scored only for a closing report.

The pages are constructed, not collected: no page may be fetched here. The article texts are
real (the marked bodies of the Zyte set's news pages and of the WCXB set's articles); the
markup around them is written by this script in the styles where extraction was seen to fail
on unseen news sets:

- `table`: 2000s table layouts: a navigation column beside the story, the body as `<font>`
  runs split by `<br><br>` or unclosed `<p>`, nested tables, a copyright row; some with a
  `<title>` that is never closed and swallows a script, or with script text inside it;
- `blog`: a blog post whose comments (often longer than the post) follow it as a comment list,
  as plain `<div>`s with no telling class, or as schema.org `Comment` items;
- `wire`: a two-to-four-paragraph wire story whose lead sits in its own element (a standfirst,
  an intro `div`) beside the body, or whose body an advert splits, among teasers with
  excerpts;
- `modern`: a current news page (`article`, figure and caption, share bar, newsletter box,
  a named comment section, a related grid), as a control.

Everything is drawn from a fixed seed: the same data gives the same pages. Which half a page
lands in is decided by its id alone.
"""

import gzip
import hashlib
import html
import json
import random
import sys
from pathlib import Path

SITES = [
    "Daily Courier", "The Valley Herald", "Northern Gazette", "Metro Tribune", "Coast Times",
    "The Evening Ledger", "River City News", "Lakeside Observer", "Capital Dispatch",
    "Highland Post", "Harbour Chronicle", "The Prairie Sentinel",
]
NAMES = [
    "Mike", "Sarah K.", "anonymous", "Jenny from Ohio", "DaveR", "Tom Walsh", "Lena",
    "grumpy_old_man", "Priya", "Marco", "Ed", "Kathy W.", "B. Nguyen", "Sam", "rockdoc",
    "Angela", "Pete S", "Chris", "Yuki", "Olu",
]
SECTIONS = ["Home", "News", "Local", "World", "Business", "Sports", "Opinion", "Weather",
            "Entertainment", "Classifieds", "Obituaries", "Contact Us"]


def esc(s):
    return html.escape(s, quote=False)


def paragraphs(body):
    return [p.strip() for p in body.split("\n") if p.strip()]


def sentences(rng, pool, k):
    out = []
    for _ in range(k):
        p = rng.choice(pool)
        parts = [s.strip() for s in p.split(". ") if len(s.strip()) > 30]
        if parts:
            out.append(rng.choice(parts).rstrip(".") + ".")
    return " ".join(out)


def headline_of(rng, paras):
    """A headline from the story's first words: never the whole lead (the extractor drops a
    paragraph that repeats the title)."""
    words = paras[0].split()
    head = " ".join(words[: rng.randint(6, 11)])
    if len(head) > 70 or len(words) < 12:
        head = paras[0][: rng.randint(20, 40)]
    return head.rstrip(",.;: ").title()


def date(rng, lo, hi):
    y = rng.randint(lo, hi)
    m = rng.choice(["January", "March", "April", "June", "July", "September", "October",
                    "November", "December"])
    return f"{m} {rng.randint(1, 28)}, {y}"


def nav_links(rng, sep):
    return sep.join(f'<a href="/{s.lower().replace(" ", "-")}/">{s}</a>'
                    for s in rng.sample(SECTIONS, rng.randint(6, len(SECTIONS))))


def teasers(rng, pool, n, excerpt):
    items = []
    for _ in range(n):
        h = headline_of(rng, [rng.choice(pool)])
        if excerpt:
            items.append((h, sentences(rng, pool, 1)))
        else:
            items.append((h, ""))
    return items


def page_table(rng, head, paras, pool):
    site = rng.choice(SITES)
    d = date(rng, 1998, 2009)
    author = rng.choice(NAMES[:14])
    script = ('<script language="JavaScript">\n<!--\nfunction openWin(u){window.open(u,"w",'
              '"width=400,height=300");}\nvar ads = new Array(); ads[0]="<a href=/ad>Click</a>";\n'
              'document.write("<img src=/counter.gif>");\n//-->\n</script>')
    variant = rng.random()
    if variant < 0.25:
        # The title is never closed: a spec parser reads the rest of the page as its text.
        title = f"<title>{esc(head)} - {site}\n{script}\n"
    elif variant < 0.45:
        title = f"<title>{esc(head)} - {site} {script}</title>\n"
    else:
        title = f"<title>{esc(head)} - {site}</title>\n{script}\n"
    left = nav_links(rng, "<br>\n")
    weather = (f'<p><font size="1"><b>Weather</b><br>Today: {rng.choice(["Sunny", "Cloudy", "Rain"])}'
               f' {rng.randint(40, 90)}F<br>Tomorrow: Partly cloudy</font></p>')
    ad = '<p><font size="1">Advertisement</font><br><a href="/ads/1"><img src="/ads/banner.gif"></a></p>'
    face = rng.choice(['face="Arial, Helvetica"', 'face="Verdana"', 'face="Times New Roman"'])
    if rng.random() < 0.5:
        body = (f'<font {face} size="2">' + "<br><br>\n".join(esc(p) for p in paras)
                + "</font>")
    else:
        body = f'<font {face} size="2">\n' + "\n".join(f"<p>{esc(p)}" for p in paras) + "\n</font>"
    related = "".join(f'<a href="/story/{rng.randint(1000, 9999)}.html">{esc(h)}</a><br>\n'
                      for h, _ in teasers(rng, pool, rng.randint(3, 6), False))
    headlines = "".join(f'<p><a href="/story/{rng.randint(1000, 9999)}.html"><b>{esc(h)}</b></a><br>'
                        f'<font size="1">{esc(e)}</font></p>\n'
                        for h, e in teasers(rng, pool, rng.randint(2, 5), True))
    nested = rng.random() < 0.5
    story = (f'<font size="4" {face}><b>{esc(head)}</b></font><br>\n'
             f'<font size="1">By {author}, Staff Writer<br>{d}</font>\n<p>\n{body}\n'
             f'<p><font size="1"><a href="/email">E-mail this story</a> | '
             f'<a href="/print">Printer-friendly version</a></font>\n')
    if nested:
        story = f'<table width="100%" cellpadding="4"><tr><td>\n{story}</td></tr></table>\n'
    return (
        f'<html>\n<head>\n<meta http-equiv="Content-Type" content="text/html; charset=iso-8859-1">\n'
        f'{title}</head>\n<body bgcolor="#FFFFFF" topmargin="0" leftmargin="0">\n'
        f'<table width="760" border="0" cellpadding="0" cellspacing="0">\n'
        f'<tr><td colspan="3"><img src="/images/logo.gif" alt="{site}"><br><font size="1">{d} | '
        f'<a href="/subscribe">Subscribe</a> | <a href="/archives">Archives</a></font></td></tr>\n'
        f'<tr><td width="140" valign="top" bgcolor="#EEEEEE"><font size="2">{left}</font>\n{weather}\n</td>\n'
        f'<td width="470" valign="top">\n{story}'
        f'<p><font size="2"><b>Related stories</b></font><br>\n{related}</td>\n'
        f'<td width="150" valign="top"><font size="2"><b>Today\'s headlines</b></font>\n{headlines}{ad}</td></tr>\n'
        f'<tr><td colspan="3" align="center"><font size="1">Copyright &copy; {d[-4:]} {site}. '
        f'All rights reserved. <a href="/privacy">Privacy Policy</a> | <a href="/terms">Terms of Use</a>'
        f'</font></td></tr>\n</table>\n</body>\n</html>\n'
    ), "latin-1"


def page_blog(rng, head, paras, pool):
    blog = rng.choice(["Notes from the Valley", "Random Thoughts", "The Daily Grind",
                       "Politics and Pie", "On the Record", "Field Notes"])
    d = date(rng, 2004, 2015)
    n = rng.randint(6, 30)
    comments = []
    for i in range(n):
        comments.append((rng.choice(NAMES), date(rng, 2004, 2015),
                         sentences(rng, pool, rng.randint(1, 4))))
    style = rng.choice(["named", "plain", "plain", "schema"])
    heading = rng.choice([f"{n} Responses to &#8220;{esc(head)}&#8221;", f"{n} comments:",
                          "Discussion", f"{n} thoughts on &ldquo;{esc(head)}&rdquo;",
                          "What readers say"])
    items = []
    for i, (who, when, text) in enumerate(comments):
        if style == "named":
            items.append(f'<li class="comment" id="comment-{i + 100}"><cite>{esc(who)}</cite> Says:<br>'
                         f'<small class="commentmetadata"><a href="#comment-{i + 100}">{when} at '
                         f'{rng.randint(1, 12)}:{rng.randint(10, 59)} pm</a></small>\n<p>{esc(text)}</p></li>\n')
        elif style == "plain":
            items.append(f'<div id="c{rng.randint(10**6, 10**7)}">\n<div><b>{esc(who)}</b> said...</div>\n'
                         f'<div><p>{esc(text)}</p></div>\n<div>{when} {rng.randint(1, 12)}:'
                         f'{rng.randint(10, 59)} PM <a href="#r{i}">Reply</a></div>\n</div>\n')
        else:
            items.append(f'<div itemscope itemtype="https://schema.org/Comment" class="c-{i % 2}">\n'
                         f'<span itemprop="author">{esc(who)}</span> <time itemprop="dateCreated">{when}</time>\n'
                         f'<div itemprop="text"><p>{esc(text)}</p></div>\n<a href="#reply">Reply</a>\n</div>\n')
    if style == "named":
        thread = f'<ol class="commentlist">\n{"".join(items)}</ol>\n'
    else:
        thread = f'<div>\n{"".join(items)}</div>\n'
    archives = "".join(f'<li><a href="/{y}/">{m} {y}</a></li>' for y in range(2004, 2012)
                       for m in ["March", "October"])
    post = "\n".join(f"<p>{esc(p)}</p>" for p in paras)
    return (
        f'<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN">\n<html><head>'
        f'<meta charset="utf-8"><title>{esc(blog)}: {esc(head)}</title></head>\n<body>\n'
        f'<div id="page"><div id="header"><h1><a href="/">{esc(blog)}</a></h1>'
        f'<div class="description">Just another weblog</div></div>\n<div id="content">\n'
        f'<div class="post" id="post-{rng.randint(10, 999)}">\n<h2><a href="/p">{esc(head)}</a></h2>\n'
        f'<small>{d} by {rng.choice(NAMES)}</small>\n<div class="entry">\n{post}\n</div>\n'
        f'<p class="postmetadata">Posted in <a href="/c/news">News</a> | '
        f'<a href="#comments">{n} Comments &#187;</a></p>\n</div>\n'
        f'<h3>{heading}</h3>\n{thread}'
        f'<h3>Leave a Reply</h3>\n<form action="/wp-comments-post.php"><p><input name="author"> Name</p>'
        f'<p><textarea name="comment"></textarea></p><p><input type="submit" value="Submit Comment"></p></form>\n'
        f'</div>\n<div id="sidebar"><h2>Archives</h2><ul>{archives}</ul>\n<h2>Blogroll</h2><ul>'
        f'{"".join(f"<li><a href=/b{i}>{s}</a></li>" for i, s in enumerate(SITES[:6]))}</ul></div>\n'
        f'<div id="footer"><p>{esc(blog)} is proudly powered by WordPress</p></div></div>\n</body></html>\n'
    ), "utf-8"


def page_wire(rng, head, paras, pool):
    site = rng.choice(SITES)
    d = date(rng, 2012, 2024)
    agency = rng.choice(["Associated Press", "Reuters", "AFP", "Staff and agencies"])
    lead_tag = rng.choice([
        ('<p class="standfirst">', "</p>"),
        ('<div class="article-intro"><p>', "</p></div>"),
        ('<p class="lead"><strong>', "</strong></p>"),
        ('<div class="summary">', "</div>"),
        ('<p class="story-lead">', "</p>"),
    ])
    lead = f"{lead_tag[0]}{esc(paras[0])}{lead_tag[1]}"
    rest = paras[1:]
    body_class = rng.choice(["story-body", "article-text", "body-copy", "text"])
    if len(rest) >= 2 and rng.random() < 0.5:
        cut = rng.randint(1, len(rest) - 1)
        body = (f'<div class="{body_class}">' + "".join(f"<p>{esc(p)}</p>" for p in rest[:cut])
                + '</div>\n<div class="ad-slot"><span>Advertisement</span></div>\n'
                f'<div class="{body_class}">' + "".join(f"<p>{esc(p)}</p>" for p in rest[cut:])
                + "</div>")
    else:
        body = f'<div class="{body_class}">' + "".join(f"<p>{esc(p)}</p>" for p in rest) + "</div>"
    more = "".join(f'<li><a href="/news/{rng.randint(10**5, 10**6)}"><h3>{esc(h)}</h3></a>'
                   f'<p>{esc(e)}</p></li>\n' for h, e in teasers(rng, pool, rng.randint(4, 8), True))
    most = "".join(f'<li><a href="/n/{i}">{esc(h)}</a></li>'
                   for i, (h, _) in enumerate(teasers(rng, pool, 5, False)))
    wrap = rng.choice(["div", "article"])
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{esc(head)} | {site}</title>'
        f'</head><body>\n<header class="site-header"><a href="/" class="logo">{site}</a>'
        f'<nav>{nav_links(rng, " ")}</nav></header>\n<div class="page">\n'
        f'<{wrap} class="story">\n<h1>{esc(head)}</h1>\n<div class="byline">By {agency} &middot; '
        f'<time>{d}</time></div>\n{lead}\n{body}\n'
        f'<div class="share"><a href="/s/fb">Facebook</a> <a href="/s/tw">Twitter</a> '
        f'<a href="/s/mail">Email</a></div>\n</{wrap}>\n'
        f'<section class="more-news"><h2>{rng.choice(["More news", "Top stories", "In other news"])}</h2>'
        f'<ul>\n{more}</ul></section>\n'
        f'<div class="rail"><h2>Most read</h2><ol>{most}</ol></div>\n</div>\n'
        f'<footer><p>&copy; {d[-4:]} {site}. All rights reserved.</p>{nav_links(rng, " ")}</footer>\n'
        f'</body></html>\n'
    ), "utf-8"


def page_modern(rng, head, paras, pool):
    site = rng.choice(SITES)
    d = date(rng, 2016, 2025)
    mid = len(paras) // 2
    body = "".join(f"<p>{esc(p)}</p>\n" for p in paras[:mid])
    body += ('<div class="newsletter-signup"><h3>Get the morning briefing</h3><p>Sign up for our '
             'newsletter and get the day\'s top stories in your inbox every morning.</p>'
             '<form><input type="email"><button>Sign up</button></form></div>\n')
    body += "".join(f"<p>{esc(p)}</p>\n" for p in paras[mid:])
    n = rng.randint(0, 12)
    comments = "".join(f'<div class="comment"><span class="author">{esc(rng.choice(NAMES))}</span>'
                       f'<p>{esc(sentences(rng, pool, rng.randint(1, 3)))}</p></div>\n' for _ in range(n))
    grid = "".join(f'<div class="card"><a href="/a/{rng.randint(10**5, 10**6)}"><h3>{esc(h)}</h3>'
                   f'<p>{esc(e)}</p></a></div>\n' for h, e in teasers(rng, pool, 6, True))
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{esc(head)} - {site}</title>'
        f'<meta property="og:title" content="{html.escape(head)}"></head><body>\n'
        f'<div class="cookie-banner" role="dialog"><p>We use cookies to improve your experience. By '
        f'continuing to browse you agree to our use of cookies.</p><button>Accept</button></div>\n'
        f'<header><nav>{nav_links(rng, " ")}</nav></header>\n<main>\n<article>\n'
        f'<h1>{esc(head)}</h1><p class="byline">By {esc(rng.choice(NAMES))} <time>{d}</time></p>\n'
        f'<figure><img src="/img/lead.jpg"><figcaption>A photograph with its caption. Photo: '
        f'{site}</figcaption></figure>\n<div class="article-body">\n{body}</div>\n'
        f'<div class="social-share"><a href="/s">Share</a><a href="/t">Tweet</a></div>\n</article>\n'
        f'<section class="comments"><h2>Comments ({n})</h2>{comments}</section>\n'
        f'<section class="related"><h2>Related</h2>{grid}</section>\n</main>\n'
        f'<footer><p>&copy; {site}</p>{nav_links(rng, " | ")}</footer>\n</body></html>\n'
    ), "utf-8"


STYLES = [("table", page_table), ("blog", page_blog), ("wire", page_wire), ("modern", page_modern)]


def main(argv):
    bench = Path(argv[1] if len(argv) > 1 else "../shared/bench/extraction")
    out = Path(argv[2] if len(argv) > 2 else "target/news-set")
    texts = []
    zyte = json.loads((bench / "zyte" / "truth.json").read_text(encoding="utf-8"))
    texts += [v["articleBody"] for _, v in sorted(zyte.items())]
    wcxb = json.loads((bench / "wcxb-dev" / "truth.json").read_text(encoding="utf-8"))
    texts += [v["articleBody"] for _, v in sorted(wcxb.items()) if v.get("page_type") == "article"]
    rng = random.Random(16)
    usable = [t for t in texts if len(paragraphs(t)) >= 3 and 600 <= len(t) <= 12000]
    rng.shuffle(usable)
    pool = [p for t in usable for p in paragraphs(t) if len(p) > 120]
    chosen = usable[:280]
    halves = {"news-dev": {}, "news-holdout": {}}
    for name in halves:
        (out / name / "html").mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(chosen):
        style, make = STYLES[i % len(STYLES)]
        paras = paragraphs(text)
        if style == "wire":
            paras = paras[: rng.randint(2, 4)]
        head = headline_of(rng, paras)
        page, encoding = make(rng, head, paras, pool)
        pid = f"{style}-{hashlib.sha1(text.encode()).hexdigest()[:10]}"
        half = "news-holdout" if int(hashlib.sha1(pid.encode()).hexdigest(), 16) % 2 else "news-dev"
        data = page.encode(encoding, errors="xmlcharrefreplace")
        (out / half / "html" / f"{pid}.html.gz").write_bytes(gzip.compress(data, mtime=0))
        halves[half][pid] = {"articleBody": "\n\n".join(paras), "url": f"https://news.example/{pid}",
                             "page_type": style}
    for name, truth in halves.items():
        (out / name / "truth.json").write_text(json.dumps(truth, indent=1, ensure_ascii=False),
                                               encoding="utf-8")
        print(f"{out / name}: {len(truth)} pages")


if __name__ == "__main__":
    main(sys.argv)
