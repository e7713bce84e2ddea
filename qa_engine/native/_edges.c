/* The edges of a text transcript's speech, for the report's redactions: the native twin of the no-word-timings path
of qa_engine.scoring._edge_times, and of redactions' check for a mono recording.

Why: a call's redactions need the start and end times of the speech around each masked number; in Python that is
four passes of attribute look-ups over every utterance of the call (map(attrgetter(...)), sorted, set, any), more
than the rest of the redactions together.  Here it is one loop over the utterances per question.

mono_channels(utts): every utterance's channel is None or 0 (``set(map(_CHANNEL, utts)) <= {None, 0}``).
speech_edges(utts, channel, mono, held): the sorted starts and the sorted ends of the utterances of ``channel``
(``mono``: of all), less those whose index is in ``held``; None when one of those utterances has words (the caller
then takes the Python path, which looks at each word) or an index in ``held`` is not one of an utterance.
redaction_list(spans, span_type, utts, mono, edges, duration, redaction_type): the loop of scoring.redactions over
the spans (the reference: scoring._python_redaction_list), one Redaction per distinct span, sorted; None when a span
is not exactly a span_type or an edge entry is not a pair of lists (the caller then takes the Python path).  Why: the
Python loop was a dozen attribute reads, two bisect calls and a build() per span, 16 spans a call.
*/
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* attribute names, interned once at module init and never changed (threads share them read-only) */
static PyObject *CHANNEL, *WORDS, *START, *END;
/* also set once at module init: PiiSpan's and Redaction's other field names, 0.0 (no speech before a span) and
   operator.itemgetter(0) (the sort key of redactions' pairs) */
static PyObject *UTTERANCE_INDEX, *KIND, *EXACT, *ROOM, *ZERO, *FIRST;

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

/* --- redaction_list: scoring.redactions' loop over the spans (scoring._python_redaction_list) --- */

/* x < y as Python has it; two floats compared as C doubles, what float's own comparison does */
static inline int less(PyObject *x, PyObject *y) {
    if (PyFloat_CheckExact(x) && PyFloat_CheckExact(y))
        return PyFloat_AS_DOUBLE(x) < PyFloat_AS_DOUBLE(y);
    return PyObject_RichCompareBool(x, y, Py_LT);
}

/* bisect.bisect_right(a, x) (right) or bisect_left (not right); -1 on error */
static Py_ssize_t bisect(PyObject *a, PyObject *x, int right) {
    Py_ssize_t lo = 0, hi = PyList_GET_SIZE(a);
    while (lo < hi) {
        Py_ssize_t mid = lo + (hi - lo) / 2;
        if (mid >= PyList_GET_SIZE(a))  /* a comparison changed the list: bisect's IndexError */
            break;
        PyObject *item = Py_NewRef(PyList_GET_ITEM(a, mid));
        int lt = right ? less(x, item) : less(item, x);
        Py_DECREF(item);
        if (lt < 0)
            return -1;
        if (right ? lt : !lt)
            hi = mid;
        else
            lo = mid + 1;
    }
    if (lo < hi) {
        PyErr_SetString(PyExc_IndexError, "redaction_list: the edges changed under the search");
        return -1;
    }
    return lo;
}

/* a field of a span read from its own __dict__ (a span_type is a plain frozen dataclass: no descriptor can hide it);
   a borrowed reference, NULL with AttributeError when it is not there */
static PyObject *field(PyObject *fields, PyObject *name) {
    PyObject *v = PyDict_GetItemWithError(fields, name);
    if (v == NULL && !PyErr_Occurred())
        PyErr_SetObject(PyExc_AttributeError, name);
    return v;
}

/* a redaction_type made as qa_engine.types.build makes it: object.__new__ and a __dict__ of its own, in field order */
static PyObject *new_redaction(PyTypeObject *type, PyObject *start, PyObject *end, PyObject *channel, PyObject *kind,
                               PyObject *exact, PyObject *room) {
    PyObject *no_args = PyTuple_New(0);
    if (no_args == NULL)
        return NULL;
    PyObject *obj = PyBaseObject_Type.tp_new(type, no_args, NULL);
    Py_DECREF(no_args);
    if (obj == NULL)
        return NULL;
    PyObject *fields = PyDict_New();
    if (fields == NULL || PyDict_SetItem(fields, START, start) || PyDict_SetItem(fields, END, end)
            || PyDict_SetItem(fields, CHANNEL, channel) || PyDict_SetItem(fields, KIND, kind)
            || PyDict_SetItem(fields, EXACT, exact) || PyDict_SetItem(fields, ROOM, room)
            || PyObject_GenericSetDict(obj, fields, NULL)) {
        Py_XDECREF(fields);
        Py_DECREF(obj);
        return NULL;
    }
    Py_DECREF(fields);
    return obj;
}

/* the starts and ends of the unmasked speech of a channel (edges.get(ch, ([], []))), borrowed; 0: not two lists */
static int channel_edges(PyObject *edges, PyObject *ch, PyObject *none, PyObject **starts, PyObject **ends) {
    PyObject *pair = PyDict_GetItemWithError(edges, ch);
    if (pair == NULL) {
        if (PyErr_Occurred())
            return -1;
        pair = none;
    }
    if (!PyTuple_CheckExact(pair) || PyTuple_GET_SIZE(pair) != 2 || !PyList_CheckExact(PyTuple_GET_ITEM(pair, 0))
            || !PyList_CheckExact(PyTuple_GET_ITEM(pair, 1)))
        return 0;
    *starts = PyTuple_GET_ITEM(pair, 0);
    *ends = PyTuple_GET_ITEM(pair, 1);
    return 1;
}

/* one span: its redaction added to out ({key: (sort key, redaction)}) unless one of its key is there; 0: the
   Python path, -1: error */
static int add_redaction(PyObject *span, PyObject *utts, int mono, PyObject *edges, PyObject *duration,
                         PyTypeObject *redaction_type, PyObject *none, PyObject *out) {
    PyObject *fields = PyObject_GenericGetDict(span, NULL);
    if (fields == NULL)
        return -1;
    int result = -1;
    PyObject *ch = NULL, *key = NULL, *room = NULL, *sort_key = NULL, *redaction = NULL, *entry = NULL;
    PyObject *start = field(fields, START), *end = start ? field(fields, END) : NULL;
    PyObject *kind = end ? field(fields, KIND) : NULL, *exact = kind ? field(fields, EXACT) : NULL;
    if (exact == NULL)
        goto done;
    if (mono) {
        ch = Py_NewRef(Py_None);
    } else {  /* utts[s.utterance_index].channel */
        PyObject *index = field(fields, UTTERANCE_INDEX);
        PyObject *u = index ? PyObject_GetItem(utts, index) : NULL;
        ch = u ? PyObject_GetAttr(u, CHANNEL) : NULL;
        Py_XDECREF(u);
        if (ch == NULL)
            goto done;
    }
    key = PyTuple_Pack(5, start, end, ch, kind, exact);
    int seen = key ? PyDict_Contains(out, key) : -1;
    if (seen) {
        result = seen > 0 ? 1 : -1;
        goto done;
    }
    PyObject *starts, *ends;
    int found = channel_edges(edges, ch, none, &starts, &ends);
    if (found <= 0) {
        result = found;
        goto done;
    }
    Py_ssize_t k = bisect(ends, start, 1);
    if (k < 0)
        goto done;
    PyObject *before = Py_NewRef(k ? PyList_GET_ITEM(ends, k - 1) : ZERO);
    k = bisect(starts, end, 0);
    if (k < 0) {
        Py_DECREF(before);
        goto done;
    }
    PyObject *after;
    if (k < PyList_GET_SIZE(starts)) {
        after = PyList_GET_ITEM(starts, k);
    } else {  /* transcript.duration or s.end */
        int some = PyObject_IsTrue(duration);
        if (some < 0) {
            Py_DECREF(before);
            goto done;
        }
        after = some ? duration : end;
    }
    Py_INCREF(after);
    int start_first = less(start, before);  /* min(before, s.start), then max(after, s.end) */
    int end_last = start_first < 0 ? -1 : PyObject_RichCompareBool(end, after, Py_GT);
    if (start_first >= 0 && end_last >= 0)
        room = PyTuple_Pack(2, start_first ? start : before, end_last ? end : after);
    Py_DECREF(before);
    Py_DECREF(after);
    if (room == NULL || start_first < 0 || end_last < 0)
        goto done;
    PyObject *channel_key = ch == Py_None ? PyLong_FromLong(-1) : Py_NewRef(ch);
    sort_key = channel_key ? PyTuple_Pack(3, start, end, channel_key) : NULL;
    Py_XDECREF(channel_key);
    redaction = sort_key ? new_redaction(redaction_type, start, end, ch, kind, exact, room) : NULL;
    entry = redaction ? PyTuple_Pack(2, sort_key, redaction) : NULL;
    if (entry != NULL && PyDict_SetItem(out, key, entry) == 0)
        result = 1;
done:
    Py_DECREF(fields);
    Py_XDECREF(ch);
    Py_XDECREF(key);
    Py_XDECREF(room);
    Py_XDECREF(sort_key);
    Py_XDECREF(redaction);
    Py_XDECREF(entry);
    return result;
}

static PyObject *redaction_list(PyObject *module, PyObject *const *args, Py_ssize_t nargs) {
    (void)module;
    if (nargs != 7 || !PyType_Check(args[1]) || !PyType_Check(args[6])) {
        PyErr_SetString(PyExc_TypeError, "redaction_list(spans, span_type, utts, mono, edges, duration, "
                                         "redaction_type) takes 7 arguments, two of them types");
        return NULL;
    }
    PyTypeObject *span_type = (PyTypeObject *)args[1], *redaction_type = (PyTypeObject *)args[6];
    PyObject *utts = args[2], *edges = args[4], *duration = args[5];
    int mono = PyObject_IsTrue(args[3]);
    if (mono < 0)
        return NULL;
    if (!PyDict_Check(edges))
        Py_RETURN_NONE;
    PyObject *spans = PySequence_Tuple(args[0]);  /* a copy: nothing called here can change it under the loop */
    if (spans == NULL)
        return NULL;
    PyObject *out = PyDict_New(), *none = Py_BuildValue("([][])"), *result = NULL, *values = NULL;
    if (out == NULL || none == NULL)
        goto done;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(spans); i++) {
        PyObject *span = PyTuple_GET_ITEM(spans, i);
        int added = Py_TYPE(span) == span_type ? add_redaction(span, utts, mono, edges, duration, redaction_type,
                                                               none, out) : 0;
        if (added <= 0) {
            if (added == 0)
                result = Py_NewRef(Py_None);
            goto done;
        }
    }
    /* sorted(out.values(), key=itemgetter(0)): stable, by (start, end, channel) */
    values = PyDict_Values(out);
    PyObject *sort = values ? PyObject_GetAttrString(values, "sort") : NULL;
    PyObject *kwargs = sort ? Py_BuildValue("{sO}", "key", FIRST) : NULL;
    PyObject *no_args = kwargs ? PyTuple_New(0) : NULL;
    PyObject *sorted = no_args ? PyObject_Call(sort, no_args, kwargs) : NULL;
    Py_XDECREF(sort);
    Py_XDECREF(kwargs);
    Py_XDECREF(no_args);
    if (sorted == NULL)
        goto done;
    Py_DECREF(sorted);
    Py_ssize_t n = PyList_GET_SIZE(values);
    result = PyTuple_New(n);
    for (Py_ssize_t i = 0; result != NULL && i < n; i++) {
        PyObject *entry = PyList_GET_ITEM(values, i);
        PyTuple_SET_ITEM(result, i, Py_NewRef(PyTuple_GET_ITEM(entry, 1)));
    }
done:
    Py_DECREF(spans);
    Py_XDECREF(out);
    Py_XDECREF(none);
    Py_XDECREF(values);
    return result;
}

static PyMethodDef methods[] = {
    {"mono_channels", mono_channels, METH_O,
     "mono_channels(utts) -> bool: every channel is None or 0 (scoring.redactions' mono check)."},
    {"speech_edges", (PyCFunction)(void (*)(void))speech_edges, METH_FASTCALL,
     "speech_edges(utts, channel, mono, held) -> (starts, ends) | None: scoring._edge_times without word timings."},
    {"redaction_list", (PyCFunction)(void (*)(void))redaction_list, METH_FASTCALL,
     "redaction_list(spans, span_type, utts, mono, edges, duration, redaction_type) -> tuple | None: "
     "scoring._python_redaction_list."},
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
    if (intern(&CHANNEL, "channel") || intern(&WORDS, "words") || intern(&START, "start") || intern(&END, "end")
            || intern(&UTTERANCE_INDEX, "utterance_index") || intern(&KIND, "kind") || intern(&EXACT, "exact")
            || intern(&ROOM, "room"))
        return NULL;
    if (ZERO == NULL && (ZERO = PyFloat_FromDouble(0.0)) == NULL)
        return NULL;
    if (FIRST == NULL) {
        PyObject *operator = PyImport_ImportModule("operator");
        FIRST = operator ? PyObject_CallMethod(operator, "itemgetter", "i", 0) : NULL;
        Py_XDECREF(operator);
        if (FIRST == NULL)
            return NULL;
    }
    return PyModule_Create(&module);
}
