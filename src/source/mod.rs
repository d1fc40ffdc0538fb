//! Where CloudTrail files come from: local folders and S3 buckets.
//!
//! Both kinds of store are reduced to the same three operations (list one
//! folder level, list everything under a prefix, open a batch of files in
//! order) so that one piece of code, [`layout`], decides what to list and what
//! to prune for both. That is what makes a local copy and the bucket it came
//! from give the same answer.

pub mod bundle;
pub mod layout;
pub mod local;
pub mod s3;

use std::fmt;
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

use s3::S3Url;

use crate::time::Span;

/// One entry of a listing, relative to its store's root.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// The path (local) or key (S3) relative to the store root, `/`-separated.
    pub rel: String,
    /// Size in bytes, as listed.
    pub size: u64,
}

/// A folder-level listing: what a delimiter listing returns.
#[derive(Clone, Debug, Default)]
pub struct Listing {
    /// Sub-folders (common prefixes), relative, each ending in `/`.
    pub dirs: Vec<String>,
    /// Files directly in the folder.
    pub files: Vec<Entry>,
    /// Entries that are neither, with why they were passed over.
    pub passed_over: Vec<PassedOver>,
}

/// An entry a listing did not return as a file, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PassedOver {
    /// The entry, as shown to the user.
    pub name: String,
    /// Why it was not read.
    pub reason: String,
    /// Whether evidence may be missing because of it (a failure), or it was
    /// left alone by design (a FIFO, a symlinked folder).
    pub failure: bool,
}

/// A readable stream of one file's bytes.
pub type Body = Box<dyn Read + Send>;

/// Why one file or object could not be opened.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OpenError(pub String);

impl fmt::Display for OpenError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A fatal listing failure, with a message that names the fix.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListError(pub String);

impl fmt::Display for ListError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Bodies of a batch, in the order requested.
pub type Bodies<'a> = Box<dyn Iterator<Item = Result<Body, OpenError>> + Send + 'a>;

/// The entries of a batch to open, made as they are needed: a pass over a
/// large archive never holds a second copy of every path.
pub type Rels<'a> = Box<dyn Iterator<Item = String> + Send + 'a>;

/// What a store knows about one object besides its bytes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ObjectMeta {
    /// The S3 ETag, quotes removed.
    pub etag: Option<String>,
    /// The S3 version id.
    pub version_id: Option<String>,
    /// User metadata (`x-amz-meta-NAME`), by `NAME`: CloudTrail puts a
    /// digest's signature in `signature`.
    pub user: std::collections::BTreeMap<String, String>,
}

/// A place that holds files: a local folder or an S3 bucket.
pub trait Store: Send + Sync {
    /// The object's metadata; a local file has none.
    fn head(&self, _rel: &str) -> Result<ObjectMeta, OpenError> {
        Ok(ObjectMeta::default())
    }

    /// How an entry is shown to people and in `source_file`.
    fn display(&self, rel: &str) -> String;

    /// Lists one level under `dir` (`""` for the root, else ending in `/`).
    fn list_dir(&self, dir: &str) -> Result<Listing, ListError>;

    /// Lists every file under `dir`, recursively.
    fn list_all(&self, dir: &str) -> Result<Listing, ListError>;

    /// Opens the given entries, yielding bodies in the same order. A store may
    /// fetch ahead (S3 does), but never more than its configured bound.
    fn open_all<'a>(&'a self, rels: Rels<'a>) -> Bodies<'a>;

    /// The root's own path, `/`-separated and ending in `/` (empty for a
    /// bucket, whose keys are whole paths): the delivery layout is
    /// recognised across the root, so `~/case/AWSLogs` is read as the
    /// `AWSLogs` folder it is.
    fn root_path(&self) -> &str {
        ""
    }

    /// The file behind an entry, for a store whose entries are local files:
    /// a bundle found there is read in place rather than copied.
    fn file(&self, _rel: &str) -> Option<std::fs::File> {
        None
    }

    /// For a store that can only be read front to back (a tar.gz), where an
    /// entry sits: a batch is asked for in this order.
    fn order(&self, _rel: &str) -> Option<u64> {
        None
    }

    /// How many listings are worth having in flight at once: one where a
    /// listing is work (a local disk), more where it is a round trip (S3).
    fn listers(&self) -> usize {
        1
    }
}

/// A file to read, with what its location says about its contents.
///
/// An archive has thousands of files per day and the scan keeps one `Input`
/// for each, so it is kept small. The files of one folder share one
/// allocation: the folder's path, the start and end all their names share
/// (`ACCOUNT_CloudTrail_REGION_YYYYMMDD` and `.json.gz` in a delivery
/// folder), and what is left of each name, about a third of it. The name
/// shown to people is made only when the file is read.
#[derive(Clone, Debug)]
pub struct Input {
    folder: Arc<Folder>,
    /// Where the rest of its name is in `folder.middles`.
    middle: [u32; 2],
    /// Size as listed.
    pub size: u64,
    /// The event times it can hold, from its delivery folder.
    pub span: Span,
}

/// The listed files of one folder, by name.
#[derive(Debug)]
struct Folder {
    /// Index of the store that holds it.
    store: usize,
    /// Its path or key prefix relative to the store (ending in `/`, or
    /// empty).
    dir: Box<str>,
    /// How all the names start.
    head: Box<str>,
    /// How all the names end, after their heads.
    tail: Box<str>,
    /// What is between, for each name, one after another.
    middles: Box<str>,
}

impl Input {
    /// The inputs for listed entries of store `store`, each with the span
    /// `span` gives its relative path.
    pub fn from_entries(
        store: usize,
        entries: Vec<Entry>,
        mut span: impl FnMut(&str) -> Span,
    ) -> Vec<Input> {
        let mut inputs = Vec::with_capacity(entries.len());
        let mut rest = &entries[..];
        while let Some(first) = rest.first() {
            let dir = dir_of(&first.rel);
            // A run of files in one folder, with names that fit u32 offsets.
            let mut len = 0usize;
            let run = rest
                .iter()
                .take_while(|e| {
                    let fits = dir_of(&e.rel) == dir
                        && u32::try_from(len + e.rel.len() - dir.len()).is_ok();
                    if fits {
                        len += e.rel.len() - dir.len();
                    }
                    fits
                })
                .count()
                .max(1);
            let (group, after) = rest.split_at(run);
            rest = after;
            let names: Vec<&str> = group.iter().map(|e| &e.rel[dir.len()..]).collect();
            let (head, tail) = common_ends(&names);
            let mut middles = String::new();
            let bounds: Vec<[u32; 2]> = names
                .iter()
                .map(|name| {
                    let from = middles.len();
                    middles.push_str(&name[head.len()..name.len() - tail.len()]);
                    [from, middles.len()].map(|b| u32::try_from(b).unwrap_or(u32::MAX))
                })
                .collect();
            let folder = Arc::new(Folder {
                store,
                dir: dir.into(),
                head: head.into(),
                tail: tail.into(),
                middles: middles.into_boxed_str(),
            });
            inputs.extend(group.iter().zip(bounds).map(|(e, middle)| Input {
                folder: Arc::clone(&folder),
                middle,
                size: e.size,
                span: span(&e.rel),
            }));
        }
        inputs
    }

    /// Index of the store that holds it.
    pub fn store(&self) -> usize {
        self.folder.store
    }

    /// Its name within its folder, in three parts.
    fn name(&self) -> [&str; 3] {
        let [from, to] = self.middle.map(|b| b as usize);
        let f = &*self.folder;
        [
            &*f.head,
            f.middles.get(from..to).unwrap_or_default(),
            &*f.tail,
        ]
    }

    /// The path or key relative to the store.
    pub fn rel(&self) -> String {
        let [head, middle, tail] = self.name();
        [&*self.folder.dir, head, middle, tail].concat()
    }

    /// Orders inputs by folder, then name.
    pub fn cmp_path(&self, other: &Input) -> std::cmp::Ordering {
        (self.store(), &*self.folder.dir)
            .cmp(&(other.store(), &*other.folder.dir))
            .then_with(|| {
                let [a, b] = [self, other].map(Input::name);
                a.iter()
                    .flat_map(|p| p.bytes())
                    .cmp(b.iter().flat_map(|p| p.bytes()))
            })
    }
}

/// The folder part of a relative path: up to and including its last `/`.
fn dir_of(rel: &str) -> &str {
    &rel[..rel.rfind('/').map_or(0, |i| i + 1)]
}

/// The longest start and end that all `names` share, not overlapping.
fn common_ends<'a>(names: &[&'a str]) -> (&'a str, &'a str) {
    let Some(first) = names.first() else {
        return ("", "");
    };
    let shared = |a: &mut dyn Iterator<Item = (u8, u8)>| a.take_while(|(x, y)| x == y).count();
    let mut head = first.len();
    let mut tail = first.len();
    for name in names {
        let (a, b) = (first.as_bytes(), name.as_bytes());
        head = head.min(shared(&mut a.iter().copied().zip(b.iter().copied())));
        tail = tail.min(shared(
            &mut a.iter().rev().copied().zip(b.iter().rev().copied()),
        ));
    }
    // Equal bytes before a cut make it a character boundary in every name.
    while !first.is_char_boundary(head) {
        head -= 1;
    }
    let shortest = names.iter().map(|n| n.len()).min().unwrap_or(0);
    tail = tail.min(shortest - head);
    while !first.is_char_boundary(first.len() - tail) {
        tail -= 1;
    }
    (&first[..head], &first[first.len() - tail..])
}

/// Where to read from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SourceSpec {
    /// A local file or folder.
    Local(PathBuf),
    /// An S3 bucket or prefix.
    S3(S3Url),
}

impl SourceSpec {
    /// `s3://…` is S3; anything else is a local path.
    pub fn parse(s: &str) -> Result<SourceSpec, String> {
        if s.starts_with("s3://") {
            S3Url::parse(s)
                .map(SourceSpec::S3)
                .ok_or_else(|| format!("{s:?} is not an S3 URL (expected s3://BUCKET[/PREFIX])"))
        } else {
            Ok(SourceSpec::Local(PathBuf::from(s)))
        }
    }
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SourceSpec::Local(p) => write!(f, "{}", p.display()),
            SourceSpec::S3(u) => write!(f, "s3://{}/{}", u.bucket, u.prefix),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{Entry, Input, common_ends};
    use crate::time::Span;

    #[test]
    fn inputs_keep_their_paths_and_share_their_folders() {
        let rels = [
            "a/x.json.gz",
            "a/y.json.gz",
            "b/c/z.json",
            "loose.json",
            "a/w.json.gz",
        ];
        let entries = rels
            .iter()
            .enumerate()
            .map(|(i, rel)| Entry {
                rel: (*rel).to_owned(),
                size: i as u64,
            })
            .collect();
        let inputs = Input::from_entries(3, entries, |_| Span::ALL);
        let back: Vec<String> = inputs.iter().map(Input::rel).collect();
        assert_eq!(back, rels);
        assert!(
            inputs
                .iter()
                .enumerate()
                .all(|(i, f)| f.size == i as u64 && f.store() == 3)
        );
        assert!(std::sync::Arc::ptr_eq(&inputs[0].folder, &inputs[1].folder));
        assert!(!std::sync::Arc::ptr_eq(
            &inputs[1].folder,
            &inputs[2].folder
        ));
        assert!(inputs[4].cmp_path(&inputs[0]).is_lt());
        assert!(inputs[3].cmp_path(&inputs[2]).is_lt());
    }

    #[test]
    fn names_share_their_ends_only_whole() {
        assert_eq!(
            common_ends(&["a_1.json.gz", "a_2.json.gz"]),
            ("a_", ".json.gz")
        );
        assert_eq!(common_ends(&["ab", "ab"]), ("ab", ""));
        assert_eq!(common_ends(&["abc", "abxbc"]), ("ab", "c"));
        assert_eq!(common_ends(&["x"]), ("x", ""));
        // 'é' and 'è' share their first byte; no name is cut inside it.
        assert_eq!(common_ends(&["aé", "aè"]), ("a", ""));
        assert_eq!(common_ends(&["éa", "èa"]), ("", "a"));
        let rels = ["d/aé.gz", "d/aè.gz", "d/a.gz"];
        let entries = rels
            .iter()
            .map(|rel| Entry {
                rel: (*rel).to_owned(),
                size: 0,
            })
            .collect();
        let inputs = Input::from_entries(0, entries, |_| Span::ALL);
        assert_eq!(inputs.iter().map(Input::rel).collect::<Vec<_>>(), rels);
        assert!(inputs[2].cmp_path(&inputs[1]).is_lt());
        assert!(inputs[1].cmp_path(&inputs[0]).is_lt());
    }
}
