//! A `log` logger that keeps every record as `LEVEL target message`, for the
//! tests that check what reaches the log. A process has one logger, so tests
//! that read it hold the guard [`start`] returns.

use std::sync::{Mutex, MutexGuard, OnceLock};

struct Capture(Mutex<Vec<String>>);

impl log::Log for Capture {
    fn enabled(&self, _: &log::Metadata) -> bool {
        true
    }
    fn log(&self, record: &log::Record) {
        let line = format!("{} {} {}", record.level(), record.target(), record.args());
        self.0.lock().unwrap_or_else(|e| e.into_inner()).push(line);
    }
    fn flush(&self) {}
}

static CAPTURE: Capture = Capture(Mutex::new(Vec::new()));

/// Installs the capture at trace level (once per process), waits for any
/// other test reading it, and starts from an empty log.
pub fn start() -> MutexGuard<'static, ()> {
    static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());
    static INSTALL: OnceLock<()> = OnceLock::new();
    INSTALL.get_or_init(|| {
        log::set_logger(&CAPTURE).expect("no other logger in this test binary");
        log::set_max_level(log::LevelFilter::Trace);
    });
    let guard = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    clear();
    guard
}

/// Every line logged since the last [`start`] or [`clear`].
pub fn lines() -> Vec<String> {
    CAPTURE.0.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Forgets what was logged so far.
pub fn clear() {
    CAPTURE.0.lock().unwrap_or_else(|e| e.into_inner()).clear();
}
