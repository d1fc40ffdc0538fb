//! Timestamps, and the many ways CloudTrail writes them.
//!
//! `eventTime` is ISO 8601 in delivered logs, but exporters rewrite it
//! (`2021-01-01 01:01:01.000000000`, local offsets), and STS writes credential
//! expirations in a US locale (`Dec 10, 2025, 2:03:12 AM`). Every form is
//! parsed here, once, into one UTC type, so no other stage ever sees a string
//! time.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, NaiveDate, NaiveDateTime, SecondsFormat, TimeZone, Utc};
use serde::{Serialize, Serializer};

/// An instant in UTC, with millisecond precision.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Timestamp(i64);

impl Timestamp {
    /// The earliest representable instant, used for open lower bounds.
    pub const MIN: Timestamp = Timestamp(i64::MIN);
    /// The latest representable instant, used for open upper bounds.
    pub const MAX: Timestamp = Timestamp(i64::MAX);

    /// From milliseconds since the Unix epoch.
    pub fn from_millis(ms: i64) -> Timestamp {
        Timestamp(ms)
    }

    /// Milliseconds since the Unix epoch.
    pub fn as_millis(self) -> i64 {
        self.0
    }

    /// The current time.
    pub fn now() -> Timestamp {
        Timestamp(Utc::now().timestamp_millis())
    }

    /// This instant moved forward, saturating at the ends of time.
    pub fn plus(self, d: Duration) -> Timestamp {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_add(ms))
    }

    /// This instant moved back, saturating at the ends of time.
    pub fn minus(self, d: Duration) -> Timestamp {
        let ms = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_sub(ms))
    }

    /// The UTC calendar day holding this instant, or `None` at the open ends.
    pub fn date(self) -> Option<NaiveDate> {
        self.to_chrono().map(|t| t.date_naive())
    }

    /// Midnight UTC at the start of `day`.
    pub fn start_of(day: NaiveDate) -> Timestamp {
        Timestamp(
            day.and_time(chrono::NaiveTime::MIN)
                .and_utc()
                .timestamp_millis(),
        )
    }

    fn to_chrono(self) -> Option<DateTime<Utc>> {
        if self == Timestamp::MIN || self == Timestamp::MAX {
            return None;
        }
        Utc.timestamp_millis_opt(self.0).single()
    }

    fn from_chrono<T: TimeZone>(t: DateTime<T>) -> Timestamp {
        Timestamp(t.timestamp_millis())
    }

    fn from_naive_utc(t: NaiveDateTime) -> Timestamp {
        Timestamp(t.and_utc().timestamp_millis())
    }
}

/// RFC 3339 in UTC with a `Z`; fractional seconds only when present.
impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.to_chrono() {
            Some(t) => f.write_str(&t.to_rfc3339_opts(SecondsFormat::AutoSi, true)),
            None if *self == Timestamp::MIN => f.write_str("-infinity"),
            None => f.write_str("infinity"),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An interval of event times, both ends included: the times a file can
/// hold, or the window in which a key can act. Files outside the delivery
/// layout, and keys with no bounds, span everything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    /// Earliest possible event time.
    pub start: Timestamp,
    /// Latest possible event time.
    pub end: Timestamp,
}

impl Span {
    /// Any time at all.
    pub const ALL: Span = Span {
        start: Timestamp::MIN,
        end: Timestamp::MAX,
    };

    /// Whether the two spans share an instant.
    pub fn overlaps(&self, other: &Span) -> bool {
        self.start <= other.end && other.start <= self.end
    }

    /// The smallest span holding both.
    pub fn hull(&self, other: &Span) -> Span {
        Span {
            start: self.start.min(other.start),
            end: self.end.max(other.end),
        }
    }
}

/// Parses an `eventTime` in any form seen in real logs and exports.
///
/// Accepts RFC 3339 with any offset, and the space-separated forms
/// `2021-01-01 01:01:01[.fraction][offset]`, which are taken as UTC when they
/// carry no offset.
pub fn parse_event_time(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(Timestamp::from_chrono(t));
    }
    if let Ok(t) = DateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S%.f%:z") {
        return Some(Timestamp::from_chrono(t));
    }
    // The last form is ISO 8601 "basic", which AWS's userIdentity reference
    // shows for sessionContext.attributes.creationDate.
    [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y%m%dT%H%M%SZ",
    ]
    .iter()
    .find_map(|fmt| NaiveDateTime::parse_from_str(s, fmt).ok())
    .map(Timestamp::from_naive_utc)
}

/// Parses `responseElements.credentials.expiration` in any form seen in real
/// logs: `Dec 10, 2025, 2:03:12 AM`, `Sep 27, 2014 1:43:42 AM`, or ISO 8601.
/// The locale forms carry no zone and are UTC.
pub fn parse_expiration(s: &str) -> Option<Timestamp> {
    let s = s.trim();
    ["%b %d, %Y, %I:%M:%S %p", "%b %d, %Y %I:%M:%S %p"]
        .iter()
        .find_map(|fmt| NaiveDateTime::parse_from_str(s, fmt).ok())
        .map(Timestamp::from_naive_utc)
        .or_else(|| parse_event_time(s))
}

/// Which end of a day a bare `YYYY-MM-DD` bound means.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DayEnd {
    /// The first instant of the day, for `--since`.
    Start,
    /// The last instant of the day, for `--until`: `--until 2025-12-09`
    /// includes all of the 9th, as an analyst reading it would expect.
    End,
}

/// Parses a command-line time bound: RFC 3339, or `YYYY-MM-DD` in UTC.
pub fn parse_bound(s: &str, end: DayEnd) -> Result<Timestamp, String> {
    if let Ok(day) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        let start = Timestamp::start_of(day);
        return Ok(match end {
            DayEnd::Start => start,
            DayEnd::End => start.plus(Duration::from_millis(86_400_000 - 1)),
        });
    }
    DateTime::parse_from_rfc3339(s)
        .map(Timestamp::from_chrono)
        .map_err(|_| format!("{s:?} is neither RFC 3339 (2025-12-08T14:03:12Z) nor YYYY-MM-DD"))
}

/// Parses a duration such as `6h`, `90m`, `2d`, `30s` or `0`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let err = || format!("{s:?} is not a duration such as 6h, 90m, 2d or 30s");
    let s = s.trim();
    if s == "0" {
        return Ok(Duration::ZERO);
    }
    let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(err)?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| err())?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        _ => return Err(err()),
    };
    n.checked_mul(secs).map(Duration::from_secs).ok_or_else(err)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ts(s: &str) -> String {
        parse_event_time(s)
            .map(|t| t.to_string())
            .unwrap_or_default()
    }

    #[test]
    fn event_times_in_every_form() {
        assert_eq!(ts("2025-12-08T14:03:12Z"), "2025-12-08T14:03:12Z");
        assert_eq!(ts("2025-12-08T14:03:12.250Z"), "2025-12-08T14:03:12.250Z");
        assert_eq!(ts("2021-01-01 01:01:01.000000000"), "2021-01-01T01:01:01Z");
        assert_eq!(ts("2021-01-01 01:01:01"), "2021-01-01T01:01:01Z");
        assert_eq!(ts("2022-02-08 09:23:37+11:00"), "2022-02-07T22:23:37Z");
        assert_eq!(ts("2022-02-08T09:23:37+11:00"), "2022-02-07T22:23:37Z");
        assert_eq!(ts("20131102T010628Z"), "2013-11-02T01:06:28Z");
        assert_eq!(ts("redacted"), "");
        assert_eq!(ts(""), "");
    }

    #[test]
    fn expirations_in_every_form() {
        let e = |s| {
            parse_expiration(s)
                .map(|t| t.to_string())
                .unwrap_or_default()
        };
        assert_eq!(e("Dec 10, 2025, 2:03:12 AM"), "2025-12-10T02:03:12Z");
        assert_eq!(e("Nov 30, 2024, 8:43:17 PM"), "2024-11-30T20:43:17Z");
        assert_eq!(e("Sep 27, 2014 1:43:42 AM"), "2014-09-27T01:43:42Z");
        assert_eq!(e("Sep 14, 2020, 12:10:27 PM"), "2020-09-14T12:10:27Z");
        assert_eq!(e("Sep 14, 2020, 12:10:27 AM"), "2020-09-14T00:10:27Z");
        assert_eq!(e("2025-12-08T15:03:12Z"), "2025-12-08T15:03:12Z");
        assert_eq!(e("2025-12-08T15:03:12.000+00:00"), "2025-12-08T15:03:12Z");
        assert_eq!(e("tomorrow"), "");
    }

    #[test]
    fn bounds_and_durations() {
        let since = parse_bound("2025-12-08", DayEnd::Start).unwrap();
        let until = parse_bound("2025-12-08", DayEnd::End).unwrap();
        assert_eq!(since.to_string(), "2025-12-08T00:00:00Z");
        assert_eq!(until.to_string(), "2025-12-08T23:59:59.999Z");
        assert_eq!(
            parse_bound("2025-12-08T10:00:00+02:00", DayEnd::End)
                .unwrap()
                .to_string(),
            "2025-12-08T08:00:00Z"
        );
        assert!(parse_bound("yesterday", DayEnd::Start).is_err());
        assert_eq!(parse_duration("6h").unwrap(), Duration::from_secs(6 * 3600));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert_eq!(parse_duration("2d").unwrap(), Duration::from_secs(172_800));
        assert!(parse_duration("6").is_err());
        assert!(parse_duration("h").is_err());
        assert!(parse_duration("99999999999999999999h").is_err());
    }

    #[test]
    fn open_ends_do_not_overflow() {
        assert_eq!(Timestamp::MAX.plus(Duration::from_secs(1)), Timestamp::MAX);
        assert_eq!(Timestamp::MIN.minus(Duration::from_secs(1)), Timestamp::MIN);
        assert_eq!(Timestamp::MAX.date(), None);
    }
}
