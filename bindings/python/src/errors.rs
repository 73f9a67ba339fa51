//! Rust errors as the exceptions of `python/nomq/errors.py`. The kind comes from the core's
//! error-kind table (`nomq::proto::ErrorKind`, docs/architecture.md "Errors per layer"): it
//! names the class, and the exception carries the kind's number as `code` (the C
//! `nomq_result`) and, for a server's refusal, its MQTT `reason_code`. The classes live in
//! Python (so they can be documented, subclassed and caught without importing the extension);
//! they are looked up once per process.

use nomq::proto::ErrorKind;
use nomq::proto::error::Error as Proto;
use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyList, PyType};

/// The class of every kind, in `ErrorKind::ALL` order.
static CLASSES: PyOnceLock<Vec<Py<PyType>>> = PyOnceLock::new();

fn classes(py: Python<'_>) -> PyResult<&Vec<Py<PyType>>> {
    CLASSES.get_or_try_init(py, || {
        let module = py.import(pyo3::intern!(py, "nomq.errors"))?;
        ErrorKind::ALL
            .iter()
            .map(|kind| Ok(module.getattr(kind.class())?.cast_into::<PyType>()?.unbind()))
            .collect()
    })
}

/// An exception of `kind`'s class with `message`, its `code` set.
pub fn raise(py: Python<'_>, kind: ErrorKind, message: impl Into<String>) -> PyErr {
    make(py, kind, message.into(), None)
}

/// The exception for a server's refusal of `kind`, carrying the MQTT reason code.
pub fn refused(py: Python<'_>, kind: ErrorKind, message: String, reason: u8) -> PyErr {
    make(py, kind, message, Some(reason))
}

/// The exception for `e`.
pub fn to_py(py: Python<'_>, e: &nomq::Error) -> PyErr {
    make(py, e.kind(), e.to_string(), e.reason_code().map(|r| r.0))
}

/// The exception for a protocol-core error (framing, config, arguments).
pub fn proto(py: Python<'_>, e: Proto) -> PyErr {
    make(py, e.kind(), e.to_string(), None)
}

fn make(py: Python<'_>, kind: ErrorKind, message: String, reason: Option<u8>) -> PyErr {
    let index = ErrorKind::ALL.iter().position(|&k| k == kind).unwrap_or(0);
    let made = classes(py).and_then(|classes| {
        let exc = classes[index].bind(py).call1((message,))?;
        exc.setattr(pyo3::intern!(py, "code"), kind.code())?;
        if let Some(reason) = reason {
            exc.setattr(pyo3::intern!(py, "reason_code"), reason)?;
        }
        Ok(PyErr::from_value(exc))
    });
    made.unwrap_or_else(|lookup_failed| lookup_failed)
}

/// The table, for tests and documentation: `(code, kind name, class name, text)` per kind.
#[pyfunction]
pub fn error_kinds(py: Python<'_>) -> PyResult<Bound<'_, PyList>> {
    let rows: Vec<(u32, String, &str, &str)> = ErrorKind::ALL
        .iter()
        .map(|k| (k.code(), format!("{k:?}"), k.class(), k.text().to_str().unwrap_or("")))
        .collect();
    PyList::new(py, rows)
}
