"""A comment as GitHub shows it: its Markdown rendered by cmark-gfm (GitHub's renderer, with the autolink, tagfilter
and table extensions, raw HTML kept as GitHub keeps it before sanitising), then read for what a reader or GitHub
acts on: links, images, headings, raw HTML elements, and the @mentions and cross-repository references GitHub
links in text outside code."""

import re
from html.parser import HTMLParser

import cmarkgfm
from cmarkgfm.cmark import Options

EXTENSIONS = ["autolink", "tagfilter", "table", "strikethrough", "tasklist"]
MARKDOWN_TAGS = {  # what cmark-gfm itself emits for Markdown: anything else came from raw HTML
    *[
        "p",
        "a",
        "img",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "pre",
        "code",
        "em",
        "strong",
        "del",
        "blockquote",
        "ul",
        "ol",
        "li",
        "hr",
        "br",
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
    ],
    "input",
}
# GitHub links these in text that is not inside code or a link: @user, @org/team, owner/repo#1, owner/repo@sha
MENTION = re.compile(r"(?<![\w`])@[A-Za-z0-9][A-Za-z0-9-]*(?:/[A-Za-z0-9_.-]+)?")
REFERENCE = re.compile(r"[A-Za-z0-9-]+/[A-Za-z0-9_.-]+(?:#\d+|@[0-9a-f]{7,40})")


def html(markdown: str) -> str:
    return cmarkgfm.markdown_to_html_with_extensions(
        markdown, options=Options.CMARK_OPT_UNSAFE, extensions=EXTENSIONS
    )


class Rendered(HTMLParser):
    """What one rendered comment shows: read it with render(markdown)."""

    def __init__(self):
        super().__init__()
        self.links: list[str] = []  # href of each <a>
        self.images: list[str] = []  # src of each <img>
        self.headings: list[str] = []  # the text of each <h1>..<h6>
        self.raw_tags: list[str] = []  # elements that only raw HTML makes
        self.comments: list[str] = []  # HTML comments
        self.mentions: list[str] = []
        self.references: list[str] = []
        self.code: list[str] = []  # the text of each code block
        self.languages: list[str] = []  # the info string of each code block ("" when none)
        self.text: list[str] = []  # the text outside code blocks
        self._open: list[str] = []
        self._heading: list[str] | None = None

    def handle_starttag(self, tag, attrs):
        values = dict(attrs)
        if tag not in MARKDOWN_TAGS:
            self.raw_tags.append(tag)
        if tag == "a":
            self.links.append(values.get("href", ""))
        if tag == "img":
            self.images.append(values.get("src", ""))
        if re.fullmatch(r"h[1-6]", tag):
            self._heading = []
        if tag == "pre":
            self.code.append("")
            self.languages.append("")
        if tag == "code" and "pre" in self._open:
            self.languages[-1] = (values.get("class") or "").removeprefix("language-")
        if tag not in ("img", "br", "hr", "input"):
            self._open.append(tag)

    def handle_endtag(self, tag):
        if re.fullmatch(r"h[1-6]", tag) and self._heading is not None:
            self.headings.append("".join(self._heading).strip())
            self._heading = None
        if tag in self._open:
            del self._open[len(self._open) - 1 - self._open[::-1].index(tag) :]

    def handle_data(self, data):
        if self._heading is not None:
            self._heading.append(data)
        if "pre" in self._open:
            self.code[-1] += data
            return
        self.text.append(data)
        if not {"code", "a"} & set(self._open):
            self.mentions += MENTION.findall(data)
            self.references += REFERENCE.findall(data)

    def handle_comment(self, data):
        self.comments.append(data)


def render(markdown: str) -> Rendered:
    rendered = Rendered()
    rendered.feed(html(markdown))
    rendered.close()
    return rendered
