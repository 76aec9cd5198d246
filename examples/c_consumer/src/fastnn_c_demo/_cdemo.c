/*
 * _cdemo.c -- a C extension module calling fastnn's kernels through the
 * table fastnn_import_api() takes from the installed fastnn at import: it
 * needs fastnn's header (fastnn.get_include()) and links nothing of it.
 * Arrays come in through the buffer protocol (NumPy arrays work).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <string.h>

#include "fastnn/fastnn_api.h"

static const fnn_api *fnn; /* set once, at import */

/* A C-contiguous 2-D (or 1-D) float64 or float32 buffer of obj. */
static int get_array(PyObject *obj, Py_buffer *view, int ndim, int writable, const char *name)
{
    int flags = PyBUF_C_CONTIGUOUS | PyBUF_FORMAT | (writable ? PyBUF_WRITABLE : 0);
    if (PyObject_GetBuffer(obj, view, flags) < 0) return -1;
    if (view->ndim != ndim || (strcmp(view->format, "d") != 0 && strcmp(view->format, "f") != 0)) {
        PyErr_Format(PyExc_TypeError, "%s must be a %d-D float64 or float32 array", name, ndim);
        PyBuffer_Release(view);
        return -1;
    }
    return 0;
}

static PyObject *status_error(fnn_status st)
{
    PyErr_Format(PyExc_ValueError, "fastnn: %s", fnn->status_message(st));
    return NULL;
}

/* dense_forward(X, W, b, out, act, slope): out = act(X W^T + b), in place. */
static PyObject *dense_forward(PyObject *self, PyObject *args)
{
    PyObject *ox, *ow, *ob, *oout;
    int act;
    double slope;
    Py_buffer x, w, b, out;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOOOid", &ox, &ow, &ob, &oout, &act, &slope)) return NULL;
    if (get_array(ox, &x, 2, 0, "X") < 0) return NULL;
    if (get_array(ow, &w, 2, 0, "W") < 0) goto free_x;
    if (get_array(ob, &b, 1, 0, "b") < 0) goto free_w;
    if (get_array(oout, &out, 2, 1, "out") < 0) goto free_b;
    int n = (int)x.shape[0], in = (int)x.shape[1], n_out = (int)w.shape[0];
    fnn_status st = FNN_ERR_ARG;
    if (w.shape[1] == in && b.shape[0] == n_out && out.shape[0] == n && out.shape[1] == n_out &&
        x.itemsize == w.itemsize && x.itemsize == b.itemsize && x.itemsize == out.itemsize) {
        Py_BEGIN_ALLOW_THREADS
        if (x.itemsize == 8)
            st = fnn->dense_forward_f64(n, in, n_out, x.buf, w.buf, b.buf, (fnn_activation)act, slope, out.buf);
        else
            st = fnn->dense_forward_f32(n, in, n_out, x.buf, w.buf, b.buf, (fnn_activation)act, (float)slope,
                                        out.buf);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&out);
    PyBuffer_Release(&b);
    PyBuffer_Release(&w);
    PyBuffer_Release(&x);
    if (st != FNN_OK) return status_error(st);
    Py_RETURN_NONE;
free_b:
    PyBuffer_Release(&b);
free_w:
    PyBuffer_Release(&w);
free_x:
    PyBuffer_Release(&x);
    return NULL;
}

/* softmax_cross_entropy(Z, Y, dZ) -> loss: float64 logits and target rows. */
static PyObject *softmax_cross_entropy(PyObject *self, PyObject *args)
{
    PyObject *oz, *oy, *odz;
    Py_buffer z, y, dz;
    double loss = 0.0;
    (void)self;
    if (!PyArg_ParseTuple(args, "OOO", &oz, &oy, &odz)) return NULL;
    if (get_array(oz, &z, 2, 0, "Z") < 0) return NULL;
    if (get_array(oy, &y, 2, 0, "Y") < 0) {
        PyBuffer_Release(&z);
        return NULL;
    }
    if (get_array(odz, &dz, 2, 1, "dZ") < 0) {
        PyBuffer_Release(&y);
        PyBuffer_Release(&z);
        return NULL;
    }
    fnn_status st = FNN_ERR_ARG;
    int ok = z.itemsize == 8 && y.itemsize == 8 && dz.itemsize == 8 && y.shape[0] == z.shape[0] &&
             y.shape[1] == z.shape[1] && dz.shape[0] == z.shape[0] && dz.shape[1] == z.shape[1];
    if (ok) {
        Py_BEGIN_ALLOW_THREADS
        st = fnn->softmax_cross_entropy_f64((int)z.shape[0], (int)z.shape[1], z.buf, NULL, y.buf, dz.buf, &loss,
                                            NULL);
        Py_END_ALLOW_THREADS
    }
    PyBuffer_Release(&dz);
    PyBuffer_Release(&y);
    PyBuffer_Release(&z);
    if (st != FNN_OK) return status_error(st);
    return PyFloat_FromDouble(loss);
}

/* The status of calls a careless consumer could make: a NULL input for 2
 * rows, and a negative width. */
static PyObject *null_pointer_status(PyObject *self, PyObject *noargs)
{
    double w[4] = {0}, out[4];
    (void)self;
    (void)noargs;
    return PyLong_FromLong(fnn->dense_forward_f64(2, 2, 2, NULL, w, NULL, FNN_ACT_IDENTITY, 0.0, out));
}

static PyObject *bad_dimension_status(PyObject *self, PyObject *noargs)
{
    double x[4] = {0}, w[4] = {0}, out[4];
    (void)self;
    (void)noargs;
    return PyLong_FromLong(fnn->dense_forward_f64(2, -1, 2, x, w, NULL, FNN_ACT_IDENTITY, 0.0, out));
}

/* (this module's API version, the installed fastnn's) */
static PyObject *api_version(PyObject *self, PyObject *noargs)
{
    (void)self;
    (void)noargs;
    return Py_BuildValue("(ii)(ii)", FASTNN_API_VERSION, FASTNN_API_MINOR, fnn->version, fnn->minor);
}

static PyMethodDef methods[] = {
    {"dense_forward", dense_forward, METH_VARARGS, "dense_forward(X, W, b, out, act, slope): out = act(X W^T + b)"},
    {"softmax_cross_entropy", softmax_cross_entropy, METH_VARARGS,
     "softmax_cross_entropy(Z, Y, dZ) -> loss, with dZ = (softmax(Z) - Y) / n"},
    {"null_pointer_status", null_pointer_status, METH_NOARGS, "the status of a call with a NULL input"},
    {"bad_dimension_status", bad_dimension_status, METH_NOARGS, "the status of a call with a negative width"},
    {"api_version", api_version, METH_NOARGS, "((built against), (installed)) C API versions"},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_cdemo", NULL, -1, methods, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__cdemo(void)
{
    fnn = fastnn_import_api(); /* ImportError naming both versions on a mismatch */
    if (!fnn) return NULL;
    return PyModule_Create(&module);
}
