"""X1 XML (ETSI TS 103 221-1) provisioning messages, read as a stream: one item per ``x1RequestMessage``.

A file holds one ``X1Request`` document or several concatenated, each maybe with its own XML declaration;
namespace prefixes vary (``ns1:``, ``x1:``, a default namespace) and so may the prefix of ``xsi:type``.
The bytes are read block by block; a light scan (``_Scanner``) finds where each document starts (an XML
declaration, or an ``X1Request`` start tag once the previous document has its root) and where each
``x1RequestMessage`` start tag is, so that every message gets its exact physical line whatever the file's
length (libxml2's own line numbers drift past line 65,535). Each document is parsed by an lxml pull
parser (one, reset between documents) that never resolves entities, never loads a DTD, never touches the
network and keeps libxml2's size limits; a document with a DOCTYPE, or an entity reference other than the
predefined ones, is refused outright. Every message element is cleared once read, so memory stays
bounded however large the file.

Bytes that are not well-formed XML give one error item at the line where parsing failed and the rest of
that document is skipped; reading resumes at the next document. A document the file ends inside is an
error item with ``cut=True``: the file is incomplete, never read as if whole.

Messages come out in X1's JSON form (``x1message``; ``x1write`` lists the element names): ``messageType`` (the
``xsi:type`` without its prefix), the header fields, ``xId`` and, for Activate and Modify, the task
details. Other request types come out as ``{"messageType": type}`` only. The schema's ``version``,
``listOfDIDs`` and a mediation detail's ``deliveryType`` have no place in the JSON form and are dropped,
as are unknown elements. Element namespaces inside a message are not checked, only local names.
"""

from __future__ import annotations

import contextlib
import re
from collections import deque
from collections.abc import Iterator
from typing import Any, BinaryIO
from zlib import error as ZlibError

from lxml import etree

from custodiet.ingest.interception.items import RAW_LIMIT, X1Item
from custodiet.ingest.interception.x1message import Unmappable, local_name, message_of
from custodiet.ingest.interception.x1write import X1_NS, X1_VERSION, write_x1_xml

__all__ = ["X1_NS", "X1_VERSION", "X1Item", "read_x1_xml", "write_x1_xml"]

BLOCK_BYTES = 4 << 20
MAX_PENDING = 64 << 20
_PARSER_OPTIONS: dict[str, Any] = {
    "resolve_entities": False, "no_network": True, "load_dtd": False, "huge_tree": False,
    "remove_comments": True, "remove_pis": True, "remove_blank_text": True, "collect_ids": False,
}
# What the scan looks for, each found with bytes.find (fast: they are rare, or once or twice a message):
# "<!" (comments and CDATA are skipped, a tag inside them being text; DOCTYPE is refused), "<?" (the XML
# declaration and other PIs), the names X1Request and x1RequestMessage (start and end tags, any prefix)
# and "&" (only the predefined and character references are allowed: no DTD declares any other). None of
# these spans a "<", so a block cut just before a "<" never splits one.
_PATTERNS = (b"<!", b"<?", b"X1Request", b"x1RequestMessage", b"&")
_LT_BANG, _LT_QUESTION, _ROOT, _MESSAGE, _AMP = range(5)
_MESSAGE_NAME = _PATTERNS[_MESSAGE]
_MESSAGE_SIZE = len(_MESSAGE_NAME)
_WINDOW = 2_000
_PREFIX = re.compile(rb"[A-Za-z_][\w.\-]*:")
_PI_NAME = re.compile(rb"<\?([A-Za-z_][\w.\-]*)")
_ENTITY_OK = re.compile(rb"&(?:amp|lt|gt|quot|apos|#[0-9]+|#x[0-9A-Fa-f]+);")
_ENTITY_NAME = re.compile(rb"&([^;\s<&]{0,40});?")
_NAME_END = frozenset(b" \t\r\n/>")
_LINE_IN_MESSAGE = re.compile(r"\bline (\d+)")
_BOM = b"\xef\xbb\xbf"




def read_x1_xml(stream: BinaryIO, name: str) -> Iterator[X1Item]:
    """The X1 messages of a binary stream of X1 XML (a plain file, or ``gzip.open`` of one), in file order.
    ``name`` is the file's name, used in the reasons that concern the file as a whole."""
    scanner = _Scanner(name)
    pending = b""
    try:
        while block := stream.read(BLOCK_BYTES):
            data = pending + block if pending else block
            cut = data.rfind(b"<")
            if cut >= 3 and data.startswith(_BOM, cut - 3):  # keep a mark with the document it precedes
                cut -= 3
            if cut <= 0:
                if len(data) < MAX_PENDING:
                    pending = data
                    continue
                cut = len(data)  # a run this long without a "<" is text: no token can be split
            yield from scanner.feed(data[:cut])
            pending = data[cut:]
    except (EOFError, OSError, ZlibError) as exc:
        if pending:
            yield from scanner.feed(pending)
        items = list(scanner.finish())
        yield from items
        if not any(item.cut for item in items):
            yield X1Item(scanner.line, None, f"{name}: compressed stream ends early ({exc})", "", cut=True)
        return
    if pending:
        yield from scanner.feed(pending)
    yield from scanner.finish()


class _Document:
    """One X1Request document being parsed: where it starts, what its prolog held, what was fed."""

    def __init__(self, line: int, parser: Any) -> None:
        self.line = line  # the file line of the document's first byte
        self.parser = parser  # the scanner's pull parser, fresh or reset by close()
        self.fed = False
        self.blank = True  # nothing but white space (or a byte-order mark) so far
        self.clean_prolog = True  # nothing but white space, the declaration, comments and PIs before the root
        self.has_root = False
        self.dead = False  # an error was reported: skip to the next document
        self.doctype = False  # refused for its DOCTYPE
        self.starts: deque[int] = deque()  # file lines of the x1RequestMessage start tags not yet parsed
        self.open: list[int] = []  # lines of the message elements begun and not yet ended
        # x1RequestMessage end tags fed, and end events taken: when the parser gives up at the end of a
        # cut-short document it closes the elements still open, and those ends have no tag behind them.
        self.ends_fed = 0
        self.ends_taken = 0
        self.root: Any = None  # the root element, once a message under it has been read


class _Scanner:
    """Splits the byte stream into documents, feeds each to its parser and turns messages into items."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.line = 1  # file line at the start of the next block
        # One pull parser, reset by close() after each document: a new one per document would cost as
        # much as parsing a short document.
        self.parser: Any = etree.XMLPullParser(events=("start", "end"), tag="{*}x1RequestMessage",
                                               **_PARSER_OPTIONS)
        self.doc = _Document(1, self.parser)
        self.skip_until: bytes | None = None  # inside a comment, CDATA section or PI: its terminator
        self.first = True
        self.prefix_tags = (b"<:", b"</:")  # how the last prefixed x1RequestMessage tags began

    def feed(self, data: bytes) -> Iterator[X1Item]:
        if self.first:
            self.first = False
            if data.startswith(_BOM):
                data = data[3:]
        end = len(data)
        pos = 0  # scanned up to here
        seg = 0  # start of the bytes not yet fed to the current document
        line = self.line  # file line at pos
        doc = self.doc
        if self.skip_until is not None:
            stop = data.find(self.skip_until)
            pos = end if stop < 0 else stop + len(self.skip_until)
            line += data.count(b"\n", 0, pos)
            if stop >= 0:
                self.skip_until = None
        found = [data.find(p, pos) for p in _PATTERNS]
        found = [at if at >= 0 else end for at in found]
        while pos < end:
            at = min(found)
            if at >= end:
                break
            which = found.index(at)
            if which == _MESSAGE and doc.has_root and not doc.dead:
                # The common case, twice a message: x1RequestMessage tags, up to the next rarer token.
                rare = min(found[_LT_BANG], found[_LT_QUESTION], found[_ROOT], found[_AMP])
                starts = doc.starts
                ends = 0
                open_tag, close_tag = self.prefix_tags
                while at < rare:
                    before = data[at - 1]
                    if at + _MESSAGE_SIZE < end and data[at + _MESSAGE_SIZE] not in _NAME_END:
                        kind = 0
                    elif before == 60:  # "<"
                        kind = 1
                    elif before == 47 and data[at - 2] == 60:  # "</"
                        kind = -1
                    elif before != 58:  # not after a prefix's ":"
                        kind = 0
                    elif data.startswith(open_tag, at - len(open_tag)):
                        kind = 1
                    elif data.startswith(close_tag, at - len(close_tag)):
                        kind = -1
                    else:
                        kind, tag_start = _tag_kind(data, at, _MESSAGE_SIZE)
                        if kind:  # remember this prefix: the next tags most likely share it
                            head = data[tag_start:at].lstrip(b"</")
                            open_tag, close_tag = b"<" + head, b"</" + head
                            self.prefix_tags = (open_tag, close_tag)
                    if kind > 0:
                        line += data.count(b"\n", pos, at)
                        pos = at + _MESSAGE_SIZE
                        starts.append(line)
                        gt = data.find(b">", pos)
                        if gt > 0 and data[gt - 1] == 47:  # <x1RequestMessage .../>
                            ends += 1
                    elif kind < 0:
                        ends += 1
                    after = at + 1
                    at = data.find(_MESSAGE_NAME, after, after + _WINDOW)  # a short search is cheaper to start
                    if at < 0:
                        at = data.find(_MESSAGE_NAME, after)
                        if at < 0:
                            at = end
                found[_MESSAGE] = at
                doc.ends_fed += ends
                continue
            kind, start = _tag_kind(data, at, len(_PATTERNS[which])) if which in (_ROOT, _MESSAGE) else (0, at)
            if not doc.has_root:
                self._gap(doc, data, pos, start)
            line += data.count(b"\n", pos, at)
            pos = at + len(_PATTERNS[which])
            skip: bytes | None = None
            new_doc = False
            if which == _MESSAGE:
                if kind and not doc.dead:
                    if kind > 0:
                        doc.starts.append(line)
                        gt = data.find(b">", pos)
                        if gt > 0 and data[gt - 1] == 47:  # <x1RequestMessage .../>
                            doc.ends_fed += 1
                    else:
                        doc.ends_fed += 1
            elif which == _AMP:
                if not doc.dead and not _ENTITY_OK.match(data, at):
                    named = _ENTITY_NAME.match(data, at)
                    ref = named.group(0).decode("utf-8", "replace") if named else "&"
                    yield from self._feed(doc, data[seg:at])
                    seg = pos
                    if not doc.dead:
                        doc.dead = True
                        yield X1Item(line, None, f"entity reference {ref} refused: only the predefined entities "
                                     "and character references are allowed", "")
            elif which == _ROOT:
                if kind > 0:
                    # a root after a root, or after junk (a refused DOCTYPE aside), starts the next document
                    new_doc = doc.has_root or not (doc.clean_prolog or doc.doctype)
                    doc.has_root = True
            elif which == _LT_QUESTION:
                named = _PI_NAME.match(data, at)
                if named is not None and named.group(1) == b"xml":  # a declaration: a document starts here
                    new_doc = True
                skip = b"?>"
            elif data.startswith(b"<!--", at):
                skip = b"-->"
            elif data.startswith(b"<![CDATA[", at):
                skip = b"]]>"
            elif data.startswith(b"<!DOCTYPE", at) and not doc.dead and not doc.has_root:
                doc.dead = doc.doctype = True
                yield X1Item(line, None, "DOCTYPE not allowed: DTDs and entity declarations are refused", "")
            if new_doc:
                # what came before belongs to the previous document, less a byte-order mark (cat a.xml b.xml)
                mark = 3 if start >= 3 and data.startswith(_BOM, start - 3) else 0
                yield from self._feed(doc, data[seg:start - mark])
                yield from self._close(doc, cut=False)
                doc = self.doc = _Document(line, self.parser)
                doc.has_root = which == _ROOT
                seg = start
            if which != _AMP and which != _MESSAGE:
                doc.blank = False
            if skip is not None:
                stop = data.find(skip, pos)
                if stop < 0:
                    self.skip_until = skip
                    line += data.count(b"\n", pos, end)
                    pos = end
                    break
                stop += len(skip)
                line += data.count(b"\n", pos, stop)
                pos = stop
            for i, nxt in enumerate(found):
                if nxt < pos:
                    nxt = data.find(_PATTERNS[i], pos)
                    found[i] = nxt if nxt >= 0 else end
        if pos < end:
            if not doc.has_root:
                self._gap(doc, data, pos, end)
            line += data.count(b"\n", pos, end)
        yield from self._feed(doc, data[seg:end])
        self.line = line

    def finish(self) -> Iterator[X1Item]:
        yield from self._close(self.doc, cut=True)

    @staticmethod
    def _gap(doc: _Document, data: bytes, start: int, stop: int) -> None:
        """Notes what the bytes between two tokens say about the document's prolog."""
        if doc.has_root or start >= stop:
            return
        if not data[start:stop].isspace():
            doc.blank = False
            doc.clean_prolog = False

    def _feed(self, doc: _Document, data: bytes) -> Iterator[X1Item]:
        if doc.dead or not data:
            return
        error: etree.XMLSyntaxError | None = None
        doc.fed = True
        try:
            doc.parser.feed(data)
        except etree.XMLSyntaxError as exc:
            error = exc
        yield from self._events(doc)
        if error is not None:
            yield self._syntax_error(doc, error, cut=False)

    def _close(self, doc: _Document, cut: bool) -> Iterator[X1Item]:
        if doc.dead or doc.blank:
            if doc.fed:  # reset the parser for the next document, dropping whatever it still holds
                with contextlib.suppress(etree.XMLSyntaxError):
                    doc.parser.close()
                for _ in doc.parser.read_events():
                    pass
            return
        try:
            root = doc.parser.close()
        except etree.XMLSyntaxError as exc:
            yield from self._events(doc)
            yield self._syntax_error(doc, exc, cut=cut)
            return
        yield from self._events(doc)
        local = local_name(root.tag)
        if local != "X1Request":
            yield X1Item(doc.line, None, f"document root is <{local}>, not <X1Request>", "")

    def _syntax_error(self, doc: _Document, exc: etree.XMLSyntaxError, cut: bool) -> X1Item:
        doc.dead = True
        shift = doc.line - 1
        reason = _LINE_IN_MESSAGE.sub(lambda m: f"line {int(m.group(1)) + shift}", exc.msg or str(exc))
        line = (exc.lineno or 1) + shift
        if cut:
            return X1Item(line, None, f"{self.name} ends inside an X1Request document: {reason}", "", cut=True)
        return X1Item(line, None, f"not well-formed XML: {reason}", "")

    @staticmethod
    def _events(doc: _Document) -> Iterator[X1Item]:
        starts = doc.starts
        root = doc.root
        for event, element in doc.parser.read_events():
            if event == "start":
                doc.open.append(starts.popleft() if starts else doc.line + element.sourceline - 1)
                continue
            line = doc.open.pop() if doc.open else doc.line + element.sourceline - 1
            if doc.ends_taken >= doc.ends_fed:
                continue  # closed by the parser giving up, not by an end tag: a message cut short
            doc.ends_taken += 1
            try:
                yield X1Item(line, message_of(element), None, "")
            except Unmappable as exc:
                raw = etree.tostring(element, encoding="unicode", with_tail=False)[:RAW_LIMIT]
                yield X1Item(line, None, str(exc), raw)
            parent = element.getparent()
            if root is None and parent is not None and parent.getparent() is None:
                root = doc.root = parent
            if parent is root and root is not None:  # a child of the root: drop what is read
                element.clear(keep_tail=False)
                while element.getprevious() is not None:
                    del root[0]


def _tag_kind(data: bytes, at: int, size: int) -> tuple[int, int]:
    """Whether the name found at ``at`` is that of a start tag (1), an end tag (-1) or neither (0), and
    where its tag starts (its "<"; ``at`` when it is no tag)."""
    if at + size < len(data) and data[at + size] not in _NAME_END:
        return 0, at
    before = data[at - 1] if at else 0
    if before == 60:  # "<"
        return 1, at - 1
    if before == 47 and at > 1 and data[at - 2] == 60:  # "</"
        return -1, at - 2
    if before != 58:  # ":"
        return 0, at
    lt = data.rfind(b"<", max(0, at - 128), at)
    if lt < 0:
        return 0, at
    closing = data[lt + 1:lt + 2] == b"/"
    head = lt + 2 if closing else lt + 1
    if head != at and not _PREFIX.fullmatch(data, head, at):
        return 0, at
    return (-1 if closing else 1), lt
