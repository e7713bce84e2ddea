/* Overtalk from utterance times (qa_engine.acoustics.overtalk_from_utterances), in C.
 *
 * Why: the overtalk rule sweeps every utterance of every call without audio; in Python that was a tuple, a sort
 * comparison and a few attribute reads per utterance, ~3,000 instructions each.  Same spans as the reference,
 * acoustics._overtalk_from_utterances_python (tests/test_overtalk_native.py compares both): same double
 * arithmetic in the same order, a stable sort on the same (start, end) keys.  Anything the reference could read
 * differently (a time that is not exactly a float, a NaN, a role that is not exactly a str, a sequence that is
 * not a list or tuple) is answered None: the caller runs the reference.  No state but names interned once at
 * import; the GIL is held throughout.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdlib.h>

static PyObject *str_role, *str_start, *str_end, *str_agent, *str_customer, *str_round;

typedef struct {
    double start, end;
    Py_ssize_t order;  /* the position in the call: ties keep it, as Python's stable sort does */
} Piece;

static int compare_pieces(const void *x, const void *y)
{
    const Piece *a = x, *b = y;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    if (a->end != b->end)
        return a->end < b->end ? -1 : 1;
    return (a->order > b->order) - (a->order < b->order);
}

/* Sort one role's pieces and merge them in place (pauses up to ``join`` joined): the merged count. */
static Py_ssize_t merge_pieces(Piece *p, Py_ssize_t n, double join)
{
    if (n == 0)
        return 0;
    qsort(p, (size_t)n, sizeof(Piece), compare_pieces);
    Py_ssize_t out = 0;
    double start = p[0].start, last_end = p[0].end;
    for (Py_ssize_t i = 1; i < n; i++) {
        if (p[i].start <= last_end + join) {
            if (p[i].end > last_end)
                last_end = p[i].end;
        } else {
            p[out].start = start;
            p[out++].end = last_end;
            start = p[i].start;
            last_end = p[i].end;
        }
    }
    p[out].start = start;
    p[out++].end = last_end;
    return out;
}

/* round(x, 2) as Python computes it (correctly rounded): a new float, NULL on error. */
static PyObject *round2(double x)
{
    PyObject *f = PyFloat_FromDouble(x), *two = f != NULL ? PyLong_FromLong(2) : NULL;
    PyObject *r = two != NULL ? PyObject_CallMethodOneArg(f, str_round, two) : NULL;
    Py_XDECREF(f);
    Py_XDECREF(two);
    return r;
}

/* 1: a time the reference reads the same (an exact float, not NaN), stored in *out; 0: not; -1: error. */
static int read_time(PyObject *u, PyObject *name, double *out)
{
    PyObject *t = PyObject_GetAttr(u, name);
    if (t == NULL)
        return -1;
    int ok = PyFloat_CheckExact(t) && !isnan(PyFloat_AS_DOUBLE(t));
    if (ok)
        *out = PyFloat_AS_DOUBLE(t);
    Py_DECREF(t);
    return ok;
}

/* overtalk(utterances, span_cls, join_gap, least) -> list of span_cls(start, end, started_by), or None. */
static PyObject *overtalk(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "overtalk(utterances, span_cls, join_gap, least)");
        return NULL;
    }
    PyObject *utts = args[0], *span_cls = args[1];
    double join = PyFloat_AsDouble(args[2]), least = PyFloat_AsDouble(args[3]);
    if (PyErr_Occurred())
        return NULL;
    if (!PyList_Check(utts) && !PyTuple_Check(utts))
        Py_RETURN_NONE;
    PyObject *seq = PySequence_Fast(utts, "overtalk: utterances must be a list or tuple");  /* (a new reference) */
    if (seq == NULL)
        return NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(seq), n_agent = 0, n_customer = 0;
    Piece *agent = PyMem_Calloc(n ? n : 1, sizeof(Piece)), *customer = PyMem_Calloc(n ? n : 1, sizeof(Piece));
    PyObject *result = NULL, *out = NULL;
    if (agent == NULL || customer == NULL) {
        PyErr_NoMemory();
        goto done;
    }
    for (Py_ssize_t i = 0; i < n && i < PySequence_Fast_GET_SIZE(seq); i++) {
        PyObject *u = PySequence_Fast_GET_ITEM(seq, i);
        PyObject *role = PyObject_GetAttr(u, str_role);
        if (role == NULL)
            goto done;
        if (!PyUnicode_CheckExact(role)) {
            Py_DECREF(role);
            result = Py_NewRef(Py_None);
            goto done;
        }
        int is_agent = PyUnicode_Compare(role, str_agent) == 0;
        int is_customer = !is_agent && PyUnicode_Compare(role, str_customer) == 0;
        Py_DECREF(role);
        if (PyErr_Occurred())
            goto done;
        if (!is_agent && !is_customer)
            continue;
        Piece *p = is_agent ? &agent[n_agent] : &customer[n_customer];
        int ok = read_time(u, str_start, &p->start);
        if (ok > 0)
            ok = read_time(u, str_end, &p->end);
        if (ok < 0)
            goto done;
        if (ok == 0) {
            result = Py_NewRef(Py_None);
            goto done;
        }
        p->order = i;
        if (is_agent)
            n_agent++;
        else
            n_customer++;
    }
    n_agent = merge_pieces(agent, n_agent, join);
    n_customer = merge_pieces(customer, n_customer, join);
    out = PyList_New(0);
    if (out == NULL)
        goto done;
    /* one sweep: the party whose interval ends first moves on (the reference's order of tests) */
    for (Py_ssize_t a = 0, c = 0; a < n_agent && c < n_customer;) {
        double a0 = agent[a].start, a1 = agent[a].end, c0 = customer[c].start, c1 = customer[c].end;
        if (a1 - c0 >= least && c1 - a0 >= least) {
            /* max(a0, c0) and min(a1, c1): on a tie (0.0 and -0.0) Python keeps the first */
            double start = c0 > a0 ? c0 : a0, end = c1 < a1 ? c1 : a1;
            if (end - start >= least) {
                PyObject *s = round2(start), *e = s != NULL ? round2(end) : NULL;
                if (e == NULL) {
                    Py_XDECREF(s);
                    goto done;
                }
                PyObject *span_args[3] = {s, e, a0 > c0 ? str_agent : str_customer};
                PyObject *span = PyObject_Vectorcall(span_cls, span_args, 3, NULL);
                Py_DECREF(s);
                Py_DECREF(e);
                if (span == NULL)
                    goto done;
                int appended = PyList_Append(out, span);
                Py_DECREF(span);
                if (appended < 0)
                    goto done;
            }
        }
        if (a1 < c1)
            a++;
        else
            c++;
    }
    result = Py_NewRef(out);
done:
    Py_XDECREF(out);
    Py_DECREF(seq);
    PyMem_Free(agent);
    PyMem_Free(customer);
    return result;
}

static PyMethodDef methods[] = {
    {"overtalk", (PyCFunction)(void (*)(void))overtalk, METH_FASTCALL,
     "overtalk(utterances, span_cls, join_gap, least): overtalk spans from utterance times, or None (run the "
     "reference)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_overtalk", "Overtalk from utterance times (see qa_engine.acoustics).", -1, methods,
};

PyMODINIT_FUNC PyInit__overtalk(void)
{
    if ((str_role = PyUnicode_InternFromString("role")) == NULL
            || (str_start = PyUnicode_InternFromString("start")) == NULL
            || (str_end = PyUnicode_InternFromString("end")) == NULL
            || (str_agent = PyUnicode_InternFromString("agent")) == NULL
            || (str_customer = PyUnicode_InternFromString("customer")) == NULL
            || (str_round = PyUnicode_InternFromString("__round__")) == NULL)
        return NULL;
    return PyModule_Create(&module_def);
}
