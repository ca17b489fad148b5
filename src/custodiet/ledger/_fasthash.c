/*
 * custodiet.ledger._fasthash: batch SHA-256 for the ledger, in C, with the GIL released.
 *
 * The pure-Python engine (hashing.Hasher) calls hashlib once per leaf and once per node, so its cost is
 * Python's per-call overhead, not SHA-256. Here one call hashes a whole batch:
 *
 *   sha256_values(data, offsets, prefix=b"", threads=1, offset_width=4)
 *       SHA-256(prefix || data[offsets[i]:offsets[i+1]]) for every i (offsets: int32, or int64 with
 *       offset_width=8), i.e. every value of an Arrow binary (or large_binary) array.
 *   node_hashes(pairs, threads=1)
 *       SHA-256(0x01 || pair) for every 64-byte (left || right) pair: one level of an RFC 9162 tree.
 *   record_hashes(columns, rows, head, threads=1)
 *       The fused encode-and-hash of length-prefixed records (the ledger's `cev1` leaves): for each row,
 *       SHA-256(head || len(f1) .. len(fk) || bytes(f1) .. bytes(fk)), lengths as big-endian uint32,
 *       0xFFFFFFFF and no bytes for a null. Each column is a tuple (kind, offset, validity, offsets,
 *       data) made from Arrow buffers: kind 0 = variable-width binary/utf8 with int32 offsets, kind 1 =
 *       int64 (or timestamp) values, hashed as 8 bytes big-endian. `offset` is the Arrow array offset.
 *   content_hashes(columns, rows, threads=1)
 *       Ingest's content digest of records without an id of their own: for each row, SHA-256 of the
 *       fields joined by '|', each written as its length in characters (UTF-8 code points), ':' and
 *       its bytes, or '-' for a null (custodiet.ingest.dedupe.content_digest_sql, byte for byte).
 *       Columns as for record_hashes, of kind 0, or kind 2: a UTC time in microseconds (int64), written
 *       as the engine's strftime '%Y-%m-%dT%H:%M:%S.%fZ' (years 1000 to 9999; the caller checks).
 *
 * Every function returns bytes holding n digests of 32 bytes. SHA-256 is OpenSSL's libcrypto, whose
 * block function uses the CPU's SHA extensions where present. The low-level SHA256_Init/Update/Final
 * calls are deprecated in OpenSSL 3 but several times cheaper per message than the EVP layer for short
 * messages, which is all the ledger hashes; the EVP path is used where they are compiled out.
 * Work is split over `threads` POSIX threads by row range; results do not depend on the split.
 */
#define PY_SSIZE_T_CLEAN
#define OPENSSL_SUPPRESS_DEPRECATED
#include <Python.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define DIGEST 32
#define MAX_THREADS 64
#define MAX_COLUMNS 64
#define NULL_LENGTH 0xFFFFFFFFu

/* ---- one SHA-256 of a contiguous message ---------------------------------------------------------- */

typedef struct {
#ifdef OPENSSL_NO_DEPRECATED_3_0
    EVP_MD_CTX *ctx;
    const EVP_MD *md;
#else
    int unused;
#endif
} Sha;

static int sha_open(Sha *s) {
#ifdef OPENSSL_NO_DEPRECATED_3_0
    s->md = EVP_sha256();
    s->ctx = EVP_MD_CTX_new();
    return s->ctx != NULL;
#else
    (void)s;
    return 1;
#endif
}

static void sha_close(Sha *s) {
#ifdef OPENSSL_NO_DEPRECATED_3_0
    EVP_MD_CTX_free(s->ctx);
#else
    (void)s;
#endif
}

/* SHA-256(a || b) into out; returns 0 on failure. */
static int sha_two(Sha *s, const unsigned char *a, size_t alen, const unsigned char *b, size_t blen,
                   unsigned char *out) {
#ifdef OPENSSL_NO_DEPRECATED_3_0
    unsigned int len = 0;
    return EVP_DigestInit_ex(s->ctx, s->md, NULL) && EVP_DigestUpdate(s->ctx, a, alen) &&
           EVP_DigestUpdate(s->ctx, b, blen) && EVP_DigestFinal_ex(s->ctx, out, &len);
#else
    SHA256_CTX c;
    (void)s;
    return SHA256_Init(&c) && SHA256_Update(&c, a, alen) && SHA256_Update(&c, b, blen) && SHA256_Final(out, &c);
#endif
}

/* ---- running a row range on several threads ------------------------------------------------------- */

typedef struct Job Job;
/* Hashes rows [lo, hi); returns -1 when all went well, else the first bad row (or -2: out of memory). */
typedef Py_ssize_t (*RowFn)(const Job *job, Py_ssize_t lo, Py_ssize_t hi);

typedef struct {
    int kind; /* 0: binary with int32 offsets, 1: int64 */
    Py_ssize_t offset;
    const unsigned char *validity; /* NULL: no nulls */
    const int32_t *offsets;
    const unsigned char *data;
    Py_ssize_t data_len;
} Column;

struct Job {
    RowFn fn;
    unsigned char *out;
    /* sha256_values */
    const unsigned char *data;
    Py_ssize_t data_len;
    const void *offsets;
    int wide; /* offsets are int64 */
    const unsigned char *prefix;
    Py_ssize_t prefix_len;
    /* record_hashes */
    const Column *columns;
    int ncolumns;
};

typedef struct {
    const Job *job;
    Py_ssize_t lo, hi, bad;
} Slice;

static void *run_slice(void *arg) {
    Slice *s = (Slice *)arg;
    s->bad = s->job->fn(s->job, s->lo, s->hi);
    return NULL;
}

/* Runs fn over [0, n) split into `threads` ranges; returns the first bad row or -1 (-2: no memory). */
static Py_ssize_t run(const Job *job, Py_ssize_t n, int threads) {
    Slice slices[MAX_THREADS];
    pthread_t ids[MAX_THREADS];
    int started[MAX_THREADS];
    Py_ssize_t bad = -1;
    if (threads < 1) threads = 1;
    if (threads > MAX_THREADS) threads = MAX_THREADS;
    if (n < (Py_ssize_t)threads * 256) threads = 1; /* a thread costs more than it saves on small batches */
    Py_BEGIN_ALLOW_THREADS
    for (int t = 0; t < threads; t++) {
        slices[t].job = job;
        slices[t].lo = n * t / threads;
        slices[t].hi = n * (t + 1) / threads;
        slices[t].bad = -1;
        started[t] = t > 0 && pthread_create(&ids[t], NULL, run_slice, &slices[t]) == 0;
    }
    for (int t = 0; t < threads; t++) {
        if (!started[t]) run_slice(&slices[t]); /* the calling thread, or a thread that failed to start */
    }
    for (int t = 1; t < threads; t++) {
        if (started[t]) pthread_join(ids[t], NULL);
    }
    Py_END_ALLOW_THREADS
    for (int t = 0; t < threads; t++) {
        if (slices[t].bad == -2) return -2;
        if (slices[t].bad >= 0 && (bad < 0 || slices[t].bad < bad)) bad = slices[t].bad;
    }
    return bad;
}

static PyObject *finish(PyObject *out, Py_ssize_t bad, const char *what) {
    if (bad == -1) return out;
    Py_DECREF(out);
    if (bad == -2) return PyErr_NoMemory();
    return PyErr_Format(PyExc_ValueError, "%s: row %zd has offsets outside its data buffer", what, bad);
}

/* ---- sha256_values -------------------------------------------------------------------------------- */

static Py_ssize_t values_rows(const Job *job, Py_ssize_t lo, Py_ssize_t hi) {
    Sha sha;
    Py_ssize_t bad = -1;
    if (!sha_open(&sha)) return -2;
    for (Py_ssize_t i = lo; i < hi; i++) {
        int64_t a, b;
        if (job->wide) {
            a = ((const int64_t *)job->offsets)[i];
            b = ((const int64_t *)job->offsets)[i + 1];
        } else {
            a = ((const int32_t *)job->offsets)[i];
            b = ((const int32_t *)job->offsets)[i + 1];
        }
        if (a < 0 || b < a || b > job->data_len ||
            !sha_two(&sha, job->prefix, (size_t)job->prefix_len, job->data + a, (size_t)(b - a),
                     job->out + DIGEST * i)) {
            bad = i;
            break;
        }
    }
    sha_close(&sha);
    return bad;
}

static PyObject *sha256_values(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"data", "offsets", "prefix", "threads", "offset_width", NULL};
    Py_buffer data, offsets, prefix = {0};
    int threads = 1, width = 4;
    PyObject *out = NULL;
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*y*|y*ii", keywords, &data, &offsets, &prefix, &threads,
                                     &width))
        return NULL;
    Job job = {0};
    job.fn = values_rows;
    job.data = data.buf;
    job.data_len = data.len;
    job.offsets = offsets.buf;
    job.prefix = prefix.buf ? prefix.buf : (const unsigned char *)"";
    job.prefix_len = prefix.buf ? prefix.len : 0;
    job.wide = width == 8;
    if ((width != 4 && width != 8) || offsets.len % width || offsets.len < width) {
        PyErr_SetString(PyExc_ValueError, "offsets must hold n + 1 values of offset_width (4 or 8) bytes");
    } else {
        Py_ssize_t n = offsets.len / width - 1;
        out = PyBytes_FromStringAndSize(NULL, n * DIGEST);
        if (out) {
            job.out = (unsigned char *)PyBytes_AS_STRING(out);
            out = finish(out, run(&job, n, threads), "sha256_values");
        }
    }
    PyBuffer_Release(&data);
    PyBuffer_Release(&offsets);
    if (prefix.buf) PyBuffer_Release(&prefix);
    return out;
}

/* ---- node_hashes ---------------------------------------------------------------------------------- */

static Py_ssize_t node_rows(const Job *job, Py_ssize_t lo, Py_ssize_t hi) {
    static const unsigned char node_prefix[1] = {0x01};
    Sha sha;
    Py_ssize_t bad = -1;
    if (!sha_open(&sha)) return -2;
    for (Py_ssize_t i = lo; i < hi; i++) {
        if (!sha_two(&sha, node_prefix, 1, job->data + 2 * DIGEST * i, 2 * DIGEST, job->out + DIGEST * i)) {
            bad = -2;
            break;
        }
    }
    sha_close(&sha);
    return bad;
}

static PyObject *node_hashes(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"pairs", "threads", NULL};
    Py_buffer pairs;
    int threads = 1;
    PyObject *out = NULL;
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "y*|i", keywords, &pairs, &threads)) return NULL;
    if (pairs.len % (2 * DIGEST)) {
        PyErr_SetString(PyExc_ValueError, "pairs must be a whole number of 64-byte (left || right) pairs");
    } else {
        Py_ssize_t n = pairs.len / (2 * DIGEST);
        out = PyBytes_FromStringAndSize(NULL, n * DIGEST);
        if (out) {
            Job job = {0};
            job.fn = node_rows;
            job.data = pairs.buf;
            job.out = (unsigned char *)PyBytes_AS_STRING(out);
            out = finish(out, run(&job, n, threads), "node_hashes");
        }
    }
    PyBuffer_Release(&pairs);
    return out;
}

/* ---- record_hashes: the fused length-prefixed encoding and leaf hash ------------------------------- */

static inline int is_valid(const Column *c, Py_ssize_t i) {
    Py_ssize_t bit = c->offset + i;
    return c->validity == NULL || (c->validity[bit >> 3] >> (bit & 7)) & 1;
}

static inline void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* A row function's scratch buffer and hash context; 0 when out of memory. */
static int work_open(unsigned char **buf, size_t *cap, Sha *sha) {
    *cap = 4096;
    *buf = malloc(*cap);
    if (*buf == NULL) return 0;
    if (!sha_open(sha)) {
        free(*buf);
        return 0;
    }
    return 1;
}

/* Grows the buffer to hold `want` bytes (its content kept); 0 when out of memory. */
static int work_fit(unsigned char **buf, size_t *cap, size_t want) {
    if (want <= *cap) return 1;
    unsigned char *bigger = realloc(*buf, want * 2);
    if (bigger == NULL) return 0;
    *buf = bigger;
    *cap = want * 2;
    return 1;
}

static Py_ssize_t record_rows(const Job *job, Py_ssize_t lo, Py_ssize_t hi) {
    const Py_ssize_t head_len = job->prefix_len + 4 * job->ncolumns;
    size_t cap;
    unsigned char *buf;
    Sha sha;
    Py_ssize_t bad = -1;
    if (!work_open(&buf, &cap, &sha)) return -2;
    memcpy(buf, job->prefix, (size_t)job->prefix_len);
    for (Py_ssize_t i = lo; i < hi && bad == -1; i++) {
        size_t body = 0;
        /* pass 1: lengths into the header, and the body size */
        for (int k = 0; k < job->ncolumns; k++) {
            const Column *c = &job->columns[k];
            uint32_t len = NULL_LENGTH;
            if (is_valid(c, i)) {
                if (c->kind == 1) {
                    len = 8;
                } else {
                    int64_t a = c->offsets[c->offset + i], b = c->offsets[c->offset + i + 1];
                    if (a < 0 || b < a || b > c->data_len) {
                        bad = i;
                        break;
                    }
                    len = (uint32_t)(b - a);
                }
                body += len;
            }
            put_be32(buf + job->prefix_len + 4 * k, len);
        }
        if (bad != -1) break;
        if (!work_fit(&buf, &cap, (size_t)head_len + body)) {
            bad = -2;
            break;
        }
        /* pass 2: the values */
        unsigned char *p = buf + head_len;
        for (int k = 0; k < job->ncolumns; k++) {
            const Column *c = &job->columns[k];
            if (!is_valid(c, i)) continue;
            if (c->kind == 1) {
                uint64_t v;
                memcpy(&v, c->data + 8 * (c->offset + i), 8);
                put_be32(p, (uint32_t)(v >> 32));
                put_be32(p + 4, (uint32_t)v);
                p += 8;
            } else {
                int32_t a = c->offsets[c->offset + i], b = c->offsets[c->offset + i + 1];
                memcpy(p, c->data + a, (size_t)(b - a));
                p += b - a;
            }
        }
        if (!sha_two(&sha, buf, (size_t)(p - buf), NULL, 0, job->out + DIGEST * i)) bad = -2;
    }
    sha_close(&sha);
    free(buf);
    return bad;
}

/* ---- content_hashes: ingest's content digest ----------------------------------------------------- */

/* A UTC time in microseconds as 'YYYY-MM-DDTHH:MM:SS.ffffffZ' (27 characters, years 0 to 9999). The date
   from the day number by the civil-from-days algorithm (H. Hinnant, "chrono-compatible low-level date
   algorithms"). */
static int iso_micros(int64_t micros, char *out) {
    int64_t days = micros / 86400000000LL, rest = micros % 86400000000LL;
    if (rest < 0) {
        rest += 86400000000LL;
        days--;
    }
    days += 719468;
    int64_t era = (days >= 0 ? days : days - 146096) / 146097;
    int64_t doe = days - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    int64_t day = doy - (153 * mp + 2) / 5 + 1, month = mp < 10 ? mp + 3 : mp - 9;
    int64_t year = yoe + era * 400 + (month <= 2);
    int64_t seconds = rest / 1000000, fraction = rest % 1000000;
    int64_t fields[] = {year, month, day, seconds / 3600, seconds / 60 % 60, seconds % 60, fraction};
    static const int widths[] = {4, 2, 2, 2, 2, 2, 6};
    static const char after[] = "--T::.Z";
    char *p = out;
    for (int f = 0; f < 7; f++) {
        for (int w = widths[f] - 1; w >= 0; w--) {
            p[w] = (char)('0' + fields[f] % 10);
            fields[f] /= 10;
        }
        p += widths[f];
        *p++ = after[f];
    }
    return (int)(p - out);
}

static Py_ssize_t content_rows(const Job *job, Py_ssize_t lo, Py_ssize_t hi) {
    size_t cap;
    unsigned char *buf;
    Sha sha;
    Py_ssize_t bad = -1;
    if (!work_open(&buf, &cap, &sha)) return -2;
    for (Py_ssize_t i = lo; i < hi && bad == -1; i++) {
        size_t want = 0;
        for (int k = 0; k < job->ncolumns; k++) {
            const Column *c = &job->columns[k];
            if (!is_valid(c, i)) {
                want += 2;
                continue;
            }
            if (c->kind == 2) {
                want += 30;
                continue;
            }
            int64_t a = c->offsets[c->offset + i], b = c->offsets[c->offset + i + 1];
            if (a < 0 || b < a || b > c->data_len) {
                bad = i;
                break;
            }
            want += (size_t)(b - a) + 22;
        }
        if (bad != -1) break;
        if (!work_fit(&buf, &cap, want)) {
            bad = -2;
            break;
        }
        unsigned char *p = buf;
        for (int k = 0; k < job->ncolumns; k++) {
            const Column *c = &job->columns[k];
            if (k) *p++ = '|';
            if (!is_valid(c, i)) {
                *p++ = '-';
                continue;
            }
            if (c->kind == 2) {
                memcpy(p, "27:", 3);
                p += 3;
                p += iso_micros(((const int64_t *)c->data)[c->offset + i], (char *)p);
                continue;
            }
            int32_t a = c->offsets[c->offset + i], b = c->offsets[c->offset + i + 1];
            size_t chars = 0;
            for (int32_t j = a; j < b; j++) chars += (c->data[j] & 0xC0) != 0x80;
            char digits[24];
            int n = 0;
            do {
                digits[n++] = (char)('0' + chars % 10);
                chars /= 10;
            } while (chars);
            while (n) *p++ = (unsigned char)digits[--n];
            *p++ = ':';
            memcpy(p, c->data + a, (size_t)(b - a));
            p += b - a;
        }
        if (!sha_two(&sha, buf, (size_t)(p - buf), NULL, 0, job->out + DIGEST * i)) bad = -2;
    }
    sha_close(&sha);
    free(buf);
    return bad;
}

/* Fills a Column from (kind, offset, validity, offsets, data); views are added to `held`. */
static int parse_column(PyObject *spec, Py_ssize_t rows, Column *c, Py_buffer *held, int *nheld) {
    PyObject *validity, *offsets, *data;
    if (!PyTuple_Check(spec) ||
        !PyArg_ParseTuple(spec, "inOOO", &c->kind, &c->offset, &validity, &offsets, &data))
        return 0;
    if (c->kind < 0 || c->kind > 2 || c->offset < 0) {
        PyErr_SetString(PyExc_ValueError, "column kind must be 0 (binary), 1 (int64) or 2 (time), offset >= 0");
        return 0;
    }
    Py_ssize_t end = c->offset + rows;
    c->validity = NULL;
    c->offsets = NULL;
    c->data = (const unsigned char *)"";
    c->data_len = 0;
    if (validity != Py_None) {
        Py_buffer *v = &held[(*nheld)];
        if (PyObject_GetBuffer(validity, v, PyBUF_SIMPLE) < 0) return 0;
        (*nheld)++;
        if (v->len < (end + 7) / 8) {
            PyErr_SetString(PyExc_ValueError, "validity bitmap is shorter than the column");
            return 0;
        }
        c->validity = v->buf;
    }
    if (c->kind == 0) {
        Py_buffer *o = &held[(*nheld)];
        if (offsets == Py_None || PyObject_GetBuffer(offsets, o, PyBUF_SIMPLE) < 0) {
            if (!PyErr_Occurred()) PyErr_SetString(PyExc_ValueError, "a binary column needs offsets");
            return 0;
        }
        (*nheld)++;
        if (o->len < (end + 1) * 4) {
            PyErr_SetString(PyExc_ValueError, "offsets buffer is shorter than the column");
            return 0;
        }
        c->offsets = o->buf;
    }
    if (data != Py_None) {
        Py_buffer *d = &held[(*nheld)];
        if (PyObject_GetBuffer(data, d, PyBUF_SIMPLE) < 0) return 0;
        (*nheld)++;
        c->data = d->buf;
        c->data_len = d->len;
    }
    if (c->kind != 0 && c->data_len < end * 8) {
        PyErr_SetString(PyExc_ValueError, "int64 data buffer is shorter than the column");
        return 0;
    }
    return 1;
}

/* Hashes every row of `specs` (column tuples) with `fn`, `head` before each record (record_hashes). */
static PyObject *column_hashes(PyObject *specs, Py_ssize_t rows, const Py_buffer *head, int threads, RowFn fn,
                               int content, const char *what) {
    PyObject *seq, *out = NULL;
    int nheld = 0;
    Column columns[MAX_COLUMNS];
    Py_buffer held[3 * MAX_COLUMNS];
    seq = PySequence_Fast(specs, "columns must be a sequence of column tuples");
    if (seq == NULL) goto done;
    Py_ssize_t ncolumns = PySequence_Fast_GET_SIZE(seq);
    if (ncolumns > MAX_COLUMNS || rows < 0) {
        PyErr_SetString(PyExc_ValueError, "too many columns, or a negative row count");
        goto done;
    }
    for (Py_ssize_t k = 0; k < ncolumns; k++) {
        if (!parse_column(PySequence_Fast_GET_ITEM(seq, k), rows, &columns[k], held, &nheld)) goto done;
        if (content ? columns[k].kind == 1 : columns[k].kind == 2) {
            PyErr_SetString(PyExc_ValueError, content ? "content columns are of kind 0 (text) or 2 (time)"
                                                          : "record columns are of kind 0 (text) or 1 (int64)");
            goto done;
        }
    }
    out = PyBytes_FromStringAndSize(NULL, rows * DIGEST);
    if (out) {
        Job job = {0};
        job.fn = fn;
        job.out = (unsigned char *)PyBytes_AS_STRING(out);
        job.prefix = head ? (const unsigned char *)head->buf : NULL;
        job.prefix_len = head ? head->len : 0;
        job.columns = columns;
        job.ncolumns = (int)ncolumns;
        out = finish(out, run(&job, rows, threads), what);
    }
done:
    Py_XDECREF(seq);
    for (int i = 0; i < nheld; i++) PyBuffer_Release(&held[i]);
    return out;
}

static PyObject *record_hashes(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"columns", "rows", "head", "threads", NULL};
    PyObject *specs;
    Py_ssize_t rows;
    Py_buffer head;
    int threads = 1;
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "Ony*|i", keywords, &specs, &rows, &head, &threads))
        return NULL;
    PyObject *out = column_hashes(specs, rows, &head, threads, record_rows, 0, "record_hashes");
    PyBuffer_Release(&head);
    return out;
}

static PyObject *content_hashes(PyObject *self, PyObject *args, PyObject *kwargs) {
    static char *keywords[] = {"columns", "rows", "threads", NULL};
    PyObject *specs;
    Py_ssize_t rows;
    int threads = 1;
    (void)self;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "On|i", keywords, &specs, &rows, &threads)) return NULL;
    return column_hashes(specs, rows, NULL, threads, content_rows, 1, "content_hashes");
}

/* ---- module --------------------------------------------------------------------------------------- */

static PyMethodDef methods[] = {
    {"sha256_values", (PyCFunction)(void (*)(void))sha256_values, METH_VARARGS | METH_KEYWORDS,
     "sha256_values(data, offsets, prefix=b'', threads=1, offset_width=4) -> bytes: SHA-256(prefix || value) per value."},
    {"node_hashes", (PyCFunction)(void (*)(void))node_hashes, METH_VARARGS | METH_KEYWORDS,
     "node_hashes(pairs, threads=1) -> bytes: SHA-256(0x01 || left || right) per 64-byte pair."},
    {"record_hashes", (PyCFunction)(void (*)(void))record_hashes, METH_VARARGS | METH_KEYWORDS,
     "record_hashes(columns, rows, head, threads=1) -> bytes: SHA-256 of each length-prefixed record."},
    {"content_hashes", (PyCFunction)(void (*)(void))content_hashes, METH_VARARGS | METH_KEYWORDS,
     "content_hashes(columns, rows, threads=1) -> bytes: SHA-256 of each record's content text."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_fasthash",
    "Batch SHA-256 for the ledger (OpenSSL libcrypto, GIL released, optional threads).", -1, methods,
    NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__fasthash(void) {
    PyObject *m = PyModule_Create(&module);
    if (m == NULL) return NULL;
    if (PyModule_AddStringConstant(m, "OPENSSL_VERSION", OPENSSL_VERSION_TEXT) < 0 ||
        PyModule_AddIntConstant(m, "MAX_THREADS", MAX_THREADS) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
