//! Catches drift between the committed fallback bindings (`sasl-sys/src/bindings.rs`,
//! used where libclang is missing) and what bindgen generates from this system's
//! libsasl2 headers during this build (`$OUT_DIR/bindings.rs`).

use std::path::Path;

/// How many differing lines the failure message shows.
const SHOWN: usize = 5;

#[test]
fn committed_bindings_match_bindgen_output_on_this_system() {
    assert_eq!(
        sasl_sys::BINDINGS_SOURCE,
        "bindgen",
        "libclang is missing, so this build copied the committed bindings instead of running \
         bindgen, and drift cannot be checked. Install libclang (Debian/Ubuntu: libclang-dev, \
         Fedora: clang-devel) and rerun the tests."
    );

    let generated_path = Path::new(concat!(env!("OUT_DIR"), "/bindings.rs"));
    let committed_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/bindings.rs");
    let read = |p: &Path| std::fs::read_to_string(p).unwrap_or_else(|e| panic!("cannot read {}: {e}", p.display()));
    let generated = read(generated_path);
    let committed = read(&committed_path);
    if generated == committed {
        return;
    }

    let generated_lines: Vec<&str> = generated.lines().collect();
    let committed_lines: Vec<&str> = committed.lines().collect();
    // Trim the common head and tail; what is left on each side is the changed block.
    let head = generated_lines.iter().zip(&committed_lines).take_while(|(g, c)| g == c).count();
    let tail = generated_lines[head..]
        .iter()
        .rev()
        .zip(committed_lines[head..].iter().rev())
        .take_while(|(g, c)| g == c)
        .count();
    let committed_block = &committed_lines[head..committed_lines.len() - tail];
    let generated_block = &generated_lines[head..generated_lines.len() - tail];

    let mut report = String::new();
    if committed_block.is_empty() && generated_block.is_empty() {
        report.push_str("\n  the lines are equal; only line endings or the final newline differ");
    } else {
        report.push_str(&format!(
            "\n  first differing line: {}; the changed block is {} in the committed file and \
             {} in bindgen's output",
            head + 1,
            span(head, committed_block.len()),
            span(head, generated_block.len()),
        ));
        show(&mut report, "committed", head, committed_block);
        show(&mut report, "bindgen", head, generated_block);
    }
    panic!(
        "the committed bindings {} ({} lines) differ from bindgen's output {} ({} lines):\
         {report}\n\
         Run sasl-sys/regen-bindings.sh to regenerate the committed bindings, review the \
         diff, and commit it.",
        committed_path.display(),
        committed_lines.len(),
        generated_path.display(),
        generated_lines.len(),
    );
}

/// 1-based line range of a block of `len` lines after the first `head` lines.
fn span(head: usize, len: usize) -> String {
    match len {
        0 => format!("empty (lines inserted after line {head})"),
        1 => format!("line {}", head + 1),
        _ => format!("lines {}-{}", head + 1, head + len),
    }
}

/// Appends the first `SHOWN` lines of a changed block to `report`.
fn show(report: &mut String, side: &str, head: usize, block: &[&str]) {
    if block.is_empty() {
        return;
    }
    report.push_str(&format!("\n  {side}:"));
    for (i, line) in block.iter().enumerate().take(SHOWN) {
        report.push_str(&format!("\n    {:>5} | {line}", head + i + 1));
    }
    if block.len() > SHOWN {
        report.push_str(&format!("\n          ... {} more", block.len() - SHOWN));
    }
}
