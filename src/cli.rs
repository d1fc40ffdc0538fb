//! The command line, mirrored as plain data, and its resolution into a
//! [`Config`]. Nothing here does I/O.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Args, Parser, Subcommand, ValueEnum};
use keytrail::acquire::AcquireConfig;
use keytrail::analyze::Cutoff;
use keytrail::config::{Config, TimelineTarget, VerifyOptions};
use keytrail::model::AccessKeyId;
use keytrail::output::Format;
use keytrail::scan::ScanParams;
use keytrail::source::SourceSpec;
use keytrail::source::s3::{DEFAULT_CONCURRENCY, S3Options, S3Url};
use keytrail::time::{DayEnd, Span, Timestamp, parse_bound, parse_duration};
use keytrail::trace::TraceParams;
use keytrail::verify::VerifyConfig;

/// Follow a leaked AWS access key, and every credential minted from it,
/// through CloudTrail archives.
#[derive(Debug, Parser)]
#[command(name = "keytrail", version, about, long_about = None)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Trace the lineage of leaked keys and write its timeline.
    Trace(Box<TraceArgs>),
    /// Validate CloudTrail log files and digests offline, on a local copy.
    Verify(VerifyArgs),
    /// Copy a trail from S3 to disk, with each digest's signature.
    Acquire(AcquireArgs),
    /// The trace as map and reduce steps for a cluster engine
    /// (contrib/spark/keytrail_spark.py runs them on Spark).
    Shard(ShardArgs),
}

#[derive(Debug, Args)]
pub struct ShardArgs {
    #[command(subcommand)]
    pub step: ShardStep,
}

#[derive(Debug, Subcommand)]
pub enum ShardStep {
    /// List the files a trace with these flags can need, as JSON Lines on
    /// stdout: every day folder from --since (less two days) on.
    List(Box<TraceArgs>),
    /// Pass 1 (map): read each listed file once; write what can extend a
    /// lineage and each file's key filter, as JSON Lines on stdout.
    Scan(ShardReadArgs),
    /// Close the lineage (driver) over pass 1's records; write the closed
    /// watch list, as JSON on stdout.
    Closure(Box<ShardInArgs>),
    /// Pass 2 (map): re-read the files that may hold a key of --lineage;
    /// write the timeline's records and the input report, as JSON Lines.
    Select(ShardReadArgs),
    /// Merge (driver): pass 2's lines into every output of `trace`.
    Merge(Box<ShardInArgs>),
}

#[derive(Debug, Args)]
pub struct ShardReadArgs {
    /// The step's input, JSON Lines (`-` for stdin).
    #[arg(long = "in", value_name = "FILE", default_value = "-")]
    pub input: PathBuf,

    /// The closed lineage (`shard closure`'s output); `select` only.
    #[arg(long, value_name = "FILE")]
    pub lineage: Option<PathBuf>,

    /// How late CloudTrail may deliver a file after its events (e.g. 6h, 90m, 1d).
    #[arg(long, value_name = "DURATION", default_value = "6h", value_parser = parse_duration)]
    pub delivery_margin: Duration,

    /// Worker threads [default: the number of CPUs].
    #[arg(short = 'j', long = "threads", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,

    /// How to reach S3.
    #[command(flatten)]
    pub s3: S3Args,

    /// S3 objects in flight at once.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CONCURRENCY, value_parser = clap::value_parser!(u16).range(1..), help_heading = "S3")]
    pub s3_concurrency: u16,
}

impl ShardReadArgs {
    /// The scan parameters these flags give.
    pub fn scan_params(self) -> (PathBuf, Option<PathBuf>, ScanParams) {
        let threads = self.threads.map_or_else(
            || std::thread::available_parallelism().map_or(1, |n| n.get()),
            usize::from,
        );
        let params = ScanParams {
            threads,
            delivery_margin: self.delivery_margin,
            s3: self.s3.options(self.s3_concurrency),
            manifest: false,
        };
        (self.input, self.lineage, params)
    }
}

#[derive(Debug, Args)]
pub struct ShardInArgs {
    /// An input of the step, JSON Lines (`-` for stdin); repeatable.
    #[arg(long = "in", value_name = "FILE", required = true)]
    pub inputs: Vec<PathBuf>,

    /// The same flags as `keytrail trace`.
    #[command(flatten)]
    pub trace: TraceArgs,
}

#[derive(Debug, Args)]
pub struct AcquireArgs {
    /// s3://BUCKET[/PREFIX]
    #[arg(value_name = "SOURCE", value_parser = |s: &str| S3Url::parse(s).ok_or_else(|| format!("{s:?} is not an S3 URL (expected s3://BUCKET[/PREFIX])")))]
    pub source: S3Url,

    /// The folder to copy into (created if missing).
    #[arg(value_name = "DIR")]
    pub dir: PathBuf,

    /// Only what events at or after TIME need (RFC 3339, or YYYY-MM-DD in UTC).
    #[arg(long, value_name = "TIME", value_parser = |s: &str| parse_bound(s, DayEnd::Start))]
    pub since: Option<Timestamp>,

    /// Only what events at or before TIME need (RFC 3339, or YYYY-MM-DD for
    /// the whole day, in UTC).
    #[arg(long, value_name = "TIME", value_parser = |s: &str| parse_bound(s, DayEnd::End))]
    pub until: Option<Timestamp>,

    /// How late CloudTrail may deliver a file after its events (e.g. 6h, 90m, 1d).
    #[arg(long, value_name = "DURATION", default_value = "6h", value_parser = parse_duration)]
    pub delivery_margin: Duration,

    /// Print no summary.
    #[arg(short, long)]
    pub quiet: bool,

    /// How to reach S3.
    #[command(flatten)]
    pub s3: S3Args,
}

impl AcquireArgs {
    /// Resolves the arguments.
    pub fn into_config(self) -> AcquireConfig {
        AcquireConfig {
            source: self.source,
            dir: self.dir,
            s3: self.s3.options(DEFAULT_CONCURRENCY),
            quiet: self.quiet,
            window: Span {
                start: self.since.unwrap_or(Timestamp::MIN),
                end: self.until.unwrap_or(Timestamp::MAX),
            },
            margin: self.delivery_margin,
        }
    }
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit status: 0 everything checked is valid; 4 integrity failure (altered, missing, \
not-covered, digest-invalid or chain-broken files); 3 some inputs could not be read; 1 fatal error; \
2 usage error."
)]
pub struct VerifyArgs {
    /// Files or folders (walked recursively) holding AWSLogs/…, or
    /// s3://BUCKET[/PREFIX], whose digests' signatures are read from their
    /// metadata.
    #[arg(value_name = "SOURCE", required = true)]
    pub sources: Vec<PathBuf>,

    /// How to reach S3.
    #[command(flatten)]
    pub s3: S3Args,

    /// The output of `aws cloudtrail list-public-keys` (several may be
    /// concatenated). Without it, signatures are not checked.
    #[arg(long, value_name = "FILE")]
    pub public_keys: Option<PathBuf>,

    /// A JSON object from digest key to its hex signature (the S3 metadata
    /// x-amz-meta-signature). Sidecar DIGEST.signature files are read too.
    #[arg(long, value_name = "FILE")]
    pub signatures: Option<PathBuf>,

    /// Write a JSON report (counts, every file not valid) to PATH.
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,

    /// Write a custody manifest to PATH: a CSV row per input opened (size,
    /// SHA-256 stored and uncompressed, records, read time).
    #[arg(long, value_name = "PATH")]
    pub manifest: Option<PathBuf>,

    /// Worker threads [default: the number of CPUs].
    #[arg(short = 'j', long = "threads", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,

    /// Print no summary.
    #[arg(short, long)]
    pub quiet: bool,
}

impl VerifyArgs {
    /// Resolves the arguments. Errors are usage errors.
    pub fn into_config(self) -> Result<VerifyConfig, String> {
        let mut local = Vec::new();
        let mut s3_sources = Vec::new();
        for source in &self.sources {
            match SourceSpec::parse(&source.to_string_lossy())? {
                SourceSpec::Local(p) => local.push(p),
                SourceSpec::S3(u) => s3_sources.push(u),
            }
        }
        for (flag, path) in [("--report", &self.report), ("--manifest", &self.manifest)] {
            if path.as_ref().is_some_and(|p| p.as_os_str() == "-") {
                return Err(format!(
                    "{flag} writes a file; \"-\" (stdout) is not supported"
                ));
            }
        }
        Ok(VerifyConfig {
            sources: local,
            s3_sources,
            s3: self.s3.options(DEFAULT_CONCURRENCY),
            public_keys: self.public_keys,
            signatures: self.signatures,
            report: self.report,
            manifest: self.manifest,
            threads: self.threads.map_or_else(
                || std::thread::available_parallelism().map_or(1, |n| n.get()),
                usize::from,
            ),
            quiet: self.quiet,
        })
    }
}

#[derive(Debug, Args)]
#[command(
    after_help = "Exit status: 0 all inputs read completely; 3 finished, but some inputs \
could not be read completely (listed on stderr and in the report); 1 fatal error; 2 usage error."
)]
pub struct TraceArgs {
    /// Files or folders (walked recursively), or s3://BUCKET[/PREFIX].
    #[arg(value_name = "SOURCE", required = true)]
    pub sources: Vec<String>,

    /// A leaked access key id ([A-Z0-9]{16,128}). Repeat for several.
    #[arg(long = "key", value_name = "KEY", required = true, value_parser = parse_key)]
    pub keys: Vec<AccessKeyId>,

    /// Only seed-key activity at or after TIME (RFC 3339, or YYYY-MM-DD in UTC).
    #[arg(long, value_name = "TIME", value_parser = |s: &str| parse_bound(s, DayEnd::Start))]
    pub since: Option<Timestamp>,

    /// Only seed-key activity at or before TIME (RFC 3339, or YYYY-MM-DD for
    /// the whole day, in UTC). Minted credentials are followed past it.
    #[arg(long, value_name = "TIME", value_parser = |s: &str| parse_bound(s, DayEnd::End))]
    pub until: Option<Timestamp>,

    /// Write the timeline to PATH (`-` for stdout). Format from the extension
    /// (.csv, .parquet, .jsonl) or --format.
    #[arg(short = 'o', long = "out", value_name = "PATH")]
    pub out: Option<PathBuf>,

    /// The timeline format, when the extension does not say.
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<FormatArg>,

    /// Write a JSON report (lineage, inputs, skipped files) to PATH.
    #[arg(long, value_name = "PATH")]
    pub report: Option<PathBuf>,

    /// Write a custody manifest to PATH: a CSV row per input opened (size,
    /// SHA-256 stored and uncompressed, records, read time).
    #[arg(long, value_name = "PATH")]
    pub manifest: Option<PathBuf>,

    /// Validate the local sources against their CloudTrail digests, as
    /// `keytrail verify` does; the report gains an `integrity` section.
    #[arg(long, help_heading = "Integrity")]
    pub verify: bool,

    /// For --verify: `aws cloudtrail list-public-keys` output.
    #[arg(
        long,
        value_name = "FILE",
        requires = "verify",
        help_heading = "Integrity"
    )]
    pub public_keys: Option<PathBuf>,

    /// For --verify: a JSON object from digest key to hex signature.
    #[arg(
        long,
        value_name = "FILE",
        requires = "verify",
        help_heading = "Integrity"
    )]
    pub signatures: Option<PathBuf>,

    /// Write a deny policy per user and role of the lineage, and apply.sh to
    /// attach them, into the folder DIR (created if missing).
    #[arg(long, value_name = "DIR", help_heading = "Respond")]
    pub deny_policy: Option<PathBuf>,

    /// Deny sessions issued before TIME (RFC 3339, or YYYY-MM-DD for midnight
    /// UTC), and judge credentials live or expired at it [default: the time
    /// of the run].
    #[arg(long, value_name = "TIME", value_parser = |s: &str| parse_bound(s, DayEnd::Start), help_heading = "Respond")]
    pub cutoff: Option<Timestamp>,

    /// Write a Markdown report (lineage graph, containment, blast radius) to PATH.
    #[arg(long, value_name = "PATH", help_heading = "Respond")]
    pub summary_md: Option<PathBuf>,

    /// Write the lineage as a Graphviz DOT graph to PATH.
    #[arg(long, value_name = "PATH", help_heading = "Respond")]
    pub graph: Option<PathBuf>,

    /// Write an interactive report (headline, lineage, timeline, rows, blast
    /// radius, inputs) as one self-contained, offline HTML file to PATH.
    #[arg(long, value_name = "PATH", help_heading = "Respond")]
    pub html: Option<PathBuf>,

    /// Do not follow keys created with CreateAccessKey.
    #[arg(long)]
    pub no_follow_created_keys: bool,

    /// Do not follow what comes in through footholds (users, passwords,
    /// role trusts, providers, instances, functions); they are still listed.
    #[arg(long)]
    pub no_follow_footholds: bool,

    /// How late CloudTrail may deliver a file after its events (e.g. 6h, 90m, 1d).
    #[arg(long, value_name = "DURATION", default_value = "6h", value_parser = parse_duration)]
    pub delivery_margin: Duration,

    /// Worker threads [default: the number of CPUs].
    #[arg(short = 'j', long = "threads", value_name = "N", value_parser = clap::value_parser!(u16).range(1..))]
    pub threads: Option<u16>,

    /// Print no progress and no summary.
    #[arg(short, long)]
    pub quiet: bool,

    /// Overwrite existing output files.
    #[arg(long)]
    pub force: bool,

    /// How to reach S3.
    #[command(flatten)]
    pub s3: S3Args,

    /// S3 objects in flight at once.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_CONCURRENCY, value_parser = clap::value_parser!(u16).range(1..), help_heading = "S3")]
    pub s3_concurrency: u16,
}

/// The S3 access flags every command that reads S3 shares.
#[derive(Debug, Args)]
pub struct S3Args {
    /// AWS profile for S3 sources.
    #[arg(long, value_name = "NAME", help_heading = "S3")]
    pub profile: Option<String>,

    /// Region of the S3 bucket [default: discovered from the bucket].
    #[arg(long, value_name = "REGION", help_heading = "S3")]
    pub region: Option<String>,

    /// S3-compatible endpoint (also AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL).
    #[arg(long, value_name = "URL", help_heading = "S3")]
    pub endpoint_url: Option<String>,

    /// Do not sign requests (public buckets).
    #[arg(long, help_heading = "S3")]
    pub no_sign_request: bool,
}

impl S3Args {
    /// The options, with `concurrency` GETs in flight.
    fn options(self, concurrency: u16) -> S3Options {
        S3Options {
            profile: self.profile,
            region: self.region,
            endpoint_url: self.endpoint_url,
            no_sign_request: self.no_sign_request,
            concurrency: usize::from(concurrency),
        }
    }
}

#[derive(Clone, Copy, Debug, ValueEnum)]
pub enum FormatArg {
    Csv,
    Parquet,
    Jsonl,
}

fn parse_key(s: &str) -> Result<AccessKeyId, String> {
    s.parse()
}

impl TraceArgs {
    /// Resolves the arguments into a validated configuration. Errors are
    /// usage errors.
    pub fn into_config(self) -> Result<Config, String> {
        let sources = self
            .sources
            .iter()
            .map(|s| SourceSpec::parse(s))
            .collect::<Result<Vec<_>, _>>()?;
        if let (Some(since), Some(until)) = (self.since, self.until)
            && since > until
        {
            return Err(format!("--since {since} is after --until {until}"));
        }
        let timeline = match self.out {
            None => None,
            Some(path) => {
                let stdout = path.as_os_str() == "-";
                let format = match (self.format, Format::from_path(&path)) {
                    (Some(f), _) => f.into(),
                    (None, Some(f)) if !stdout => f,
                    (None, _) if stdout => Format::Csv,
                    (None, _) => {
                        return Err(format!(
                            "cannot tell the timeline format from {:?}: use a .csv, .parquet or .jsonl name, or --format",
                            path.display().to_string()
                        ));
                    }
                };
                Some(TimelineTarget {
                    path: (!stdout).then_some(path),
                    format,
                })
            }
        };
        for (flag, path) in [
            ("--summary-md", &self.summary_md),
            ("--graph", &self.graph),
            ("--html", &self.html),
            ("--deny-policy", &self.deny_policy),
            ("--manifest", &self.manifest),
        ] {
            if path.as_ref().is_some_and(|p| p.as_os_str() == "-") {
                return Err(format!(
                    "{flag} writes a file; \"-\" (stdout) is not supported"
                ));
            }
        }
        // The default cut-off is fixed once, here, so every output agrees.
        let cutoff = self
            .cutoff
            .map_or_else(|| Cutoff::run_time(Timestamp::now()), Cutoff::given);
        let threads = self.threads.map_or_else(
            || std::thread::available_parallelism().map_or(1, |n| n.get()),
            usize::from,
        );
        Ok(Config {
            sources,
            scan: ScanParams {
                threads,
                delivery_margin: self.delivery_margin,
                s3: self.s3.options(self.s3_concurrency),
                manifest: self.manifest.is_some(),
            },
            trace: TraceParams {
                seeds: self.keys.into_iter().collect::<BTreeSet<_>>(),
                seed_window: Span {
                    start: self.since.unwrap_or(Timestamp::MIN),
                    end: self.until.unwrap_or(Timestamp::MAX),
                },
                follow_created_keys: !self.no_follow_created_keys,
                follow_footholds: !self.no_follow_footholds,
            },
            timeline,
            report: self.report,
            manifest: self.manifest,
            verify: self.verify.then_some(VerifyOptions {
                public_keys: self.public_keys,
                signatures: self.signatures,
            }),
            deny_policy: self.deny_policy,
            cutoff,
            summary_md: self.summary_md,
            graph: self.graph,
            html: self.html,
            quiet: self.quiet,
            force: self.force,
        })
    }
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Csv => Format::Csv,
            FormatArg::Parquet => Format::Parquet,
            FormatArg::Jsonl => Format::Jsonl,
        }
    }
}
