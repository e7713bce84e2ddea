/* The inner loops of phrase matching (qa_engine.rules.matching.Matcher), in C.
 *
 * Why: a call asks ~45 (matcher, utterance) questions and each one, in Python, walks the matcher's candidate
 * phrases through a few frames and many small objects; that overhead, not the searching, was the cost.
 * Everything here makes the same decisions as the Python reference (Matcher._find_python with _find, _exact and
 * _negated; _phrase_hit; _may_hit_python), which stays the source of truth: QA_ENGINE_NATIVE=0 runs it and
 * tests/rules/test_native_match.py compares both.  What is rare (an utterance the screen has not seen, masking
 * allowed spans, the text-space scan, regex matches) is a call back into the same Python.  rapidfuzz stays a Python call (Matcher._fuzzy_zh/_en);
 * this only skips the calls a character count proves hopeless (see may_reach).
 *
 * No state but interned names set once at import; the GIL is held throughout (objects are touched everywhere).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *str_found;       /* "found" (Prepared.found) */
static PyObject *str_norm;        /* "norm" (Prepared.norm) */
static PyObject *str_may_match;   /* "may_match_text" (_Plan.may_match_text) */
static PyObject *str_similarity;  /* "similarity" (Hit.similarity) */
static PyObject *str_cache, *str_deadline, *str_at, *str_check, *str_codes, *str_candidates, *str_plans;
static PyObject *str_text, *str_key_items, *str_pattern_part, *str_exact_part, *str_with_text;
static PyObject *str_find_python, *str_mask_allowed, *str_find_masked;
static PyObject *str_regexp, *str_Match;  /* re2's compiled object: its "_regexp" and that one's "Match" */
static PyObject *str_start, *str_end, *str_phrase;  /* Hit's other fields */
static PyObject *str_dest_start, *str_dest_end, *str_round, *str_space;  /* for fuzzy_en */
static PyObject *kw_score_cutoff;  /* ("score_cutoff",): the keyword names of rapidfuzz's alignment call */

/* ---------------------------------------------------------------- negation look-back (Matcher._negated) */

/* zh: one of ``negs`` (a tuple of str) occurs in codes[max(0, start - 2):start]. 1, 0, or -1 on error. */
static int negated_zh(PyObject *codes, Py_ssize_t start, PyObject *negs)
{
    Py_ssize_t lo = start >= 2 ? start - 2 : 0;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(negs); i++) {
        Py_ssize_t at = PyUnicode_Find(codes, PyTuple_GET_ITEM(negs, i), lo, start, 1);
        if (at == -2)
            return -1;
        if (at >= 0)
            return 1;
    }
    return 0;
}

/* en: one of the last two words of codes[:start] (str.split() words) is in ``negs``. 1, 0, or -1 on error. */
static int negated_en(PyObject *codes, Py_ssize_t start, PyObject *negs)  /* (codes is ready) */
{
    int kind = PyUnicode_KIND(codes);
    const void *data = PyUnicode_DATA(codes);
    Py_ssize_t i = start;
    for (int w = 0; w < 2; w++) {
        while (i > 0 && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i - 1)))
            i--;
        if (i == 0)
            break;
        Py_ssize_t end = i;
        while (i > 0 && !Py_UNICODE_ISSPACE(PyUnicode_READ(kind, data, i - 1)))
            i--;
        PyObject *word = PyUnicode_Substring(codes, i, end);
        if (word == NULL)
            return -1;
        int found = PySequence_Contains(negs, word);
        Py_DECREF(word);
        if (found != 0)
            return found;
    }
    return 0;
}

/* The negation test of a matcher: ``negs`` None (the matcher does not negate), a zh or an en tuple. */
static int negated(PyObject *codes, Py_ssize_t start, PyObject *negs, int zh)
{
    if (negs == Py_None)
        return 0;
    return zh ? negated_zh(codes, start, negs) : negated_en(codes, start, negs);
}

/* ------------------------------------------------------------------- exact search (Matcher._exact) */

/* text[start:end] == needle (the slice clipped at the end of ``text``, as Python's is). */
static int slice_equals(PyObject *text, Py_ssize_t start, Py_ssize_t end, PyObject *needle)
{
    Py_ssize_t len = PyUnicode_GET_LENGTH(text), n = PyUnicode_GET_LENGTH(needle);
    if (end > len)
        end = len;
    if ((end > start ? end - start : 0) != n)
        return 0;
    int tk = PyUnicode_KIND(text), nk = PyUnicode_KIND(needle);
    const void *td = PyUnicode_DATA(text), *nd = PyUnicode_DATA(needle);
    for (Py_ssize_t i = 0; i < n; i++)
        if (PyUnicode_READ(tk, td, start + i) != PyUnicode_READ(nk, nd, i))
            return 0;
    return 1;
}

/* Hit(start, end, sim, phrase), built as qa_engine.types.build builds a frozen dataclass: a bare instance whose
 * fields are set with object.__setattr__ (what the dataclass __init__ does, one Python frame and four calls apart;
 * ~7,000 instructions a hit).  Anything but a plain class goes through its constructor. */
static PyObject *new_hit(PyObject *hit_cls, Py_ssize_t start, Py_ssize_t end, PyObject *sim, PyObject *phrase)
{
    PyObject *a = PyLong_FromSsize_t(start);
    if (a == NULL)
        return NULL;
    PyObject *b = PyLong_FromSsize_t(end);
    if (b == NULL) {
        Py_DECREF(a);
        return NULL;
    }
    PyObject *hit;
    if (PyType_Check(hit_cls) && ((PyTypeObject *)hit_cls)->tp_new == PyBaseObject_Type.tp_new) {
        PyTypeObject *type = (PyTypeObject *)hit_cls;
        hit = type->tp_alloc(type, 0);
        if (hit != NULL && (PyObject_GenericSetAttr(hit, str_start, a) < 0
                            || PyObject_GenericSetAttr(hit, str_end, b) < 0
                            || PyObject_GenericSetAttr(hit, str_similarity, sim) < 0
                            || PyObject_GenericSetAttr(hit, str_phrase, phrase) < 0))
            Py_CLEAR(hit);
    } else {
        PyObject *args[4] = {a, b, sim, phrase};
        hit = PyObject_Vectorcall(hit_cls, args, 4, NULL);
    }
    Py_DECREF(a);
    Py_DECREF(b);
    return hit;
}

/* The phrase's first occurrence that is not negated, as a Hit (Py_None: none; NULL: error).
 * zh: the exact sound codes, similarity ``one`` when the characters are the phrase's too, else ``homophone``;
 * en: the phrase's words as whole words (spaces around them, or the text's ends), similarity ``one``. */
static PyObject *exact_hit(PyObject *row, PyObject *codes, PyObject *norm, int zh, PyObject *negs,
                           PyObject *hit_cls, PyObject *one, PyObject *homophone, int *is_one)
{
    PyObject *ph_codes = PyTuple_GET_ITEM(row, 0), *ph_norm = PyTuple_GET_ITEM(row, 1);
    PyObject *source = PyTuple_GET_ITEM(row, 2);
    PyObject *needle = zh ? ph_codes : ph_norm;
    Py_ssize_t len = PyUnicode_GET_LENGTH(codes), n = PyUnicode_GET_LENGTH(needle);
    int kind = PyUnicode_KIND(codes);
    const void *data = PyUnicode_DATA(codes);
    Py_ssize_t start = PyUnicode_Find(codes, needle, 0, len, 1);
    while (start >= 0) {
        int whole = zh || ((start == 0 || PyUnicode_READ(kind, data, start - 1) == ' ')
                           && (start + n == len || PyUnicode_READ(kind, data, start + n) == ' '));
        if (whole) {
            int neg = negated(codes, start, negs, zh);
            if (neg < 0)
                return NULL;
            if (!neg) {
                *is_one = !zh || slice_equals(norm, start, start + n, ph_norm);
                return new_hit(hit_cls, start, start + n, *is_one ? one : homophone, source);
            }
        }
        if (start + 1 > len)
            break;
        start = PyUnicode_Find(codes, needle, start + 1, len, 1);
    }
    if (start == -2)
        return NULL;
    Py_RETURN_NONE;
}

/* --------------------------------------------------------- hopeless fuzzy alignments (before rapidfuzz) */

/* Whether fuzz.partial_ratio_alignment(a, b, score_cutoff=threshold) may find an alignment.
 *
 * rapidfuzz aligns the shorter string (length m) with windows of at most m characters of the longer one and
 * scores a window w 200 * LCS / (m + len(w)).  LCS <= J, the characters the window shares with the shorter
 * string (as multisets), and the score is then at most 200 * J / (m + J) whatever the window's length; J is
 * largest over the full windows of m characters, which a sliding count finds in one pass.  When even that
 * bound is under the cutoff there is no alignment (the answer is None) and the call is skipped.
 * 1: it may (or we cannot tell), 0: it cannot, -1: out of memory. */
static int may_reach(PyObject *a, PyObject *b, long long threshold)
{
    if (PyUnicode_GET_LENGTH(a) > PyUnicode_GET_LENGTH(b)) {
        PyObject *t = a;
        a = b;
        b = t;
    }
    Py_ssize_t m = PyUnicode_GET_LENGTH(a), n = PyUnicode_GET_LENGTH(b);
    if (m == 0)
        return 1;
    /* open-addressing table of a's distinct characters: how many a holds, how many the window holds */
    size_t cap = 8;
    while (cap < 2 * (size_t)m)
        cap <<= 1;
    Py_UCS4 *keys = PyMem_Malloc(cap * sizeof(Py_UCS4));
    Py_ssize_t *want = PyMem_Calloc(cap, sizeof(Py_ssize_t)), *have = PyMem_Calloc(cap, sizeof(Py_ssize_t));
    if (keys == NULL || want == NULL || have == NULL) {
        PyMem_Free(keys);
        PyMem_Free(want);
        PyMem_Free(have);
        PyErr_NoMemory();
        return -1;
    }
    const Py_UCS4 EMPTY = 0xFFFFFFFFu;  /* above every code point */
    for (size_t i = 0; i < cap; i++)
        keys[i] = EMPTY;
    int ak = PyUnicode_KIND(a), bk = PyUnicode_KIND(b);
    const void *ad = PyUnicode_DATA(a), *bd = PyUnicode_DATA(b);
#define SLOT(c, s) do { s = ((size_t)(c) * 2654435761u) & (cap - 1); \
        while (keys[s] != EMPTY && keys[s] != (c)) s = (s + 1) & (cap - 1); } while (0)
    for (Py_ssize_t i = 0; i < m; i++) {
        Py_UCS4 c = PyUnicode_READ(ak, ad, i);
        size_t s;
        SLOT(c, s);
        keys[s] = c;
        want[s]++;
    }
    int result = 0;
    long long shared = 0;  /* J of the current window */
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(bk, bd, i);
        size_t s;
        SLOT(c, s);
        if (keys[s] == c && have[s]++ < want[s])
            shared++;
        if (i >= m) {
            c = PyUnicode_READ(bk, bd, i - m);
            SLOT(c, s);
            if (keys[s] == c && --have[s] < want[s])
                shared--;
        }
        if (200 * shared >= threshold * (m + shared)) {
            result = 1;
            break;
        }
    }
#undef SLOT
    PyMem_Free(keys);
    PyMem_Free(want);
    PyMem_Free(have);
    return result;
}

/* ------------------------------------------------------------------------------------------ search */

/* A fuzzy threshold as a C integer, clamped to [-1000, 1000] so that products with lengths cannot overflow: the
 * tests it takes part in (length * 100 < length * threshold, the bound of may_reach, scores 0..100) come out the
 * same for every value beyond those ends. -1 with an exception set on error. */
static long long clamp_threshold(PyObject *value)
{
    int overflow = 0;
    long long t = PyLong_AsLongLongAndOverflow(value, &overflow);
    if (t == -1 && PyErr_Occurred())
        return -1;
    if (overflow > 0 || t > 1000)
        return 1000;
    if (overflow < 0 || t < -1000)
        return -1000;
    return t;
}

/* ------------------------------------------------------------------- fuzzy English (Matcher._fuzzy_en) */

/* round(x / 100.0, 3), as Python computes it: a new object, NULL on error. */
static PyObject *similarity_of(PyObject *score)
{
    PyObject *hundred = PyFloat_FromDouble(100.0), *three = NULL, *q = NULL, *r = NULL;
    if (hundred != NULL && (q = PyNumber_TrueDivide(score, hundred)) != NULL && (three = PyLong_FromLong(3)) != NULL)
        r = PyObject_CallMethodOneArg(q, str_round, three);
    Py_XDECREF(hundred);
    Py_XDECREF(q);
    Py_XDECREF(three);
    return r;
}

/* Matcher._fuzzy_en after its first test (search has made it): rapidfuzz's alignment of the phrase in ``text``,
 * snapped to whole words and scored on that window of words (or, below the threshold, on as many words as the
 * phrase has from the window's start); not after a negation.  fuzz = (fuzz.partial_ratio_alignment, fuzz.ratio),
 * called as the reference calls them.  Hit, Py_None, Py_NotImplemented (an alignment outside the text: let the
 * reference answer) or NULL on error.  Why in C: the Python around the two rapidfuzz calls cost as much as they. */
static PyObject *fuzzy_en(PyObject *fuzz, PyObject *ph_norm, PyObject *source, PyObject *text, PyObject *threshold,
                          PyObject *negs, PyObject *hit_cls)
{
    PyObject *align = PyTuple_GET_ITEM(fuzz, 0), *ratio = PyTuple_GET_ITEM(fuzz, 1);
    PyObject *call[3] = {ph_norm, text, threshold};
    PyObject *al = PyObject_Vectorcall(align, call, 2, kw_score_cutoff);
    if (al == NULL || al == Py_None)
        return al;
    PyObject *ds = PyObject_GetAttr(al, str_dest_start), *de = ds != NULL ? PyObject_GetAttr(al, str_dest_end) : NULL;
    Py_DECREF(al);
    Py_ssize_t dest_start = ds != NULL ? PyLong_AsSsize_t(ds) : -1, dest_end = de != NULL ? PyLong_AsSsize_t(de) : -1;
    Py_XDECREF(ds);
    Py_XDECREF(de);
    if (PyErr_Occurred())
        return NULL;
    Py_ssize_t len = PyUnicode_GET_LENGTH(text);
    if (dest_start < 0 || dest_end < 0 || dest_start > len || dest_end > len)
        Py_RETURN_NOTIMPLEMENTED;
    /* s = text.rfind(" ", 0, dest_start) + 1; e = text.find(" ", max(dest_end - 1, s)), or len(text) */
    Py_ssize_t s = PyUnicode_FindChar(text, ' ', 0, dest_start, -1);
    if (s == -2)
        return NULL;
    s += 1;
    Py_ssize_t from = dest_end - 1 > s ? dest_end - 1 : s;
    Py_ssize_t e = from < len ? PyUnicode_FindChar(text, ' ', from, len, 1) : -1;
    if (e == -2)
        return NULL;
    if (e < 0)
        e = len;
    PyObject *window = PyUnicode_Substring(text, s, e), *score = NULL, *result = NULL;
    if (window == NULL)
        return NULL;
    PyObject *pair[2] = {ph_norm, window};
    score = PyObject_Vectorcall(ratio, pair, 2, NULL);
    if (score == NULL)
        goto done;
    int below = PyObject_RichCompareBool(score, threshold, Py_LT);
    if (below < 0)
        goto done;
    if (below) {  /* window = " ".join(text[s:].split()[:len(phrase words)]) */
        PyObject *phrase_words = PyUnicode_Split(ph_norm, NULL, -1);
        if (phrase_words == NULL)
            goto done;
        Py_ssize_t n = PyList_GET_SIZE(phrase_words);
        Py_DECREF(phrase_words);
        PyObject *tail = PyUnicode_Substring(text, s, len);
        PyObject *words = tail != NULL ? PyUnicode_Split(tail, NULL, -1) : NULL;
        Py_XDECREF(tail);
        PyObject *first = words != NULL ? PyList_GetSlice(words, 0, n) : NULL;
        Py_XDECREF(words);
        if (first == NULL)
            goto done;
        Py_SETREF(window, PyUnicode_Join(str_space, first));
        Py_DECREF(first);
        if (window == NULL)
            goto done;
        pair[1] = window;
        Py_SETREF(score, PyObject_Vectorcall(ratio, pair, 2, NULL));
        if (score == NULL)
            goto done;
        e = s + PyUnicode_GET_LENGTH(window);
        below = PyObject_RichCompareBool(score, threshold, Py_LT);
        if (below < 0)
            goto done;
    }
    int neg = below ? 0 : negated(text, s, negs, 0);
    if (neg < 0)
        goto done;
    if (below || neg) {
        result = Py_NewRef(Py_None);
        goto done;
    }
    PyObject *sim = similarity_of(score);
    if (sim == NULL)
        goto done;
    result = new_hit(hit_cls, s, e, sim, source);
    Py_DECREF(sim);
done:
    Py_XDECREF(window);
    Py_XDECREF(score);
    return result;
}

/* search(cfg, pids, codes, norm, owner) -> Hit | None: the phrase part of Matcher._find.
 *
 * cfg = (rows, zh, negs, threshold, Hit, 1.0, HOMOPHONE_SIMILARITY, fuzzy method name, en: rapidfuzz's
 * (partial_ratio_alignment, ratio) for fuzzy_en, else None); rows[pid] = (codes, norm, source, fuzzy, _Phrase).  First the phrases said as written, in ``pids``' order: the first
 * hit of similarity 1.0 is the answer; then every phrase, its exact (homophone) hit or else its fuzzy one
 * (owner.<fuzzy>(phrase, codes)), keeping the first of the highest similarity. */
static PyObject *search(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 5) {
        PyErr_SetString(PyExc_TypeError, "search(cfg, pids, codes, norm, owner) takes 5 arguments");
        return NULL;
    }
    PyObject *cfg = args[0], *codes = args[2], *norm = args[3], *owner = args[4];
    if (!PyTuple_Check(cfg) || PyTuple_GET_SIZE(cfg) != 9 || !PyList_Check(PyTuple_GET_ITEM(cfg, 0))
            || !PyUnicode_Check(codes) || !PyUnicode_Check(norm) || !PyUnicode_Check(PyTuple_GET_ITEM(cfg, 7))) {
        PyErr_SetString(PyExc_TypeError, "search: bad cfg, codes or norm");
        return NULL;
    }
    if (PyUnicode_READY(codes) < 0 || PyUnicode_READY(norm) < 0)
        return NULL;
    PyObject *rows = PyTuple_GET_ITEM(cfg, 0), *negs = PyTuple_GET_ITEM(cfg, 2);
    PyObject *hit_cls = PyTuple_GET_ITEM(cfg, 4), *one = PyTuple_GET_ITEM(cfg, 5);
    PyObject *homophone = PyTuple_GET_ITEM(cfg, 6), *fuzzy_name = PyTuple_GET_ITEM(cfg, 7);
    PyObject *fuzz = PyTuple_GET_ITEM(cfg, 8);
    int zh = PyObject_IsTrue(PyTuple_GET_ITEM(cfg, 1));
    if (zh < 0)
        return NULL;
    if (fuzz != Py_None && (zh || !PyTuple_Check(fuzz) || PyTuple_GET_SIZE(fuzz) != 2)) {
        PyErr_SetString(PyExc_TypeError, "search: fuzz must be (partial_ratio_alignment, ratio) for en, or None");
        return NULL;
    }
    if (negs != Py_None && !PyTuple_Check(negs)) {
        PyErr_SetString(PyExc_TypeError, "search: negs must be a tuple or None");
        return NULL;
    }
    long long threshold = clamp_threshold(PyTuple_GET_ITEM(cfg, 3));
    if (threshold == -1 && PyErr_Occurred())
        return NULL;

    PyObject *seq = PySequence_Fast(args[1], "search: pids must be iterable");  /* pids' own order */
    if (seq == NULL)
        return NULL;
    Py_ssize_t count = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    PyObject **phrase_rows = PyMem_Calloc(count ? count : 1, sizeof(PyObject *));
    PyObject **said = PyMem_Calloc(count ? count : 1, sizeof(PyObject *));  /* exact hits below 1.0 */
    PyObject *best = NULL, *result = NULL;
    double best_sim = 0.0;
    if (phrase_rows == NULL || said == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t k = 0; k < count; k++) {
        Py_ssize_t pid = PyLong_AsSsize_t(items[k]);
        if (pid == -1 && PyErr_Occurred())
            goto done;
        if (pid < 0 || pid >= PyList_GET_SIZE(rows)) {
            PyErr_SetString(PyExc_IndexError, "search: phrase id out of range");
            goto done;
        }
        PyObject *row = PyList_GET_ITEM(rows, pid);
        if (!PyTuple_Check(row) || PyTuple_GET_SIZE(row) != 5 || !PyUnicode_Check(PyTuple_GET_ITEM(row, 0))
                || !PyUnicode_Check(PyTuple_GET_ITEM(row, 1))) {
            PyErr_SetString(PyExc_TypeError, "search: a phrase row must be (codes, norm, source, fuzzy, phrase)");
            goto done;
        }
        if (PyUnicode_READY(PyTuple_GET_ITEM(row, 0)) < 0 || PyUnicode_READY(PyTuple_GET_ITEM(row, 1)) < 0)
            goto done;
        phrase_rows[k] = row;
    }
    for (Py_ssize_t k = 0; k < count; k++) {
        int is_one = 0;
        PyObject *hit = exact_hit(phrase_rows[k], codes, norm, zh, negs, hit_cls, one, homophone, &is_one);
        if (hit == NULL)
            goto done;
        if (hit == Py_None) {
            Py_DECREF(hit);
            continue;
        }
        if (is_one) {  /* (HOMOPHONE_SIMILARITY is below 1.0: only ``one`` ends the search) */
            result = hit;
            goto done;
        }
        said[k] = hit;
    }
    for (Py_ssize_t k = 0; k < count; k++) {
        PyObject *hit = said[k];
        said[k] = NULL;
        if (hit == NULL) {
            PyObject *row = phrase_rows[k];
            PyObject *ph_text = PyTuple_GET_ITEM(row, zh ? 0 : 1);
            int fuzzy = PyObject_IsTrue(PyTuple_GET_ITEM(row, 3));
            if (fuzzy < 0)
                goto done;
            /* Matcher._fuzzy_*'s own first test, then the count bound: both answer None without rapidfuzz */
            if (!fuzzy || (long long)PyUnicode_GET_LENGTH(codes) * 100
                    < (long long)PyUnicode_GET_LENGTH(ph_text) * threshold)
                continue;
            int may = may_reach(ph_text, codes, threshold);
            if (may < 0)
                goto done;
            if (!may)
                continue;
            hit = fuzz != Py_None ? fuzzy_en(fuzz, ph_text, PyTuple_GET_ITEM(row, 2), codes, PyTuple_GET_ITEM(cfg, 3),
                                             negs, hit_cls)
                                  : Py_NewRef(Py_NotImplemented);
            if (hit == Py_NotImplemented)  /* zh, or what only the reference reads: its own method */
                Py_SETREF(hit, PyObject_CallMethodObjArgs(owner, fuzzy_name, PyTuple_GET_ITEM(row, 4), codes, NULL));
            if (hit == NULL)
                goto done;
        }
        if (hit == Py_None) {
            Py_DECREF(hit);
            continue;
        }
        PyObject *sim = PyObject_GetAttr(hit, str_similarity);
        double value = sim != NULL ? PyFloat_AsDouble(sim) : -1.0;
        Py_XDECREF(sim);
        if (value == -1.0 && PyErr_Occurred()) {
            Py_DECREF(hit);
            goto done;
        }
        if (best == NULL || value > best_sim) {
            Py_XSETREF(best, hit);
            best_sim = value;
        } else {
            Py_DECREF(hit);
        }
    }
    result = best != NULL ? best : Py_NewRef(Py_None);
    best = NULL;
done:
    if (said != NULL)
        for (Py_ssize_t k = 0; k < count; k++)
            Py_XDECREF(said[k]);
    PyMem_Free(said);
    PyMem_Free(phrase_rows);
    Py_XDECREF(best);
    Py_DECREF(seq);
    return result;
}

/* ----------------------------------------------------------------------------------------- may_hit */

/* may_hit(utts, screen, codes, plan) -> list: Matcher.may_hit's filter.  An utterance stays unless the screen
 * ``screen`` saw it (p.found[0] is screen) and found none of ``codes`` (the matcher's items: p.found[1] holds
 * the found ones) and, where ``plan`` is not None (the matcher has text-space items), plan.may_match_text(p.norm)
 * is false. */
static PyObject *may_hit(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "may_hit(utts, screen, codes, plan) takes 4 arguments");
        return NULL;
    }
    PyObject *seq = PySequence_Fast(args[0], "may_hit: utts must be iterable");
    if (seq == NULL)
        return NULL;
    PyObject *screen = args[1], *codes = args[2], *plan = args[3];
    if (!PyAnySet_Check(codes)) {
        Py_DECREF(seq);
        PyErr_SetString(PyExc_TypeError, "may_hit: codes must be a set");
        return NULL;
    }
    PyObject *out = PyList_New(0);
    if (out == NULL)
        goto fail;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq);
    PyObject **items = PySequence_Fast_ITEMS(seq);
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *p = items[i];
        PyObject *found = PyObject_GetAttr(p, str_found);
        if (found == NULL)
            goto fail;
        int keep = 0;
        if (found == Py_None) {
            keep = 1;
        } else if (!PyTuple_Check(found) || PyTuple_GET_SIZE(found) < 2) {
            Py_DECREF(found);
            PyErr_SetString(PyExc_TypeError, "may_hit: Prepared.found must be a tuple");
            goto fail;
        } else if (PyTuple_GET_ITEM(found, 0) != screen) {
            keep = 1;
        } else {
            /* (a list from the screen: no copy) */
            PyObject *items_found = PySequence_Fast(PyTuple_GET_ITEM(found, 1), "may_hit: found[1] must be iterable");
            if (items_found == NULL) {
                Py_DECREF(found);
                goto fail;
            }
            for (Py_ssize_t k = 0; k < PySequence_Fast_GET_SIZE(items_found) && !keep; k++)
                keep = PySet_Contains(codes, PySequence_Fast_GET_ITEM(items_found, k));
            Py_DECREF(items_found);
            if (keep < 0) {
                Py_DECREF(found);
                goto fail;
            }
            if (!keep && plan != Py_None) {
                PyObject *norm = PyObject_GetAttr(p, str_norm), *r;
                if (norm == NULL) {
                    Py_DECREF(found);
                    goto fail;
                }
                r = PyObject_CallMethodOneArg(plan, str_may_match, norm);
                Py_DECREF(norm);
                keep = r == NULL ? -1 : PyObject_IsTrue(r);
                Py_XDECREF(r);
                if (keep < 0) {
                    Py_DECREF(found);
                    goto fail;
                }
            }
        }
        Py_DECREF(found);
        if (keep && PyList_Append(out, p) < 0)
            goto fail;
    }
    Py_DECREF(seq);
    return out;
fail:
    Py_XDECREF(out);
    Py_DECREF(seq);
    return NULL;
}


/* -------------------------------------------------------------------------------------------- find */

/* The items of ``found`` (a list of item indexes) that are in ``items`` (a frozenset), kept in ``out`` (borrowed
 * references, at most ``cap``); their count, or -1 on error.  The screen's lists hold each item once. */
static Py_ssize_t live_items(PyObject *found, PyObject *items, PyObject **out, Py_ssize_t cap)
{
    Py_ssize_t n = 0;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(found) && n < cap; i++) {
        PyObject *x = PyList_GET_ITEM(found, i);
        int in = PySet_Contains(items, x);
        if (in < 0)
            return -1;
        if (in)
            out[n++] = x;
    }
    return n;
}

static int compare_ssize(const void *a, const void *b)
{
    Py_ssize_t x = *(const Py_ssize_t *)a, y = *(const Py_ssize_t *)b;
    return (x > y) - (x < y);
}

/* Bytes in one UTF-8 character from its first byte, as re2's Python module counts them (OneCharLen in _re2.cc):
 * the spans below must equal safe_regex.match_spans, which converts offsets with that module's functions. */
static Py_ssize_t one_char_len(const char *at)
{
    static const unsigned char len_of[16] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
    return len_of[((unsigned char)*at) >> 4];
}

/* Characters in data[from:to] (re2's BytesToCharLen: whole characters from ``from``, the last one may reach past). */
static Py_ssize_t bytes_to_chars(const char *data, Py_ssize_t from, Py_ssize_t to)
{
    Py_ssize_t n = 0;
    for (Py_ssize_t at = from; at < to; at += one_char_len(data + at))
        n++;
    return n;
}

/* The next match of the RE2 object ``regexp`` in data[pos:end] as byte offsets: 1 found, 0 none, -1 error.
 * Calls regexp.Match(anchor, data, pos, end) (re2's own wrapper does the same; match_spans calls it too). */
static int re2_next(PyObject *regexp, PyObject *anchor, PyObject *data, Py_ssize_t pos, Py_ssize_t end,
                    Py_ssize_t *a, Py_ssize_t *b)
{
    PyObject *pos_obj = PyLong_FromSsize_t(pos);
    if (pos_obj == NULL)
        return -1;
    PyObject *end_obj = PyLong_FromSsize_t(end);
    if (end_obj == NULL) {
        Py_DECREF(pos_obj);
        return -1;
    }
    PyObject *args[5] = {regexp, anchor, data, pos_obj, end_obj};
    PyObject *spans = PyObject_VectorcallMethod(str_Match, args, 5 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    Py_DECREF(pos_obj);
    Py_DECREF(end_obj);
    if (spans == NULL)
        return -1;
    PyObject *span = PySequence_GetItem(spans, 0);  /* the whole match: (-1, -1) when there is none */
    Py_DECREF(spans);
    if (span == NULL)
        return -1;
    if (!PyTuple_Check(span) || PyTuple_GET_SIZE(span) != 2) {
        Py_DECREF(span);
        PyErr_SetString(PyExc_TypeError, "find: a match span must be a pair");
        return -1;
    }
    *a = PyLong_AsSsize_t(PyTuple_GET_ITEM(span, 0));
    *b = PyLong_AsSsize_t(PyTuple_GET_ITEM(span, 1));
    Py_DECREF(span);
    if (PyErr_Occurred())
        return -1;
    return !(*a == -1 && *b == -1);
}

/* The first span of the patterns ``compiled[i]`` for i = part_of[j] of the live items j (in increasing i) that is
 * not empty and not negated, as Hit(a, b, 1.0, norm[a:b]); Py_None: none; NULL: error.  ``text``: what the
 * patterns run on (codes, or norm for exact patterns); the negation always reads ``codes``.
 * The spans are safe_regex.match_spans's, in its order (an empty match moves on by one character), found here
 * without its generator: the text is encoded once for all patterns, re2 is asked directly. */
static PyObject *pattern_hit(PyObject *live[], Py_ssize_t n_live, PyObject *part_of, PyObject *compiled,
                             PyObject *anchor, PyObject *text, PyObject *codes, PyObject *norm,
                             PyObject *negs, int zh, PyObject *hit_cls, PyObject *one)
{
    if (n_live == 0)
        Py_RETURN_NONE;
    PyObject *data = NULL;
    Py_ssize_t *parts = PyMem_Malloc(n_live * sizeof(Py_ssize_t)), n = 0;
    if (parts == NULL)
        return PyErr_NoMemory();
    for (Py_ssize_t k = 0; k < n_live; k++) {
        PyObject *part = PyDict_GetItemWithError(part_of, live[k]);
        if (part == NULL) {
            if (PyErr_Occurred())
                goto fail;
            continue;
        }
        Py_ssize_t i = PyLong_AsSsize_t(part);
        if (i == -1 && PyErr_Occurred())
            goto fail;
        if (i < 0 || i >= PyTuple_GET_SIZE(compiled)) {
            PyErr_SetString(PyExc_IndexError, "find: pattern part out of range");
            goto fail;
        }
        parts[n++] = i;
    }
    if (n == 0)
        goto none;
    qsort(parts, n, sizeof(Py_ssize_t), compare_ssize);
    data = PyUnicode_AsUTF8String(text);  /* text.encode("utf-8"), as match_spans (lone surrogates raise) */
    if (data == NULL)
        goto fail;
    const char *bytes = PyBytes_AS_STRING(data);
    Py_ssize_t end = PyBytes_GET_SIZE(data);
    int same = end == PyUnicode_GET_LENGTH(text);  /* ASCII: byte offsets are character offsets */
    for (Py_ssize_t k = 0; k < n; k++) {
        PyObject *regexp = PyObject_GetAttr(PyTuple_GET_ITEM(compiled, parts[k]), str_regexp);
        if (regexp == NULL)
            goto fail;
        Py_ssize_t pos = 0, last_byte = 0, last_char = 0;  /* matches only move forward (see match_spans) */
        for (;;) {
            Py_ssize_t a_byte, b_byte, a, b;
            int found = re2_next(regexp, anchor, data, pos, end, &a_byte, &b_byte);
            if (found < 0) {
                Py_DECREF(regexp);
                goto fail;
            }
            if (!found)
                break;
            if (same) {
                a = a_byte;
                b = b_byte;
            } else {
                a = last_char + bytes_to_chars(bytes, last_byte, a_byte);
                b = a + bytes_to_chars(bytes, a_byte, b_byte);
                last_byte = b_byte;
                last_char = b;
            }
            if (b > a) {
                int neg = negated(codes, a, negs, zh);
                if (neg < 0) {
                    Py_DECREF(regexp);
                    goto fail;
                }
                if (!neg) {
                    Py_DECREF(regexp);
                    Py_DECREF(data);
                    PyMem_Free(parts);
                    PyObject *phrase = PyUnicode_Substring(norm, a, b);
                    if (phrase == NULL)
                        return NULL;
                    PyObject *hit = new_hit(hit_cls, a, b, one, phrase);
                    Py_DECREF(phrase);
                    return hit;
                }
            }
            if (pos == end)
                break;
            if (pos == b_byte) {  /* an empty match here: move on by one character (re2's CharLenToBytes) */
                pos += pos < end ? one_char_len(bytes + pos) : 0;
            } else {
                pos = b_byte;
            }
        }
        Py_DECREF(regexp);
    }
none:
    Py_XDECREF(data);
    PyMem_Free(parts);
    Py_RETURN_NONE;
fail:
    Py_XDECREF(data);
    PyMem_Free(parts);
    return NULL;
}

/* find(cfg, matcher, p) -> Hit | None: Matcher.find for an utterance the pack's screen has seen (anything else
 * goes to matcher._find_python(p), the Python reference).  cfg = (key, search cfg, pattern parts' compiled
 * regexes or None, exact parts' or None, has allow lists, ids, book, time.monotonic, re2's UNANCHORED). */
static PyObject *find(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyTuple_Check(args[0]) || PyTuple_GET_SIZE(args[0]) != 9
            || !PyTuple_Check(PyTuple_GET_ITEM(args[0], 1)) || PyTuple_GET_SIZE(PyTuple_GET_ITEM(args[0], 1)) != 9) {
        PyErr_SetString(PyExc_TypeError, "find(cfg, matcher, p): bad arguments");
        return NULL;
    }
    PyObject *cfg = args[0], *matcher = args[1], *p = args[2];
    PyObject *key = PyTuple_GET_ITEM(cfg, 0), *scfg = PyTuple_GET_ITEM(cfg, 1);
    PyObject *patterns = PyTuple_GET_ITEM(cfg, 2), *exacts = PyTuple_GET_ITEM(cfg, 3);
    PyObject *ids = PyTuple_GET_ITEM(cfg, 5), *book = PyTuple_GET_ITEM(cfg, 6);
    PyObject *monotonic = PyTuple_GET_ITEM(cfg, 7), *anchor = PyTuple_GET_ITEM(cfg, 8);
    PyObject *negs = PyTuple_GET_ITEM(scfg, 2), *hit_cls = PyTuple_GET_ITEM(scfg, 4), *one = PyTuple_GET_ITEM(scfg, 5);
    int zh = PyObject_IsTrue(PyTuple_GET_ITEM(scfg, 1));
    int has_allow = PyObject_IsTrue(PyTuple_GET_ITEM(cfg, 4));
    if (zh < 0 || has_allow < 0)
        return NULL;
    if ((negs != Py_None && !PyTuple_Check(negs)) || (patterns != Py_None && !PyTuple_Check(patterns))
            || (exacts != Py_None && !PyTuple_Check(exacts))) {
        PyErr_SetString(PyExc_TypeError, "find: bad cfg");
        return NULL;
    }

    /* owned references, released at done */
    PyObject *cache = NULL, *found = NULL, *plans = NULL, *plan = NULL, *plan_codes = NULL, *plan_text = NULL;
    PyObject *norm = NULL, *codes = NULL, *deadline = NULL, *key_items = NULL, *part_of = NULL, *cands = NULL;
    PyObject *pids = NULL, *hit = NULL, *result = NULL, *found_codes = NULL;
    PyObject **codes_live = NULL, **text_live = NULL;  /* borrowed from found_codes and found[2] */
    Py_ssize_t n_codes = 0, n_text = 0;

    cache = PyObject_GetAttr(p, str_cache);
    if (cache == NULL)
        goto done;
    if (!PyDict_Check(cache))
        goto python;
    PyObject *cached = PyDict_GetItemWithError(cache, key);
    if (cached != NULL) {
        result = Py_NewRef(cached);
        goto done;
    }
    if (PyErr_Occurred())
        goto done;
    found = PyObject_GetAttr(p, str_found);
    if (found == NULL)
        goto done;
    if (!PyTuple_Check(found) || PyTuple_GET_SIZE(found) != 3 || PyTuple_GET_ITEM(found, 0) == Py_None
            || !PyList_Check(PyTuple_GET_ITEM(found, 1)))
        goto python;  /* not screened yet, or never: the reference scans or runs the matcher's own gates */
    PyObject *screen = PyTuple_GET_ITEM(found, 0);
    plans = PyObject_GetAttr(screen, str_plans);
    if (plans == NULL)
        goto done;
    if (!PyDict_Check(plans))
        goto python;
    plan = PyDict_GetItemWithError(plans, key);
    if (plan == NULL) {
        if (PyErr_Occurred())
            goto done;
        goto python;
    }
    Py_INCREF(plan);
    plan_codes = PyObject_GetAttr(plan, str_codes);
    plan_text = plan_codes != NULL ? PyObject_GetAttr(plan, str_text) : NULL;
    if (plan_text == NULL)
        goto done;
    if (!PyAnySet_Check(plan_codes) || !PyAnySet_Check(plan_text))
        goto python;
    found_codes = Py_NewRef(PyTuple_GET_ITEM(found, 1));  /* (kept: the text-space scan replaces ``found``) */
    Py_ssize_t cap = PyList_GET_SIZE(found_codes);
    codes_live = PyMem_Malloc((cap ? cap : 1) * sizeof(PyObject *));
    if (codes_live == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    n_codes = live_items(found_codes, plan_codes, codes_live, cap);
    if (n_codes < 0)
        goto done;
    norm = PyObject_GetAttr(p, str_norm);
    codes = norm != NULL ? PyObject_GetAttr(p, str_codes) : NULL;
    if (codes == NULL)
        goto done;
    if (!PyUnicode_Check(norm) || !PyUnicode_Check(codes))
        goto python;
    if (PyUnicode_READY(norm) < 0 || PyUnicode_READY(codes) < 0)
        goto done;
    if (PySet_GET_SIZE(plan_text) > 0) {  /* the text space: scanned on the first question that needs it */
        PyObject *r = PyObject_CallMethodOneArg(plan, str_may_match, norm);
        int may = r != NULL ? PyObject_IsTrue(r) : -1;
        Py_XDECREF(r);
        if (may < 0)
            goto done;
        if (may) {
            if (PyTuple_GET_ITEM(found, 2) == Py_None) {
                PyObject *scanned = PyObject_CallMethodOneArg(screen, str_with_text, p);
                if (scanned == NULL)
                    goto done;
                if (PyObject_SetAttr(p, str_found, scanned) < 0) {
                    Py_DECREF(scanned);
                    goto done;
                }
                Py_SETREF(found, scanned);
                if (!PyTuple_Check(found) || PyTuple_GET_SIZE(found) != 3)
                    goto python;
            }
            PyObject *found_text = PyTuple_GET_ITEM(found, 2);
            if (!PyList_Check(found_text))
                goto python;
            cap = PyList_GET_SIZE(found_text);
            text_live = PyMem_Malloc((cap ? cap : 1) * sizeof(PyObject *));
            if (text_live == NULL) {
                PyErr_NoMemory();
                goto done;
            }
            n_text = live_items(found_text, plan_text, text_live, cap);
            if (n_text < 0)
                goto done;
        }
    }
    if (n_codes == 0 && n_text == 0) {  /* nothing of this matcher here (not cached, as in the reference) */
        result = Py_NewRef(Py_None);
        goto done;
    }
    deadline = PyObject_GetAttr(p, str_deadline);
    if (deadline == NULL)
        goto done;
    if (deadline != Py_None) {
        PyObject *now = PyObject_CallNoArgs(monotonic), *at = now != NULL ? PyObject_GetAttr(deadline, str_at) : NULL;
        int late = at != NULL ? PyObject_RichCompareBool(now, at, Py_GT) : -1;
        Py_XDECREF(now);
        Py_XDECREF(at);
        if (late < 0)
            goto done;
        if (late) {
            PyObject *r = PyObject_CallMethodNoArgs(deadline, str_check);
            if (r == NULL)
                goto done;
            Py_DECREF(r);
        }
    }

    /* Matcher._find with ``live``: the live patterns, then the phrases */
    if (patterns != Py_None) {
        part_of = PyObject_GetAttr(plan, str_pattern_part);
        if (part_of == NULL)
            goto done;
        if (!PyDict_Check(part_of))
            goto python;
        if (PyDict_GET_SIZE(part_of) > 0) {
            hit = pattern_hit(codes_live, n_codes, part_of, patterns, anchor, codes, codes, norm, negs, zh,
                              hit_cls, one);
            if (hit == NULL || hit != Py_None)
                goto found_hit;
            Py_CLEAR(hit);
        }
        Py_CLEAR(part_of);
    }
    if (exacts != Py_None) {
        part_of = PyObject_GetAttr(plan, str_exact_part);
        if (part_of == NULL)
            goto done;
        if (!PyDict_Check(part_of))
            goto python;
        if (PyDict_GET_SIZE(part_of) > 0) {
            hit = zh ? pattern_hit(text_live, n_text, part_of, exacts, anchor, norm, codes, norm, negs, zh,
                                   hit_cls, one)
                     : pattern_hit(codes_live, n_codes, part_of, exacts, anchor, norm, codes, norm, negs, zh,
                                   hit_cls, one);
            if (hit == NULL || hit != Py_None)
                goto found_hit;
            Py_CLEAR(hit);
        }
    }
    key_items = PyObject_GetAttr(plan, str_key_items);
    if (key_items == NULL)
        goto done;
    if (!PyAnySet_Check(key_items))
        goto python;
    int any_key = 0;
    for (Py_ssize_t k = 0; k < n_codes && !any_key; k++) {
        any_key = PySet_Contains(key_items, codes_live[k]);
        if (any_key < 0)
            goto done;
    }
    if (!any_key) {  /* no phrase of this matcher shares a gram with the utterance */
        hit = Py_NewRef(Py_None);
        goto found_hit;
    }
    cands = PyObject_GetAttr(p, str_candidates);
    if (cands == NULL)
        goto done;
    if (cands == Py_None) {
        Py_SETREF(cands, PyObject_CallMethodOneArg(book, str_candidates, p));
        if (cands == NULL)
            goto done;
    }
    pids = PyNumber_And(ids, cands);
    if (pids == NULL)
        goto done;
    PyObject *search_args[5] = {scfg, pids, codes, norm, matcher};
    hit = search(module, search_args, 5);
found_hit:
    if (hit == NULL)
        goto done;
    if (hit != Py_None && has_allow) {  /* allowed spans masked: the reference's unscreened _find */
        PyObject *masked = PyObject_CallMethodOneArg(matcher, str_mask_allowed, codes);
        if (masked == NULL)
            goto done;
        int same = PyUnicode_Check(masked) ? PyUnicode_Compare(masked, codes) : -1;
        if (same == -1 && PyErr_Occurred()) {
            Py_DECREF(masked);
            goto done;
        }
        if (same != 0)
            Py_SETREF(hit, PyObject_CallMethodObjArgs(matcher, str_find_masked, masked, p, Py_None, NULL));
        Py_DECREF(masked);
        if (hit == NULL)
            goto done;
    }
    if (PyDict_SetItem(cache, key, hit) < 0)
        goto done;
    result = hit;
    hit = NULL;
    goto done;
python:
    result = PyObject_CallMethodOneArg(matcher, str_find_python, p);
done:
    PyMem_Free(codes_live);
    PyMem_Free(text_live);
    Py_XDECREF(cache);
    Py_XDECREF(found);
    Py_XDECREF(found_codes);
    Py_XDECREF(plans);
    Py_XDECREF(plan);
    Py_XDECREF(plan_codes);
    Py_XDECREF(plan_text);
    Py_XDECREF(norm);
    Py_XDECREF(codes);
    Py_XDECREF(deadline);
    Py_XDECREF(key_items);
    Py_XDECREF(part_of);
    Py_XDECREF(cands);
    Py_XDECREF(pids);
    Py_XDECREF(hit);
    return result;
}

/* ------------------------------------------------------------------------------------------ module */

static PyObject *fuzzy_may_reach(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyUnicode_Check(args[0]) || !PyUnicode_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "fuzzy_may_reach(a: str, b: str, threshold: int)");
        return NULL;
    }
    long long threshold = clamp_threshold(args[2]);
    if ((threshold == -1 && PyErr_Occurred()) || PyUnicode_READY(args[0]) < 0 || PyUnicode_READY(args[1]) < 0)
        return NULL;
    int r = may_reach(args[0], args[1], threshold);
    if (r < 0)
        return NULL;
    return PyBool_FromLong(r);
}

static PyMethodDef methods[] = {
    {"search", (PyCFunction)(void (*)(void))search, METH_FASTCALL,
     "search(cfg, pids, codes, norm, owner): the best phrase hit of a matcher in one utterance, or None."},
    {"may_hit", (PyCFunction)(void (*)(void))may_hit, METH_FASTCALL,
     "may_hit(utts, screen, codes, plan): the utterances the matcher screen cannot rule out, in order."},
    {"find", (PyCFunction)(void (*)(void))find, METH_FASTCALL,
     "find(cfg, matcher, p): Matcher.find (the best hit of the matcher in a prepared utterance, cached on it)."},
    {"fuzzy_may_reach", (PyCFunction)(void (*)(void))fuzzy_may_reach, METH_FASTCALL,
     "fuzzy_may_reach(a, b, threshold): False when partial_ratio_alignment(a, b) cannot reach threshold."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_match", "Phrase matching's inner loops (see qa_engine.rules.matching).", -1, methods,
};

PyMODINIT_FUNC PyInit__match(void)
{
    if ((str_found = PyUnicode_InternFromString("found")) == NULL
            || (str_norm = PyUnicode_InternFromString("norm")) == NULL
            || (str_may_match = PyUnicode_InternFromString("may_match_text")) == NULL
            || (str_similarity = PyUnicode_InternFromString("similarity")) == NULL
            || (str_cache = PyUnicode_InternFromString("cache")) == NULL
            || (str_deadline = PyUnicode_InternFromString("deadline")) == NULL
            || (str_at = PyUnicode_InternFromString("at")) == NULL
            || (str_check = PyUnicode_InternFromString("check")) == NULL
            || (str_codes = PyUnicode_InternFromString("codes")) == NULL
            || (str_candidates = PyUnicode_InternFromString("candidates")) == NULL
            || (str_plans = PyUnicode_InternFromString("plans")) == NULL
            || (str_text = PyUnicode_InternFromString("text")) == NULL
            || (str_key_items = PyUnicode_InternFromString("key_items")) == NULL
            || (str_pattern_part = PyUnicode_InternFromString("pattern_part")) == NULL
            || (str_exact_part = PyUnicode_InternFromString("exact_part")) == NULL
            || (str_with_text = PyUnicode_InternFromString("with_text")) == NULL
            || (str_find_python = PyUnicode_InternFromString("_find_python")) == NULL
            || (str_mask_allowed = PyUnicode_InternFromString("_mask_allowed")) == NULL
            || (str_find_masked = PyUnicode_InternFromString("_find")) == NULL
            || (str_regexp = PyUnicode_InternFromString("_regexp")) == NULL
            || (str_Match = PyUnicode_InternFromString("Match")) == NULL
            || (str_start = PyUnicode_InternFromString("start")) == NULL
            || (str_end = PyUnicode_InternFromString("end")) == NULL
            || (str_phrase = PyUnicode_InternFromString("phrase")) == NULL
            || (str_dest_start = PyUnicode_InternFromString("dest_start")) == NULL
            || (str_dest_end = PyUnicode_InternFromString("dest_end")) == NULL
            || (str_round = PyUnicode_InternFromString("__round__")) == NULL
            || (str_space = PyUnicode_InternFromString(" ")) == NULL
            || (kw_score_cutoff = Py_BuildValue("(s)", "score_cutoff")) == NULL)
        return NULL;
    return PyModule_Create(&module_def);
}
