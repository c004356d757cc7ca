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

/// Runs a test's async body on a Tokio runtime of its own, one such test at a
/// time in the binary (each starts its own servers, and its timings should not
/// depend on how many share the cores), with the log captured: a failing test
/// prints every line logged during it.
pub fn run_serial(body: impl std::future::Future<Output = ()>) {
    let _one_at_a_time = start();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("Tokio runtime");
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| runtime.block_on(body)));
    drop(runtime);
    if let Err(panic) = outcome {
        eprintln!("--- the log of the failed test ---");
        for line in lines() {
            eprintln!("{line}");
        }
        std::panic::resume_unwind(panic);
    }
}
