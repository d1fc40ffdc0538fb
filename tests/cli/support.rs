//! Running the built binary in a scratch folder.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use flate2::Compression;
use flate2::write::GzEncoder;
use serde_json::Value;

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

    /// `keytrail ARGS…`, run from the repository root so that fixture paths
    /// (and so `source_file`) are relative and stable.
    pub fn keytrail(&self) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_keytrail"));
        cmd.current_dir(root());
        cmd
    }

    /// Runs `keytrail trace ARGS…`.
    pub fn trace(&self, args: &[&str]) -> Output {
        self.keytrail()
            .arg("trace")
            .args(args)
            .output()
            .expect("run keytrail")
    }
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
    if std::env::var_os("KEYTRAIL_BLESS").is_some() {
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
