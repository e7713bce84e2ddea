/* qa_engine.sentiment in C: the lexicon scan (one pass over each text, giving its squashed score) and the speaker
 * summary (one pass over the utterances).
 *
 * Why: the Python scan pays per call for joining the texts, a numpy prefilter and a Python loop over the hits; this
 * module walks each text once through a prefix tree of the lexicon built once (per language) from the Python tables.
 * It must give exactly the reference's numbers (qa_engine.sentiment._score_texts_python):
 *
 *  - "zh" (characters): a term may start at any character; at each position the longest lexicon term wins and hits
 *    do not overlap (left to right). A hit looks back at most `back` characters, never before its text, for a
 *    negator (optionally followed by an intensifier), else an intensifier, else a dampener, ending right before it.
 *  - "en" (words): the text is lower-cased (fold_case) and opener characters are mapped (to spaces); a term starts
 *    at the text's start or after a space, and must end at a word boundary (the regex's \b); the longest such term
 *    wins, hits do not overlap. A hit looks at the last two space-separated words of the `back` characters before
 *    the space that precedes it (the reference's rsplit(" ", 2)).
 *
 * A text's score is its summed weights x squashed as round(x / sqrt(x*x + alpha), 3), 0.0 without a (non-zero)
 * sum, with the same IEEE operations and the same rounding as Python's round() (round3).
 * A Scorer is immutable once built, so threads may share it; the scan keeps the GIL throughout.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>
#include <string.h>

/* ---- word lists ---- */

typedef struct {
    Py_UCS4 *chars;
    Py_ssize_t len;
} Word;

typedef struct {
    Word *items;
    Py_ssize_t n;
} WordList;

static void
wordlist_clear(WordList *list)
{
    for (Py_ssize_t i = 0; i < list->n; i++) {
        PyMem_Free(list->items[i].chars);
    }
    PyMem_Free(list->items);
    list->items = NULL;
    list->n = 0;
}

/* The words of an iterable of str, as UCS4 arrays. 0, or -1 with an exception set. */
static int
wordlist_fill(WordList *list, PyObject *iterable, const char *what)
{
    PyObject *seq = PySequence_Fast(iterable, what);
    if (seq == NULL) {
        return -1;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    list->items = PyMem_Calloc(n ? n : 1, sizeof(Word));
    if (list->items == NULL) {
        Py_DECREF(seq);
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *item = PySequence_Fast_GET_ITEM(seq, i);
        if (!PyUnicode_Check(item)) {
            PyErr_Format(PyExc_TypeError, "%s: expected str, got %.100s", what, Py_TYPE(item)->tp_name);
            Py_DECREF(seq);
            return -1;
        }
        Py_UCS4 *chars = PyUnicode_AsUCS4Copy(item);
        if (chars == NULL) {
            Py_DECREF(seq);
            return -1;
        }
        list->items[i].chars = chars;
        list->items[i].len = PyUnicode_GET_LENGTH(item);
        list->n = i + 1;
    }
    Py_DECREF(seq);
    return 0;
}

/* (words are a few characters: a loop beats a memcmp call) */
static inline int
same(const Py_UCS4 *a, const Py_UCS4 *b, Py_ssize_t len)
{
    for (Py_ssize_t i = 0; i < len; i++) {
        if (a[i] != b[i]) {
            return 0;
        }
    }
    return 1;
}

/* Whether text[lo:hi] is one of the words. */
static inline int
is_one_of(const WordList *list, const Py_UCS4 *text, Py_ssize_t lo, Py_ssize_t hi)
{
    for (Py_ssize_t i = 0; i < list->n; i++) {
        if (list->items[i].len == hi - lo && same(list->items[i].chars, text + lo, hi - lo)) {
            return 1;
        }
    }
    return 0;
}

/* Whether text[lo:hi] ends with the list's word number `word`. */
static inline int
ends_with(const WordList *list, const Py_UCS4 *text, Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t word)
{
    const Word *w = &list->items[word];
    return w->len <= hi - lo && same(w->chars, text + hi - w->len, w->len);
}

static inline int
ends_with_any(const WordList *list, const Py_UCS4 *text, Py_ssize_t lo, Py_ssize_t hi)
{
    for (Py_ssize_t i = 0; i < list->n; i++) {
        if (ends_with(list, text, lo, hi, i)) {
            return 1;
        }
    }
    return 0;
}

/* ---- sets of characters: one bit per (ch & 0xFFFF), a quick no for most characters (a yes is checked further) */

typedef struct {
    uint8_t bits[65536 / 8];
} CharBits;

static inline void
charbits_add(CharBits *set, Py_UCS4 ch)
{
    set->bits[(ch & 0xFFFF) >> 3] |= (uint8_t)(1u << (ch & 7));
}

static inline int
charbits_may_have(const CharBits *set, Py_UCS4 ch)
{
    return (set->bits[(ch & 0xFFFF) >> 3] >> (ch & 7)) & 1;
}

/* ---- the lexicon as a prefix tree: each node's edges are contiguous and sorted by character ---- */

typedef struct {
    Py_UCS4 ch;
    int32_t child;
} Edge;

typedef struct {
    int32_t first_edge;
    int32_t n_edges;
    int32_t is_term;  /* a lexicon term ends here */
    int32_t unnegated;  /* ... and a negator does not flip it (thanks) */
    double weight;
} Node;

typedef struct {
    Py_UCS4 *chars;
    Py_ssize_t len;
    double weight;
    int unnegated;
} Term;

typedef struct {
    PyObject_HEAD
    int words;  /* 1: English rules (terms after spaces, word look-back); 0: Chinese (characters) */
    int fold_case;
    Py_ssize_t back;
    double alpha, negation, intensifier, dampener;
    Node *nodes;
    Edge *edges;
    int32_t n_nodes, n_edges;
    WordList negators, intensifiers, dampeners;
    Py_UCS4 *opener_from, *opener_to;  /* characters mapped before the scan (str.translate), sorted by from */
    Py_ssize_t n_openers;
    Py_UCS4 ascii_map[128];  /* an ASCII character as the scan sees it: lower-cased (fold_case), then mapped */
    Edge *root;  /* the root's edges as an open-addressing hash table (child -1: empty), root_mask + 1 slots */
    uint32_t root_mask;
    CharBits may_open;  /* first characters of terms */
    CharBits may_modify;  /* last characters of negators, intensifiers, dampeners (zh: a hit after any other
                             character has no modifier, the reference's last_chars) */
} Scorer;

static int
term_order(const void *a, const void *b)
{
    const Term *x = a, *y = b;
    Py_ssize_t n = x->len < y->len ? x->len : y->len;
    for (Py_ssize_t i = 0; i < n; i++) {
        if (x->chars[i] != y->chars[i]) {
            return x->chars[i] < y->chars[i] ? -1 : 1;
        }
    }
    return (x->len > y->len) - (x->len < y->len);
}

/* Fills node `at` from terms[lo:hi], sorted, unique, all sharing their first `depth` characters; the node's children
 * get the next nodes and edges. Recursion depth is the longest term's length (the lexicon, not the input). */
static void
build_node(Scorer *self, int32_t at, const Term *terms, Py_ssize_t lo, Py_ssize_t hi, Py_ssize_t depth)
{
    Node *node = &self->nodes[at];
    if (lo < hi && terms[lo].len == depth) {  /* sorted: the term that ends here comes first */
        node->is_term = 1;
        node->weight = terms[lo].weight;
        node->unnegated = terms[lo].unnegated;
        lo++;
    }
    int32_t n_children = 0;
    for (Py_ssize_t i = lo; i < hi; i++) {
        if (i == lo || terms[i].chars[depth] != terms[i - 1].chars[depth]) {
            n_children++;
        }
    }
    node->first_edge = self->n_edges;
    node->n_edges = n_children;
    self->n_edges += n_children;
    int32_t edge = node->first_edge;
    for (Py_ssize_t i = lo; i < hi;) {
        Py_ssize_t j = i + 1;
        while (j < hi && terms[j].chars[depth] == terms[i].chars[depth]) {
            j++;
        }
        int32_t child = self->n_nodes++;
        self->edges[edge].ch = terms[i].chars[depth];
        self->edges[edge].child = child;
        edge++;
        build_node(self, child, terms, i, j, depth + 1);
        i = j;
    }
}

static inline uint32_t
root_slot(const Scorer *self, Py_UCS4 ch)
{
    return (uint32_t)((ch * 2654435761u) >> 7) & self->root_mask;  /* Knuth's multiplicative hash */
}

/* The root's child by ch, or -1. */
static inline int32_t
root_child(const Scorer *self, Py_UCS4 ch)
{
    for (uint32_t slot = root_slot(self, ch);; slot = (slot + 1) & self->root_mask) {
        if (self->root[slot].child < 0 || self->root[slot].ch == ch) {
            return self->root[slot].child;
        }
    }
}

/* The child of a node below the root by ch, or -1: its sorted edges, a few (scanned) or more (halved). */
static inline int32_t
child_of(const Scorer *self, const Node *node, Py_UCS4 ch)
{
    const Edge *edges = self->edges + node->first_edge;
    if (node->n_edges <= 8) {
        for (int32_t i = 0; i < node->n_edges; i++) {
            if (edges[i].ch >= ch) {
                return edges[i].ch == ch ? edges[i].child : -1;
            }
        }
        return -1;
    }
    int32_t lo = 0, hi = node->n_edges;
    while (lo < hi) {
        int32_t mid = (lo + hi) / 2;
        if (edges[mid].ch < ch) {
            lo = mid + 1;
        }
        else {
            hi = mid;
        }
    }
    return lo < node->n_edges && edges[lo].ch == ch ? edges[lo].child : -1;
}

static void
scorer_clear(Scorer *self)
{
    PyMem_Free(self->nodes);
    PyMem_Free(self->edges);
    PyMem_Free(self->root);
    PyMem_Free(self->opener_from);
    PyMem_Free(self->opener_to);
    self->nodes = NULL;
    self->edges = NULL;
    self->root = NULL;
    self->opener_from = self->opener_to = NULL;
    self->n_nodes = self->n_edges = 0;
    self->n_openers = 0;
    wordlist_clear(&self->negators);
    wordlist_clear(&self->intensifiers);
    wordlist_clear(&self->dampeners);
}

static void
scorer_dealloc(Scorer *self)
{
    scorer_clear(self);
    Py_TYPE(self)->tp_free((PyObject *)self);
}

/* The longest lexicon term (the tree is built recursively, one level per character). */
#define MAX_TERM_LEN 256

/* The lexicon {term: weight} (and the set of terms never negated) as the prefix tree. 0, or -1 with an exception.
 * It reads a private copy of the dict: converting a weight or testing membership may run Python code, which must not
 * change the dict being walked. */
static int
build_tree(Scorer *self, PyObject *given, PyObject *unnegated)
{
    PyObject *lexicon = PyDict_Copy(given);
    if (lexicon == NULL) {
        return -1;
    }
    Py_ssize_t n = PyDict_GET_SIZE(lexicon);
    Term *terms = PyMem_Calloc(n ? n : 1, sizeof(Term));
    if (terms == NULL) {
        Py_DECREF(lexicon);
        PyErr_NoMemory();
        return -1;
    }
    int ok = 0;
    Py_ssize_t count = 0, total = 0, pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(lexicon, &pos, &key, &value)) {
        if (!PyUnicode_Check(key) || PyUnicode_GET_LENGTH(key) == 0 || PyUnicode_GET_LENGTH(key) > MAX_TERM_LEN) {
            PyErr_SetString(PyExc_ValueError, "lexicon terms must be str of 1 to 256 characters");
            goto done;
        }
        double weight = PyFloat_AsDouble(value);
        if (weight == -1.0 && PyErr_Occurred()) {
            goto done;
        }
        int never_negated = PySequence_Contains(unnegated, key);
        if (never_negated < 0) {
            goto done;
        }
        Py_UCS4 *chars = PyUnicode_AsUCS4Copy(key);
        if (chars == NULL) {
            goto done;
        }
        terms[count].chars = chars;
        terms[count].len = PyUnicode_GET_LENGTH(key);
        terms[count].weight = weight;
        terms[count].unnegated = never_negated;
        total += terms[count].len;
        count++;
    }
    if (total >= INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "lexicon too large");
        goto done;
    }
    qsort(terms, (size_t)count, sizeof(Term), term_order);
    /* at most one node and one edge per character of the terms, plus the root */
    self->nodes = PyMem_Calloc((size_t)total + 1, sizeof(Node));
    self->edges = PyMem_Calloc((size_t)total + 1, sizeof(Edge));
    if (self->nodes == NULL || self->edges == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    self->n_nodes = 1;
    build_node(self, 0, terms, 0, count, 0);
    /* the root's edges hashed, at most half full */
    const Node *root = &self->nodes[0];
    uint32_t slots = 8;
    while (slots < 2 * (uint32_t)root->n_edges) {
        slots *= 2;
    }
    self->root = PyMem_Malloc(slots * sizeof(Edge));
    if (self->root == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    self->root_mask = slots - 1;
    for (uint32_t i = 0; i < slots; i++) {
        self->root[i].ch = 0;
        self->root[i].child = -1;
    }
    for (int32_t e = root->first_edge; e < root->first_edge + root->n_edges; e++) {
        uint32_t slot = root_slot(self, self->edges[e].ch);
        while (self->root[slot].child >= 0) {
            slot = (slot + 1) & self->root_mask;
        }
        self->root[slot] = self->edges[e];
        charbits_add(&self->may_open, self->edges[e].ch);
    }
    ok = 1;
done:
    for (Py_ssize_t i = 0; i < count; i++) {
        PyMem_Free(terms[i].chars);
    }
    PyMem_Free(terms);
    Py_DECREF(lexicon);
    return ok ? 0 : -1;
}

/* The {code point: code point} translation applied before the scan, and the ASCII table. 0, or -1. (A private copy
 * of the dict, as for the lexicon.) */
static int
build_openers(Scorer *self, PyObject *given)
{
    for (int c = 0; c < 128; c++) {
        self->ascii_map[c] = (Py_UCS4)(self->fold_case && c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    }
    PyObject *openers = PyDict_Copy(given);
    if (openers == NULL) {
        return -1;
    }
    Py_ssize_t n = PyDict_GET_SIZE(openers);
    self->opener_from = PyMem_Calloc(n ? n : 1, sizeof(Py_UCS4));
    self->opener_to = PyMem_Calloc(n ? n : 1, sizeof(Py_UCS4));
    if (self->opener_from == NULL || self->opener_to == NULL) {
        Py_DECREF(openers);
        PyErr_NoMemory();
        return -1;
    }
    Py_ssize_t pos = 0;
    PyObject *key, *value;
    while (PyDict_Next(openers, &pos, &key, &value)) {
        if (!PyLong_Check(key) || !PyLong_Check(value)) {
            Py_DECREF(openers);
            PyErr_SetString(PyExc_TypeError, "openers: {int: int} expected");
            return -1;
        }
        long from = PyLong_AsLong(key), to = PyLong_AsLong(value);
        if ((from == -1 || to == -1) && PyErr_Occurred()) {
            Py_DECREF(openers);
            return -1;
        }
        if (from < 0 || from > 0x10FFFF || to < 0 || to > 0x10FFFF) {
            Py_DECREF(openers);
            PyErr_SetString(PyExc_ValueError, "openers: code points expected");
            return -1;
        }
        /* insertion keeps them sorted (a dozen entries, once per language) */
        Py_ssize_t i = self->n_openers++;
        while (i > 0 && self->opener_from[i - 1] > (Py_UCS4)from) {
            self->opener_from[i] = self->opener_from[i - 1];
            self->opener_to[i] = self->opener_to[i - 1];
            i--;
        }
        self->opener_from[i] = (Py_UCS4)from;
        self->opener_to[i] = (Py_UCS4)to;
    }
    Py_DECREF(openers);
    for (int c = 0; c < 128; c++) {  /* lower first, then translate: the reference's order */
        for (Py_ssize_t i = 0; i < self->n_openers; i++) {
            if (self->opener_from[i] == self->ascii_map[c]) {
                self->ascii_map[c] = self->opener_to[i];
                break;
            }
        }
    }
    return 0;
}

static int
scorer_init(Scorer *self, PyObject *args, PyObject *kwargs)
{
    static char *names[] = {"family", "lexicon", "unnegated", "negators", "intensifiers", "dampeners", "back",
                            "fold_case", "openers", "alpha", "negation", "intensifier", "dampener", NULL};
    const char *family;
    PyObject *lexicon, *unnegated, *negators, *intensifiers, *dampeners, *openers;
    Py_ssize_t back;
    int fold_case;
    double alpha, negation, intensifier, dampener;
    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "sO!OOOOnpO!dddd:Scorer", names, &family, &PyDict_Type,
                                     &lexicon, &unnegated, &negators, &intensifiers, &dampeners, &back, &fold_case,
                                     &PyDict_Type, &openers, &alpha, &negation, &intensifier, &dampener)) {
        return -1;
    }
    if (strcmp(family, "zh") != 0 && strcmp(family, "en") != 0) {
        PyErr_SetString(PyExc_ValueError, "family must be 'zh' or 'en'");
        return -1;
    }
    if (back < 1) {
        PyErr_SetString(PyExc_ValueError, "back must be positive");
        return -1;
    }
    if (self->nodes != NULL) {  /* immutable once built: threads may be scanning with it */
        PyErr_SetString(PyExc_TypeError, "Scorer is already built");
        return -1;
    }
    self->words = strcmp(family, "en") == 0;
    self->fold_case = fold_case;
    self->back = back;
    self->alpha = alpha;
    self->negation = negation;
    self->intensifier = intensifier;
    self->dampener = dampener;
    if (build_tree(self, lexicon, unnegated) < 0 || build_openers(self, openers) < 0
        || wordlist_fill(&self->negators, negators, "negators") < 0
        || wordlist_fill(&self->intensifiers, intensifiers, "intensifiers") < 0
        || wordlist_fill(&self->dampeners, dampeners, "dampeners") < 0) {
        scorer_clear(self);
        return -1;
    }
    const WordList *modifiers[] = {&self->negators, &self->intensifiers, &self->dampeners};
    for (int m = 0; m < 3; m++) {
        for (Py_ssize_t i = 0; i < modifiers[m]->n; i++) {
            const Word *w = &modifiers[m]->items[i];
            if (w->len == 0) {
                PyErr_SetString(PyExc_ValueError, "modifiers must be non-empty");
                scorer_clear(self);
                return -1;
            }
            charbits_add(&self->may_modify, w->chars[w->len - 1]);
        }
    }
    return 0;
}

/* ---- the scan ---- */

/* A growable buffer of the characters of the text being scanned (per call: no state shared between threads). */
typedef struct {
    Py_UCS4 *chars;
    Py_ssize_t cap;
} Buffer;

static Py_UCS4
translated(const Scorer *self, Py_UCS4 ch)
{
    if (ch < 128) {
        return self->ascii_map[ch];
    }
    for (Py_ssize_t i = 0; i < self->n_openers && self->opener_from[i] <= ch; i++) {
        if (self->opener_from[i] == ch) {
            return self->opener_to[i];
        }
    }
    return ch;
}

/* The text's characters as the scan sees them (lower-cased when fold_case, then translated) into buf: its length,
 * or -1 with an exception. */
static Py_ssize_t
load_text(const Scorer *self, PyObject *text, Buffer *buf)
{
    if (!PyUnicode_Check(text)) {
        PyErr_Format(PyExc_TypeError, "texts must be str, not %.100s", Py_TYPE(text)->tp_name);
        return -1;
    }
#if PY_VERSION_HEX < 0x030C0000
    if (PyUnicode_READY(text) < 0) {  /* (a legacy string's canonical form; always there from 3.12) */
        return -1;
    }
#endif
    PyObject *lowered = NULL;
    if (self->fold_case && !PyUnicode_IS_ASCII(text)) {
        /* str.lower itself (a subclass's override is not what the reference's joined str calls) */
        lowered = PyObject_CallMethod((PyObject *)&PyUnicode_Type, "lower", "O", text);
        if (lowered == NULL) {
            return -1;
        }
        if (!PyUnicode_Check(lowered)) {
            Py_DECREF(lowered);
            PyErr_SetString(PyExc_TypeError, "str.lower gave no str");
            return -1;
        }
        text = lowered;
    }
    Py_ssize_t n = PyUnicode_GET_LENGTH(text);
    if (n > buf->cap) {
        Py_ssize_t cap = n > 2 * buf->cap ? n : 2 * buf->cap;
        Py_UCS4 *grown = PyMem_Realloc(buf->chars, (size_t)cap * sizeof(Py_UCS4));
        if (grown == NULL) {
            Py_XDECREF(lowered);
            PyErr_NoMemory();
            return -1;
        }
        buf->chars = grown;
        buf->cap = cap;
    }
    int kind = PyUnicode_KIND(text);
    const void *data = PyUnicode_DATA(text);
    Py_UCS4 *out = buf->chars;
    if (self->words) {
        for (Py_ssize_t i = 0; i < n; i++) {
            out[i] = translated(self, PyUnicode_READ(kind, data, i));
        }
    }
    else if (self->n_openers == 0 && !self->fold_case) {
        for (Py_ssize_t i = 0; i < n; i++) {
            out[i] = PyUnicode_READ(kind, data, i);
        }
    }
    else {
        for (Py_ssize_t i = 0; i < n; i++) {
            out[i] = translated(self, PyUnicode_READ(kind, data, i));
        }
    }
    Py_XDECREF(lowered);
    return n;
}

/* zh: whether text[lo:s] ends with a negator, or a negator and then an intensifier (the reference's regex
 * "(?:negators)(?:intensifiers)?$" searched in text[lo:s]). */
static int
ends_negated(const Scorer *self, const Py_UCS4 *text, Py_ssize_t lo, Py_ssize_t s)
{
    if (ends_with_any(&self->negators, text, lo, s)) {
        return 1;
    }
    for (Py_ssize_t i = 0; i < self->intensifiers.n; i++) {
        if (ends_with(&self->intensifiers, text, lo, s, i)
            && ends_with_any(&self->negators, text, lo, s - self->intensifiers.items[i].len)) {
            return 1;
        }
    }
    return 0;
}

/* zh: the factor of a hit at s from the characters text[lo:s] before it. */
static double
zh_factor(const Scorer *self, const Py_UCS4 *text, Py_ssize_t lo, Py_ssize_t s, int unnegated)
{
    if (!unnegated && ends_negated(self, text, lo, s)) {
        return self->negation;
    }
    if (ends_with_any(&self->intensifiers, text, lo, s)) {
        return self->intensifier;
    }
    return ends_with_any(&self->dampeners, text, lo, s) ? self->dampener : 1.0;
}

static int
all_alpha(const Py_UCS4 *text, Py_ssize_t lo, Py_ssize_t hi)
{
    if (lo >= hi) {
        return 0;
    }
    for (Py_ssize_t i = lo; i < hi; i++) {
        if (!Py_UNICODE_ISALPHA(text[i])) {
            return 0;
        }
    }
    return 1;
}

/* en: the factor of a hit whose preceding space is at `space`, from the last two words of the `back` characters
 * before the hit: window = text[max(0, space + 1 - back):space], split as window.rsplit(" ", 2). */
static double
en_factor(const Scorer *self, const Py_UCS4 *text, Py_ssize_t space, int unnegated)
{
    Py_ssize_t lo = space + 1 - self->back > 0 ? space + 1 - self->back : 0;
    Py_ssize_t last_lo = space, before_lo = lo, before_hi = lo;  /* before is empty without a space */
    while (last_lo > lo && text[last_lo - 1] != ' ') {
        last_lo--;
    }
    if (last_lo > lo) {  /* a space at last_lo - 1: before = the word up to it */
        before_hi = last_lo - 1;
        before_lo = before_hi;
        while (before_lo > lo && text[before_lo - 1] != ' ') {
            before_lo--;
        }
    }
    if (!unnegated && (is_one_of(&self->negators, text, last_lo, space)
                       || (is_one_of(&self->negators, text, before_lo, before_hi)
                           && all_alpha(text, last_lo, space)))) {
        return self->negation;
    }
    if (is_one_of(&self->intensifiers, text, last_lo, space)) {
        return self->intensifier;
    }
    if (is_one_of(&self->dampeners, text, last_lo, space)) {
        return self->dampener;
    }
    /* f"{before} {last}" in dampeners */
    Py_ssize_t before_len = before_hi - before_lo, last_len = space - last_lo;
    for (Py_ssize_t i = 0; i < self->dampeners.n; i++) {
        const Word *d = &self->dampeners.items[i];
        if (d->len == before_len + 1 + last_len && d->chars[before_len] == ' '
            && same(d->chars, text + before_lo, before_len)
            && same(d->chars + before_len + 1, text + last_lo, last_len)) {
            return self->dampener;
        }
    }
    return 1.0;
}

/* The regex engine's word character (\w of a str pattern: alphanumeric or underscore). */
static inline int
is_word_char(Py_UCS4 ch)
{
    return ch == '_' || Py_UNICODE_ISALNUM(ch);
}

/* The lexicon term starting at text[i] that the scan takes (the longest; en: the longest that ends at a word
 * boundary, the end of the text being one), or NULL; *end: where it ends. */
static inline const Node *
term_at(const Scorer *self, const Py_UCS4 *text, Py_ssize_t n, Py_ssize_t i, Py_ssize_t *end)
{
    if (!charbits_may_have(&self->may_open, text[i])) {
        return NULL;
    }
    int32_t child = root_child(self, text[i]);
    const Node *hit = NULL;
    for (Py_ssize_t j = i; child >= 0;) {
        const Node *node = &self->nodes[child];
        if (node->is_term
            && (!self->words || is_word_char(text[j]) != (j + 1 < n && is_word_char(text[j + 1])))) {
            hit = node;
            *end = j + 1;
        }
        if (++j == n) {
            break;
        }
        child = child_of(self, node, text[j]);
    }
    return hit;
}

/* zh: the summed weights of one text's hits (a term may start at any character). */
static double
zh_sum(const Scorer *self, const Py_UCS4 *text, Py_ssize_t n)
{
    double sum = 0.0;
    Py_ssize_t i = 0, end = 0;
    while (i < n) {
        const Node *hit = term_at(self, text, n, i, &end);
        if (hit == NULL) {
            i++;
            continue;
        }
        double w = hit->weight;
        /* never looks into the previous text; only a modifier's last character can come right before a modified
         * term (the reference's last_chars) */
        if (w != 0.0 && i > 0 && charbits_may_have(&self->may_modify, text[i - 1])) {
            w *= zh_factor(self, text, i - self->back > 0 ? i - self->back : 0, i, hit->unnegated);
        }
        sum += w;
        i = end;  /* hits do not overlap */
    }
    return sum;
}

/* en: the summed weights of one text's hits (a term starts at the text's start or right after a space). */
static double
en_sum(const Scorer *self, const Py_UCS4 *text, Py_ssize_t n)
{
    double sum = 0.0;
    Py_ssize_t i = 0, end = 0;
    while (i < n) {
        const Node *hit = term_at(self, text, n, i, &end);
        if (hit != NULL) {
            double w = hit->weight;
            if (w != 0.0 && i > 0) {  /* never looks into the previous text */
                w *= en_factor(self, text, i - 1, hit->unnegated);
            }
            sum += w;
            i = end;  /* hits do not overlap: the next term's space is at or after the end (regex finditer) */
        }
        while (i < n && text[i] != ' ') {
            i++;
        }
        i++;  /* past the space */
    }
    return sum;
}

/* round(y, 3) as Python gives it: the double nearest to k / 1000, k the integer nearest to the exact y * 1000 (ties
 * to even) -- what round() gets by formatting y's correctly rounded 3-decimal string and parsing it back, without the
 * strings. t = y * 1000 rounded, plus its exact error e (fma), is y * 1000; t's nearest integer r is k unless t is
 * exactly halfway, where e says which side y * 1000 is on (|e| is below half of t's spacing, so it decides nothing
 * elsewhere). k and 1000 are exact doubles, so k / 1000.0 is the correctly rounded quotient, as parsing "0.kkk" is.
 * That holds while t's spacing is well below 1 (|y| < 1e12; scores are within [-1, 1]); other values take round()'s
 * own way. 0, or -1 with an exception. */
static int
round3(double y, double *out)
{
    if (fabs(y) < 1e12) {
        double t = y * 1000.0;
        double e = fma(y, 1000.0, -t);
        double r = nearbyint(t);  /* the default rounding mode: ties to even */
        double half = t - r;  /* exact: r is t's nearest integer */
        if (half == 0.5 && e > 0.0) {
            r += 1.0;
        }
        else if (half == -0.5 && e < 0.0) {
            r -= 1.0;
        }
        *out = r / 1000.0;
        return 0;
    }
    if (!isfinite(y)) {
        *out = y;
        return 0;
    }
    char *digits = PyOS_double_to_string(y, 'f', 3, 0, NULL);
    if (digits == NULL) {
        return -1;
    }
    *out = PyOS_string_to_double(digits, NULL, NULL);
    PyMem_Free(digits);
    return *out == -1.0 && PyErr_Occurred() ? -1 : 0;
}

static PyObject *
module_round3(PyObject *module, PyObject *arg)
{
    double y = PyFloat_AsDouble(arg), rounded;
    if ((y == -1.0 && PyErr_Occurred()) || round3(y, &rounded) < 0) {
        return NULL;
    }
    return PyFloat_FromDouble(rounded);
}

static PyObject *
scorer_scores(Scorer *self, PyObject *texts)
{
    if (self->nodes == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "Scorer not initialised");
        return NULL;
    }
    PyObject *seq = PySequence_Fast(texts, "texts must be a sequence of str");
    if (seq == NULL) {
        return NULL;
    }
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject *out = PyList_New(n);
    PyObject *zero = PyFloat_FromDouble(0.0);
    Buffer buf = {NULL, 0};
    if (out == NULL || zero == NULL) {
        goto fail;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_ssize_t len = load_text(self, PySequence_Fast_GET_ITEM(seq, i), &buf);
        if (len < 0) {
            goto fail;
        }
        double sum = self->words ? en_sum(self, buf.chars, len) : zh_sum(self, buf.chars, len);
        PyObject *value;
        if (sum != 0.0) {  /* round(x / sqrt(x*x + alpha), 3), the same IEEE operations as the reference */
            double score;
            if (round3(sum / sqrt(sum * sum + self->alpha), &score) < 0) {
                goto fail;
            }
            value = PyFloat_FromDouble(score);
        }
        else {
            value = Py_NewRef(zero);
        }
        if (value == NULL) {
            goto fail;
        }
        PyList_SET_ITEM(out, i, value);
    }
    PyMem_Free(buf.chars);
    Py_DECREF(zero);
    Py_DECREF(seq);
    return out;
fail:
    PyMem_Free(buf.chars);
    Py_XDECREF(zero);
    Py_XDECREF(out);  /* unset items are NULL, which list_dealloc skips */
    Py_DECREF(seq);
    return NULL;
}

/* ---- the speaker summary ---- */

/* Attribute names and summary keys, interned once at import (never changed after). */
static struct {
    PyObject *role, *sentiment, *start, *end, *mean, *trend, *turns;
} names;

/* Sets d[key] = round(x, 3). 0, or -1 with an exception. */
static int
set_rounded(PyObject *d, PyObject *key, double x)
{
    double rounded;
    if (round3(x, &rounded) < 0) {
        return -1;
    }
    PyObject *value = PyFloat_FromDouble(rounded);
    if (value == NULL) {
        return -1;
    }
    int failed = PyDict_SetItem(d, key, value);
    Py_DECREF(value);
    return failed;
}

/* sum(values[lo:hi]) as sum() adds floats: from 0, left to right. */
static double
sum_of(const double *values, Py_ssize_t lo, Py_ssize_t hi)
{
    double s = 0.0;
    for (Py_ssize_t i = lo; i < hi; i++) {
        s += values[i];
    }
    return s;
}

/* _party(values): {"start", "end", "mean", "trend", "turns"} of one party's (non-empty) values. */
static PyObject *
party(const double *values, Py_ssize_t n, Py_ssize_t edge_turns)
{
    Py_ssize_t k = n / 3 < edge_turns ? n / 3 : edge_turns;
    if (k < 1) {
        k = 1;
    }
    double start = sum_of(values, 0, k) / (double)k;
    double end = sum_of(values, n - k, n) / (double)k;
    double mean = sum_of(values, 0, n) / (double)n;
    PyObject *d = PyDict_New();
    if (d == NULL) {
        return NULL;
    }
    PyObject *turns = PyLong_FromSsize_t(n);
    if (turns == NULL || set_rounded(d, names.start, start) < 0 || set_rounded(d, names.end, end) < 0
        || set_rounded(d, names.mean, mean) < 0 || set_rounded(d, names.trend, end - start) < 0
        || PyDict_SetItem(d, names.turns, turns) < 0) {
        Py_XDECREF(turns);
        Py_DECREF(d);
        return NULL;
    }
    Py_DECREF(turns);
    return d;
}

/* summary(utterances, parties, edge_turns) -> dict | None: summary_dict's per-party summary in one pass over the
 * utterances (the Python version reads each attribute through attrgetter maps and filters each party with compress).
 * Computed as _party computes it: sums from left to right (what sum() does on Python versions without compensated
 * float sums: the caller checks), true division by the count, round(x, 3) as round3. A sentiment that is not a
 * float (None: not annotated) or a role that is not a str gives None: the Python path decides. */
static PyObject *
summary(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyTuple_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "summary(utterances, parties: tuple[str, ...], edge_turns: int)");
        return NULL;
    }
    PyObject *parties = args[1];
    Py_ssize_t edge_turns = PyLong_AsSsize_t(args[2]);
    if (edge_turns == -1 && PyErr_Occurred()) {
        return NULL;
    }
    Py_ssize_t n_parties = PyTuple_GET_SIZE(parties);
    for (Py_ssize_t p = 0; p < n_parties; p++) {
        if (!PyUnicode_CheckExact(PyTuple_GET_ITEM(parties, p))) {
            PyErr_SetString(PyExc_TypeError, "summary: parties must be str");
            return NULL;
        }
    }
    /* a tuple (the transcript's own, or a copy): reading an attribute may run Python code, which must not change
     * the sequence being walked */
    PyObject *utts = PySequence_Tuple(args[0]);
    if (utts == NULL) {
        return NULL;
    }
    Py_ssize_t n = PyTuple_GET_SIZE(utts);
    /* each utterance's value and party (-1: none of them), then the values regrouped party by party */
    double *values = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(double));
    double *grouped = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(double));
    Py_ssize_t *owner = PyMem_Malloc((size_t)(n ? n : 1) * sizeof(Py_ssize_t));
    PyObject *out = NULL;
    if (values == NULL || grouped == NULL || owner == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *utt = PyTuple_GET_ITEM(utts, i);
        PyObject *value = PyObject_GetAttr(utt, names.sentiment);
        if (value == NULL) {
            goto done;
        }
        int is_float = PyFloat_CheckExact(value);
        values[i] = is_float ? PyFloat_AS_DOUBLE(value) : 0.0;
        Py_DECREF(value);
        if (!is_float) {
            out = Py_NewRef(Py_None);  /* not annotated (or an odd value): the Python path */
            goto done;
        }
        PyObject *role = PyObject_GetAttr(utt, names.role);
        if (role == NULL) {
            goto done;
        }
        if (!PyUnicode_CheckExact(role)) {
            Py_DECREF(role);
            out = Py_NewRef(Py_None);
            goto done;
        }
        owner[i] = -1;
        for (Py_ssize_t p = 0; p < n_parties; p++) {
            int eq = PyUnicode_Compare(role, PyTuple_GET_ITEM(parties, p));
            if (eq == -1 && PyErr_Occurred()) {
                Py_DECREF(role);
                goto done;
            }
            if (eq == 0) {
                owner[i] = p;
                break;
            }
        }
        Py_DECREF(role);
    }
    out = PyDict_New();
    if (out == NULL) {
        goto done;
    }
    for (Py_ssize_t p = 0; p < n_parties; p++) {
        Py_ssize_t count = 0;
        for (Py_ssize_t i = 0; i < n; i++) {
            if (owner[i] == p) {
                grouped[count++] = values[i];
            }
        }
        if (count == 0) {
            continue;
        }
        PyObject *d = party(grouped, count, edge_turns);
        if (d == NULL || PyDict_SetItem(out, PyTuple_GET_ITEM(parties, p), d) < 0) {
            Py_XDECREF(d);
            Py_CLEAR(out);
            goto done;
        }
        Py_DECREF(d);
    }
done:
    PyMem_Free(values);
    PyMem_Free(grouped);
    PyMem_Free(owner);
    Py_DECREF(utts);
    return out;
}

static PyMethodDef scorer_methods[] = {
    {"scores", (PyCFunction)scorer_scores, METH_O,
     "scores(texts) -> list[float]: each text's rounded, squashed sentiment (0.0 without a term)."},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject ScorerType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "qa_engine.native._sentiment.Scorer",
    .tp_doc = PyDoc_STR("One language's sentiment lexicon and rules, scanned in C (immutable once built)."),
    .tp_basicsize = sizeof(Scorer),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = PyType_GenericNew,
    .tp_init = (initproc)scorer_init,
    .tp_dealloc = (destructor)scorer_dealloc,
    .tp_methods = scorer_methods,
};

static PyMethodDef module_methods[] = {
    {"summary", (PyCFunction)(void (*)(void))summary, METH_FASTCALL,
     "summary(utterances, parties, edge_turns) -> dict | None: summary_dict's parties from the utterances' role and "
     "sentiment; None where a sentiment is not a float or a role not a str (the Python path decides)."},
    {"round3", (PyCFunction)module_round3, METH_O,
     "round3(y) -> float: round(y, 3), as the scores are rounded (exposed for the tests)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef sentiment_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_sentiment",
    .m_doc = PyDoc_STR("The sentiment lexicon scan of qa_engine.sentiment, in C."),
    .m_size = -1,
    .m_methods = module_methods,
};

PyMODINIT_FUNC
PyInit__sentiment(void)
{
    if (PyType_Ready(&ScorerType) < 0) {
        return NULL;
    }
    if (names.turns == NULL) {  /* set once (a second import of the module keeps the first's) */
        names.role = PyUnicode_InternFromString("role");
        names.sentiment = PyUnicode_InternFromString("sentiment");
        names.start = PyUnicode_InternFromString("start");
        names.end = PyUnicode_InternFromString("end");
        names.mean = PyUnicode_InternFromString("mean");
        names.trend = PyUnicode_InternFromString("trend");
        if (!names.role || !names.sentiment || !names.start || !names.end || !names.mean || !names.trend) {
            return NULL;  /* (names.turns still NULL: the next import tries again) */
        }
        names.turns = PyUnicode_InternFromString("turns");
        if (names.turns == NULL) {
            return NULL;
        }
    }
    PyObject *module = PyModule_Create(&sentiment_module);
    if (module == NULL) {
        return NULL;
    }
    Py_INCREF(&ScorerType);
    if (PyModule_AddObject(module, "Scorer", (PyObject *)&ScorerType) < 0) {
        Py_DECREF(&ScorerType);
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
