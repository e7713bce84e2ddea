/* The edges of a text transcript's speech, for the report's redactions: the native twin of the no-word-timings path
of qa_engine.scoring._edge_times, and of redactions' check for a mono recording.

Why: a call's redactions need the start and end times of the speech around each masked number; in Python that is
four passes of attribute look-ups over every utterance of the call (map(attrgetter(...)), sorted, set, any), more
than the rest of the redactions together.  Here it is one loop over the utterances per question.

mono_channels(utts): every utterance's channel is None or 0 (``set(map(_CHANNEL, utts)) <= {None, 0}``).
speech_edges(utts, channel, mono, held): the sorted starts and the sorted ends of the utterances of ``channel``
(``mono``: of all), less those whose index is in ``held``; None when one of those utterances has words (the caller
then takes the Python path, which looks at each word) or an index in ``held`` is not one of an utterance.
*/
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* attribute names, interned once at module init and never changed (threads share them read-only) */
static PyObject *CHANNEL, *WORDS, *START, *END;

static PyObject *mono_channels(PyObject *module, PyObject *arg) {
    (void)module;
    PyObject *utts = PySequence_Tuple(arg);  /* a copy: nothing called here can change it under the loop */
    if (utts == NULL)
        return NULL;
    int mono = 1;
    for (Py_ssize_t i = 0; mono && i < PyTuple_GET_SIZE(utts); i++) {
        PyObject *ch = PyObject_GetAttr(PyTuple_GET_ITEM(utts, i), CHANNEL);
        if (ch == NULL) {
            Py_DECREF(utts);
            return NULL;
        }
        if (ch != Py_None) {  /* as in the set {None, 0}: equal to 0 (0, 0.0, False) */
            PyObject *zero = PyLong_FromLong(0);
            mono = zero == NULL ? -1 : PyObject_RichCompareBool(ch, zero, Py_EQ);
            Py_XDECREF(zero);
        }
        Py_DECREF(ch);
        if (mono < 0) {
            Py_DECREF(utts);
            return NULL;
        }
    }
    Py_DECREF(utts);
    return PyBool_FromLong(mono);
}

/* held[i] = 1 for each index in the set; 0 when one is not an index of an utterance, -1 on error */
static int mark_held(PyObject *held_set, char *held, Py_ssize_t n) {
    PyObject *it = PyObject_GetIter(held_set), *item;
    if (it == NULL)
        return -1;
    int ok = 1;
    while (ok > 0 && (item = PyIter_Next(it)) != NULL) {
        Py_ssize_t i = PyLong_Check(item) ? PyLong_AsSsize_t(item) : -1;
        if (i == -1 && PyErr_Occurred()) {
            if (!PyErr_ExceptionMatches(PyExc_OverflowError))
                ok = -1;
            PyErr_Clear();
            if (ok > 0)
                ok = 0;
        } else if (i < 0 || i >= n) {
            ok = 0;
        } else {
            held[i] = 1;
        }
        Py_DECREF(item);
    }
    Py_DECREF(it);
    return PyErr_Occurred() ? -1 : ok;
}

static PyObject *speech_edges(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "speech_edges(utts, channel, mono, held) takes 4 arguments");
        return NULL;
    }
    PyObject *channel = args[1];
    int mono = PyObject_IsTrue(args[2]);
    if (mono < 0)
        return NULL;
    PyObject *utts = PySequence_Tuple(args[0]);
    if (utts == NULL)
        return NULL;
    Py_ssize_t n = PyTuple_GET_SIZE(utts);
    PyObject *starts = PyList_New(0), *ends = PyList_New(0), *result = NULL;
    char *held = PyMem_Calloc((size_t)n + 1, 1);
    if (starts == NULL || ends == NULL || held == NULL) {
        if (held == NULL)
            PyErr_NoMemory();
        goto done;
    }
    int marked = mark_held(args[3], held, n);
    if (marked <= 0) {
        if (marked == 0)
            result = Py_NewRef(Py_None);
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *u = PyTuple_GET_ITEM(utts, i);
        if (!mono) {  /* u.channel == channel */
            PyObject *ch = PyObject_GetAttr(u, CHANNEL);
            if (ch == NULL)
                goto done;
            PyObject *eq = PyObject_RichCompare(ch, channel, Py_EQ);  /* (== itself, as the list comprehension) */
            Py_DECREF(ch);
            int mine = eq == NULL ? -1 : PyObject_IsTrue(eq);
            Py_XDECREF(eq);
            if (mine < 0)
                goto done;
            if (!mine)
                continue;
        }
        PyObject *words = PyObject_GetAttr(u, WORDS);
        if (words == NULL)
            goto done;
        int worded = PyObject_IsTrue(words);
        Py_DECREF(words);
        if (worded) {  /* words (or an error): the Python path */
            if (worded > 0)
                result = Py_NewRef(Py_None);
            goto done;
        }
        if (held[i])
            continue;
        PyObject *start = PyObject_GetAttr(u, START);
        if (start == NULL)
            goto done;
        int failed = PyList_Append(starts, start);
        Py_DECREF(start);
        if (failed)
            goto done;
        PyObject *end = PyObject_GetAttr(u, END);
        if (end == NULL)
            goto done;
        failed = PyList_Append(ends, end);
        Py_DECREF(end);
        if (failed)
            goto done;
    }
    if (PyList_Sort(starts) == 0 && PyList_Sort(ends) == 0)
        result = PyTuple_Pack(2, starts, ends);
done:
    PyMem_Free(held);
    Py_DECREF(utts);
    Py_XDECREF(starts);
    Py_XDECREF(ends);
    return result;
}

static PyMethodDef methods[] = {
    {"mono_channels", mono_channels, METH_O,
     "mono_channels(utts) -> bool: every channel is None or 0 (scoring.redactions' mono check)."},
    {"speech_edges", (PyCFunction)(void (*)(void))speech_edges, METH_FASTCALL,
     "speech_edges(utts, channel, mono, held) -> (starts, ends) | None: scoring._edge_times without word timings."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_edges", "The edges of a text transcript's speech (see qa_engine.scoring.redactions).",
    -1, methods,
};

static int intern(PyObject **name, const char *text) {
    if (*name == NULL)
        *name = PyUnicode_InternFromString(text);
    return *name == NULL ? -1 : 0;
}

PyMODINIT_FUNC PyInit__edges(void) {
    if (intern(&CHANNEL, "channel") || intern(&WORDS, "words") || intern(&START, "start") || intern(&END, "end"))
        return NULL;
    return PyModule_Create(&module);
}
