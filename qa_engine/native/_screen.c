/* The matcher screen's codes space in C (qa_engine.rules.matching.MatcherScreen): which items occur in a text.

   Why: the screen asked an RE2 set, through its Python binding, about every utterance of every call: ~6k
   instructions an utterance, of which the search was ~1k; the rest was the binding (its call, the bytes, the list of
   found indexes).  Most items are literals (the phrase book's keys, the patterns that are a few alternatives of
   words), so one Aho-Corasick pass over the code points finds them here; each literal carries where it must stand
   (the anchors and token edges of its RE2 pattern).  Patterns that are such literals with gaps of any characters
   between them (chains: A.{0,24}B) are found from where their segments' literals stand.  The other patterns stay
   in a smaller RE2 set, called only where every gate group of one of them occurs (a group: literals one of which
   every match holds, found by the same pass), or always when a pattern has no group.
   The Python side (matching._native_screen) builds the literals; the result must equal the RE2 set's.

   Threads: a Screen is read-only once built; a call keeps its state on its own stack and heap, and holds the GIL
   except inside the RE2 binding (which releases it; nothing borrowed is used across it). */

#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* where a literal must stand (matching._AT_START ...); a gate's group is flags >> GATE_GROUP_SHIFT */
enum { AT_START = 1, AT_END = 2, TOKEN_START = 4, TOKEN_END = 8, TAIL2 = 16, GATE = 32, SEGMENT = 64,
       GATE_GROUP_SHIFT = 8 };
#define MAX_GROUPS 64  /* gate groups one pattern may have (a mask of them fits a uint64_t) */
#define BLOCK 256      /* code points per block of the class table */

typedef struct {
    Py_ssize_t length;  /* in code points */
    int32_t item;       /* the screen item it finds (a gate: its pattern in the regex set; a segment: the segment) */
    int32_t flags;
} Literal;

typedef struct {
    PyObject_HEAD
    vectorcallfunc vectorcall;  /* (called once per utterance: no argument tuple) */
    /* the alphabet: the code points of the literals, class 1..n_classes-1; every other code point is class 0 */
    int32_t n_classes;
    uint16_t block_of[BLOCK];  /* a BMP code point's block (c >> 8) -> its row in blocks (0: all class 0) */
    uint16_t *blocks;
    Py_UCS4 *astral;           /* past the BMP: sorted code points, and their classes */
    uint16_t *astral_class;
    Py_ssize_t n_astral;
    /* the Aho-Corasick automaton as a full table: delta[node * n_classes + class] -> node */
    int32_t *delta;
    int32_t *first_out;  /* node -> the first node along its fail chain (itself included) with literals, or -1 */
    int32_t *dict;       /* node -> the next such node after it, or -1 */
    int32_t *out, *n_out;  /* node -> its own literals: literals[out[node]:out[node] + n_out[node]] */
    Literal *literals;
    Py_ssize_t n_items;    /* items are 0 .. n_items - 1 */
    PyObject *regex_match; /* the RE2 set of the other patterns (bytes -> list[int]), or None */
    int32_t *regex_items;  /* its indexes -> items */
    uint64_t *regex_full;  /* its patterns' gate groups, all found (0: no gate, the set always runs) */
    Py_ssize_t n_regex;
    /* chains: patterns of segments of literals with gaps of any characters but a newline between them */
    Py_ssize_t n_chains, n_segments;
    Py_ssize_t *chain;        /* [4 * c]: its item, first segment, number of segments, least gap after the last */
    Py_ssize_t *segment_gap;  /* [2 * g]: the least and most characters before segment g (most -1: no limit) */
    Py_ssize_t *segment_chain;  /* [g]: the chain of segment g */
} Screen;

/* Python's str.split() whitespace, as the English key patterns' class (matching._WS) lists it. */
static int is_ws(Py_UCS4 c) {
    return (c >= 0x9 && c <= 0xD) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 || c == 0x1680 ||
           (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F || c == 0x205F || c == 0x3000;
}

static int is_surrogate(Py_UCS4 c) { return c >= 0xD800 && c <= 0xDFFF; }

static int class_of(const Screen *s, Py_UCS4 c) {
    if (c < 0x10000)
        return s->blocks[s->block_of[c >> 8] * BLOCK + (c & (BLOCK - 1))];
    Py_ssize_t lo = 0, hi = s->n_astral;
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        if (s->astral[mid] < c)
            lo = mid + 1;
        else if (s->astral[mid] > c)
            hi = mid;
        else
            return s->astral_class[mid];
    }
    return 0;
}

/* ---- building ---------------------------------------------------------------------------------------------- */

static int ucs4_order(const void *a, const void *b) {
    Py_UCS4 x = *(const Py_UCS4 *)a, y = *(const Py_UCS4 *)b;
    return x < y ? -1 : x > y;
}

/* The alphabet of the literals (their distinct code points) and its class table. */
static int build_classes(Screen *s, PyObject *literals, Py_ssize_t total) {
    Py_UCS4 *chars = PyMem_Malloc((total + 1) * sizeof(Py_UCS4));
    if (chars == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t n = 0;
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(literals); k++) {
        PyObject *text = PyTuple_GET_ITEM(PyList_GET_ITEM(literals, k), 0);
        for (Py_ssize_t i = 0; i < PyUnicode_GET_LENGTH(text); i++)
            chars[n++] = PyUnicode_READ_CHAR(text, i);
    }
    qsort(chars, n, sizeof(Py_UCS4), ucs4_order);
    Py_ssize_t distinct = 0, n_blocks = 1, n_astral = 0;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (distinct > 0 && chars[i] == chars[distinct - 1])
            continue;
        if (chars[i] >= 0x10000)
            n_astral++;
        else if (distinct == 0 || chars[distinct - 1] >= 0x10000 || (chars[distinct - 1] >> 8) != (chars[i] >> 8))
            n_blocks++;
        chars[distinct++] = chars[i];
    }
    int rc = -1;
    if (distinct >= UINT16_MAX) {
        PyErr_SetString(PyExc_OverflowError, "Screen: the literals hold too many distinct characters");
        goto done;
    }
    s->n_classes = (int32_t)distinct + 1;
    s->blocks = PyMem_Calloc(n_blocks * BLOCK, sizeof(uint16_t));
    s->astral = PyMem_Malloc((n_astral + 1) * sizeof(Py_UCS4));
    s->astral_class = PyMem_Malloc((n_astral + 1) * sizeof(uint16_t));
    if (s->blocks == NULL || s->astral == NULL || s->astral_class == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    memset(s->block_of, 0, sizeof s->block_of);
    uint16_t next_block = 1;
    for (Py_ssize_t i = 0; i < distinct; i++) {
        Py_UCS4 c = chars[i];
        uint16_t cls = (uint16_t)(i + 1);
        if (c >= 0x10000) {
            s->astral[s->n_astral] = c;
            s->astral_class[s->n_astral++] = cls;
            continue;
        }
        if (s->block_of[c >> 8] == 0)
            s->block_of[c >> 8] = next_block++;
        s->blocks[s->block_of[c >> 8] * BLOCK + (c & (BLOCK - 1))] = cls;
    }
    rc = 0;
done:
    PyMem_Free(chars);
    return rc;
}

/* Builds s's automaton from literals (checked by the caller).  Returns -1 with an exception set. */
static int build(Screen *s, PyObject *literals, Py_ssize_t total) {
    Py_ssize_t n_lit = PyList_GET_SIZE(literals), n_nodes = 1;
    if (build_classes(s, literals, total) < 0)
        return -1;
    int32_t C = s->n_classes;
    if ((total + 1) > PY_SSIZE_T_MAX / C / (Py_ssize_t)sizeof(int32_t) || total + 1 > INT32_MAX) {
        PyErr_SetString(PyExc_OverflowError, "Screen: too many literals");
        return -1;
    }
    int rc = -1;
    /* the trie, as the table's child entries (-1: none yet), with each node's literals as a list through next */
    int32_t *delta = PyMem_Malloc((total + 1) * C * sizeof(int32_t));
    int32_t *first_literal = PyMem_Malloc((total + 1) * sizeof(int32_t));
    int32_t *literal_next = PyMem_Malloc((n_lit + 1) * sizeof(int32_t));
    int32_t *fail = PyMem_Malloc((total + 1) * sizeof(int32_t));
    int32_t *queue = PyMem_Malloc((total + 1) * sizeof(int32_t));
    Literal *lit = PyMem_Malloc((n_lit + 1) * sizeof(Literal));
    s->literals = PyMem_Malloc((n_lit + 1) * sizeof(Literal));
    if (!delta || !first_literal || !literal_next || !fail || !queue || !lit || !s->literals) {
        PyErr_NoMemory();
        goto done;
    }
    memset(delta, 0xFF, C * sizeof(int32_t));
    first_literal[0] = -1;
    for (Py_ssize_t k = 0; k < n_lit; k++) {
        PyObject *t = PyList_GET_ITEM(literals, k), *text = PyTuple_GET_ITEM(t, 0);
        int32_t node = 0;
        for (Py_ssize_t i = 0; i < PyUnicode_GET_LENGTH(text); i++) {
            int32_t *to = &delta[(Py_ssize_t)node * C + class_of(s, PyUnicode_READ_CHAR(text, i))];
            if (*to < 0) {
                memset(delta + n_nodes * C, 0xFF, C * sizeof(int32_t));
                first_literal[n_nodes] = -1;
                *to = (int32_t)n_nodes++;
            }
            node = *to;
        }
        long item = PyLong_AsLong(PyTuple_GET_ITEM(t, 1)), flags = PyLong_AsLong(PyTuple_GET_ITEM(t, 2));
        if ((item == -1 || flags == -1) && PyErr_Occurred())
            goto done;
        int ok;
        if (flags & GATE)  /* GATE | group << GATE_GROUP_SHIFT */
            ok = flags == (GATE | (flags >> GATE_GROUP_SHIFT) << GATE_GROUP_SHIFT) &&
                 (flags >> GATE_GROUP_SHIFT) < MAX_GROUPS && item >= 0 && item < s->n_regex;
        else if (flags & SEGMENT)  /* SEGMENT, and anchors */
            ok = (flags & ~(SEGMENT | AT_START | AT_END)) == 0 && item >= 0 && item < s->n_segments;
        else
            ok = flags >= 0 && flags < GATE && item >= 0 && item < s->n_items;
        if (!ok) {
            PyErr_SetString(PyExc_ValueError, "Screen: a literal's item or flags are out of range");
            goto done;
        }
        lit[k] = (Literal){PyUnicode_GET_LENGTH(text), (int32_t)item, (int32_t)flags};
        literal_next[k] = first_literal[node];
        first_literal[node] = (int32_t)k;
    }
    s->delta = PyMem_Realloc(delta, n_nodes * C * sizeof(int32_t));
    if (s->delta == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    delta = NULL;
    s->first_out = PyMem_Malloc(n_nodes * sizeof(int32_t));
    s->dict = PyMem_Malloc(n_nodes * sizeof(int32_t));
    s->out = PyMem_Malloc(n_nodes * sizeof(int32_t));
    s->n_out = PyMem_Malloc(n_nodes * sizeof(int32_t));
    if (!s->first_out || !s->dict || !s->out || !s->n_out) {
        PyErr_NoMemory();
        goto done;
    }
    int32_t at = 0;  /* each node's literals made contiguous */
    for (Py_ssize_t v = 0; v < n_nodes; v++) {
        s->out[v] = at;
        for (int32_t k = first_literal[v]; k >= 0; k = literal_next[k])
            s->literals[at++] = lit[k];
        s->n_out[v] = at - s->out[v];
    }
    /* breadth first: a missing child goes where the node's fail goes (set before, being shallower) */
    int32_t *d = s->delta;
    Py_ssize_t head = 0, tail = 0;
    fail[0] = 0;
    s->dict[0] = -1;
    s->first_out[0] = -1;
    for (int32_t a = 0; a < C; a++) {
        if (d[a] < 0) {
            d[a] = 0;
        } else {
            fail[d[a]] = 0;
            queue[tail++] = d[a];
        }
    }
    while (head < tail) {
        int32_t v = queue[head++];
        s->dict[v] = s->n_out[fail[v]] > 0 ? fail[v] : s->dict[fail[v]];
        s->first_out[v] = s->n_out[v] > 0 ? v : s->dict[v];
        int32_t *row = d + (Py_ssize_t)v * C, *fail_row = d + (Py_ssize_t)fail[v] * C;
        for (int32_t a = 0; a < C; a++) {
            if (row[a] < 0) {
                row[a] = fail_row[a];
            } else {
                fail[row[a]] = fail_row[a];
                queue[tail++] = row[a];
            }
        }
    }
    rc = 0;
done:
    PyMem_Free(delta);
    PyMem_Free(first_literal);
    PyMem_Free(literal_next);
    PyMem_Free(fail);
    PyMem_Free(queue);
    PyMem_Free(lit);
    return rc;
}

static PyObject *screen_call(Screen *s, PyObject *const *args, size_t nargsf, PyObject *kwnames);

/* The `count` integers of a tuple of them at out; -1 with an exception set where it is not one. */
static int read_ints(PyObject *t, Py_ssize_t count, Py_ssize_t *out) {
    if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != count) {
        PyErr_Format(PyExc_TypeError, "Screen: a tuple of %zd ints was expected", count);
        return -1;
    }
    for (Py_ssize_t k = 0; k < count; k++)
        if ((out[k] = PyLong_AsSsize_t(PyTuple_GET_ITEM(t, k))) == -1 && PyErr_Occurred())
            return -1;
    return 0;
}

/* The chains (item, first segment, segments, least gap after) and the segments' gaps (least, most or -1). */
static int read_chains(Screen *s, PyObject *chains, PyObject *segment_gaps) {
    s->n_chains = PyList_GET_SIZE(chains);
    s->n_segments = PyList_GET_SIZE(segment_gaps);
    s->chain = PyMem_Malloc((4 * s->n_chains + 1) * sizeof(Py_ssize_t));
    s->segment_gap = PyMem_Malloc((2 * s->n_segments + 1) * sizeof(Py_ssize_t));
    s->segment_chain = PyMem_Malloc((s->n_segments + 1) * sizeof(Py_ssize_t));
    if (s->chain == NULL || s->segment_gap == NULL || s->segment_chain == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t g = 0; g < s->n_segments; g++) {
        Py_ssize_t *gap = s->segment_gap + 2 * g;
        if (read_ints(PyList_GET_ITEM(segment_gaps, g), 2, gap) < 0)
            return -1;
        if (gap[0] < 0 || gap[1] < -1 || (gap[1] >= 0 && gap[1] < gap[0])) {
            PyErr_SetString(PyExc_ValueError, "Screen: a gap out of range");
            return -1;
        }
    }
    for (Py_ssize_t c = 0; c < s->n_chains; c++) {
        Py_ssize_t *ch = s->chain + 4 * c;
        if (read_ints(PyList_GET_ITEM(chains, c), 4, ch) < 0)
            return -1;
        /* (a chain's segments follow the previous chain's: each segment is one chain's) */
        Py_ssize_t first = c == 0 ? 0 : s->chain[4 * (c - 1) + 1] + s->chain[4 * (c - 1) + 2];
        if (ch[0] < 0 || ch[0] >= s->n_items || ch[1] != first || ch[2] < 1 || ch[2] > 64 ||
            ch[1] + ch[2] > s->n_segments || ch[3] < 0) {
            PyErr_SetString(PyExc_ValueError, "Screen: a chain out of range");
            return -1;
        }
        for (Py_ssize_t g = ch[1]; g < ch[1] + ch[2]; g++)
            s->segment_chain[g] = c;
    }
    if (s->n_chains > 0 && s->chain[4 * (s->n_chains - 1) + 1] + s->chain[4 * (s->n_chains - 1) + 2] != s->n_segments) {
        PyErr_SetString(PyExc_ValueError, "Screen: a segment of no chain");
        return -1;
    }
    return 0;
}

/* ---- the type ------------------------------------------------------------------------------------------------ */

static void screen_dealloc(Screen *s) {
    PyMem_Free(s->blocks);
    PyMem_Free(s->astral);
    PyMem_Free(s->astral_class);
    PyMem_Free(s->delta);
    PyMem_Free(s->first_out);
    PyMem_Free(s->dict);
    PyMem_Free(s->out);
    PyMem_Free(s->n_out);
    PyMem_Free(s->literals);
    PyMem_Free(s->regex_items);
    PyMem_Free(s->regex_full);
    PyMem_Free(s->chain);
    PyMem_Free(s->segment_gap);
    PyMem_Free(s->segment_chain);
    Py_XDECREF(s->regex_match);
    Py_TYPE(s)->tp_free((PyObject *)s);
}

static PyObject *screen_new(PyTypeObject *type, PyObject *args, PyObject *kwargs) {
    PyObject *literals, *regex_match, *regex_items, *regex_groups, *chains, *segment_gaps;
    Py_ssize_t n_items;
    if (kwargs != NULL && PyDict_GET_SIZE(kwargs) != 0) {
        PyErr_SetString(PyExc_TypeError, "Screen takes no keyword arguments");
        return NULL;
    }
    if (!PyArg_ParseTuple(args, "O!nOO!O!O!O!:Screen", &PyList_Type, &literals, &n_items, &regex_match, &PyList_Type,
                          &regex_items, &PyList_Type, &regex_groups, &PyList_Type, &chains, &PyList_Type,
                          &segment_gaps))
        return NULL;
    if (n_items < 0 || n_items > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "Screen: n_items out of range");
        return NULL;
    }
    if (regex_match != Py_None && !PyCallable_Check(regex_match)) {
        PyErr_SetString(PyExc_TypeError, "Screen: regex_match must be callable or None");
        return NULL;
    }
    Py_ssize_t n_regex = PyList_GET_SIZE(regex_items), total = 0;
    if (PyList_GET_SIZE(regex_groups) != n_regex || (n_regex > 0 && regex_match == Py_None)) {
        PyErr_SetString(PyExc_ValueError, "Screen: regex_items and regex_groups differ, or no regex_match");
        return NULL;
    }
    for (Py_ssize_t k = 0; k < PyList_GET_SIZE(literals); k++) {
        PyObject *t = PyList_GET_ITEM(literals, k);
        if (!PyTuple_Check(t) || PyTuple_GET_SIZE(t) != 3 || !PyUnicode_Check(PyTuple_GET_ITEM(t, 0)) ||
            PyUnicode_GET_LENGTH(PyTuple_GET_ITEM(t, 0)) == 0 || !PyLong_Check(PyTuple_GET_ITEM(t, 1)) ||
            !PyLong_Check(PyTuple_GET_ITEM(t, 2))) {
            PyErr_SetString(PyExc_TypeError, "Screen: literals must be (non-empty str, int, int) tuples");
            return NULL;
        }
        total += PyUnicode_GET_LENGTH(PyTuple_GET_ITEM(t, 0));
    }
    Screen *s = (Screen *)type->tp_alloc(type, 0);
    if (s == NULL)
        return NULL;
    s->vectorcall = (vectorcallfunc)screen_call;
    s->n_items = n_items;
    s->regex_match = Py_NewRef(regex_match);
    s->n_regex = n_regex;
    s->regex_items = PyMem_Malloc((n_regex + 1) * sizeof(int32_t));
    s->regex_full = PyMem_Malloc((n_regex + 1) * sizeof(uint64_t));
    if (s->regex_items == NULL || s->regex_full == NULL) {
        PyErr_NoMemory();
        goto fail;
    }
    for (Py_ssize_t k = 0; k < n_regex; k++) {
        long item = PyLong_AsLong(PyList_GET_ITEM(regex_items, k));
        long groups = PyLong_AsLong(PyList_GET_ITEM(regex_groups, k));
        if ((item == -1 || groups == -1) && PyErr_Occurred())
            goto fail;
        if (item < 0 || item >= n_items || groups < 0 || groups > MAX_GROUPS) {
            PyErr_SetString(PyExc_ValueError, "Screen: a regex item or its groups are out of range");
            goto fail;
        }
        s->regex_items[k] = (int32_t)item;
        s->regex_full[k] = groups == MAX_GROUPS ? UINT64_MAX : ((uint64_t)1 << groups) - 1;
    }
    if (read_chains(s, chains, segment_gaps) < 0 || build(s, literals, total) < 0)
        goto fail;
    return (PyObject *)s;
fail:
    Py_DECREF(s);
    return NULL;
}

/* ---- matching ------------------------------------------------------------------------------------------------ */

/* Where a segment's literal stands in a text. */
typedef struct {
    Py_ssize_t segment, start, end;
} Occurrence;

/* What one text's pass collects: its items found (a bitmap), its regex patterns' gate groups found, where its
   segments stand (in the order of their ends) and whether it holds a newline. */
typedef struct {
    uint64_t *items;
    uint64_t *groups;
    uint64_t *chains;  /* each chain's segments that stand */
    Occurrence *occ, small[64];
    Py_ssize_t n_occ, cap_occ;
    int failed;  /* (out of memory: set with the exception) */
    int newline;
} Seen;

static void add_occurrence(Seen *seen, Py_ssize_t segment, Py_ssize_t start, Py_ssize_t end) {
    if (seen->n_occ == seen->cap_occ) {
        Py_ssize_t cap = 2 * seen->cap_occ;
        Occurrence *grown = NULL;
        if (cap < PY_SSIZE_T_MAX / (Py_ssize_t)sizeof(Occurrence))
            grown = PyMem_Malloc(cap * sizeof(Occurrence));
        if (grown == NULL) {
            if (!seen->failed)
                PyErr_NoMemory();
            seen->failed = 1;
            return;
        }
        memcpy(grown, seen->occ, seen->n_occ * sizeof(Occurrence));
        if (seen->occ != seen->small)
            PyMem_Free(seen->occ);
        seen->occ = grown;
        seen->cap_occ = cap;
    }
    seen->occ[seen->n_occ++] = (Occurrence){segment, start, end};
}

/* Whether the literal ending before `end` (exclusive) stands where its flags say in text[0:n]. */
static int stands(const Literal *l, int kind, const void *data, Py_ssize_t n, Py_ssize_t end) {
    Py_ssize_t start = end - l->length;
    int flags = l->flags;
    if ((flags & AT_START) && start != 0)
        return 0;
    if ((flags & AT_END) && end != n)
        return 0;
    if ((flags & TOKEN_START) && start != 0 && !is_ws(PyUnicode_READ(kind, data, start - 1)))
        return 0;
    if ((flags & TOKEN_END) && end != n && !is_ws(PyUnicode_READ(kind, data, end)))
        return 0;
    if ((flags & TAIL2) && (end + 2 > n || is_ws(PyUnicode_READ(kind, data, end)) ||
                            is_ws(PyUnicode_READ(kind, data, end + 1))))
        return 0;
    return 1;
}

/* The literals ending at `end`: those of node v and of the nodes along its dict chain. */
static void note(const Screen *s, int32_t v, int kind, const void *data, Py_ssize_t n, Py_ssize_t end, Seen *seen) {
    for (; v >= 0; v = s->dict[v]) {
        const Literal *l = s->literals + s->out[v];
        for (int32_t k = 0; k < s->n_out[v]; k++, l++) {
            if (l->flags & GATE)
                seen->groups[l->item] |= (uint64_t)1 << (l->flags >> GATE_GROUP_SHIFT);
            else if (l->flags != 0 && !stands(l, kind, data, n, end))
                continue;
            else if (l->flags & SEGMENT) {
                Py_ssize_t chain = s->segment_chain[l->item];
                add_occurrence(seen, l->item, end - l->length, end);
                seen->chains[chain] |= (uint64_t)1 << (l->item - s->chain[4 * chain + 1]);
            }
            else
                seen->items[l->item >> 6] |= (uint64_t)1 << (l->item & 63);
        }
    }
}

/* The items the RE2 set of the other patterns finds in text, marked in seen. */
static int regex_found(Screen *s, PyObject *text, Seen *seen) {
    PyObject *encoded = PyUnicode_AsUTF8String(text);  /* (raises on a lone surrogate, as str.encode does) */
    if (encoded == NULL)
        return -1;
    PyObject *found = PyObject_CallOneArg(s->regex_match, encoded);
    Py_DECREF(encoded);
    if (found == NULL)
        return -1;
    PyObject *seq = PySequence_Fast(found, "Screen: the RE2 set must answer a sequence");
    Py_DECREF(found);
    if (seq == NULL)
        return -1;
    int rc = 0;
    for (Py_ssize_t k = 0; k < PySequence_Fast_GET_SIZE(seq) && rc == 0; k++) {
        Py_ssize_t index = PyLong_AsSsize_t(PySequence_Fast_GET_ITEM(seq, k));
        if (index == -1 && PyErr_Occurred()) {
            rc = -1;
        } else if (index < 0 || index >= s->n_regex) {
            PyErr_SetString(PyExc_ValueError, "Screen: the RE2 set answered an index out of range");
            rc = -1;
        } else {
            int32_t item = s->regex_items[index];
            seen->items[item >> 6] |= (uint64_t)1 << (item & 63);
        }
    }
    Py_DECREF(seq);
    return rc;
}

/* The first index of the sorted ends[0:n] at least `least`, or n. */
static Py_ssize_t first_at_least(const Py_ssize_t *ends, Py_ssize_t n, Py_ssize_t least) {
    Py_ssize_t lo = 0, hi = n;
    while (lo < hi) {
        Py_ssize_t mid = (lo + hi) / 2;
        if (ends[mid] < least)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Marks in seen the chains whose segments all stand, with their gaps between them: segment by segment, the ends a
   match can reach (a segment's occurrences come in the order of their ends, so the ends come sorted).  A gap holds
   no newline (RE2's dot): last[i] is the last newline before i (or -1), next[i] the first at or after i (or n). */
static int match_chains(const Screen *s, const void *data, int kind, Py_ssize_t n, Seen *seen) {
    Py_ssize_t n_occ = seen->n_occ, small[2 * 64], *ends = small, *last = NULL, *next = NULL;
    int rc = -1;
    if (n_occ > 64 && (ends = PyMem_Malloc(2 * n_occ * sizeof(Py_ssize_t))) == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    if (seen->newline) {
        if ((last = PyMem_Malloc(2 * (n + 1) * sizeof(Py_ssize_t))) == NULL) {
            PyErr_NoMemory();
            goto done;
        }
        next = last + n + 1;
        last[0] = -1;
        for (Py_ssize_t i = 0; i < n; i++)
            last[i + 1] = PyUnicode_READ(kind, data, i) == '\n' ? i : last[i];
        next[n] = n;
        for (Py_ssize_t i = n - 1; i >= 0; i--)
            next[i] = PyUnicode_READ(kind, data, i) == '\n' ? i : next[i + 1];
    }
    for (Py_ssize_t c = 0; c < s->n_chains; c++) {
        const Py_ssize_t *ch = s->chain + 4 * c;
        Py_ssize_t item = ch[0];
        uint64_t all = ch[2] == 64 ? UINT64_MAX : ((uint64_t)1 << ch[2]) - 1;
        if ((seen->chains[c] & all) != all || (seen->items[item >> 6] & ((uint64_t)1 << (item & 63))))
            continue;  /* a segment missing, or found already */
        Py_ssize_t *reached = ends, *reaching = ends + n_occ, n_reached = 0;
        for (Py_ssize_t g = ch[1]; g < ch[1] + ch[2]; g++) {
            Py_ssize_t least = s->segment_gap[2 * g], most = s->segment_gap[2 * g + 1], n_reaching = 0;
            for (Py_ssize_t k = 0; k < n_occ; k++) {
                if (seen->occ[k].segment != g)
                    continue;
                Py_ssize_t start = seen->occ[k].start, line = last == NULL ? 0 : last[start] + 1;
                int ok;
                if (g == ch[1]) {  /* the first: `least` characters of its line before it */
                    ok = start - line >= least;
                } else {  /* an end reached, `least` to `most` characters of the same line before it */
                    Py_ssize_t from = most < 0 || start - most < line ? line : start - most;
                    Py_ssize_t at = first_at_least(reached, n_reached, from);
                    ok = at < n_reached && reached[at] <= start - least;
                }
                if (ok)
                    reaching[n_reaching++] = seen->occ[k].end;
            }
            Py_ssize_t *t = reached;
            reached = reaching;
            reaching = t;
            n_reached = n_reaching;
            if (n_reached == 0)
                break;
        }
        for (Py_ssize_t k = 0; k < n_reached; k++) {  /* and `least` characters of its line after the last */
            if ((next == NULL ? n : next[reached[k]]) - reached[k] >= ch[3]) {
                seen->items[item >> 6] |= (uint64_t)1 << (item & 63);
                break;
            }
        }
    }
    rc = 0;
done:
    if (ends != small)
        PyMem_Free(ends);
    PyMem_Free(last);
    return rc;
}

/* One pass of the automaton over a text of code units T; sets *surrogate when the text holds one. */
#define SCAN_FUNCTION(T)                                                                                         \
    static void scan_##T(const Screen *s, const T *text, Py_ssize_t n, int kind, Seen *seen, int *surrogate) {  \
        const int32_t *delta = s->delta, C = s->n_classes;                                                       \
        int32_t node = 0;                                                                                        \
        for (Py_ssize_t i = 0; i < n; i++) {                                                                     \
            Py_UCS4 c = text[i];                                                                                 \
            *surrogate |= is_surrogate(c);                                                                       \
            seen->newline |= c == '\n';                                                                          \
            node = delta[(Py_ssize_t)node * C + class_of(s, c)];                                                 \
            if (s->first_out[node] >= 0)                                                                         \
                note(s, s->first_out[node], kind, text, n, i + 1, seen);                                         \
        }                                                                                                        \
    }

SCAN_FUNCTION(Py_UCS1)
SCAN_FUNCTION(Py_UCS2)
SCAN_FUNCTION(Py_UCS4)

static PyObject *screen_call(Screen *s, PyObject *const *args, size_t nargsf, PyObject *kwnames) {
    if (PyVectorcall_NARGS(nargsf) != 1 || kwnames != NULL || !PyUnicode_Check(args[0])) {
        PyErr_SetString(PyExc_TypeError, "Screen(text: str) takes one str");
        return NULL;
    }
    PyObject *text = Py_NewRef(args[0]);  /* held: the RE2 binding releases the GIL */
    Py_ssize_t n = PyUnicode_GET_LENGTH(text), words = (s->n_items + 63) / 64;
    Py_ssize_t cells = words + s->n_regex + s->n_chains;
    uint64_t small[128], *cell = cells <= 128 ? small : PyMem_Malloc(cells * sizeof(uint64_t));
    PyObject *out = NULL;
    if (cell == NULL) {
        Py_DECREF(text);
        return PyErr_NoMemory();
    }
    memset(cell, 0, cells * sizeof(uint64_t));
    Seen seen = {.items = cell, .groups = cell + words, .chains = cell + words + s->n_regex, .n_occ = 0,
                 .cap_occ = 64, .failed = 0, .newline = 0};
    seen.occ = seen.small;
    int surrogate = 0;
    switch (PyUnicode_KIND(text)) {
    case PyUnicode_1BYTE_KIND:
        scan_Py_UCS1(s, PyUnicode_1BYTE_DATA(text), n, PyUnicode_1BYTE_KIND, &seen, &surrogate);
        break;
    case PyUnicode_2BYTE_KIND:
        scan_Py_UCS2(s, PyUnicode_2BYTE_DATA(text), n, PyUnicode_2BYTE_KIND, &seen, &surrogate);
        break;
    default:
        scan_Py_UCS4(s, PyUnicode_4BYTE_DATA(text), n, PyUnicode_4BYTE_KIND, &seen, &surrogate);
    }
    if (seen.failed)
        goto done;
    if (surrogate) {  /* the RE2 screen cannot encode the text: raise what it raises */
        PyObject *encoded = PyUnicode_AsUTF8String(text);
        if (encoded != NULL) {
            Py_DECREF(encoded);
            PyErr_SetString(PyExc_SystemError, "Screen: UTF-8 accepted a surrogate");
        }
        goto done;
    }
    if (seen.n_occ > 0 && match_chains(s, PyUnicode_DATA(text), PyUnicode_KIND(text), n, &seen) < 0)
        goto done;
    int regex = 0;
    for (Py_ssize_t k = 0; k < s->n_regex && !regex; k++)
        regex = (seen.groups[k] & s->regex_full[k]) == s->regex_full[k];
    if (regex && regex_found(s, text, &seen) < 0)
        goto done;
    Py_ssize_t count = 0;
    for (Py_ssize_t w = 0; w < words; w++)  /* (a loop, not popcount: without -mpopcnt that is a libgcc call) */
        for (uint64_t bits = seen.items[w]; bits; bits &= bits - 1)
            count++;
    out = PyList_New(count);
    if (out == NULL)
        goto done;
    Py_ssize_t at = 0;
    for (Py_ssize_t w = 0; w < words; w++) {
        for (uint64_t bits = seen.items[w]; bits; bits &= bits - 1) {
            PyObject *item = PyLong_FromSsize_t(w * 64 + __builtin_ctzll(bits));
            if (item == NULL) {
                Py_CLEAR(out);
                goto done;
            }
            PyList_SET_ITEM(out, at++, item);
        }
    }
done:
    if (cell != small)
        PyMem_Free(cell);
    if (seen.occ != seen.small)
        PyMem_Free(seen.occ);
    Py_DECREF(text);
    return out;
}

PyDoc_STRVAR(screen_doc,
"Screen(literals, n_items, regex_match, regex_items, regex_groups)\n\n"
"The codes space of a matcher screen.  literals: (text, item, flags), where flags say where it must stand\n"
"(matching._AT_START ...); a gate (flags GATE | group << 6) is one of the required literals of group `group` of\n"
"pattern `item` of the RE2 set regex_match (UTF-8 bytes -> its indexes, or None), whose indexes regex_items maps\n"
"to items; regex_groups: each pattern's number of gate groups (0: it runs always).  Called with a str, it answers\n"
"the items found there, sorted.");

static PyTypeObject ScreenType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "qa_engine.native._screen.Screen",
    .tp_basicsize = sizeof(Screen),
    .tp_dealloc = (destructor)screen_dealloc,
    .tp_vectorcall_offset = offsetof(Screen, vectorcall),
    .tp_call = PyVectorcall_Call,
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_VECTORCALL,
    .tp_doc = screen_doc,
    .tp_new = screen_new,
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_screen",
    "The matcher screen's codes space in C: its literals by Aho-Corasick, the other patterns by a gated RE2 set.",
    -1, NULL,
};

PyMODINIT_FUNC PyInit__screen(void) {
    if (PyType_Ready(&ScreenType) < 0)
        return NULL;
    PyObject *m = PyModule_Create(&module);
    if (m == NULL)
        return NULL;
    if (PyModule_AddObjectRef(m, "Screen", (PyObject *)&ScreenType) < 0) {
        Py_DECREF(m);
        return NULL;
    }
    return m;
}
