"""Legality rules for the HTML that automations put in messages, and the output-side sanitizer.

``validate_message`` decides legality the way a browser would see the message: it parses the
content as an HTML5 fragment with Lexbor (through selectolax) and walks the resulting tree, so
entity encoding, odd separators, broken nesting and parser quirks are judged on what a browser
builds, never on how the raw text looks.

The tree builder silently drops some tokens, though: ``<html>``, ``<head>`` and ``<body>`` tags
(ignored, or for <html> merged into an internal wrapper the fragment API hides), ``<!DOCTYPE>``,
table-only tags such as ``<td>``, stray closing tags, and a tag cut off by the end of the input.
None of them reaches the tree, yet all of them break the product rules (and an unfinished tag
eats whatever markup a page puts after the message). ``_check_tokens`` therefore re-reads the
content with the tag states of the WHATWG tokenizer. It only runs once the tree has passed,
and then every element in the message is one of a, b, i, br, div, none of which switches the
tokenizer into a raw-text state, so the plain tag states describe the input exactly. It can
only add refusals; it never accepts anything the tree check refused.

``sanitize_message`` is the independent output-side defence (nh3 / ammonia with the same
allowlist) that every rendering goes through.
"""

from __future__ import annotations

import string
from itertools import product

import nh3
from selectolax.lexbor import LexborHTMLParser

MAX_MESSAGE_LENGTH = 2000
ALLOWED_TAGS = frozenset({"a", "b", "i", "br", "div"})
ALLOWED_LINK_ATTRIBUTES = frozenset({"href", "title", "target"})
ALLOWED_URL_SCHEMES = frozenset({"http", "https", "mailto"})

_ALLOWED_TAGS_SENTENCE = "Allowed tags are <a>, <b>, <i>, <br> and <div>."
_LINK_ADVICE = "use a full http, https or mailto link"
# Longest piece of user input echoed into an error sentence.
_ECHO_LIMIT = 40


class IllegalMessage(ValueError):
    """A message breaks the HTML rules; ``str()`` is a sentence meant for the API user.

    ``code`` names the rule for programs: length, encoding, tag, closing_tag, style,
    event_handler, attribute, duplicate_attribute, link_scheme, link, comment, doctype,
    unfinished_tag or markup.
    """

    def __init__(self, message: str, code: str = "invalid") -> None:
        super().__init__(message)
        self.code = code


# --- validate_message ---------------------------------------------------------------------------


def validate_message(content: str) -> str:
    """Return ``content`` unchanged if it is a legal message, else raise IllegalMessage."""
    if not isinstance(content, str):
        raise TypeError(f"validate_message() expects str, not {type(content).__name__}")
    # Length first: it is the cheapest check and bounds the work done on hostile input.
    if len(content) > MAX_MESSAGE_LENGTH:
        raise IllegalMessage(
            f"The message is {len(content)} characters long; the maximum is "
            f"{MAX_MESSAGE_LENGTH} characters, including HTML.",
            "length",
        )
    try:
        raw = content.encode("utf-8")
    except UnicodeEncodeError:
        # Lone surrogates (e.g. from a JSON "\ud800" escape) cannot be stored or parsed.
        raise IllegalMessage("The message contains invalid characters.", "encoding") from None
    _check_tree(raw)
    _check_tokens(content)
    return content


def _check_tree(raw: bytes) -> None:
    # Fragment parsing in a <div> context is what `element.innerHTML = message` does, so this is
    # exactly the tree a browser builds; no <html>/<head>/<body> wrappers are added to it.
    # scripting=True parses <noscript> like a browser that runs scripts (it is refused anyway).
    tree = LexborHTMLParser(raw, is_fragment=True, fragment_tag="div", scripting=True)
    root = tree.root
    if root is None:  # empty, or only tokens the tree builder drops (left to _check_tokens)
        return
    # On a fragment root, traverse() walks every top-level node and their descendants, in
    # document order, comments included; a parent is always checked before its children.
    for node in root.traverse(include_text=True):
        if node.is_text_node:
            continue
        if node.is_element_node:
            tag = node.tag or ""
            attributes = node.attributes
            if attributes or tag not in ALLOWED_TAGS:  # the common case needs no further look
                _check_element(tag, attributes)
        elif node.is_comment_node:
            # Also what `<!foo>`, `<?xml ?>`, `</ x>` and `<![CDATA[..]]>` become in HTML.
            raise _comment_not_allowed()
        elif (node.html or "").startswith("<?"):
            # Lexbor keeps "<?php ... ?>" as a processing instruction node (browsers: a comment).
            raise IllegalMessage("Processing instructions (<?...?>) are not allowed in messages.", "markup")
        else:
            # Fail closed on anything not positively recognised (doctype, CDATA, ...).
            raise IllegalMessage("The message contains markup that is not allowed.", "markup")


def _check_element(tag: str, attributes: dict[str, str | None]) -> None:
    name = _ascii_lower(tag)
    if name not in ALLOWED_TAGS:
        raise _tag_not_allowed(name, closing=False)
    names = [_ascii_lower(attribute) for attribute in attributes]
    _check_attribute_names(name, names, closing=False)
    if name == "a" and "href" in attributes:
        _check_href(attributes["href"])


def _tag_not_allowed(name: str, *, closing: bool) -> IllegalMessage:
    if closing:
        return IllegalMessage(
            f"The message contains the closing tag </{_echo(name)}>, which is not allowed. {_ALLOWED_TAGS_SENTENCE}",
            "closing_tag",
        )
    return IllegalMessage(
        f"The message contains the HTML tag <{_echo(name)}>, which is not allowed. {_ALLOWED_TAGS_SENTENCE}",
        "tag",
    )


def _check_attribute_names(tag: str, names: list[str], *, closing: bool) -> None:
    # style and on* first: they get their own sentence even where other attributes are present.
    for name in names:
        if name == "style":
            raise IllegalMessage("Inline CSS is not allowed: the message has a style attribute.", "style")
        if name.startswith("on"):
            raise IllegalMessage(
                f"The message contains an event handler attribute ({_echo(name)}), which is not allowed.",
                "event_handler",
            )
    for name in names:
        if closing:
            raise IllegalMessage(
                f"The closing tag </{_echo(tag)}> has an attribute ({_echo(name)}); "
                "closing tags cannot have attributes.",
                "attribute",
            )
        if tag != "a":
            raise IllegalMessage(
                f"The attribute {_echo(name)} is not allowed on <{_echo(tag)}>; only <a> may have "
                "attributes (href, title and target).",
                "attribute",
            )
        if name not in ALLOWED_LINK_ATTRIBUTES:
            raise IllegalMessage(
                f"The attribute {_echo(name)} is not allowed on <a>; links may only have href, title and target.",
                "attribute",
            )


def _check_href(href: str | None) -> None:
    problem = _href_problem(href)
    if problem is not None:
        raise IllegalMessage(*problem)


def _href_problem(href: str | None) -> tuple[str, str] | None:
    """(sentence, code) if the href is not an absolute http, https or mailto URL, else None.

    ``href`` is the attribute value as parsed, so character references are already decoded.
    """
    url = _normalise_url(href or "")
    scheme = _url_scheme(url)
    if scheme is None:
        # No scheme means a relative link. A message is shown in another origin's page (and in
        # emails or apps), where a relative link points somewhere the sender never meant, so only
        # absolute http, https and mailto links are meaningful; refuse the rest.
        if not url:
            return f"A link has an empty address; {_LINK_ADVICE}.", "link"
        return f"The link '{_echo(url)}' is not an absolute address; {_LINK_ADVICE}.", "link"
    if scheme not in ALLOWED_URL_SCHEMES:
        return f"The link scheme '{_echo(scheme)}' is not allowed; use http, https or mailto.", "link_scheme"
    if scheme != "mailto":
        # "https:x" or "https:/x" resolve relative to a page that is itself on https, so a special
        # scheme only makes an absolute URL when two slashes follow (WHATWG counts "\" as "/").
        rest = url[len(scheme) + 1 :]
        if len(rest) < 2 or rest[0] not in "/\\" or rest[1] not in "/\\":
            return f"The link '{_echo(url)}' is not an absolute address; {_LINK_ADVICE}.", "link"
    return None


# Leading and trailing C0 controls and spaces are stripped, and ASCII tab and newline removed
# everywhere, by the WHATWG URL parser before it looks for a scheme.
_C0_CONTROL_OR_SPACE = "".join(chr(code) for code in range(0x21))
_TAB_OR_NEWLINE = {0x09: None, 0x0A: None, 0x0D: None}
_ASCII_ALPHA = frozenset(string.ascii_letters)
_SCHEME_CHARS = frozenset(string.ascii_letters + string.digits + "+-.")


def _normalise_url(href: str) -> str:
    return href.strip(_C0_CONTROL_OR_SPACE).translate(_TAB_OR_NEWLINE)


def _url_scheme(url: str) -> str | None:
    """The lowercased scheme as the WHATWG scheme states read it, or None when there is none."""
    if not url or url[0] not in _ASCII_ALPHA:
        return None
    for index, char in enumerate(url):
        if char == ":":
            return url[:index].lower()
        if char not in _SCHEME_CHARS:
            return None
    return None


# --- Token audit: what the tree builder drops ---------------------------------------------------


def _check_tokens(text: str) -> None:
    """Refuse tag-level tokens the tree never shows, reading ``text`` as the WHATWG tokenizer does.

    Follows the data, tag open, end tag open, tag name and attribute states of HTML section
    13.2.5, which is all it takes to find where every tag starts and ends. Markup declarations
    and bogus comments are refused without being read further. Character references cannot
    change where a tag ends, so they are not decoded. Only meaningful once the tree has passed
    (no raw-text element such as script, style or textarea), see the module docstring.
    """
    last = len(text) - 1
    pos = text.find("<")  # data state: everything up to "<" is text
    while 0 <= pos < last:  # a trailing "<" is text too
        char = text[pos + 1]
        if char in _ASCII_ALPHA:
            closing, start = False, pos + 1
        elif char == "/":
            closing, start = True, pos + 2
            after = text[start : start + 1]
            if after == ">":  # "</>" is dropped without a token
                pos = text.find("<", start + 1)
                continue
            if not after:  # "</" at the end is text
                return
            if after not in _ASCII_ALPHA:  # e.g. "</ x>" or "</3>": a bogus comment
                raise _comment_not_allowed()
        elif char == "!":
            if _ascii_lower(text[pos + 2 : pos + 9]) == "doctype":
                raise IllegalMessage("A doctype (<!DOCTYPE ...>) is not allowed in messages.", "doctype")
            # "<!--", and "<![CDATA[" outside SVG/MathML, or anything else: a (bogus) comment.
            raise _comment_not_allowed()
        elif char == "?":
            raise _comment_not_allowed()
        else:
            pos = text.find("<", pos + 1)  # "<" followed by anything else is just "<"
            continue
        end = text.find(">", start)
        if end > 0 and text[start:end] in _ALLOWED_TAG_SPELLINGS:  # the usual <b>, </DIV>
            pos = text.find("<", end + 1)
            continue
        name, attributes, duplicate, pos = _read_tag(text, start)
        if name not in ALLOWED_TAGS:
            # Start tags here are mostly <html>, <head>, <body> and table parts, which the
            # fragment parser drops; closing tags of elements never opened are dropped too.
            raise _tag_not_allowed(name, closing=closing)
        if duplicate is not None:
            # The parser keeps the first value; refusing spares any other consumer the ambiguity.
            raise IllegalMessage(
                f"The attribute {_echo(duplicate)} appears more than once on <{_echo(name)}>, which is not allowed.",
                "duplicate_attribute",
            )
        if attributes:
            # For start tags the tree has already checked these names; this matters for
            # closing tags, whose attributes the parser discards.
            _check_attribute_names(name, attributes, closing=closing)
        pos = text.find("<", pos)


def _comment_not_allowed() -> IllegalMessage:
    return IllegalMessage("HTML comments are not allowed in messages.", "comment")


def _read_tag(text: str, pos: int) -> tuple[str, list[str], str | None, int]:
    """Read the tag whose name starts at ``pos``: (name, attribute names, first duplicate, end).

    ``end`` is the position after the closing ">". Raises IllegalMessage if the input ends
    first: the tokenizer then drops the tag, and a page rendering the message after it would
    have its own markup swallowed into the unfinished tag.
    """
    length = len(text)
    start = pos
    while pos < length and text[pos] not in _TAG_NAME_END:
        pos += 1  # tag name state
    name = _ascii_lower(text[start:pos]).replace("\0", "\ufffd")
    attributes: list[str] = []
    duplicate: str | None = None
    while pos < length:
        char = text[pos]
        if char in _TAG_NAME_END:
            if char == ">":
                return name, attributes, duplicate, pos + 1
            # before attribute name / self-closing start tag state: "/" not before ">" is skipped
            pos += 1
            continue
        # attribute name state; the first character is part of the name even if it is "="
        start = pos
        pos += 1
        while pos < length and text[pos] not in _ATTRIBUTE_NAME_END:
            pos += 1
        attribute = _ascii_lower(text[start:pos]).replace("\0", "\ufffd")
        if attribute in attributes:
            duplicate = duplicate or attribute
        else:
            attributes.append(attribute)
        # after attribute name state
        while pos < length and text[pos] in _TAG_WHITESPACE:
            pos += 1
        if pos >= length or text[pos] != "=":
            continue
        # before attribute value state
        pos += 1
        while pos < length and text[pos] in _TAG_WHITESPACE:
            pos += 1
        if pos >= length:
            break
        quote = text[pos]
        if quote in "\"'":
            end = text.find(quote, pos + 1)
            if end < 0:
                break
            # after attribute value (quoted) state: anything but whitespace, "/" or ">" starts
            # the next attribute name (a parse error), which the loop does by itself
            pos = end + 1
        elif quote != ">":  # unquoted value: up to whitespace or ">"
            while pos < length and text[pos] not in _UNQUOTED_VALUE_END:
                pos += 1
    raise IllegalMessage(
        "The message ends inside an unfinished HTML tag; close the tag with > or write < as &lt;.",
        "unfinished_tag",
    )


# The tokenizer's whitespace; CR counts too because input preprocessing turns it into LF.
_TAG_WHITESPACE = frozenset("\t\n\f\r ")
_TAG_NAME_END = _TAG_WHITESPACE | {"/", ">"}
_ATTRIBUTE_NAME_END = _TAG_NAME_END | {"="}
_UNQUOTED_VALUE_END = _TAG_WHITESPACE | {">"}
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)
# Every spelling of a bare allowed tag name ("b", "B", "bR", ...), for the scanner's fast path.
_ALLOWED_TAG_SPELLINGS = frozenset(
    "".join(spelling) for tag in ALLOWED_TAGS for spelling in product(*({c, c.upper()} for c in tag))
)


def _ascii_lower(text: str) -> str:
    # The tokenizer lowercases ASCII only; str.lower() would also fold e.g. "İ" or "K" (Kelvin).
    return text.lower() if text.isascii() else text.translate(_ASCII_LOWER)


def _echo(text: str) -> str:
    """A short, printable excerpt of user input for an error sentence."""
    shown = "".join(char if char.isprintable() else "\ufffd" for char in text[:_ECHO_LIMIT])
    return shown + "…" if len(text) > _ECHO_LIMIT else shown


# --- sanitize_message ---------------------------------------------------------------------------


def _filter_attribute(tag: str, attribute: str, value: str) -> str | None:
    # Same link rule as validate_message (absolute http/https/mailto only), so what renders never
    # depends on ammonia's idea of a relative or scheme-less URL.
    if attribute == "href" and _href_problem(value) is not None:
        return None
    return value


# Built once: every message of every page is rendered through it. `target` is not in the allowed
# attributes because it is forced to _blank (set_tag_attribute_values overrides whatever the
# sender wrote), and link_rel adds rel="noopener noreferrer" so the opened tab cannot reach back
# through window.opener nor learn the page it came from.
_CLEANER = nh3.Cleaner(
    tags=set(ALLOWED_TAGS),
    clean_content_tags={"script", "style"},
    # "*": nothing, or ammonia's default generic attributes (lang, title) stay allowed on every tag.
    attributes={"a": {"href", "title"}, "*": set()},
    attribute_filter=_filter_attribute,
    strip_comments=True,
    link_rel="noopener noreferrer",
    set_tag_attribute_values={"a": {"target": "_blank"}},
    url_schemes=set(ALLOWED_URL_SCHEMES),
    url_relative="deny",
)


def sanitize_message(content: str) -> str:
    """Safe HTML for displaying any message, legal or not (e.g. a plain-text HTTP response body).

    Allowed tags and link attributes are kept, everything else is removed or escaped, links open
    in a new tab with rel="noopener noreferrer", and comments are dropped.
    """
    try:
        return _CLEANER.clean(content)
    except UnicodeEncodeError:
        # Lone surrogates cannot cross into Rust; show them as "?" rather than fail the page.
        return _CLEANER.clean(content.encode("utf-8", "replace").decode("utf-8"))
