/* customer_repeat's English content features (qa_engine.rules.checks.repeat.en_features), in C.
 *
 * Why: the check computes them for every customer turn; in Python each word went through a few calls (split, set
 * difference, endswith, _stem), tens of thousands of instructions per turn.  Same result as the reference,
 * repeat.en_features_python (tests/rules/test_native_match.py compares both).  No state; the GIL is held.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

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
        PyObject *w = PyList_GET_ITEM(words, i);
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

static PyMethodDef methods[] = {
    {"en_features", (PyCFunction)(void (*)(void))en_features, METH_FASTCALL,
     "en_features(norm, stop_words): customer_repeat's content word stems of an English utterance."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_repeat", "customer_repeat's English features (see qa_engine.rules.checks.repeat).", -1,
    methods,
};

PyMODINIT_FUNC PyInit__repeat(void)
{
    return PyModule_Create(&module_def);
}
