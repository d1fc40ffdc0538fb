//! The bytes of a 64-byte block as bitmasks: the splitter's inner loop.
//!
//! Inside a record the splitter only needs to know, for each byte, whether
//! it is a quote, a backslash, an opening or closing bracket, or a byte
//! that JSON may forbid outside strings. Answering that for 64 bytes at once
//! with vector compares is what lets it run at several GB/s.
//!
//! Two classifiers give the same answers: a portable one (`wide`'s 16-byte
//! vectors, SSE2 on every x86-64 and NEON on aarch64) and, where the CPU has
//! it, AVX2 through `pulp`, chosen at run time. The crate forbids `unsafe`,
//! and calling code compiled for a CPU feature takes `unsafe` in Rust 1.95:
//! `pulp` keeps it inside a dependency, as `wide` does for the portable one.
//! AVX2 halves the compares and can look bytes up in a table, so it marks
//! exactly the forbidden bytes; the portable classifier marks every byte
//! that might be forbidden, and the splitter checks each of those.

use wide::u8x16;

/// The block size the classifiers work on.
pub const BLOCK: usize = 64;

/// One bit per byte of a block (bit `i` for byte `i`).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Marks {
    /// `"`
    pub quotes: u64,
    /// `\`
    pub backslashes: u64,
    /// `{` and `[`
    pub open: u64,
    /// `}` and `]`
    pub close: u64,
    /// At least every byte JSON forbids outside strings (see
    /// [`valid_outside_strings`]); a classifier may mark more.
    pub suspect: u64,
}

/// A way to classify blocks. Every method is inlined into the splitter's
/// loop, which is compiled once per classifier.
pub trait Classify: Copy {
    /// Marks the bytes of `block`.
    fn marks(self, block: &[u8; BLOCK]) -> Marks;
}

/// Whether `b` may appear outside strings in the JSON the splitter accepts:
/// whitespace, structure, and the bytes of numbers and literals. The
/// splitter does not check the grammar of scalars; an unknown byte there
/// means the data is not JSON.
pub const fn valid_outside_strings(b: u8) -> bool {
    let structure = matches!(b, b'"' | b',' | b':' | b'{' | b'}' | b'[' | b']');
    let space = matches!(b, b' ' | b'\t' | b'\n' | b'\r');
    let number = matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E');
    // The letters of `true`, `false` and `null`.
    let literal = matches!(b, b't' | b'r' | b'u' | b'f' | b'a' | b'l' | b's' | b'n');
    structure || space || number || literal
}

/// 16 bytes at a time with `wide`: compares, then each result's top bits
/// gathered into a mask (`pmovmskb` on x86-64, a short sequence on NEON).
#[derive(Clone, Copy)]
pub struct Portable;

impl Classify for Portable {
    // Inlined so that the masks stay in registers: called once per 64
    // bytes, a call and a stack round trip showed as a fifth of the run.
    #[inline(always)]
    fn marks(self, block: &[u8; BLOCK]) -> Marks {
        let [quote, backslash, comma, colon, open, close, case] =
            [b'"', b'\\', b',', b':', b'{', b'}', 0x20].map(u8x16::splat);
        let mut m = Marks::default();
        let mut common = 0;
        for (k, lane) in block.as_chunks::<16>().0.iter().enumerate() {
            let v = u8x16::new(*lane);
            let bits = |x: u8x16| u64::from(x.to_bitmask()) << (16 * k);
            let q = v.simd_eq(quote);
            // `[` and `]` are `{` and `}` with bit 5 clear.
            let folded = v | case;
            m.quotes |= bits(q);
            m.backslashes |= bits(v.simd_eq(backslash));
            m.open |= bits(folded.simd_eq(open));
            m.close |= bits(folded.simd_eq(close));
            common |= bits(q | v.simd_eq(comma) | v.simd_eq(colon));
        }
        m.suspect = !(common | m.open | m.close);
        m
    }
}

#[cfg(target_arch = "x86_64")]
pub use avx2::Avx2;

#[cfg(target_arch = "x86_64")]
mod avx2 {
    use core::arch::x86_64::__m256i;

    use pulp::x86::V3;

    use super::{BLOCK, Classify, Marks, valid_outside_strings};

    /// 32 bytes at a time with AVX2, on CPUs that have it (x86-64-v3).
    #[derive(Clone, Copy)]
    pub struct Avx2(V3);

    impl Avx2 {
        /// Runs `f` with AVX2 enabled, if this CPU has it; `f` and all it
        /// inlines are compiled for AVX2. Otherwise hands `f` back.
        #[inline(always)]
        pub fn run<T, F: FnOnce(Avx2) -> T>(f: F) -> Result<T, F> {
            match V3::try_new() {
                Some(simd) => Ok(simd.vectorize(
                    #[inline(always)]
                    move || f(Avx2(simd)),
                )),
                None => Err(f),
            }
        }
    }

    impl Classify for Avx2 {
        #[inline(always)]
        fn marks(self, block: &[u8; BLOCK]) -> Marks {
            let s = self.0;
            let splat = |b: u8| s.avx._mm256_set1_epi8(b as i8);
            let [quote, backslash, open, close, case, low, zero] =
                [b'"', b'\\', b'{', b'}', 0x20, 0x0f, 0].map(splat);
            let by_low: __m256i = pulp::cast([NIBBLES.0; 2]);
            let by_high: __m256i = pulp::cast([NIBBLES.1; 2]);
            let mut m = Marks::default();
            for (k, half) in block.as_chunks::<32>().0.iter().enumerate() {
                let v: __m256i = pulp::cast(*half);
                let bits = |x: __m256i| {
                    u64::from(s.avx2._mm256_movemask_epi8(x).cast_unsigned()) << (32 * k)
                };
                let eq = |a, b| s.avx2._mm256_cmpeq_epi8(a, b);
                let folded = s.avx2._mm256_or_si256(v, case);
                m.quotes |= bits(eq(v, quote));
                m.backslashes |= bits(eq(v, backslash));
                m.open |= bits(eq(folded, open));
                m.close |= bits(eq(folded, close));
                // A byte is valid when its two nibbles' table entries share
                // a bit (`pshufb` looks up 32 bytes at once).
                let high = s.avx2._mm256_srli_epi16::<4>(v);
                let lo = s
                    .avx2
                    ._mm256_shuffle_epi8(by_low, s.avx2._mm256_and_si256(v, low));
                let hi = s
                    .avx2
                    ._mm256_shuffle_epi8(by_high, s.avx2._mm256_and_si256(high, low));
                m.suspect |= bits(eq(s.avx2._mm256_and_si256(lo, hi), zero));
            }
            m
        }
    }

    /// Tables by low and by high nibble. The valid bytes are a union of
    /// rectangles (a set of high nibbles by a set of low nibbles), one bit
    /// each, so a byte is valid exactly when its two entries share a bit.
    /// Bytes from 0x80 have no entry by high nibble. Every byte is checked
    /// against [`valid_outside_strings`] at compile time, just below. Both
    /// 128-bit halves of a `pshufb` table hold the same 16 entries, as it
    /// looks up within each half.
    const NIBBLES: ([u8; 16], [u8; 16]) = {
        let rects: [(&[u8], &[u8]); 7] = [
            (&[0x0], &[0x9, 0xa, 0xd]),                     // \t \n \r
            (&[0x2], &[0x0, 0x2, 0xb, 0xc, 0xd, 0xe]),      // space " + , - .
            (&[0x3], &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xa]), // 0-9 :
            (&[0x4], &[0x5]),                               // E
            (&[0x6], &[0x1, 0x5, 0x6, 0xc, 0xe]),           // a e f l n
            (&[0x7], &[0x2, 0x3, 0x4, 0x5]),                // r s t u
            (&[0x5, 0x7], &[0xb, 0xd]),                     // [ ] { }
        ];
        let (mut by_low, mut by_high) = ([0u8; 16], [0u8; 16]);
        let mut r = 0;
        while r < rects.len() {
            let (highs, lows) = rects[r];
            let mut i = 0;
            while i < highs.len() {
                by_high[highs[i] as usize] |= 1 << r;
                i += 1;
            }
            let mut i = 0;
            while i < lows.len() {
                by_low[lows[i] as usize] |= 1 << r;
                i += 1;
            }
            r += 1;
        }
        (by_low, by_high)
    };

    const _: () = {
        let mut b = 0;
        while b < 256 {
            let byte = b as u8;
            let valid = NIBBLES.0[(byte & 0xf) as usize] & NIBBLES.1[(byte >> 4) as usize] != 0;
            assert!(valid == valid_outside_strings(byte));
            b += 1;
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every byte value, in every position of a block.
    fn blocks() -> impl Iterator<Item = [u8; BLOCK]> {
        (0..=255u8)
            .map(|shift| std::array::from_fn(|i| (i as u8).wrapping_mul(7).wrapping_add(shift)))
    }

    /// What a classifier must mark; `exact` when it marks only the
    /// forbidden bytes as suspect.
    fn check(c: impl Classify, exact: bool) {
        for block in blocks() {
            let m = c.marks(&block);
            for (i, &b) in block.iter().enumerate() {
                let bit = |mask: u64| mask >> i & 1 == 1;
                assert_eq!(bit(m.quotes), b == b'"', "{b:#x}");
                assert_eq!(bit(m.backslashes), b == b'\\', "{b:#x}");
                assert_eq!(bit(m.open), matches!(b, b'{' | b'['), "{b:#x}");
                assert_eq!(bit(m.close), matches!(b, b'}' | b']'), "{b:#x}");
                if !valid_outside_strings(b) || exact {
                    assert_eq!(bit(m.suspect), !valid_outside_strings(b), "{b:#x}");
                }
            }
        }
    }

    #[test]
    fn portable_marks_every_class() {
        check(Portable, false);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_marks_every_class_exactly() {
        if Avx2::run(|c| check(c, true)).is_err() {
            eprintln!("no AVX2 on this CPU: the AVX2 classifier is not checked");
        }
    }
}
