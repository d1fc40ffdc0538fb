//! Local files and folders.
//!
//! Evidence folders are messy: half-copied buckets, symlinks into other
//! cases, a FIFO someone left behind. Only regular files (directly or through
//! a symlink) are read; everything else is named with a reason, and a symlink
//! to a folder is not followed, so a loop can never hang the walk. Files are
//! opened read-only.

use std::fs::{self, File};
use std::path::{Component, Path, PathBuf};

use super::{Bodies, Body, Entry, ListError, Listing, OpenError, PassedOver, Rels, Store};

/// A local folder (or the folder holding a single named file).
#[derive(Debug)]
pub struct LocalStore {
    root: PathBuf,
    /// [`Store::root_path`].
    root_path: String,
}

impl LocalStore {
    /// Opens `path` as a source. For a file, returns a store rooted at its
    /// folder and the file's name, which is then the only thing to read.
    pub fn open(path: &Path) -> Result<(LocalStore, Option<String>), ListError> {
        let meta = fs::metadata(path)
            .map_err(|e| ListError(format!("{}: {}", path.display(), io_reason(&e))))?;
        if meta.is_dir() {
            fs::read_dir(path)
                .map_err(|e| ListError(format!("{}: {}", path.display(), io_reason(&e))))?;
            return Ok((LocalStore::at(path), None));
        }
        if !meta.is_file() {
            return Err(ListError(format!(
                "{}: not a regular file or folder",
                path.display()
            )));
        }
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        let parent = path.parent().unwrap_or(Path::new(""));
        Ok((LocalStore::at(parent), name))
    }

    fn at(root: &Path) -> LocalStore {
        // As given, made absolute, with `..` taken lexically: a symlink named
        // `AWSLogs` still says where the root sits.
        let mut parts: Vec<String> = Vec::new();
        for part in std::path::absolute(root)
            .iter()
            .flat_map(|p| p.components())
        {
            match part {
                Component::Normal(name) => parts.push(name.to_string_lossy().into_owned()),
                Component::ParentDir => {
                    parts.pop();
                }
                Component::CurDir | Component::RootDir | Component::Prefix(_) => {}
            }
        }
        LocalStore {
            root: root.to_owned(),
            root_path: parts.iter().map(|p| format!("{p}/")).collect(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        }
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or folder".to_owned(),
        std::io::ErrorKind::PermissionDenied => "permission denied".to_owned(),
        _ => e.to_string(),
    }
}

impl Store for LocalStore {
    fn root_path(&self) -> &str {
        &self.root_path
    }

    fn display(&self, rel: &str) -> String {
        self.path(rel).display().to_string()
    }

    fn file(&self, rel: &str) -> Option<File> {
        File::open(self.path(rel)).ok()
    }

    fn list_dir(&self, dir: &str) -> Result<Listing, ListError> {
        let path = self.path(dir);
        let read = match fs::read_dir(&path) {
            Ok(read) => read,
            // A day folder that a window asks for but that was never delivered.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !dir.is_empty() => {
                return Ok(Listing::default());
            }
            // Only the root is fatal; a folder below it that cannot be read
            // (permissions, a looping link) is named and the walk goes on.
            Err(e) if !dir.is_empty() => {
                return Ok(Listing {
                    passed_over: vec![PassedOver {
                        name: path.display().to_string(),
                        reason: format!("folder could not be read: {}", io_reason(&e)),
                        failure: true,
                    }],
                    ..Listing::default()
                });
            }
            Err(e) => return Err(ListError(format!("{}: {}", path.display(), io_reason(&e)))),
        };
        let mut listing = Listing::default();
        let mut names: Vec<(String, fs::DirEntry)> = Vec::new();
        for entry in read {
            match entry {
                Ok(entry) => names.push((entry.file_name().to_string_lossy().into_owned(), entry)),
                Err(e) => listing.passed_over.push(PassedOver {
                    name: path.display().to_string(),
                    reason: format!("folder could not be read completely: {}", io_reason(&e)),
                    failure: true,
                }),
            }
        }
        names.sort_by(|a, b| a.0.cmp(&b.0));
        for (name, entry) in names {
            let rel = format!("{dir}{name}");
            let shown = || self.display(&rel);
            let passed = |reason: String, failure: bool| PassedOver {
                name: shown(),
                reason,
                failure,
            };
            let file_type = match entry.file_type() {
                Ok(t) => t,
                Err(e) => {
                    listing.passed_over.push(passed(io_reason(&e), true));
                    continue;
                }
            };
            if file_type.is_dir() {
                listing.dirs.push(format!("{rel}/"));
                continue;
            }
            // Follow symlinks to files, never to folders.
            let meta = match fs::metadata(entry.path()) {
                Ok(m) => m,
                Err(e) => {
                    let why = format!("broken or looping symbolic link: {}", io_reason(&e));
                    listing.passed_over.push(passed(why, true));
                    continue;
                }
            };
            if meta.is_file() {
                listing.files.push(Entry {
                    rel,
                    size: meta.len(),
                });
            } else if meta.is_dir() {
                let why = "symbolic link to a folder, not followed".to_owned();
                listing.passed_over.push(passed(why, false));
            } else {
                let why = "not a regular file (FIFO, socket or device), not read".to_owned();
                listing.passed_over.push(passed(why, false));
            }
        }
        Ok(listing)
    }

    fn list_all(&self, dir: &str) -> Result<Listing, ListError> {
        let mut all = Listing::default();
        let mut stack = vec![dir.to_owned()];
        while let Some(dir) = stack.pop() {
            let listing = self.list_dir(&dir)?;
            all.files.extend(listing.files);
            all.passed_over.extend(listing.passed_over);
            stack.extend(listing.dirs.into_iter().rev());
        }
        all.files.sort_by(|a, b| a.rel.cmp(&b.rel));
        Ok(all)
    }

    fn open_all<'a>(&'a self, rels: Rels<'a>) -> Bodies<'a> {
        Box::new(rels.map(move |rel| {
            File::open(self.path(&rel))
                .map(|f| Box::new(f) as Body)
                .map_err(|e| OpenError(io_reason(&e)))
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_sorted_and_names_what_it_skips() {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("b")).unwrap();
        fs::write(dir.path().join("b/x.json"), "{}").unwrap();
        fs::write(dir.path().join("a.json"), "[]").unwrap();
        #[cfg(unix)]
        {
            std::os::unix::fs::symlink(dir.path(), dir.path().join("loop")).unwrap();
            std::os::unix::fs::symlink("nowhere", dir.path().join("dangling")).unwrap();
        }
        let (store, file) = LocalStore::open(dir.path()).unwrap();
        assert_eq!(file, None);
        let all = store.list_all("").unwrap();
        let rels: Vec<_> = all.files.iter().map(|e| e.rel.as_str()).collect();
        assert_eq!(rels, ["a.json", "b/x.json"]);
        #[cfg(unix)]
        {
            assert_eq!(all.passed_over.len(), 2);
            assert!(
                all.passed_over
                    .iter()
                    .any(|p| p.failure && p.reason.contains("broken"))
            );
            assert!(
                all.passed_over
                    .iter()
                    .any(|p| !p.failure && p.reason.contains("not followed"))
            );
        }
        assert!(LocalStore::open(&dir.path().join("missing")).is_err());
    }
}
