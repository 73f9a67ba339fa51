//! Rust `log` records to Python's `logging`, under the logger names `nomq.<module>` (so
//! `logging.getLogger("nomq")` configures them all). Records below the level of the `nomq`
//! logger are filtered in Rust without touching the GIL; the level is read when a client or
//! endpoint is created (`sync_level`). Logging happens on connection events, not per message.

use pyo3::prelude::*;

struct PyLogger;

impl log::Log for PyLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let level = match record.level() {
            log::Level::Error => 40,
            log::Level::Warn => 30,
            log::Level::Info => 20,
            log::Level::Debug => 10,
            log::Level::Trace => 5,
        };
        // `nomq::mqtt::driver` becomes the Python logger `nomq.mqtt.driver`.
        let name = record.target().replace("::", ".");
        let name = if name.starts_with("nomq") { name } else { format!("nomq.{name}") };
        let message = record.args().to_string();
        // `try_attach`: never start or block an interpreter that is shutting down.
        let _ = Python::try_attach(|py| {
            let _ = py
                .import("logging")
                .and_then(|logging| logging.call_method1("getLogger", (name,)))
                .and_then(|logger| logger.call_method1("log", (level, message)));
        });
    }

    fn flush(&self) {}
}

static LOGGER: PyLogger = PyLogger;

/// Installs the forwarder (once) and reads the `nomq` logger's level.
pub fn install(py: Python<'_>) {
    let _ = log::set_logger(&LOGGER);
    sync_level(py);
}

/// Filters in Rust at the effective level of Python's `nomq` logger.
pub fn sync_level(py: Python<'_>) {
    let level: i32 = py
        .import("logging")
        .and_then(|l| l.call_method1("getLogger", ("nomq",)))
        .and_then(|l| l.call_method0("getEffectiveLevel"))
        .and_then(|v| v.extract())
        .unwrap_or(30);
    log::set_max_level(match level {
        i32::MIN..=5 => log::LevelFilter::Trace,
        6..=10 => log::LevelFilter::Debug,
        11..=20 => log::LevelFilter::Info,
        21..=30 => log::LevelFilter::Warn,
        31..=40 => log::LevelFilter::Error,
        _ => log::LevelFilter::Off,
    });
}

/// `nomq._nomq.sync_log_level()`: re-reads the level after `logging` was reconfigured.
#[pyfunction]
pub fn sync_log_level(py: Python<'_>) {
    sync_level(py);
}
