//! Where one core's time goes, stage by stage, on a corpus (issue 4).
//!
//! Replays keytrail's per-file hot path on one thread over every CloudTrail
//! file under a folder, already in memory so that disk and page cache do not
//! count: whole-file inflate (libdeflate, as keytrail does for small files;
//! flate2/zlib-rs streaming, its fallback, timed separately), record
//! splitting, and the `accessKeyId` field scan that decides what to parse.
//! The shares show what bounds the wall time, and why: a stage that takes
//! half of one core's time bounds two cores at a quarter of the serial total.
//!
//! ```text
//! cargo run --release --example profile_stages -- bench-corpus/AWSLogs [SEED_KEY...]
//! ```

// A measuring tool: its table is its output.
#![allow(clippy::print_stdout)]

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use keytrail::decode::record::key_fields;
use keytrail::decode::split::{Piece, split_slice};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let root = args.next().ok_or("usage: profile_stages FOLDER [KEY...]")?;
    let keys: HashSet<String> = args.collect();
    let mut paths = Vec::new();
    walk(Path::new(&root), &mut paths)?;
    paths.sort();
    let files: Vec<Vec<u8>> = paths.iter().map(std::fs::read).collect::<Result<_, _>>()?;
    let compressed: usize = files.iter().map(Vec::len).sum();

    let mut inflater = libdeflater::Decompressor::new();
    let mut inflated = Vec::new();
    let mut records = Vec::new();
    let (mut inflate, mut split, mut scan) = (Duration::ZERO, Duration::ZERO, Duration::ZERO);
    let (mut json, mut count, mut wanted) = (0usize, 0u64, 0u64);
    for gz in &files {
        let t0 = Instant::now();
        let size = gz
            .len()
            .checked_sub(4)
            .map(|at| u32::from_le_bytes([gz[at], gz[at + 1], gz[at + 2], gz[at + 3]]))
            .ok_or("not a gzip file")? as usize;
        inflated.resize(size, 0);
        inflater.gzip_decompress(gz, &mut inflated)?;
        let t1 = Instant::now();
        records.clear();
        split_slice(&inflated, |piece| {
            let (Piece::Record(r) | Piece::TopLevel(r)) = piece;
            records.push(r.as_ptr() as usize - inflated.as_ptr() as usize..r.len());
        })
        .map_err(|e| format!("{e:?}"))?;
        let t2 = Instant::now();
        for r in &records {
            let record = &inflated[r.start..r.start + r.end];
            let hit =
                key_fields(record).any(|k| std::str::from_utf8(k).is_ok_and(|k| keys.contains(k)));
            wanted += u64::from(hit);
        }
        let t3 = Instant::now();
        inflate += t1 - t0;
        split += t2 - t1;
        scan += t3 - t2;
        json += size;
        count += records.len() as u64;
    }

    let t = Instant::now();
    let mut sink = Vec::new();
    for gz in &files {
        sink.clear();
        flate2::read::MultiGzDecoder::new(&gz[..]).read_to_end(&mut sink)?;
    }
    let zlib = t.elapsed();

    let total = inflate + split + scan;
    let mb = json as f64 / 1e6;
    println!(
        "{} files, {:.0} MB gzip, {mb:.0} MB JSON, {count} records, {wanted} with a given key",
        files.len(),
        compressed as f64 / 1e6,
    );
    println!("| stage (one core) | s | MB/s of JSON | share |");
    println!("|---|---:|---:|---:|");
    for (stage, d) in [
        ("inflate (libdeflate, whole file)", inflate),
        ("split records (64-byte blocks)", split),
        ("accessKeyId field scan + lookup", scan),
        ("total", total),
    ] {
        let s = d.as_secs_f64();
        println!(
            "| {stage} | {s:.2} | {:.0} | {:.0} % |",
            mb / s,
            100.0 * s / total.as_secs_f64()
        );
    }
    println!(
        "| *for reference:* inflate (flate2 zlib-rs, streaming) | {:.2} | {:.0} | |",
        zlib.as_secs_f64(),
        mb / zlib.as_secs_f64()
    );
    println!(
        "Two cores cannot finish in less than {:.2} s; inflating alone needs {:.2} s.",
        total.as_secs_f64() / 2.0,
        inflate.as_secs_f64() / 2.0
    );
    Ok(())
}

/// Every `.json.gz` under `dir` in a `CloudTrail` folder (not digests).
fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            walk(&path, out)?;
        } else if path.to_string_lossy().ends_with(".json.gz")
            && path.components().any(|c| c.as_os_str() == "CloudTrail")
        {
            out.push(path);
        }
    }
    Ok(())
}
