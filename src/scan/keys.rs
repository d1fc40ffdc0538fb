//! Which key ids a read looks for, and which it has looked for.
//!
//! Every file keeps the set of keys it was searched for, so a key learned
//! late re-reads only what was never searched for it. Keys therefore get a
//! stable small id (their position in the [`Matcher`]), and a file's set is a
//! bit set over those ids: a word for the usual case of under 64 keys.
//!
//! A console session's key is not named by any minting event: it is found
//! through the principal ARN its sign-in token was issued for. Those ARNs
//! are watched too, as [`Needle::Arn`], in the same id space; records are
//! searched for them only while there are some, which is rare.

use std::collections::HashMap;
use std::sync::Arc;

use aho_corasick::packed::Searcher;
use memchr::memmem::Finder;

use super::Watchlist;
use super::filter::key_hash;
use crate::model::AccessKeyId;
use crate::time::Span;

/// The key ids being looked for, with their windows.
///
/// Keys are only ever added, and each keeps its position: that position is
/// its id in a [`KeySet`], so sets made against an older matcher stay valid.
#[derive(Clone)]
pub(super) struct Matcher {
    pub(super) keys: Vec<(Needle, Span)>,
    /// The ids of the [`Needle::Arn`]s: records are searched for them only
    /// when there are any.
    pub(super) arns: Vec<usize>,
    /// All the ARNs at once: one pass over a record tells whether any of
    /// them is there, where a [`Finder`] each would take a pass per ARN
    /// (footholds watch a dozen names, and most records hold none).
    any_arn: Option<Arc<Searcher>>,
    /// Ids by the [`key_hash`] of their key: the scan hashes every
    /// `accessKeyId` value it meets for the file's filter anyway.
    ids: HashMap<u64, Vec<usize>>,
    seeds: KeySet,
}

impl Matcher {
    pub(super) fn new(watch: &impl Watchlist) -> Matcher {
        let empty = Matcher {
            keys: Vec::new(),
            arns: Vec::new(),
            any_arn: None,
            ids: HashMap::new(),
            seeds: KeySet::default(),
        };
        empty.grown(watch)
    }

    /// This matcher with the keys the watch list gained since it was made.
    pub(super) fn grown(&self, watch: &impl Watchlist) -> Matcher {
        let mut grown = self.clone();
        let arns_before = grown.arns.len();
        for (k, w) in watch.windows() {
            let hash = key_hash(k.as_str().as_bytes());
            // A window can widen (another mint of the id, another sign-in):
            // the id stays, so files already searched for it stay searched,
            // and the files newly inside the window are pending.
            if let Some(id) = grown.id(k.as_str().as_bytes(), hash) {
                grown.keys[id].1 = *w;
            } else {
                let id = grown.keys.len();
                if watch.seeds().contains(k) {
                    grown.seeds.insert(id);
                }
                grown.ids.entry(hash).or_default().push(id);
                grown.keys.push((Needle::Key(k.clone()), *w));
            }
        }
        for (arn, w) in watch.arns() {
            let known = grown
                .arns
                .iter()
                .copied()
                .find(|&id| grown.arn(id).is_some_and(|f| f.needle() == arn.as_bytes()));
            if let Some(id) = known {
                grown.keys[id].1 = *w;
            } else {
                grown.arns.push(grown.keys.len());
                let finder = Box::new(Finder::new(arn.as_bytes()).into_owned());
                grown.keys.push((Needle::Arn(finder), *w));
            }
        }
        if grown.arns.len() != arns_before {
            let arns = grown.arns.iter().filter_map(|&id| grown.arn(id));
            // The packed (SIMD Teddy) searcher itself, not an `AhoCorasick`:
            // the names all start with `"` or `/`, and for so few distinct
            // first bytes the automaton picks a start-byte prefilter that
            // stops at every quote of the JSON (measured 4x slower than a
            // `memmem` per name). Without SIMD there is no searcher, and
            // every record is searched name by name instead: slower, never
            // less.
            grown.any_arn = Searcher::new(arns.map(|f| f.needle())).map(Arc::new);
        }
        grown
    }

    /// Whether a record may hold a watched ARN: false only when it holds
    /// none of them.
    pub(super) fn may_hold_arn(&self, record: &[u8]) -> bool {
        !self.arns.is_empty()
            && self
                .any_arn
                .as_ref()
                .is_none_or(|s| s.find(record).is_some())
    }

    /// The finder of the ARN with this id.
    pub(super) fn arn(&self, id: usize) -> Option<&Finder<'static>> {
        match &self.keys.get(id)?.0 {
            Needle::Arn(f) => Some(f),
            Needle::Key(_) => None,
        }
    }

    /// The id of a key found in a record, with its [`key_hash`], if it is
    /// watched.
    pub(super) fn id(&self, key: &[u8], hash: u64) -> Option<usize> {
        self.ids
            .get(&hash)?
            .iter()
            .copied()
            .find(|&id| matches!(&self.keys[id].0, Needle::Key(k) if k.as_str().as_bytes() == key))
    }

    /// The keys a file with this span has to be searched for: those whose
    /// window it overlaps, and the seeds, whose deactivation can come after
    /// `--until` and decides what counts as after deactivation.
    pub(super) fn relevant(&self, span: &Span) -> impl Iterator<Item = usize> {
        self.keys
            .iter()
            .enumerate()
            .filter(move |(id, (_, w))| w.overlaps(span) || self.seeds.contains(*id))
            .map(|(id, _)| id)
    }
}

/// What a record is searched for.
#[derive(Clone)]
pub(super) enum Needle {
    /// A key id, in the record's `accessKeyId` fields.
    Key(AccessKeyId),
    /// A principal ARN whose console sign-in is followed, anywhere in the
    /// record.
    Arn(Box<Finder<'static>>),
}

/// A set of watched keys, by id: a word for the first 64, so the few bytes
/// kept per file do not grow with the number of keys in the usual case.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(super) struct KeySet {
    first: u64,
    rest: Box<[u64]>,
}

impl KeySet {
    fn word(&self, id: usize) -> u64 {
        match id / 64 {
            0 => self.first,
            n => self.rest.get(n - 1).copied().unwrap_or(0),
        }
    }

    pub(super) fn contains(&self, id: usize) -> bool {
        self.word(id) & (1 << (id % 64)) != 0
    }

    pub(super) fn insert(&mut self, id: usize) {
        let word = match id / 64 {
            0 => &mut self.first,
            n => {
                self.grow(n);
                &mut self.rest[n - 1]
            }
        };
        *word |= 1 << (id % 64);
    }

    pub(super) fn extend(&mut self, other: &KeySet) {
        self.first |= other.first;
        self.grow(other.rest.len());
        for (a, b) in self.rest.iter_mut().zip(&other.rest) {
            *a |= b;
        }
    }

    fn grow(&mut self, words: usize) {
        if self.rest.len() < words {
            let mut rest = std::mem::take(&mut self.rest).into_vec();
            rest.resize(words, 0);
            self.rest = rest.into_boxed_slice();
        }
    }

    pub(super) fn is_empty(&self) -> bool {
        self.first == 0 && self.rest.iter().all(|w| *w == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::KeySet;

    #[test]
    fn key_sets_past_one_word() {
        let mut a = KeySet::default();
        assert!(a.is_empty());
        for id in [0, 63, 64, 200] {
            a.insert(id);
        }
        assert!([0, 63, 64, 200].iter().all(|&id| a.contains(id)));
        assert!(!a.contains(1) && !a.contains(65) && !a.contains(1000));
        let mut b = KeySet::default();
        b.insert(5);
        b.extend(&a);
        assert!(b.contains(5) && b.contains(200) && !b.is_empty());
    }
}
