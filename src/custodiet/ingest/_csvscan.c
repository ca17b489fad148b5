/*
 * One pass over CSV text that says, for every physical line, what the fast reader must know about it.
 *
 * line_flags(data) -> bytes, one byte per line (a line ends at a line feed; a last line without one
 * counts too):
 *   bit 0  the line holds an odd number of double quotes (a quoted field stays open past its end);
 *   bit 1  a quote out of place: neither byte beside it is an edge (a comma, a quote, a line feed or, after
 *          it, a carriage return) and it is not the first or last byte of the text;
 *   bit 2  a control character (below 0x20, or 0x7f) other than the line feed and a carriage return just
 *          before it.
 *
 * line_feeds(data) -> bytes: the offset of every line feed, native int64.
 *
 * json_lines(data) -> (starts, ends, blank, escapes, keys, bad): one pass over JSON-lines text.
 *   starts, ends  every line's first byte and its line feed (or the text's end), native int64 in bytes;
 *   blank         one byte per line, 1 when it is empty or spaces only (before a carriage return ending it);
 *   escapes       whether any backslash or DEL occurs (only then may a value hold a control character);
 *   keys          the sorted distinct top-level keys (bytes) when every line that is not blank is one JSON
 *                 object with no key escaping a character, alone on its line; else None (the caller then
 *                 asks the engine). Only the object's shape is looked at: whether it is valid JSON is the
 *                 engine's to say;
 *   bad           the offset of the first byte that is not UTF-8 (as Python's strict decoder), or -1.
 * The GIL is released while scanning. numpy does the same in several passes (custodiet.ingest.csvsplit
 * falls back to it when this extension is not built); this is about ten times faster on quoted text.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif
#include <stdlib.h>
#include <string.h>

static int edge_before(unsigned char c) { return c == ',' || c == '"' || c == '\n'; }
static int edge_after(unsigned char c) { return c == ',' || c == '"' || c == '\n' || c == '\r'; }

static PyObject *line_flags(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer view;
    if (!PyArg_ParseTuple(args, "y*", &view)) return NULL;
    const unsigned char *p = (const unsigned char *)view.buf;
    Py_ssize_t n = view.len;
    Py_ssize_t lines = 0;
    for (const unsigned char *q = p; (q = memchr(q, '\n', (size_t)(p + n - q))) != NULL; q++) lines++;
    if (n && p[n - 1] != '\n') lines++;
    PyObject *out = PyBytes_FromStringAndSize(NULL, lines);
    if (!out) {
        PyBuffer_Release(&view);
        return NULL;
    }
    unsigned char *flags = (unsigned char *)PyBytes_AS_STRING(out);
    Py_BEGIN_ALLOW_THREADS
    Py_ssize_t line = 0;
    unsigned char flag = 0, quotes = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
#ifdef __SSE2__
        if (i + 16 <= n) { /* sixteen ordinary bytes at a time: only line ends, quotes and controls matter */
            __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
            __m128i control = _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(0x1f)), _mm_set1_epi8(0x1f));
            __m128i other = _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')), _mm_cmpeq_epi8(v, _mm_set1_epi8(0x7f)));
            int special = _mm_movemask_epi8(_mm_or_si128(control, other));
            if (!special) {
                i += 15;
                continue;
            }
            i += __builtin_ctz((unsigned)special);
        }
#endif
        unsigned char c = p[i];
        if (c >= 0x20 && c != '"' && c != 0x7f) continue;
        if (c == '\n') {
            flags[line++] = flag | (quotes & 1);
            flag = 0;
            quotes = 0;
        } else if (c == '"') {
            quotes++;
            if (i > 0 && i < n - 1 && !edge_before(p[i - 1]) && !edge_after(p[i + 1])) flag |= 2;
        } else if (!(c == '\r' && (i + 1 == n || p[i + 1] == '\n'))) {
            flag |= 4;
        }
    }
    if (line < lines) flags[line] = flag | (quotes & 1);
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return out;
}

/* line_feeds(data) -> bytes: the offset of every line feed, native int64 (memchr: numpy's compare and
   flatnonzero over a block cost ten times more). */
static PyObject *line_feeds(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer view;
    if (!PyArg_ParseTuple(args, "y*", &view)) return NULL;
    const unsigned char *p = (const unsigned char *)view.buf;
    Py_ssize_t n = view.len, feeds = 0;
    for (const unsigned char *q = p; (q = memchr(q, '\n', (size_t)(p + n - q))) != NULL; q++) feeds++;
    PyObject *out = PyBytes_FromStringAndSize(NULL, feeds * 8);
    if (!out) {
        PyBuffer_Release(&view);
        return NULL;
    }
    int64_t *at = (int64_t *)PyBytes_AS_STRING(out);
    Py_BEGIN_ALLOW_THREADS
    for (const unsigned char *q = p; (q = memchr(q, '\n', (size_t)(p + n - q))) != NULL; q++) *at++ = q - p;
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    return out;
}

/* -- json_lines ------------------------------------------------------------------------------- */

static Py_ssize_t utf8_error(const unsigned char *p, Py_ssize_t n) {
    Py_ssize_t i = 0;
    while (i < n) {
        if (i + 8 <= n) {
            uint64_t word;
            memcpy(&word, p + i, 8);
            if (!(word & 0x8080808080808080ULL)) {
                i += 8;
                continue;
            }
        }
        unsigned char c = p[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        int more;
        unsigned char low = 0x80, high = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) more = 1;
        else if (c == 0xE0) more = 2, low = 0xA0;
        else if (c >= 0xE1 && c <= 0xEC) more = 2;
        else if (c == 0xED) more = 2, high = 0x9F;
        else if (c >= 0xEE && c <= 0xEF) more = 2;
        else if (c == 0xF0) more = 3, low = 0x90;
        else if (c >= 0xF1 && c <= 0xF3) more = 3;
        else if (c == 0xF4) more = 3, high = 0x8F;
        else return i;
        if (i + more >= n) return i; /* cut short by the end of the text */
        for (int k = 1; k <= more; k++) {
            unsigned char d = p[i + k];
            unsigned char lo = k == 1 ? low : 0x80, hi = k == 1 ? high : 0xBF;
            if (d < lo || d > hi) return i;
        }
        i += more + 1;
    }
    return -1;
}

typedef struct {
    char *data; /* length-prefixed keys (a size_t, then the bytes) */
    size_t len, cap;
} Bytes;

static int bytes_add(Bytes *b, const void *src, size_t len) {
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        while (cap < b->len + len) cap *= 2;
        char *grown = realloc(b->data, cap);
        if (!grown) return 0;
        b->data = grown;
        b->cap = cap;
    }
    memcpy(b->data + b->len, src, len);
    b->len += len;
    return 1;
}

static int add_key(Bytes *b, const unsigned char *key, size_t len) {
    return bytes_add(b, &len, sizeof len) && bytes_add(b, key, len);
}

/* Whether a key list (length-prefixed keys) holds ``key``. */
static int holds_key(const Bytes *b, const char *key, size_t len) {
    for (size_t at = 0; at < b->len;) {
        size_t n;
        memcpy(&n, b->data + at, sizeof n);
        at += sizeof n;
        if (n == len && !memcmp(b->data + at, key, len)) return 1;
        at += n;
    }
    return 0;
}

/* The top-level keys of one line [p, end) into ``line_keys``; 0 when the line is not one object with
   plain keys alone on its line (or memory ran out: ``*failed``). */
static int object_keys(const unsigned char *p, const unsigned char *end, Bytes *line_keys, int *failed) {
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r')) p++;
    if (p == end || *p != '{') return 0;
    int depth = 0, expect_key = 0;
    while (p < end) {
        unsigned char c = *p;
        if (c == '"') {
            const unsigned char *start = ++p;
            int escaped = 0;
            for (;;) { /* to the closing quote: the next quote not escaped by a backslash */
                while (p < end && *p != '"' && *p != '\\') p++;
                if (p >= end) return 0;
                if (*p == '"') break;
                escaped = 1;
                p += 2;
            }
            if (depth == 1 && expect_key) {
                if (escaped) return 0;
                if (!add_key(line_keys, start, (size_t)(p - start))) {
                    *failed = 1;
                    return 0;
                }
                expect_key = 0;
            }
            p++;
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
            expect_key = depth == 1;
        } else if (c == '}' || c == ']') {
            if (--depth == 0) {
                for (p++; p < end; p++)
                    if (*p != ' ' && *p != '\t' && *p != '\r') return 0;
                return 1;
            }
        } else if (c == ',' && depth == 1) {
            expect_key = 1;
        }
        p++;
    }
    return 0;
}

static PyObject *json_lines(PyObject *self, PyObject *args) {
    (void)self;
    Py_buffer view;
    if (!PyArg_ParseTuple(args, "y*", &view)) return NULL;
    const unsigned char *p = (const unsigned char *)view.buf;
    Py_ssize_t n = view.len, lines = 0;
    for (const unsigned char *q = p; (q = memchr(q, '\n', (size_t)(p + n - q))) != NULL; q++) lines++;
    if (n && p[n - 1] != '\n') lines++;
    PyObject *starts = PyBytes_FromStringAndSize(NULL, lines * 8);
    PyObject *ends = PyBytes_FromStringAndSize(NULL, lines * 8);
    PyObject *blank = PyBytes_FromStringAndSize(NULL, lines);
    if (!starts || !ends || !blank) {
        Py_XDECREF(starts);
        Py_XDECREF(ends);
        Py_XDECREF(blank);
        PyBuffer_Release(&view);
        return NULL;
    }
    int64_t *start_at = (int64_t *)PyBytes_AS_STRING(starts), *end_at = (int64_t *)PyBytes_AS_STRING(ends);
    unsigned char *is_blank = (unsigned char *)PyBytes_AS_STRING(blank);
    int escapes = 0, simple = 1, failed = 0;
    Py_ssize_t bad;
    Bytes keys = {0}, line_keys = {0}, previous = {0}; /* previous: the last line's key list */
    Py_BEGIN_ALLOW_THREADS
    escapes = memchr(p, '\\', (size_t)n) != NULL || memchr(p, 0x7f, (size_t)n) != NULL;
    bad = utf8_error(p, n);
    Py_ssize_t at = 0;
    for (Py_ssize_t line = 0; line < lines; line++) {
        const unsigned char *feed = memchr(p + at, '\n', (size_t)(n - at));
        Py_ssize_t stop = feed ? feed - p : n;
        start_at[line] = at;
        end_at[line] = stop;
        Py_ssize_t last = stop;
        if (last > at && p[last - 1] == '\r') last--;
        Py_ssize_t i = at;
        while (i < last && p[i] == ' ') i++;
        is_blank[line] = i == last;
        if (!is_blank[line] && simple && !failed) {
            line_keys.len = 0;
            if (!object_keys(p + at, p + stop, &line_keys, &failed)) {
                simple = 0;
            } else if (line_keys.len != previous.len || memcmp(line_keys.data, previous.data, line_keys.len)) {
                /* a new key list (rare): its keys join the distinct keys */
                previous.len = 0;
                if (!bytes_add(&previous, line_keys.data, line_keys.len)) failed = 1;
                for (size_t k = 0; !failed && k < line_keys.len;) {
                    size_t len;
                    memcpy(&len, line_keys.data + k, sizeof len);
                    const char *key = line_keys.data + k + sizeof len;
                    if (!holds_key(&keys, key, len) && !add_key(&keys, (const unsigned char *)key, len)) failed = 1;
                    k += sizeof len + len;
                }
            }
        }
        at = stop + 1;
    }
    Py_END_ALLOW_THREADS
    PyBuffer_Release(&view);
    free(line_keys.data);
    free(previous.data);
    PyObject *key_list = NULL;
    if (failed) {
        free(keys.data);
        Py_DECREF(starts);
        Py_DECREF(ends);
        Py_DECREF(blank);
        return PyErr_NoMemory();
    }
    if (simple) {
        key_list = PyList_New(0);
        for (size_t k = 0; key_list && k < keys.len;) {
            size_t len;
            memcpy(&len, keys.data + k, sizeof len);
            PyObject *key = PyBytes_FromStringAndSize(keys.data + k + sizeof len, (Py_ssize_t)len);
            if (!key || PyList_Append(key_list, key) < 0) Py_CLEAR(key_list);
            Py_XDECREF(key);
            k += sizeof len + len;
        }
        if (key_list && PyList_Sort(key_list) < 0) Py_CLEAR(key_list);
    } else {
        key_list = Py_NewRef(Py_None);
    }
    free(keys.data);
    if (!key_list) {
        Py_DECREF(starts);
        Py_DECREF(ends);
        Py_DECREF(blank);
        return NULL;
    }
    return Py_BuildValue("(NNNNNn)", starts, ends, blank, PyBool_FromLong(escapes), key_list, bad);
}

static PyMethodDef methods[] = {
    {"line_flags", line_flags, METH_VARARGS,
     "line_flags(data) -> bytes: per line, bit 0 odd quotes, bit 1 a misplaced quote, bit 2 a control character"},
    {"line_feeds", line_feeds, METH_VARARGS, "line_feeds(data) -> bytes: the offset of every line feed, native int64"},
    {"json_lines", json_lines, METH_VARARGS,
     "json_lines(data) -> (starts, ends, blank, escapes, keys, bad): the lines of JSON-lines text (see above)"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_csvscan", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__csvscan(void) { return PyModule_Create(&module); }
