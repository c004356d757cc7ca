//! What the benchmarks share: building a C reference program, reading the
//! environment, counting instructions under callgrind, and summarising rounds.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// Compiles `benches/c/NAME.c` into `dir/NAME`, at `-O2` with the C compiler the
/// `cc` crate picks (it honours `$CC` and `$CFLAGS`), linked with libsasl2, and
/// returns the executable's path.
pub fn compile_reference(name: &str, dir: &Path) -> PathBuf {
    let source = crate::workspace_root().join("benches/c").join(format!("{name}.c"));
    let exe = dir.join(name);
    let target = std::env::var("TARGET").unwrap_or_else(|_| {
        let libc = if cfg!(target_env = "musl") { "musl" } else { "gnu" };
        format!("{}-unknown-{}-{libc}", std::env::consts::ARCH, std::env::consts::OS)
    });
    let compiler = cc::Build::new()
        .opt_level(2)
        .debug(false)
        .target(&target)
        .host(&target)
        .cargo_metadata(false)
        .cargo_warnings(false)
        .try_get_compiler()
        .unwrap_or_else(|e| panic!("no C compiler for {target}: {e}"));
    let mut cmd = compiler.to_command();
    cmd.arg(&source).arg("-o").arg(&exe).args(["-lsasl2", "-lpthread"]);
    let out = cmd.output().unwrap_or_else(|e| panic!("run the C compiler {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "compiling {} failed ({}): {cmd:?}\n{}",
        source.display(),
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    exe
}

/// Starts and joins one thread, as the C references do first thing
/// (`enter_threaded_mode` in benches/c/reference.h): once a process has had a
/// second thread, glibc's malloc takes its multi-threaded paths for good (about
/// 39,000 more instructions per GSSAPI handshake in the C reference). The
/// harness may or may not start threads depending on the core count, so both
/// sides are put in the mode that servers run in, explicitly.
pub fn enter_threaded_mode() {
    std::thread::spawn(|| {}).join().expect("an idle thread");
}

/// Runs a C reference that prints the nanoseconds of its timed handshakes on
/// stdout, and returns that time. Its stderr goes to ours; a failing run, or
/// anything but a number on stdout, panics.
pub fn reference_time(mut cmd: Command) -> Duration {
    let out = cmd.stderr(Stdio::inherit()).output().unwrap_or_else(|e| panic!("run {:?}: {e}", cmd.get_program()));
    assert!(out.status.success(), "the C reference {:?} failed: {}", cmd.get_program(), out.status);
    let text = String::from_utf8_lossy(&out.stdout);
    let nanos: u64 =
        text.trim().parse().unwrap_or_else(|_| panic!("the C reference printed {text:?}, expected nanoseconds"));
    Duration::from_nanos(nanos)
}

/// A positive number from the environment, or `default`.
pub fn env_number(name: &str, default: u32) -> u32 {
    match std::env::var(name) {
        Ok(v) => v.parse().unwrap_or_else(|_| panic!("{name} must be a number, got {v:?}")),
        Err(_) => default,
    }
}

/// Microseconds per handshake.
pub fn per_handshake_us(total: Duration, n: u32) -> f64 {
    total.as_secs_f64() * 1e6 / f64::from(n)
}

/// The median; sorts `values`.
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let mid = values.len() / 2;
    if values.len() % 2 == 1 { values[mid] } else { (values[mid - 1] + values[mid]) / 2.0 }
}

/// Prints `stat COMPARISON SIDE MEDIAN MIN MAX UNIT`, the line `ci/bench` reads
/// for each measured side of a comparison.
pub fn print_stat(comparison: &str, side: &str, values: &[f64], unit: &str) {
    let min = values.iter().copied().fold(f64::INFINITY, f64::min);
    let max = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let med = median(&mut values.to_vec());
    println!("stat {comparison} {side} {med:.2} {min:.2} {max:.2} {unit}");
}

/// Creates `user` with `password` in the sasldb at `db` with the real tool:
/// `echo -n PASSWORD | saslpasswd2 -f DB -a APP -u REALM -c -p USER`.
pub fn saslpasswd2(db: &Path, app: &str, realm: &str, user: &str, password: &str) {
    let mut child = Command::new("saslpasswd2")
        .arg("-f")
        .arg(db)
        .args(["-a", app, "-u", realm, "-c", "-p", user])
        .stdin(Stdio::piped())
        .spawn()
        .expect("run saslpasswd2 (Debian/Ubuntu package sasl2-bin)");
    let mut stdin = child.stdin.take().expect("piped stdin");
    stdin.write_all(password.as_bytes()).expect("write the password");
    drop(stdin);
    let status = child.wait().expect("wait for saslpasswd2");
    assert!(status.success(), "saslpasswd2 failed: {status}");
}

/// Runs `cmd` under `valgrind --tool=callgrind` and returns the instructions
/// executed (the `summary:` line of its output file).
pub fn callgrind(cmd: &mut Command, out_file: &Path) -> u64 {
    let program = cmd.get_program().to_owned();
    let args: Vec<_> = cmd.get_args().map(ToOwned::to_owned).collect();
    let envs: Vec<_> = cmd.get_envs().map(|(k, v)| (k.to_owned(), v.map(ToOwned::to_owned))).collect();
    let mut valgrind = Command::new("valgrind");
    valgrind.arg("--tool=callgrind").arg("--quiet").arg(format!("--callgrind-out-file={}", out_file.display()));
    valgrind.arg(program).args(args).stdout(Stdio::null()).stderr(Stdio::inherit());
    for (key, value) in envs {
        match value {
            Some(value) => valgrind.env(key, value),
            None => valgrind.env_remove(key),
        };
    }
    let status = valgrind.status().expect("run valgrind (Debian/Ubuntu package valgrind)");
    assert!(status.success(), "valgrind {:?} failed: {status}", cmd.get_program());
    let text = std::fs::read_to_string(out_file).expect("read the callgrind output");
    text.lines()
        .find_map(|line| line.strip_prefix("summary:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no summary line in {}", out_file.display()))
}
