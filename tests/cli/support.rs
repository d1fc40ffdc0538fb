//! Running the built binary in a scratch folder, with a deadline.
//!
//! Every process a test starts goes through [`run`] or [`Running`], which
//! kill it and fail the test when it outlives [`RUN_LIMIT`]: a hang fails
//! one test with the command line instead of stalling the whole suite.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::Value;

/// The leaked key of the sample incident (`fixtures/INCIDENT.md`).
pub const SEED: &str = "AKIAEXAMPLESEED00001";

/// How long one process may run before it counts as a hang.
pub const RUN_LIMIT: Duration = Duration::from_secs(120);

/// The repository root, where `fixtures/` lives.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A scratch folder for outputs, removed on drop.
pub struct TestEnv {
    pub dir: tempfile::TempDir,
}

impl TestEnv {
    pub fn new() -> TestEnv {
        TestEnv {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    /// A path inside the scratch folder.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// `keytrail`, to be given arguments and then started with [`run`] or
    /// [`Running::spawn`]. It runs from the repository root so that fixture
    /// paths (and so `source_file`) are relative and stable.
    pub fn keytrail(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keytrail"));
        cmd.current_dir(root());
        cmd
    }

    /// Runs `keytrail trace ARGS…` with a deadline.
    pub fn trace(&self, args: &[&str]) -> Output {
        run(self.keytrail().arg("trace").args(args))
    }
}

/// Runs `cmd` with no stdin and its output captured, failing the test if it
/// outlives [`RUN_LIMIT`].
pub fn run(cmd: &mut Command) -> Output {
    Running::spawn(cmd).wait()
}

/// A started process that is killed if it outlives [`RUN_LIMIT`], or if the
/// test panics before waiting for it.
pub struct Running {
    child: Child,
    command: String,
    started: Instant,
    stdout: Option<JoinHandle<Vec<u8>>>,
    stderr: Option<JoinHandle<Vec<u8>>>,
}

impl Running {
    /// Starts `cmd` with no stdin and stdout and stderr captured.
    pub fn spawn(cmd: &mut Command) -> Running {
        cmd.stdout(Stdio::piped());
        Running::start(cmd)
    }

    /// Starts `cmd` with stdout connected to a pipe whose read end is
    /// already closed, so that its first write to stdout fails with EPIPE
    /// (`| head -c0`, but without a race); stderr is captured.
    pub fn spawn_with_stdout_closed(cmd: &mut Command) -> Running {
        let (reader, writer) = std::io::pipe().expect("pipe");
        drop(reader);
        cmd.stdout(writer);
        let running = Running::start(cmd);
        // The parent's copy of the write end was moved into `cmd`; drop it
        // there too so that nothing but the child holds the pipe.
        cmd.stdout(Stdio::null());
        running
    }

    fn start(cmd: &mut Command) -> Running {
        let command = format!("{cmd:?}");
        let mut child = cmd
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {command}: {e}"));
        let stdout = child.stdout.take().map(drain);
        let stderr = child.stderr.take().map(drain);
        Running {
            child,
            command,
            started: Instant::now(),
            stdout,
            stderr,
        }
    }

    /// The process id (to watch the process while it runs).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits for the process to end; kills it and fails the test once it
    /// has run for [`RUN_LIMIT`].
    pub fn wait(mut self) -> Output {
        let Some(status) = self.wait_until_deadline() else {
            // What it said before it was killed, unless something it started
            // still holds its stderr open.
            let stderr = self.stderr.take().and_then(|reader| {
                let given_up = Instant::now() + Duration::from_secs(1);
                while !reader.is_finished() && Instant::now() < given_up {
                    std::thread::sleep(Duration::from_millis(10));
                }
                reader.is_finished().then(|| join(reader))
            });
            let said = match stderr {
                Some(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
                None => "(held open by a process it started)".to_owned(),
            };
            panic!(
                "{} did not finish within {RUN_LIMIT:?} and was killed (hang)\n--- stderr\n{said}",
                self.command
            );
        };
        Output {
            status,
            stdout: self.stdout.take().map_or_else(Vec::new, join),
            stderr: self.stderr.take().map_or_else(Vec::new, join),
        }
    }

    /// The exit status, or `None` after killing the process at the deadline.
    fn wait_until_deadline(&mut self) -> Option<ExitStatus> {
        loop {
            if let Some(status) = self.child.try_wait().expect("wait for child") {
                return Some(status);
            }
            if self.started.elapsed() >= RUN_LIMIT {
                let _ = self.child.kill();
                let _ = self.child.wait();
                return None;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        // Only reached without a status when the test panicked before wait.
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Reads `pipe` to its end on a thread of its own, so that a child never
/// blocks on a full pipe while the test waits for it.
fn drain<R: Read + Send + 'static>(mut pipe: R) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut bytes = Vec::new();
        let _ = pipe.read_to_end(&mut bytes);
        bytes
    })
}

fn join(reader: JoinHandle<Vec<u8>>) -> Vec<u8> {
    reader.join().expect("pipe reader")
}

/// The process's exit code.
pub fn code(out: &Output) -> i32 {
    out.status.code().unwrap_or(-1)
}

/// stdout and stderr, for assertion messages.
pub fn show(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Reads a file as UTF-8.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Parses a JSON file.
pub fn json(path: &Path) -> Value {
    serde_json::from_str(&read(path)).expect("valid JSON")
}

/// `bytes`, gzipped.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = GzEncoder::new(Vec::new(), Compression::default());
    e.write_all(bytes).expect("gzip");
    e.finish().expect("gzip")
}

/// The credentials of a `--report`, by key id.
pub fn credentials(report: &Value) -> BTreeMap<String, Value> {
    report["credentials"]
        .as_array()
        .expect("credentials")
        .iter()
        .map(|c| {
            (
                c["access_key_id"].as_str().expect("key").to_owned(),
                c.clone(),
            )
        })
        .collect()
}

/// Compares `actual` with the golden file `tests/golden/NAME`; with
/// `KEYTRAIL_BLESS=1`, rewrites it instead.
pub fn golden(name: &str, actual: &str) {
    let path = root().join("tests/golden").join(name);
    if blessing() {
        std::fs::create_dir_all(path.parent().expect("inside tests/golden"))
            .expect("golden folder");
        std::fs::write(&path, actual).expect("write golden");
        return;
    }
    let expected = read(&path);
    assert!(
        expected == actual,
        "{} differs from the output; rerun with KEYTRAIL_BLESS=1 if the change is intended",
        path.display()
    );
}

/// Compares the folder `dir` with the golden folder `tests/golden/NAME/`:
/// the same file names, each with the same bytes. With `KEYTRAIL_BLESS=1`,
/// replaces the golden folder instead.
pub fn golden_dir(name: &str, dir: &Path) {
    let golden_path = root().join("tests/golden").join(name);
    let names = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
            .map(|e| {
                e.expect("entry")
                    .file_name()
                    .into_string()
                    .expect("utf-8 name")
            })
            .collect();
        names.sort();
        names
    };
    let actual = names(dir);
    if blessing() {
        if golden_path.exists() {
            std::fs::remove_dir_all(&golden_path).expect("remove old golden folder");
        }
    } else {
        assert_eq!(
            actual,
            names(&golden_path),
            "{} holds other files than the output; rerun with KEYTRAIL_BLESS=1 if the change is intended",
            golden_path.display()
        );
    }
    for file in actual {
        golden(&format!("{name}/{file}"), &read(&dir.join(&file)));
    }
}

fn blessing() -> bool {
    std::env::var_os("KEYTRAIL_BLESS").is_some()
}

/// One timeline row: column name to cell.
pub type Row = std::collections::BTreeMap<String, String>;

/// The rows of a CSV timeline.
pub fn csv_rows(path: &Path) -> Vec<Row> {
    let mut reader = ::csv::Reader::from_path(path).expect("timeline");
    let header = reader.headers().expect("header").clone();
    reader
        .records()
        .map(|r| {
            let r = r.expect("CSV record");
            header
                .iter()
                .zip(r.iter())
                .map(|(h, v)| (h.to_owned(), v.to_owned()))
                .collect()
        })
        .collect()
}
