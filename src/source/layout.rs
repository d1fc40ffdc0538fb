//! The CloudTrail delivery layout, and pruning by time.
//!
//! CloudTrail delivers to `[PREFIX/]AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/`,
//! where the date is the *delivery* day. An event lands in the folder of its
//! own day or, when delivered late, of a later one. So a file in day `D` can
//! hold events from `D − margin` to the end of `D`, and a key's window
//! `[a, b]` needs only the days `day(a) ..= day(b + margin)`.
//!
//! This module walks any [`Store`] with delimiter listings: accounts and
//! regions are discovered, but day folders are listed only when a window asks
//! for them. Local folders and S3 prefixes go through the same code, so both
//! read exactly the same files.
//! <https://docs.aws.amazon.com/awscloudtrail/latest/userguide/get-and-view-cloudtrail-log-files.html>

use std::collections::BTreeSet;
use std::time::Duration;

use chrono::{Datelike, NaiveDate};

use super::{Input, ListError, Listing, PassedOver, Store};
use crate::time::{Span, Timestamp};

/// Folders beside `CloudTrail/` that are skipped by design.
const BY_DESIGN: &[(&str, &str)] = &[
    (
        "CloudTrail-Digest",
        "digest files (integrity hashes, no events)",
    ),
    (
        "CloudTrail-Insight",
        "Insights events (no credential activity)",
    ),
];

/// The object a CloudWatch Logs export task writes to test its access.
const EXPORT_PROBE: &str = "aws-logs-write-test";

/// Where a folder sits in the delivery layout.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Position {
    Free,
    AwsLogs,
    Org,
    Account(String),
    /// A folder beside `CloudTrail/` in an account (digests, Insights, or
    /// anything else): passed over by design when a walk meets it.
    Aside,
    CloudTrail(String),
    /// A `CloudTrail/REGION/` folder, of this account.
    Region(String),
    /// Inside a region folder: a year, month or day.
    InRegion,
}

impl Position {
    /// Where a folder named `name` inside one at this position sits.
    fn child(&self, name: &str) -> Position {
        match (self, name) {
            (_, "AWSLogs") => Position::AwsLogs,
            (Position::AwsLogs, n) if n.starts_with("o-") => Position::Org,
            (Position::AwsLogs | Position::Org, n) if is_account(n) => {
                Position::Account(n.to_owned())
            }
            (Position::Account(a), "CloudTrail") => Position::CloudTrail(a.clone()),
            (Position::Account(_), _) => Position::Aside,
            (Position::CloudTrail(a), _) => Position::Region(a.clone()),
            (Position::Region(_) | Position::InRegion, _) => Position::InRegion,
            _ => Position::Free,
        }
    }
}

/// One `…/CloudTrail/REGION/` folder, whose day folders are listed on demand.
#[derive(Debug)]
pub struct RegionRoot {
    store: usize,
    dir: String,
    /// The account the folder belongs to.
    pub account: String,
    /// The region the folder belongs to.
    pub region: String,
    available: Option<Vec<NaiveDate>>,
    listed: BTreeSet<NaiveDate>,
}

/// What expanding a region found.
#[derive(Debug, Default)]
pub struct Expansion {
    /// Files in the newly listed day folders.
    pub inputs: Vec<Input>,
    /// Entries passed over while listing them.
    pub passed_over: Vec<PassedOver>,
    /// The day folder of each input, in the same order.
    pub input_days: Vec<NaiveDate>,
    /// The day folder of each entry passed over, in the same order;
    /// `None` for those met while finding the day folders.
    pub passed_over_days: Vec<Option<NaiveDate>>,
}

/// What a walk of a source found before any day folder was listed.
#[derive(Debug, Default)]
pub struct Catalog {
    /// Files outside the region folders, each with the span its path gives
    /// (all time, outside the layout).
    pub free: Vec<Input>,
    /// Region folders, expanded day by day.
    pub regions: Vec<RegionRoot>,
    /// Entries passed over, by design or because they could not be read.
    pub passed_over: Vec<PassedOver>,
}

/// Lists folders of one level of a walk, returning their listings in the
/// order given. The orchestrator lists them side by side: against S3 each is
/// a round trip, and an organization has a folder per account.
pub type ListLevel<'a> = &'a dyn Fn(&[String]) -> Vec<Result<Listing, ListError>>;

impl Catalog {
    /// Walks `dir` of `store` down to the region folders, a level at a time.
    ///
    /// Where `dir` sits is read from the whole path, the store's root
    /// included: an analyst points keytrail at `~/case/AWSLogs` or at one
    /// region's folder as often as at the folder above.
    pub fn discover(
        &mut self,
        store: &dyn Store,
        store_idx: usize,
        dir: &str,
        margin: Duration,
        list_level: ListLevel<'_>,
    ) -> Result<(), ListError> {
        let here = format!("{}{dir}", store.root_path());
        let position = match position_of(&here) {
            Position::Region(account) => {
                // The folder named as the source: its own files are read
                // too, and a region without day folders (or the key of a
                // single object) needs no listing by day.
                let dirs = self.add_listing(store, store_idx, store.list_dir(dir)?, margin);
                if !dirs.is_empty() {
                    let region = last_component(&here).to_owned();
                    self.regions
                        .push(RegionRoot::new(store_idx, account, region, dir.to_owned()));
                }
                return Ok(());
            }
            Position::InRegion => {
                // Already inside a region: small enough to list in full.
                self.add_listing(store, store_idx, store.list_all(dir)?, margin);
                return Ok(());
            }
            // Named as the source, a folder beside `CloudTrail/` is read.
            Position::Aside => Position::Free,
            position => position,
        };
        let mut level = vec![(dir.to_owned(), position)];
        while !level.is_empty() {
            let dirs: Vec<String> = level.iter().map(|(dir, _)| dir.clone()).collect();
            let mut next = Vec::new();
            for ((_, position), listing) in level.into_iter().zip(list_level(&dirs)) {
                let subs = self.add_listing(store, store_idx, listing?, margin);
                if let Position::CloudTrail(account) = &position {
                    for sub in subs {
                        let region = last_component(&sub).to_owned();
                        self.regions
                            .push(RegionRoot::new(store_idx, account.clone(), region, sub));
                    }
                    continue;
                }
                for sub in subs {
                    let name = last_component(&sub);
                    match position.child(name) {
                        Position::Aside => {
                            let reason = BY_DESIGN
                                .iter()
                                .find(|(d, _)| *d == name)
                                .map_or("not CloudTrail logs", |(_, why)| *why);
                            self.passed_over.push(PassedOver {
                                name: store.display(&sub),
                                reason: format!("skipped by design: {reason}"),
                                failure: false,
                            });
                        }
                        child => next.push((sub, child)),
                    }
                }
            }
            level = next;
        }
        Ok(())
    }

    /// Takes in a listing made outside the region folders' lazy day
    /// listings: what it passed over, and its files, each with the span its
    /// whole path gives. Returns its folders.
    fn add_listing(
        &mut self,
        store: &dyn Store,
        store_idx: usize,
        mut listing: Listing,
        margin: Duration,
    ) -> Vec<String> {
        self.passed_over.extend(listing.passed_over);
        // CloudWatch Logs writes this object at the top of an export task's
        // prefix to check its permissions: it holds no events.
        listing.files.retain(|f| {
            let probe = last_component(&f.rel) == EXPORT_PROBE;
            if probe {
                self.passed_over.push(PassedOver {
                    name: store.display(&f.rel),
                    reason:
                        "skipped by design: CloudWatch Logs export permission check (no events)"
                            .into(),
                    failure: false,
                });
            }
            !probe
        });
        let mut path = store.root_path().to_owned();
        let root = path.len();
        self.free
            .extend(Input::from_entries(store_idx, listing.files, |rel| {
                path.truncate(root);
                path.push_str(rel);
                span_of(&path, margin)
            }));
        listing.dirs
    }
}

impl RegionRoot {
    fn new(store: usize, account: String, region: String, dir: String) -> RegionRoot {
        RegionRoot {
            store,
            dir,
            account,
            region,
            available: None,
            listed: BTreeSet::new(),
        }
    }

    /// Lists the day folders that events in `window` can have been delivered
    /// to and that were not listed before, returning their files.
    pub fn expand(
        &mut self,
        store: &dyn Store,
        window: Span,
        margin: Duration,
    ) -> Result<Expansion, ListError> {
        let mut out = Expansion::default();
        let (first, last) = listed_days(window, margin);
        let days: Vec<NaiveDate> = match (first, last) {
            // Name the day folders directly, unless a crafted far-future
            // expiry would make that millions of listings.
            (Some(first), Some(last)) if (last - first).num_days() <= MAX_NAMED_DAYS => {
                first.iter_days().take_while(|d| *d <= last).collect()
            }
            _ => self
                .available_days(store, &mut out.passed_over)?
                .iter()
                .copied()
                .filter(|d| first.is_none_or(|f| *d >= f) && last.is_none_or(|l| *d <= l))
                .collect(),
        };
        for day in days {
            if !self.listed.insert(day) {
                continue;
            }
            let dir = format!(
                "{}{:04}/{:02}/{:02}/",
                self.dir,
                day.year(),
                day.month(),
                day.day()
            );
            let listing = store.list_all(&dir)?;
            out.passed_over_days.resize(out.passed_over.len(), None);
            out.passed_over.extend(listing.passed_over);
            out.passed_over_days
                .resize(out.passed_over.len(), Some(day));
            out.inputs
                .extend(Input::from_entries(self.store, listing.files, |rel| {
                    file_span(day, rel, margin)
                }));
            out.input_days.resize(out.inputs.len(), day);
        }
        out.passed_over_days.resize(out.passed_over.len(), None);
        Ok(out)
    }

    /// The store this region lives in.
    pub fn store(&self) -> usize {
        self.store
    }

    fn available_days(
        &mut self,
        store: &dyn Store,
        passed_over: &mut Vec<PassedOver>,
    ) -> Result<&[NaiveDate], ListError> {
        if self.available.is_none() {
            let mut list = |dir: &str| -> Result<Vec<String>, ListError> {
                let listing = store.list_dir(dir)?;
                passed_over.extend(listing.passed_over);
                Ok(listing.dirs)
            };
            let mut days = Vec::new();
            for year in list(&self.dir)? {
                let Ok(y) = last_component(&year).parse::<i32>() else {
                    continue;
                };
                for month in list(&year)? {
                    let Ok(m) = last_component(&month).parse::<u32>() else {
                        continue;
                    };
                    for day in list(&month)? {
                        let d = last_component(&day).parse::<u32>().ok();
                        days.extend(d.and_then(|d| NaiveDate::from_ymd_opt(y, m, d)));
                    }
                }
            }
            days.sort_unstable();
            self.available = Some(days);
        }
        Ok(self.available.as_deref().unwrap_or_default())
    }
}

fn last_component(dir: &str) -> &str {
    dir.trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
}

fn is_account(s: &str) -> bool {
    s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit())
}

fn day_span(day: NaiveDate, margin: Duration) -> Span {
    let start = Timestamp::start_of(day);
    Span {
        start: start.minus(margin),
        end: start.plus(Duration::from_millis(86_400_000 - 1)),
    }
}

/// Where the folder at `path` sits in the layout.
fn position_of(path: &str) -> Position {
    path.split('/')
        .filter(|p| !p.is_empty())
        .fold(Position::Free, |at, name| at.child(name))
}

/// The event times a file at `path` can hold, from its delivery folder.
pub fn span_of(path: &str, margin: Duration) -> Span {
    let parts: Vec<&str> = path.split('/').collect();
    let Some(at) = parts.iter().rposition(|p| *p == "CloudTrail") else {
        return security_lake_day(&parts).map_or(Span::ALL, |d| day_span(d, margin));
    };
    // CloudTrail/REGION/YYYY/MM/DD/file
    let rest = &parts[at + 1..];
    if rest.len() != 5 || !is_account(parts.get(at.wrapping_sub(1)).copied().unwrap_or("")) {
        return Span::ALL;
    }
    let date = (|| {
        NaiveDate::from_ymd_opt(
            rest[1].parse().ok()?,
            rest[2].parse().ok()?,
            rest[3].parse().ok()?,
        )
    })();
    date.map_or(Span::ALL, |d| file_span(d, rest[4], margin))
}

/// The `eventDay=YYYYMMDD` partition of a Security Lake object
/// (`…/region=R/accountId=A/eventDay=YYYYMMDD/…`): its events are of that
/// day, or, if the partition went by the day it was ingested, delivered
/// that day, so of the day before at most `margin` earlier.
fn security_lake_day(parts: &[&str]) -> Option<NaiveDate> {
    let day = parts
        .iter()
        .rev()
        .find_map(|p| p.strip_prefix("eventDay="))?;
    // Some tables add the hour (`YYYYMMDDHH`).
    let ymd = day.get(..8).filter(|_| matches!(day.len(), 8 | 10))?;
    NaiveDate::parse_from_str(ymd, "%Y%m%d").ok()
}

/// The first and last day folders a window's events can have been
/// delivered to (`None`: unbounded on that side). A region's day folder is
/// listed when it lies between them.
pub fn listed_days(window: Span, margin: Duration) -> (Option<NaiveDate>, Option<NaiveDate>) {
    (
        window.start.minus(STAMP_SLACK).date(),
        window.end.plus(margin).date(),
    )
}

/// Longest window whose day folders are listed by name rather than found
/// by listing the region.
const MAX_NAMED_DAYS: i64 = 400;

/// Slack after a file's delivery stamp, in case a writer stamps the start of
/// its batch rather than the delivery.
const STAMP_SLACK: Duration = Duration::from_secs(15 * 60);

/// The span of a file in day folder `day`: narrowed to `[stamp − margin,
/// stamp + slack]` when its name carries CloudTrail's delivery stamp
/// (`ACCOUNT_CloudTrail_REGION_YYYYMMDDTHHmmZ_UNIQUE.json.gz`).
fn file_span(day: NaiveDate, name: &str, margin: Duration) -> Span {
    let whole_day = day_span(day, margin);
    let name = name.rsplit('/').next().unwrap_or(name);
    let stamp = name.split('_').find_map(|part| {
        let t = chrono::NaiveDateTime::parse_from_str(part, "%Y%m%dT%H%MZ").ok()?;
        (t.date() == day).then(|| Timestamp::from_millis(t.and_utc().timestamp_millis()))
    });
    match stamp {
        Some(t) => Span {
            start: t.minus(margin),
            end: t.plus(STAMP_SLACK),
        },
        None => whole_day,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H6: Duration = Duration::from_secs(6 * 3600);

    #[test]
    fn spans_from_delivery_paths() {
        let s = span_of(
            "x/AWSLogs/o-abc/111111111111/CloudTrail/us-east-1/2025/12/08/f.json.gz",
            H6,
        );
        assert_eq!(s.start.to_string(), "2025-12-07T18:00:00Z");
        assert_eq!(s.end.to_string(), "2025-12-08T23:59:59.999Z");
        assert_eq!(span_of("loose/file.json", H6), Span::ALL);
        assert_eq!(
            span_of(
                "o-abc/AWSLogs/o-abc/111111111111/CloudTrail/us-east-1/2025/12/08/f.json.gz",
                H6
            )
            .start
            .to_string(),
            "2025-12-07T18:00:00Z"
        );
        let s = span_of(
            "lake/aws/CLOUD_TRAIL_MGMT/2.0/region=us-east-1/accountId=111111111111/eventDay=20251208/x.gz.parquet",
            H6,
        );
        assert_eq!(s.start.to_string(), "2025-12-07T18:00:00Z");
        assert_eq!(s.end.to_string(), "2025-12-08T23:59:59.999Z");
        assert_eq!(span_of("lake/eventDay=2025120/x.parquet", H6), Span::ALL);
        let s = span_of(
            "AWSLogs/111111111111/CloudTrail/us-east-1/2025/12/08/111111111111_CloudTrail_us-east-1_20251208T1405Z_ab12.json.gz",
            H6,
        );
        assert_eq!(s.start.to_string(), "2025-12-08T08:05:00Z");
        assert_eq!(s.end.to_string(), "2025-12-08T14:20:00Z");
        assert_eq!(
            span_of("AWSLogs/111111111111/CloudTrail/us-east-1/2025/13/08/f", H6),
            Span::ALL
        );
        assert_eq!(
            span_of(
                "AWSLogs/111111111111/CloudTrail-Digest/us-east-1/2025/12/08/f",
                H6
            ),
            Span::ALL
        );
    }

    #[test]
    fn positions() {
        assert_eq!(position_of(""), Position::Free);
        assert_eq!(position_of("p/AWSLogs/"), Position::AwsLogs);
        assert_eq!(position_of("/home/a/case/AWSLogs/"), Position::AwsLogs);
        assert_eq!(position_of("AWSLogs/o-x1/"), Position::Org);
        assert_eq!(
            position_of("AWSLogs/o-x1/111111111111/CloudTrail/"),
            Position::CloudTrail("111111111111".into())
        );
        assert_eq!(
            position_of("AWSLogs/111111111111/CloudTrail/us-east-1/"),
            Position::Region("111111111111".into())
        );
        assert_eq!(
            position_of("AWSLogs/111111111111/CloudTrail/us-east-1/2025/12/"),
            Position::InRegion
        );
        assert_eq!(position_of("AWSLogs/111111111111/other/"), Position::Aside);
        assert_eq!(position_of("AWSLogs/111111111111/other/x/"), Position::Free);
        // Control Tower: the organization id above `AWSLogs` and inside it.
        assert_eq!(
            position_of("o-x1/AWSLogs/o-x1/222222222222/CloudTrail/eu-west-1/"),
            Position::Region("222222222222".into())
        );
        // A custom prefix above `AWSLogs`, however deep.
        assert_eq!(
            position_of("landing-zone/logs/2025/AWSLogs/222222222222/CloudTrail/"),
            Position::CloudTrail("222222222222".into())
        );
        // Off the layout below an `AWSLogs`, until the next one.
        assert_eq!(position_of("/srv/AWSLogs/case/"), Position::Free);
        assert_eq!(
            position_of("/srv/AWSLogs/case/AWSLogs/o-x1/222222222222/"),
            Position::Account("222222222222".into())
        );
    }
}
