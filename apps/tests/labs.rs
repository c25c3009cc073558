//! The labs are their own test: every command in docs/labs/*.md marked to run is run
//! here, without root (the in-memory driver), and every expected excerpt is looked for
//! in what it printed. The markdown is the test input, so the labs cannot rot.
//!
//! In the labs, a fenced block whose info string has
//! - `lab-run`: is a shell script, run with `sh -e` in the lab's own scratch directory
//!   (files a command writes are there for the next), with `netstack` the binary under
//!   test and stderr merged into stdout; it must succeed, unless `lab-run fails`;
//! - `lab-expect`: each non-empty line must appear in the output of the `lab-run` block
//!   before it, within one line; `...` stands for anything;
//! - `lab-test`: names tests (`cargo test -p CRATE --test FILE FILTER`) that CI runs
//!   anyway; here each must exist.
//!
//! Other blocks (those that need root, a TAP, or tools the machine may lack) are text.

mod common;

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long one block may run.
const TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug)]
enum Step {
    Run {
        script: String,
        fails: bool,
        line: usize,
    },
    Expect {
        lines: Vec<String>,
        line: usize,
    },
    Test {
        lines: Vec<String>,
        line: usize,
    },
}

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The marked blocks of one lab, in order.
fn steps(text: &str) -> Vec<Step> {
    let mut steps = vec![];
    let mut lines = text.lines().enumerate();
    while let Some((n, line)) = lines.next() {
        let Some(info) = line.trim_start().strip_prefix("```") else {
            continue;
        };
        let words: Vec<&str> = info.split_whitespace().collect();
        let mut body = vec![];
        for (_, l) in lines.by_ref() {
            if l.trim_start().starts_with("```") {
                break;
            }
            body.push(l.to_string());
        }
        let line = n + 1;
        if words.contains(&"lab-run") {
            steps.push(Step::Run {
                script: body.join("\n"),
                fails: words.contains(&"fails"),
                line,
            });
        } else if words.contains(&"lab-expect") {
            steps.push(Step::Expect { lines: body, line });
        } else if words.contains(&"lab-test") {
            steps.push(Step::Test { lines: body, line });
        }
    }
    steps
}

/// Runs `script` in `dir` with `netstack` on the PATH; (success, output).
fn run(script: &str, dir: &Path) -> (bool, String) {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_netstack"));
    let bin_dir = bin.parent().unwrap();
    let path = format!(
        "{}:{}:{}",
        bin_dir.display(),
        bin_dir.join("examples").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut child = Command::new("sh")
        .arg("-ec")
        .arg(format!("exec 2>&1\n{script}"))
        .current_dir(dir)
        .env("PATH", path)
        // Lab 9's `netstack run` needs the shim, which `cargo test -p netstack` alone
        // does not build.
        .env("NETSTACK_PRELOAD", common::preload())
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .expect("sh runs");
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        let _ = stdout.read_to_string(&mut out);
        out
    });
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let out = reader.join().unwrap();
    match status {
        Some(s) => (s.success(), out),
        None => (false, format!("{out}\n[killed after {TIMEOUT:?}]")),
    }
}

/// The literal pieces of `expected` between its wildcards. A run of three or more dots
/// is a wildcard preceded by all but three of its dots: `10.0.0.2.... >` is `10.0.0.2.`,
/// anything, ` >`.
fn pieces(expected: &str) -> Vec<String> {
    let mut pieces = vec![String::new()];
    let mut chars = expected.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '.' {
            pieces.last_mut().unwrap().push(c);
            continue;
        }
        let mut run = 1;
        while chars.peek() == Some(&'.') {
            chars.next();
            run += 1;
        }
        if run < 3 {
            pieces.last_mut().unwrap().push_str(&".".repeat(run));
        } else {
            pieces.last_mut().unwrap().push_str(&".".repeat(run - 3));
            pieces.push(String::new());
        }
    }
    pieces
        .into_iter()
        .filter(|p| !p.trim().is_empty())
        .collect()
}

/// True when some line of `output` holds the pieces of `expected` (split at its
/// wildcards) in order.
fn found(output: &str, expected: &str) -> bool {
    let pieces = pieces(expected.trim());
    output.lines().any(|line| {
        let mut rest = line;
        pieces.iter().all(|p| match rest.find(p.as_str()) {
            Some(i) => {
                rest = &rest[i + p.len()..];
                true
            }
            None => false,
        })
    })
}

/// `cargo test -p CRATE [--test FILE] FILTER`: the test exists.
fn check_test_exists(line: &str) -> Result<(), String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let arg = |flag: &str| {
        words
            .iter()
            .position(|w| *w == flag)
            .and_then(|i| words.get(i + 1))
            .copied()
    };
    let krate = arg("-p").ok_or("no -p CRATE")?;
    let dir = match krate {
        "netstack-core" => "stack",
        "netstack" => "apps",
        "netstack-drivers" => "drivers",
        "netstack-labs" => "labs",
        "netstack-tests" => "tests",
        other => return Err(format!("unknown crate {other}")),
    };
    let filter = words.last().ok_or("no filter")?;
    let file = match arg("--test") {
        Some(test) => root().join(dir).join("tests").join(format!("{test}.rs")),
        None => return Err("name the test file with --test".to_string()),
    };
    let text = fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
    if text.contains(&format!("fn {filter}")) || text.contains(filter) {
        Ok(())
    } else {
        Err(format!("{} has no test matching {filter}", file.display()))
    }
}

#[test]
fn every_lab_command_runs_and_prints_what_the_lab_says() {
    let labs = root().join("docs/labs");
    let mut files: Vec<PathBuf> = fs::read_dir(&labs)
        .expect("docs/labs exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    files.sort();
    // Lab 8 runs an example, which `cargo test` builds but `cargo test --test labs`
    // alone does not.
    let examples = PathBuf::from(env!("CARGO_BIN_EXE_netstack")).with_file_name("examples");
    let have_examples = examples.join("lab8_server").exists();
    if !have_examples {
        let why = "the examples are not built (cargo build -p netstack --examples)";
        assert!(std::env::var_os("CI").is_none(), "{why}");
        println!("skipping blocks that run an example: {why}");
    }
    let (mut ran, mut failures) = (0, vec![]);
    for file in &files {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        let text = fs::read_to_string(file).unwrap();
        let scratch =
            std::env::temp_dir().join(format!("netstack-lab-{}-{name}", std::process::id()));
        fs::create_dir_all(&scratch).unwrap();
        let mut last: Option<(usize, String)> = None;
        for step in steps(&text) {
            match step {
                Step::Run {
                    script,
                    fails,
                    line,
                    ..
                } => {
                    ran += 1;
                    let started = Instant::now();
                    let (ok, out) = run(&script, &scratch);
                    println!(
                        "{name}:{line}: {:.1} s: {}",
                        started.elapsed().as_secs_f64(),
                        script.lines().next().unwrap_or("")
                    );
                    if ok == fails {
                        failures.push(format!(
                            "{name}:{line}: `{script}` {} but the lab says it {}:\n{out}",
                            if ok { "succeeded" } else { "failed" },
                            if fails { "fails" } else { "succeeds" }
                        ));
                    }
                    last = Some((line, out));
                }
                Step::Expect { lines, line } => {
                    let Some((run_line, out)) = &last else {
                        continue;
                    };
                    for want in lines.iter().filter(|l| !l.trim().is_empty()) {
                        if !found(out, want) {
                            failures.push(format!(
                                "{name}:{line}: no line with {want:?} in the output of the block at line {run_line}:\n{out}"
                            ));
                        }
                    }
                }
                Step::Test { lines, line } => {
                    for l in lines
                        .iter()
                        .filter(|l| l.trim_start().starts_with("cargo test"))
                    {
                        if let Err(e) = check_test_exists(l) {
                            failures.push(format!("{name}:{line}: {e}"));
                        }
                    }
                }
            }
        }
        let _ = fs::remove_dir_all(&scratch);
    }
    assert!(
        files.len() >= 8,
        "expected at least eight labs in {}",
        labs.display()
    );
    assert!(ran > 0, "no lab-run blocks found");
    assert!(
        failures.is_empty(),
        "{} lab step(s) failed:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn excerpts_match_with_ellipses() {
    let out = "  0.1 tx 10.0.0.2.4000 > 10.0.0.1.7: Flags [S], seq 5, win 9\nother";
    assert!(found(out, "10.0.0.2... > 10.0.0.1.7: Flags [S], seq ..."));
    assert!(!found(out, "Flags [S]... 10.0.0.2"));
    assert!(found(out, "other"));
    assert!(found(
        out,
        "tx 10.0.0.2.... > 10.0.0.1.7: Flags [S], seq ..., win 9"
    ));
    assert!(!found(out, "tx 10.0.0.2.... > 10.0.0.1.8:"));
    assert_eq!(pieces("a.... b"), ["a.", " b"]);
}
