/* confirm_repeat's echo test (qa_engine.rules.checks.confirm: _units, _shares), in C.
 *
 * Why: every agent turn is compared with the customer's last turns; in Python that meant a replace per ignored
 * phrase and sets of every run of n units, built through generator frames.  Same answers as the references,
 * confirm._units_python and _shares_python (tests/rules/test_native_match.py compares both).
 * No state but an interned name set once at import; the GIL is held.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

static PyObject *str_units;  /* "units" (confirm._Said.units) */

/* units(codes, ignore, zh, stop_words) -> str | tuple: confirm's units of a turn: ``codes`` with each of
 * ``ignore`` (in order) replaced by "\x00", then (zh) itself, one unit per character, or (en) its words, a stop
 * word as "\x00". */
static PyObject *turn_units(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4 || !PyUnicode_Check(args[0]) || !PyTuple_Check(args[1]) || !PyAnySet_Check(args[3])) {
        PyErr_SetString(PyExc_TypeError, "units(codes: str, ignore: tuple, zh: bool, stop_words: frozenset)");
        return NULL;
    }
    int zh = PyObject_IsTrue(args[2]);
    if (zh < 0)
        return NULL;
    PyObject *nul = PyUnicode_FromOrdinal(0);
    if (nul == NULL)
        return NULL;
    PyObject *text = Py_NewRef(args[0]);
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(args[1]); i++) {
        PyObject *ig = PyTuple_GET_ITEM(args[1], i);
        int in = PyUnicode_Contains(text, ig);  /* (str.replace, only where there is something to replace) */
        if (in > 0)
            Py_SETREF(text, PyUnicode_Replace(text, ig, nul, -1));
        if (in < 0 || text == NULL)
            goto fail;
    }
    if (zh) {
        Py_DECREF(nul);
        return text;
    }
    PyObject *words = PyUnicode_Split(text, NULL, -1);
    Py_SETREF(text, NULL);
    if (words == NULL)
        goto fail;
    Py_ssize_t n = PyList_GET_SIZE(words);
    PyObject *units = PyTuple_New(n);
    if (units == NULL) {
        Py_DECREF(words);
        goto fail;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *w = PyList_GET_ITEM(words, i);
        int stop = PySet_Contains(args[3], w);
        if (stop < 0) {
            Py_DECREF(words);
            Py_DECREF(units);
            goto fail;
        }
        PyTuple_SET_ITEM(units, i, Py_NewRef(stop ? nul : w));
    }
    Py_DECREF(words);
    Py_DECREF(nul);
    return units;
fail:
    Py_XDECREF(text);
    Py_DECREF(nul);
    return NULL;
}

/* units[i:i + n]: a str's substring or a tuple's slice */
static PyObject *gram_at(PyObject *units, Py_ssize_t i, Py_ssize_t n)
{
    return PyUnicode_Check(units) ? PyUnicode_Substring(units, i, i + n) : PyTuple_GetSlice(units, i, i + n);
}

/* units[i:i + n] holds the ignored unit "\x00" (a character of a str, an element of a tuple) */
static int gram_ignored(PyObject *units, Py_ssize_t i, Py_ssize_t n)
{
    if (PyUnicode_Check(units)) {
        int kind = PyUnicode_KIND(units);
        const void *data = PyUnicode_DATA(units);
        for (Py_ssize_t k = i; k < i + n; k++)
            if (PyUnicode_READ(kind, data, k) == 0)
                return 1;
        return 0;
    }
    for (Py_ssize_t k = i; k < i + n; k++) {
        PyObject *u = PyTuple_GET_ITEM(units, k);
        if (PyUnicode_Check(u) && PyUnicode_GET_LENGTH(u) == 1 && PyUnicode_READ_CHAR(u, 0) == 0)
            return 1;
    }
    return 0;
}

static Py_ssize_t units_len(PyObject *units)
{
    return PyUnicode_Check(units) ? PyUnicode_GET_LENGTH(units) : PyTuple_GET_SIZE(units);
}

/* shares(units, before, n) -> bool: confirm._shares: some turn of ``before`` (objects with .units) holds
 * a run of ``n`` of its units, none ignored, that ``units`` holds too.  The runs of ``units`` go in one set;
 * each earlier turn's runs are looked up in it (the first shared one answers). */
static PyObject *shares_run(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 3 || !(PyUnicode_Check(args[0]) || PyTuple_Check(args[0])) || !PyList_Check(args[1])) {
        PyErr_SetString(PyExc_TypeError, "shares(units: str | tuple, before: list, n: int)");
        return NULL;
    }
    PyObject *units = args[0], *before = args[1];
    Py_ssize_t n = PyLong_AsSsize_t(args[2]);
    if (n == -1 && PyErr_Occurred())
        return NULL;
    if (PyUnicode_Check(units) && PyUnicode_READY(units) < 0)
        return NULL;
    Py_ssize_t len = units_len(units);
    if (n < 1) {  /* (EchoSpec asks for runs of 2 or more) */
        PyErr_SetString(PyExc_ValueError, "shares: n must be at least 1");
        return NULL;
    }
    if (len < n)
        Py_RETURN_FALSE;
    PyObject *grams = NULL;
    for (Py_ssize_t b = 0; b < PyList_GET_SIZE(before); b++) {
        PyObject *c = PyObject_GetAttr(PyList_GET_ITEM(before, b), str_units);
        if (c == NULL)
            goto fail;
        if (!(PyUnicode_Check(c) || PyTuple_Check(c)) || PyUnicode_Check(c) != PyUnicode_Check(units)) {
            Py_DECREF(c);
            PyErr_SetString(PyExc_TypeError, "shares: units of one kind (str or tuple) expected");
            goto fail;
        }
        if (PyUnicode_Check(c) && PyUnicode_READY(c) < 0) {
            Py_DECREF(c);
            goto fail;
        }
        Py_ssize_t c_len = units_len(c);
        if (c_len < n) {
            Py_DECREF(c);
            continue;
        }
        if (grams == NULL) {
            grams = PySet_New(NULL);
            for (Py_ssize_t i = 0; grams != NULL && i + n <= len; i++) {
                PyObject *g = gram_at(units, i, n);
                if (g == NULL || PySet_Add(grams, g) < 0)
                    Py_CLEAR(grams);
                Py_XDECREF(g);
            }
            if (grams == NULL) {
                Py_DECREF(c);
                goto fail;
            }
        }
        for (Py_ssize_t i = 0; i + n <= c_len; i++) {
            if (gram_ignored(c, i, n))
                continue;
            PyObject *g = gram_at(c, i, n);
            int in = g != NULL ? PySet_Contains(grams, g) : -1;
            Py_XDECREF(g);
            if (in != 0) {
                Py_DECREF(c);
                Py_DECREF(grams);
                return in < 0 ? NULL : Py_NewRef(Py_True);
            }
        }
        Py_DECREF(c);
    }
    Py_XDECREF(grams);
    Py_RETURN_FALSE;
fail:
    Py_XDECREF(grams);
    return NULL;
}

static PyMethodDef methods[] = {
    {"units", (PyCFunction)(void (*)(void))turn_units, METH_FASTCALL,
     "units(codes, ignore, zh, stop_words): confirm_repeat's units of a turn (str, or tuple of words)."},
    {"shares", (PyCFunction)(void (*)(void))shares_run, METH_FASTCALL,
     "shares(units, before, n): some turn of before shares a run of n units, none ignored, with units."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_echo", "confirm_repeat's echo test (see qa_engine.rules.checks.confirm).", -1, methods,
};

PyMODINIT_FUNC PyInit__echo(void)
{
    if ((str_units = PyUnicode_InternFromString("units")) == NULL)
        return NULL;
    return PyModule_Create(&module_def);
}
