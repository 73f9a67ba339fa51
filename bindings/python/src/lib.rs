//! The private extension module `nomq._nomq`. The public Python API is `python/nomq/`, which
//! wraps these classes (docs/architecture.md, "Python"; docs/python.md):
//!
//! - `framing`: `Codec`, `channel_id`, the config file helpers;
//! - `endpoint`: `NativeEndpoint`, a NoMQ node;
//! - `mqtt`: `NativeClient`, the MQTT client;
//! - `bridge`: the tokio runtime and the asyncio completion queue;
//! - `errors`: the one mapping from Rust errors to `nomq.errors`;
//! - `logging`: Rust `log` records to Python `logging`.
//!
//! No Rust panic crosses into Python: pyo3 turns a panic in a method into `PanicException`,
//! and the runtime's tasks catch their own.

mod bridge;
mod endpoint;
mod errors;
mod fork;
mod framing;
mod logging;
mod mqtt;
mod mqtt_codec;
mod random;

use pyo3::prelude::*;

/// `nomq._nomq`: the compiled core.
#[pymodule]
fn _nomq(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<bridge::Completer>()?;
    m.add_class::<framing::Codec>()?;
    m.add_class::<framing::Packet>()?;
    m.add_function(wrap_pyfunction!(framing::channel_id, m)?)?;
    m.add_function(wrap_pyfunction!(framing::config_json_from_text, m)?)?;
    m.add_function(wrap_pyfunction!(framing::config_text_from_json, m)?)?;
    m.add_class::<endpoint::NativeEndpoint>()?;
    m.add_class::<endpoint::EndpointMessage>()?;
    m.add_class::<mqtt::NativeClient>()?;
    m.add_class::<mqtt::NativeSubscription>()?;
    m.add_class::<mqtt::MqttMessage>()?;
    m.add_class::<mqtt_codec::MqttPacket>()?;
    m.add_function(wrap_pyfunction!(mqtt_codec::mqtt_decode, m)?)?;
    m.add_function(wrap_pyfunction!(mqtt_codec::mqtt_connect, m)?)?;
    m.add_function(wrap_pyfunction!(mqtt_codec::mqtt_publish, m)?)?;
    m.add_function(wrap_pyfunction!(mqtt_codec::mqtt_ack, m)?)?;
    m.add_function(wrap_pyfunction!(mqtt_codec::mqtt_subscribe, m)?)?;
    m.add_function(wrap_pyfunction!(mqtt_codec::mqtt_unsubscribe, m)?)?;
    m.add_function(wrap_pyfunction!(mqtt_codec::mqtt_check_topic, m)?)?;
    m.add_function(wrap_pyfunction!(logging::sync_log_level, m)?)?;
    m.add_function(wrap_pyfunction!(errors::error_kinds, m)?)?;
    m.add_function(wrap_pyfunction!(bridge::_panic_in_task, m)?)?;
    logging::install(m.py());
    fork::install();
    Ok(())
}
