//! The private extension module `nomq._nomq`. The public Python API is `python/nomq/`, which
//! re-exports from here (DESIGN.md "Python package"). The framing, endpoint and MQTT classes
//! arrive with the Python wheel issue; today the module carries the version.

use pyo3::prelude::*;

/// `nomq._nomq`: the compiled core.
#[pymodule]
fn _nomq(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
