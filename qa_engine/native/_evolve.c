/* qa_engine.types.evolve_each in C: copies of plain frozen dataclass instances with one field set.
 *
 * Why: sentiment sets one field on every utterance of every checked call; in Python each copy pays for a new
 * instance dict filled key by key (dict.update). Here each copy's dict is the old dict copied whole (a split dict's
 * keys are shared, only its values are copied) with the one field set, given to a bare instance of cls. The result
 * is what the Python loop gives: same class, equal fields in the same order, the originals untouched.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* A new instance of cls whose __dict__ is obj's with name set to value; NULL with an exception. dunder_dict: the
 * str "__dict__". */
static PyObject *
evolved(PyTypeObject *cls, PyObject *obj, PyObject *name, PyObject *value, PyObject *dunder_dict)
{
    PyObject *old = PyObject_GenericGetDict(obj, NULL);
    if (old == NULL) {
        return NULL;
    }
    if (!PyDict_Check(old)) {
        PyErr_SetString(PyExc_TypeError, "evolve_each: an instance __dict__ that is not a dict");
        Py_DECREF(old);
        return NULL;
    }
    PyObject *fields = PyDict_Copy(old);
    Py_DECREF(old);
    if (fields == NULL) {
        return NULL;
    }
    if (PyDict_SetItem(fields, name, value) < 0) {
        Py_DECREF(fields);
        return NULL;
    }
    /* object.__new__(cls) is this allocation plus (Python 3.11, 3.12) empty instance values, which setting __dict__
     * would at once turn into a dict and drop */
    PyObject *new = cls->tp_alloc(cls, 0);
    if (new == NULL) {
        Py_DECREF(fields);
        return NULL;
    }
    /* through the class's __dict__ descriptor, as object.__setattr__(new, "__dict__", fields) does: on 3.13, where
     * fresh instances hold inline values, PyObject_GenericSetDict leaves those in force (the fields unreadable) */
    int failed = PyObject_GenericSetAttr(new, dunder_dict, fields);
    Py_DECREF(fields);
    if (failed) {
        Py_DECREF(new);
        return NULL;
    }
    return new;
}

static PyObject *
evolve_each(PyObject *module, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs != 4) {
        PyErr_SetString(PyExc_TypeError, "evolve_each(cls, objs, name, values) takes 4 arguments");
        return NULL;
    }
    /* (an exact str: nothing in the loop runs Python code, so the sequences cannot change while it walks them) */
    if (!PyType_Check(args[0]) || !PyUnicode_CheckExact(args[2])) {
        PyErr_SetString(PyExc_TypeError, "evolve_each: cls must be a class and name a str");
        return NULL;
    }
    PyTypeObject *cls = (PyTypeObject *)args[0];
    PyObject *name = args[2];
    /* only classes whose instances object.__new__ makes, with an instance dict (the plain dataclasses) */
    if (cls->tp_new != PyBaseObject_Type.tp_new || cls->tp_dictoffset == 0
        || (cls->tp_flags & Py_TPFLAGS_IS_ABSTRACT)) {
        PyErr_Format(PyExc_TypeError, "evolve_each: %.100s is not a plain class with an instance dict", cls->tp_name);
        return NULL;
    }
    PyObject *objs = PySequence_Fast(args[1], "evolve_each: objs must be a sequence");
    if (objs == NULL) {
        return NULL;
    }
    PyObject *values = PySequence_Fast(args[3], "evolve_each: values must be a sequence");
    if (values == NULL) {
        Py_DECREF(objs);
        return NULL;
    }
    PyObject *out = NULL, *dunder_dict = NULL;
    Py_ssize_t n = PySequence_Fast_GET_SIZE(objs);
    if (PySequence_Fast_GET_SIZE(values) != n) {  /* the reference's zip(..., strict=True) */
        PyErr_SetString(PyExc_ValueError, "evolve_each: objs and values differ in length");
        goto done;
    }
    dunder_dict = PyUnicode_InternFromString("__dict__");
    out = dunder_dict == NULL ? NULL : PyTuple_New(n);
    if (out == NULL) {
        goto done;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *obj = PySequence_Fast_GET_ITEM(objs, i);
        if (!Py_IS_TYPE(obj, cls)) {
            PyErr_Format(PyExc_TypeError, "evolve_each: expected %.100s, got %.100s", cls->tp_name,
                         Py_TYPE(obj)->tp_name);
            Py_CLEAR(out);
            goto done;
        }
        PyObject *new = evolved(cls, obj, name, PySequence_Fast_GET_ITEM(values, i), dunder_dict);
        if (new == NULL) {
            Py_CLEAR(out);  /* unset items are NULL, which the tuple's dealloc skips */
            goto done;
        }
        PyTuple_SET_ITEM(out, i, new);
    }
done:
    Py_XDECREF(dunder_dict);
    Py_DECREF(values);
    Py_DECREF(objs);
    return out;
}

static PyMethodDef evolve_methods[] = {
    {"evolve_each", (PyCFunction)(void (*)(void))evolve_each, METH_FASTCALL,
     "evolve_each(cls, objs, name, values) -> tuple: a copy of each obj (all exactly of the plain class cls) with "
     "the field name set to its value."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef evolve_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_evolve",
    .m_doc = PyDoc_STR("qa_engine.types.evolve_each for the plain dataclasses, in C."),
    .m_size = 0,
    .m_methods = evolve_methods,
};

PyMODINIT_FUNC
PyInit__evolve(void)
{
    return PyModuleDef_Init(&evolve_module);
}
