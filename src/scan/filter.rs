//! What a file read whole may hold, in about 100 bytes.
//!
//! A key learned after files in its window were read (a late-delivered
//! `CreateAccessKey`, a file outside the layout) means those files must be
//! read again. Keeping each file's key ids exactly would cost memory that
//! grows with the archive; a small Bloom filter per file instead re-reads
//! only the few files that may hold the key.

use crate::model::AccessKeyId;

/// How much of a file was read.
#[derive(Clone, Copy, Default)]
pub(super) enum Seen {
    #[default]
    Unread,
    /// Read, but not whole: it may hold any key.
    Partly,
    /// Read whole: the key ids it holds are in [`Filters`] at `at`.
    Whole { at: u32, len: u16 },
    /// Not a log of events (a digest): it holds nothing to look for.
    NotEvents,
}

/// The [`KeyFilter`]s of the files read whole, one after another, in chunks:
/// a single vector would at times hold room for twice the filters.
#[derive(Default)]
pub(super) struct Filters {
    chunks: Vec<Vec<u64>>,
}

impl Filters {
    const CHUNK: usize = 4096;

    /// Keeps a filter, returning how the file's [`Seen`] finds it.
    pub(super) fn add(&mut self, words: &[u64]) -> Seen {
        if self
            .chunks
            .last()
            .is_none_or(|c| c.len() + words.len() > Self::CHUNK)
        {
            self.chunks.push(Vec::with_capacity(Self::CHUNK));
        }
        let last = self.chunks.len() - 1;
        let chunk = &mut self.chunks[last];
        let at = u32::try_from(last * Self::CHUNK + chunk.len());
        match (at, u16::try_from(words.len())) {
            (Ok(at), Ok(len)) if words.len() <= Self::CHUNK => {
                chunk.extend_from_slice(words);
                Seen::Whole { at, len }
            }
            _ => Seen::Partly,
        }
    }

    /// Whether a file may hold `key`, as far as its reads tell.
    pub(super) fn may_hold(&self, seen: Seen, key: &AccessKeyId) -> bool {
        let (at, len) = match seen {
            Seen::Whole { at, len } => (at, len),
            Seen::NotEvents => return false,
            Seen::Unread | Seen::Partly => return true,
        };
        let (chunk, from) = (at as usize / Self::CHUNK, at as usize % Self::CHUNK);
        self.chunks
            .get(chunk)
            .and_then(|c| c.get(from..from + usize::from(len)))
            .is_none_or(|words| KeyFilter(words).may_contain(key.as_str().as_bytes()))
    }
}

/// A Bloom filter of the key ids in one file's `accessKeyId` fields. The
/// scan keeps one for every file read, so it is sized to the file's distinct
/// ids: 12 bits each and 6 hashes (about 0.4 % false positives), in whole
/// words, at most 4096 (32 KiB, 21,000 ids: a delivered 5-minute file holds
/// up to about 150, a CloudWatch Logs export object thousands). A false
/// positive costs one needless re-read when a key is discovered late, and a
/// saturated filter re-reads an export object, tens of MB, for every key
/// found late. On the benchmark corpus that is about 100 bytes a file and
/// 270 re-reads, where a fixed 128 bytes gave 256, 10 bits a key 312, and a
/// fixed 64 bytes 708.
pub(super) struct KeyFilter<W>(pub(super) W);

impl KeyFilter<Vec<u64>> {
    const BITS_PER_KEY: usize = 12;
    const MAX_WORDS: usize = Filters::CHUNK;

    /// The filter of the ids with these hashes (sorted and deduplicated).
    pub(super) fn of(hashes: &mut Vec<u64>) -> Self {
        hashes.sort_unstable();
        hashes.dedup();
        let words = (hashes.len() * Self::BITS_PER_KEY).div_ceil(64);
        let mut f = KeyFilter(vec![0; words.min(Self::MAX_WORDS)]);
        for &h in hashes.iter() {
            for p in positions(h, f.0.len()) {
                f.0[p / 64] |= 1 << (p % 64);
            }
        }
        f
    }
}

impl KeyFilter<&[u64]> {
    pub(super) fn may_contain(&self, key: &[u8]) -> bool {
        let words = self.0;
        !words.is_empty()
            && positions(key_hash(key), words.len()).all(|p| words[p / 64] & (1 << (p % 64)) != 0)
    }
}

/// FNV-1a of a key id: its two halves serve as the two hashes of double
/// hashing.
pub(super) fn key_hash(key: &[u8]) -> u64 {
    key.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// The bits of a key with hash `h` in a filter of `words` words.
fn positions(h: u64, words: usize) -> impl Iterator<Item = usize> {
    const HASHES: usize = 6;
    let bits = words * 64;
    let (a, b) = (h as u32 as usize, (h >> 32) as usize | 1);
    (0..HASHES).map(move |i| a.wrapping_add(b.wrapping_mul(i)) % bits)
}

#[cfg(test)]
mod tests {
    use super::{Filters, KeyFilter, Seen, key_hash};
    use crate::model::AccessKeyId;

    fn filter_of(keys: &[String]) -> KeyFilter<Vec<u64>> {
        KeyFilter::of(&mut keys.iter().map(|k| key_hash(k.as_bytes())).collect())
    }

    fn false_positives(f: &KeyFilter<Vec<u64>>) -> usize {
        (0..10_000)
            .filter(|i| {
                KeyFilter(&f.0[..]).may_contain(format!("AKIAEXAMPLENONE{i:05}").as_bytes())
            })
            .count()
    }

    #[test]
    fn key_filter_holds_what_was_inserted_and_little_else() {
        for (n, words, at_most) in [
            (5, 1, 150),
            (40, 8, 100),
            (100, 19, 100),
            (400, 75, 100),
            (30_000, 4096, 400),
        ] {
            let held: Vec<String> = (0..n).map(|i| format!("ASIAEXAMPLEHELD{i:05}")).collect();
            let f = filter_of(&held);
            assert_eq!(f.0.len(), words, "{n} keys");
            assert!(
                held.iter()
                    .all(|k| KeyFilter(&f.0[..]).may_contain(k.as_bytes()))
            );
            // 0.4 % expected at 12 bits a key, and for 100 keys in 1024 bits; a
            // one-word filter does worse, about 1 %.
            let misses = false_positives(&f);
            assert!(
                misses < at_most,
                "{misses} false positives in 10,000 for {n} keys"
            );
        }
    }

    #[test]
    fn filters_answer_for_each_file_across_chunks() {
        let key = |i: usize| AccessKeyId::parse(&format!("ASIAEXAMPLEHELD{i:05}")).unwrap();
        let mut filters = Filters::default();
        // Enough one-word filters to fill more than a chunk; file i holds
        // keys i and i + 1.
        let seen: Vec<Seen> = (0..5000)
            .map(|i| filters.add(&filter_of(&[key(i), key(i + 1)].map(|k| k.to_string())).0))
            .collect();
        assert!(filters.chunks.len() > 1);
        for (i, s) in seen.iter().enumerate() {
            assert!(matches!(s, Seen::Whole { .. }));
            assert!(filters.may_hold(*s, &key(i)) && filters.may_hold(*s, &key(i + 1)));
        }
        let strays = (0..1000)
            .filter(|&i| filters.may_hold(seen[i], &key(i + 500)))
            .count();
        assert!(
            strays < 20,
            "{strays} of 1000 files may hold a key they do not"
        );
        assert!(filters.may_hold(Seen::Unread, &key(0)) && filters.may_hold(Seen::Partly, &key(0)));
        // A digest's empty filter holds nothing.
        let digest = filters.add(&[]);
        assert!(!filters.may_hold(digest, &key(0)));
    }

    #[test]
    fn a_file_without_keys_holds_none() {
        let f = filter_of(&[]);
        assert!(f.0.is_empty());
        assert_eq!(false_positives(&f), 0);
        // Repeats of one id take the room of one.
        assert_eq!(
            filter_of(&vec!["ASIAEXAMPLEHELD00001".to_owned(); 50])
                .0
                .len(),
            1
        );
    }
}
