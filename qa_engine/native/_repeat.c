/* customer_repeat's content features (English stems, Chinese bigrams) and its grouping of turns (qa_engine.rules.checks.repeat), in C.
 *
 * Why: the check reads every customer turn; in Python each word went through a few calls (split, set difference,
 * endswith, _stem) and each turn through a loop of dict and list operations, tens of thousands of instructions
 * per turn.  Same results as the references, repeat.en_features_python, repeat.zh_features_python and
 * CustomerRepeat._largest_group_python
 * (tests/rules/test_native_match.py compares both).  No state but an interned name set once at import; the GIL
 * is held.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

static PyObject *str_norm;  /* "norm" (Prepared.norm) */

/* word[0:end] ends with the ASCII ``suffix`` */
static int ends_with(int kind, const void *data, Py_ssize_t end, const char *suffix)
{
    Py_ssize_t n = (Py_ssize_t)strlen(suffix);
    if (end < n)
        return 0;
    for (Py_ssize_t i = 0; i < n; i++)
        if (PyUnicode_READ(kind, data, end - n + i) != (Py_UCS4)(unsigned char)suffix[i])
            return 0;
    return 1;
}

/* en_features(norm, stop_words) -> frozenset: repeat.en_features (its words' stems; see there and _stem). */
static PyObject *en_features(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    static const char *const suffixes[] = {"ing", "ed", "es", "s"};  /* repeat._EN_SUFFIXES, in its order */
    if (nargs != 2 || !PyUnicode_Check(args[0]) || !PyAnySet_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "en_features(norm: str, stop_words: frozenset)");
        return NULL;
    }
    PyObject *words = PyUnicode_Split(args[0], NULL, -1);
    if (words == NULL)
        return NULL;
    PyObject *out = PySet_New(NULL);
    if (out == NULL)
        goto fail;
    for (Py_ssize_t i = 0; i < PyList_GET_SIZE(words); i++) {
        PyObject *w = PyList_GET_ITEM(words, i);  /* (split's new, ready strings) */
        Py_ssize_t len = PyUnicode_GET_LENGTH(w);
        if (len <= 2)
            continue;
        int kind = PyUnicode_KIND(w);
        const void *data = PyUnicode_DATA(w);
        int alpha = 1;
        for (Py_ssize_t k = 0; k < len && alpha; k++)
            alpha = Py_UNICODE_ISALPHA(PyUnicode_READ(kind, data, k));
        if (!alpha)
            continue;
        int stop = PySet_Contains(args[1], w);
        if (stop < 0)
            goto fail;
        if (stop)
            continue;
        /* _stem: the first inflection suffix that leaves 3+ letters off, then a doubled final consonant (not
         * a vowel, l or s) off; a word of 9+ letters keeps its first five whatever the cut */
        Py_ssize_t end = len;
        if (len <= 8) {
            for (int s = 0; s < 4; s++) {
                if (ends_with(kind, data, len, suffixes[s])) {
                    Py_ssize_t n = (Py_ssize_t)strlen(suffixes[s]);
                    if (len - n < 3)
                        continue;
                    end = len - n;
                    if (end > 3) {
                        Py_UCS4 last = PyUnicode_READ(kind, data, end - 1);
                        int kept = last != 0 && last < 128 && strchr("aeiouls", (int)last) != NULL;
                        if (last == PyUnicode_READ(kind, data, end - 2) && !kept)
                            end--;
                    }
                    break;
                }
            }
        }
        PyObject *stem = PyUnicode_Substring(w, 0, end < 5 ? end : 5);
        if (stem == NULL)
            goto fail;
        int added = PySet_Add(out, stem);
        Py_DECREF(stem);
        if (added < 0)
            goto fail;
    }
    Py_DECREF(words);
    PyObject *frozen = PyFrozenSet_New(out);
    Py_DECREF(out);
    return frozen;
fail:
    Py_DECREF(words);
    Py_XDECREF(out);
    return NULL;
}

/* ---------------------------------------------------------------------- customer_repeat's grouping */

/* the root of turn i's group (path halving, as repeat's root()) */
static Py_ssize_t root(Py_ssize_t *parent, Py_ssize_t i)
{
    while (parent[i] != i) {
        parent[i] = parent[parent[i]];
        i = parent[i];
    }
    return i;
}

/* largest_group(customer, features, feature_args, min_features, min_shared, similarity, enough) -> (kept, group):
 * CustomerRepeat._largest_group.  ``kept``: the indexes into ``customer`` of the substantive turns read (those
 * with ``min_features`` features or more; the pass stops once a group reaches ``enough``); ``group``: the
 * indexes into ``kept`` of the biggest group of turns that say the same thing (single link: two turns do when
 * they share ``min_shared`` features or more, and ``similarity`` of the shorter one's).  features(p.norm,
 * *feature_args) is the check's own feature function (the C ones above with their stop lists: no Python frame
 * per turn); an inverted index from feature to earlier turns finds whom a turn shares with. */
static PyObject *largest_group(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 7 || !PyList_Check(args[0]) || !PyTuple_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "largest_group(customer: list, features, feature_args: tuple, min_features, "
                                         "min_shared, similarity, enough)");
        return NULL;
    }
    PyObject *customer = args[0], *features = args[1], *feature_args = args[2];
    Py_ssize_t min_features = PyLong_AsSsize_t(args[3]), min_shared = PyLong_AsSsize_t(args[4]);
    double similarity = PyFloat_AsDouble(args[5]);
    Py_ssize_t enough = PyLong_AsSsize_t(args[6]);
    if (PyErr_Occurred())
        return NULL;
    /* the arguments of each features call: the turn's norm, then feature_args (borrowed: the caller holds them) */
    Py_ssize_t n_call = 1 + PyTuple_GET_SIZE(feature_args);
    PyObject **call = PyMem_Calloc(n_call, sizeof(PyObject *));
    if (call == NULL)
        return PyErr_NoMemory();
    for (Py_ssize_t k = 1; k < n_call; k++)
        call[k] = PyTuple_GET_ITEM(feature_args, k - 1);
    Py_ssize_t total = PyList_GET_SIZE(customer), cap = total ? total : 1, n_turns = 0, best = 0;
    /* per substantive turn: its index in customer, group parent and size, feature count; the shared counts of
     * the turn being read, and the earlier turns it touched (in the order first touched) */
    Py_ssize_t *kept = PyMem_Calloc(cap, sizeof(Py_ssize_t)), *parent = PyMem_Calloc(cap, sizeof(Py_ssize_t));
    Py_ssize_t *size = PyMem_Calloc(cap, sizeof(Py_ssize_t)), *n_feats = PyMem_Calloc(cap, sizeof(Py_ssize_t));
    Py_ssize_t *shared = PyMem_Calloc(cap, sizeof(Py_ssize_t)), *touched = PyMem_Calloc(cap, sizeof(Py_ssize_t));
    PyObject *postings = PyDict_New(), *result = NULL, *f = NULL, *it = NULL, *x = NULL, *index = NULL;
    if (kept == NULL || parent == NULL || size == NULL || n_feats == NULL || shared == NULL || touched == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    if (postings == NULL)
        goto done;
    /* (the arrays hold ``total`` turns: a list that grows meanwhile is read no further) */
    for (Py_ssize_t t = 0; t < total && t < PyList_GET_SIZE(customer); t++) {
        PyObject *norm = PyObject_GetAttr(PyList_GET_ITEM(customer, t), str_norm);
        if (norm == NULL)
            goto done;
        call[0] = norm;
        f = PyObject_Vectorcall(features, call, n_call, NULL);
        call[0] = NULL;
        Py_DECREF(norm);
        if (f == NULL)
            goto done;
        Py_ssize_t n = PyObject_Size(f);
        if (n < 0)
            goto done;
        if (n < min_features) {
            Py_CLEAR(f);
            continue;
        }
        Py_ssize_t i = n_turns++, n_touched = 0;
        kept[i] = t;
        parent[i] = i;
        size[i] = 1;
        n_feats[i] = n;
        index = PyLong_FromSsize_t(i);
        it = index != NULL ? PyObject_GetIter(f) : NULL;
        if (it == NULL)
            goto done;
        while ((x = PyIter_Next(it)) != NULL) {
            PyObject *earlier = PyDict_GetItemWithError(postings, x);  /* borrowed */
            if (earlier == NULL) {
                if (PyErr_Occurred())
                    goto done;
                PyObject *first = PyList_New(1);
                if (first == NULL)
                    goto done;
                PyList_SET_ITEM(first, 0, Py_NewRef(index));
                int r = PyDict_SetItem(postings, x, first);
                Py_DECREF(first);
                if (r < 0)
                    goto done;
            } else {
                for (Py_ssize_t e = 0; e < PyList_GET_SIZE(earlier); e++) {
                    Py_ssize_t j = PyLong_AsSsize_t(PyList_GET_ITEM(earlier, e));  /* (our own ints, 0 <= j < i) */
                    if (j == -1 && PyErr_Occurred())
                        goto done;
                    if (shared[j]++ == 0)
                        touched[n_touched++] = j;
                }
                if (PyList_Append(earlier, index) < 0)
                    goto done;
            }
            Py_CLEAR(x);
        }
        Py_CLEAR(it);
        Py_CLEAR(index);
        Py_CLEAR(f);
        if (PyErr_Occurred())
            goto done;
        for (Py_ssize_t k = 0; k < n_touched; k++) {
            Py_ssize_t j = touched[k], count = shared[j];
            shared[j] = 0;
            Py_ssize_t smaller = n < n_feats[j] ? n : n_feats[j];
            if (count >= min_shared && (double)count >= similarity * (double)smaller) {
                Py_ssize_t a = root(parent, i), b = root(parent, j);
                if (a != b) {
                    parent[b] = a;
                    size[a] += size[b];
                }
            }
        }
        Py_ssize_t r = root(parent, i);
        if (size[r] > size[root(parent, best)])
            best = r;
        if (size[r] >= enough)  /* enough to fail the call: the rest need not be compared */
            break;
    }
    PyObject *kept_list = PyList_New(n_turns), *group = PyList_New(0);
    if (kept_list == NULL || group == NULL) {
        Py_XDECREF(kept_list);
        Py_XDECREF(group);
        goto done;
    }
    Py_ssize_t top = n_turns ? root(parent, best) : -1;
    for (Py_ssize_t i = 0; i < n_turns; i++) {
        PyObject *v = PyLong_FromSsize_t(kept[i]);
        if (v == NULL)
            break;
        PyList_SET_ITEM(kept_list, i, v);
        if (root(parent, i) == top) {
            PyObject *g = PyLong_FromSsize_t(i);
            int r = g != NULL ? PyList_Append(group, g) : -1;
            Py_XDECREF(g);
            if (r < 0)
                break;
        }
    }
    if (!PyErr_Occurred())
        result = PyTuple_Pack(2, kept_list, group);
    Py_DECREF(kept_list);
    Py_DECREF(group);
done:
    Py_XDECREF(x);
    Py_XDECREF(it);
    Py_XDECREF(index);
    Py_XDECREF(f);
    Py_XDECREF(postings);
    PyMem_Free(kept);
    PyMem_Free(parent);
    PyMem_Free(size);
    PyMem_Free(n_feats);
    PyMem_Free(shared);
    PyMem_Free(touched);
    PyMem_Free(call);
    return result;
}

/* zh_features(norm, stop_chars, stop_bigrams) -> frozenset: repeat.zh_features_python, i.e.
 * frozenset(re.findall("(?=([^<stop_chars>0-9*\s]{2}))", norm)) - stop_bigrams: every two adjacent characters of
 * ``norm`` that are both content (not a stop character, an ASCII digit, "*" or whitespace as re's \s reads it,
 * which is str.isspace), less the stop bigrams.  One pass instead of a regex attempt per position (~10,000
 * instructions a turn). */
static PyObject *zh_features(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !PyUnicode_Check(args[0]) || !PyUnicode_Check(args[1]) || !PyAnySet_Check(args[2])) {
        PyErr_SetString(PyExc_TypeError, "zh_features(norm: str, stop_chars: str, stop_bigrams: frozenset)");
        return NULL;
    }
    PyObject *norm = args[0], *stops = args[1], *stop_bigrams = args[2];
    /* the BMP stop characters as a bitmap (built per call: the stop list is the caller's); astral ones are looked
     * up in the string itself */
    unsigned char is_stop[0x10000 / 8];
    memset(is_stop, 0, sizeof is_stop);
    int sk = PyUnicode_KIND(stops), astral_stops = 0;
    const void *sd = PyUnicode_DATA(stops);
    for (Py_ssize_t i = 0; i < PyUnicode_GET_LENGTH(stops); i++) {
        Py_UCS4 c = PyUnicode_READ(sk, sd, i);
        if (c < 0x10000)
            is_stop[c >> 3] |= (unsigned char)(1u << (c & 7));
        else
            astral_stops = 1;
    }
    int kind = PyUnicode_KIND(norm);
    const void *data = PyUnicode_DATA(norm);
    Py_ssize_t n = PyUnicode_GET_LENGTH(norm);
    PyObject *found = PySet_New(NULL);
    if (found == NULL)
        return NULL;
    int previous = 0;  /* norm[i - 1] is a content character */
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);
        int content;
        if ((c >= '0' && c <= '9') || c == '*' || Py_UNICODE_ISSPACE(c))
            content = 0;
        else if (c < 0x10000)
            content = !(is_stop[c >> 3] & (1u << (c & 7)));
        else if (astral_stops) {
            Py_ssize_t at = PyUnicode_FindChar(stops, c, 0, PyUnicode_GET_LENGTH(stops), 1);
            if (at == -2)
                goto fail;
            content = at == -1;
        } else
            content = 1;
        if (content && previous) {
            PyObject *bigram = PyUnicode_Substring(norm, i - 1, i + 1);
            if (bigram == NULL)
                goto fail;
            int stop = PySet_Contains(stop_bigrams, bigram);
            if (stop < 0 || (!stop && PySet_Add(found, bigram) < 0)) {
                Py_DECREF(bigram);
                goto fail;
            }
            Py_DECREF(bigram);
        }
        previous = content;
    }
    PyObject *result = PyFrozenSet_New(found);
    Py_DECREF(found);
    return result;
fail:
    Py_DECREF(found);
    return NULL;
}

static PyMethodDef methods[] = {
    {"en_features", (PyCFunction)(void (*)(void))en_features, METH_FASTCALL,
     "en_features(norm, stop_words): customer_repeat's content word stems of an English utterance."},
    {"zh_features", (PyCFunction)(void (*)(void))zh_features, METH_FASTCALL,
     "zh_features(norm, stop_chars, stop_bigrams): customer_repeat's content bigrams of a Chinese utterance."},
    {"largest_group", (PyCFunction)(void (*)(void))largest_group, METH_FASTCALL,
     "largest_group(customer, features, feature_args, min_features, min_shared, similarity, enough): "
     "(kept, group)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_repeat", "customer_repeat's English features (see qa_engine.rules.checks.repeat).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__repeat(void)
{
    if ((str_norm = PyUnicode_InternFromString("norm")) == NULL)
        return NULL;
    return PyModule_Create(&module_def);
}
