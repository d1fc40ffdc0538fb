//! S3 buckets, read through the AWS SDK.
//!
//! An `s3://BUCKET[/PREFIX]` source is a [`Store`] like a local folder: the
//! layout walker lists it level by level and asks for day folders only when a
//! time window needs them, so pruning is the same code for both. What is
//! specific to S3 lives here:
//!
//! - **Connecting.** Credentials come from the standard aws-config chain
//!   (`--profile`, environment, shared files, SSO, web identity, container
//!   and instance metadata) or are switched off with `--no-sign-request`. A
//!   custom endpoint (`--endpoint-url`, `AWS_ENDPOINT_URL_S3`,
//!   `AWS_ENDPOINT_URL`) always gets path-style addressing, so MinIO,
//!   LocalStack and moto work. Without `--region`, the bucket's region is read
//!   from the `x-amz-bucket-region` header of a `HeadBucket` call, because an
//!   organization trail's bucket is rarely in the analyst's default region.
//!   That first call also turns a missing bucket, missing credentials or an
//!   unreachable endpoint into one fatal [`ListError`] that names the fix.
//! - **Listing** uses `ListObjectsV2`, following continuation tokens.
//! - **Downloading** ([`Store::open_all`]) keeps up to `--s3-concurrency`
//!   GETs in flight ahead of the reader, in request order. Each body is
//!   streamed through a small bounded channel, so memory is bounded by the
//!   concurrency times a few chunks, never by object size. A body that breaks
//!   off is resumed with a ranged GET pinned to the object's ETag, and if
//!   that keeps failing the reader gets an [`io::Error`]: a body is never
//!   silently short.
//! - **Retries.** Throttling, 5xx responses and timeouts are retried with
//!   exponential backoff by the SDK's standard retry strategy.
//!
//! keytrail never writes to S3: only `HeadBucket`, `ListObjectsV2` and
//! `GetObject` are called. tokio stays inside this module: the store owns a
//! small runtime and its public methods block.

use std::collections::VecDeque;
use std::error::Error as StdError;
use std::io::{self, Read};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use tokio::runtime::Runtime;
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;

use super::{Bodies, Body, Entry, ListError, Listing, OpenError, PassedOver, Rels, Store};

/// Listings in flight at once. An organization trail has a few for every
/// account and region folder; one after another they took 2.1 s of an 8 s
/// run over the benchmark corpus served on loopback, 16 at a time 0.8–1.1 s.
const LISTERS: usize = 16;

/// GETs in flight when `--s3-concurrency` is not given. Every GET waits a
/// round trip before its body comes, so objects per second are about the
/// GETs in flight over the latency: with 20–50 ms to S3, 64 in flight is
/// 1,300–3,200 small objects per second, while each holds at most a few
/// chunks in memory.
pub const DEFAULT_CONCURRENCY: u16 = 64;

/// Attempts per request, including the first, for throttling, 5xx responses,
/// timeouts and dropped connections.
const MAX_ATTEMPTS: u32 = 8;

/// Attempts for the first call, which mostly finds out whether the endpoint
/// answers at all: a wrong endpoint must fail fast.
const PROBE_ATTEMPTS: u32 = 3;

/// Time to open a TCP (and TLS) connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Time from sending a request to the response headers.
const READ_TIMEOUT: Duration = Duration::from_secs(60);

/// Time a body may go without delivering a byte while it is being read.
const STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// How often a body that broke off is resumed with a ranged GET.
const MAX_RESUMES: u32 = 4;

/// The first wait before resuming a body; it doubles each time.
const RESUME_BACKOFF: Duration = Duration::from_millis(if cfg!(test) { 1 } else { 200 });

/// Chunks buffered per object between the download and the reader.
const CHUNKS_PER_OBJECT: usize = 4;

/// Worker threads of the store's runtime: the work is waiting on sockets.
const WORKER_THREADS: usize = 2;

/// How to reach S3: the `--profile`, `--region`, `--endpoint-url`,
/// `--no-sign-request` and `--s3-concurrency` options.
#[derive(Clone, Debug, Default)]
pub struct S3Options {
    /// `--profile`.
    pub profile: Option<String>,
    /// `--region`; discovered from the bucket when absent.
    pub region: Option<String>,
    /// `--endpoint-url`; when absent, `AWS_ENDPOINT_URL_S3` then
    /// `AWS_ENDPOINT_URL` are read by [`S3Store::connect`].
    pub endpoint_url: Option<String>,
    /// `--no-sign-request`: send anonymous requests (public buckets).
    pub no_sign_request: bool,
    /// `--s3-concurrency`: GETs in flight per [`Store::open_all`] batch;
    /// 0 means [`DEFAULT_CONCURRENCY`].
    pub concurrency: usize,
}

/// An `s3://BUCKET[/PREFIX]` source.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct S3Url {
    /// The bucket.
    pub bucket: String,
    /// The key prefix, `""` or ending in `/`.
    pub prefix: String,
}

impl S3Url {
    /// Parses `s3://BUCKET[/PREFIX]`, or returns `None` for anything else.
    ///
    /// The prefix is taken as a folder (a `/` is appended). When it turns out
    /// to name a single object instead, [`S3Store::connect`] notices and the
    /// store lists just that object.
    pub fn parse(s: &str) -> Option<S3Url> {
        let rest = s.strip_prefix("s3://")?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.is_empty() || bucket.contains(char::is_whitespace) {
            return None;
        }
        let mut prefix = prefix.to_owned();
        if !prefix.is_empty() && !prefix.ends_with('/') {
            prefix.push('/');
        }
        Some(S3Url {
            bucket: bucket.to_owned(),
            prefix,
        })
    }
}

impl std::fmt::Display for S3Url {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "s3://{}/{}", self.bucket, self.prefix)
    }
}

/// A bucket, reached through the AWS SDK.
///
/// Methods block on the store's own runtime; call them from ordinary threads,
/// never from inside an async context.
#[derive(Debug)]
pub struct S3Store {
    url: S3Url,
    client: Client,
    concurrency: usize,
    /// Where requests go, for messages.
    endpoint: Endpoint,
    /// The object the source URL names, when it names one rather than a
    /// folder.
    single: Option<Entry>,
    rt: OwnedRuntime,
}

impl S3Store {
    /// Connects to the bucket of `url`: loads credentials, finds the bucket's
    /// region, and checks that the bucket exists and can be listed.
    ///
    /// # Errors
    /// A [`ListError`] naming the fix when the bucket does not exist, no
    /// credentials are found, the endpoint cannot be reached, or listing is
    /// denied.
    pub fn connect(url: &S3Url, opts: &S3Options) -> Result<S3Store, ListError> {
        let custom = opts
            .endpoint_url
            .clone()
            .filter(|u| !u.trim().is_empty())
            .or_else(|| env_var("AWS_ENDPOINT_URL_S3"))
            .or_else(|| env_var("AWS_ENDPOINT_URL"));
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(WORKER_THREADS)
            .thread_name("keytrail-s3")
            .enable_all()
            .build()
            .map_err(|e| ListError(format!("{url}: cannot start the S3 client: {e}")))?;
        let rt = OwnedRuntime(Some(rt));
        let shared = rt.block_on(load_shared_config(opts));
        let mut region = opts
            .region
            .clone()
            .or_else(|| shared.region().map(|r| r.to_string()))
            .unwrap_or_else(|| "us-east-1".to_owned());
        let mut endpoint = Endpoint::new(custom.as_deref(), &region);
        let mut client = make_client(&shared, &region, custom.as_deref());

        // HeadBucket answers with the bucket's region even when it refuses
        // (301 or 403), so one call both locates and checks the bucket.
        // <https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html>
        let mut probe = rt.block_on(head_bucket(&client, &url.bucket));
        if let Err(failure) = &probe
            && let Some(actual) = failure.bucket_region()
            && actual != region
        {
            region = actual.to_owned();
            endpoint = Endpoint::new(custom.as_deref(), &region);
            client = make_client(&shared, &region, custom.as_deref());
            probe = rt.block_on(head_bucket(&client, &url.bucket));
        }
        match probe {
            Ok(Some(actual)) if actual != region && opts.region.is_none() => {
                region = actual;
                endpoint = Endpoint::new(custom.as_deref(), &region);
                client = make_client(&shared, &region, custom.as_deref());
            }
            Ok(_) => {}
            // HEAD responses carry no error code, and a principal may be
            // allowed to list only below a prefix: ask ListObjectsV2, whose
            // answer is either success or an error with a code.
            Err(Failure::Service { status: 403, .. }) => {
                rt.block_on(list_page(&client, &url.bucket, &url.prefix, true, None, 1))
                    .map_err(|f| list_error(&f, url, &url.prefix, &endpoint))?;
            }
            Err(failure) => return Err(list_error(&failure, url, &url.prefix, &endpoint)),
        }

        let single = match url.prefix.strip_suffix('/') {
            Some(key) => rt
                .block_on(single_object(&client, &url.bucket, key))
                .map_err(|f| list_error(&f, url, &url.prefix, &endpoint))?,
            None => None,
        };
        let concurrency = match opts.concurrency {
            0 => usize::from(DEFAULT_CONCURRENCY),
            n => n,
        };
        Ok(S3Store {
            url: url.clone(),
            client,
            concurrency,
            endpoint,
            single,
            rt,
        })
    }

    /// The region requests are sent to.
    pub fn region(&self) -> &str {
        &self.endpoint.region
    }

    fn list(&self, dir: &str, delimited: bool) -> Result<Listing, ListError> {
        if let Some(entry) = &self.single
            && dir == self.url.prefix
        {
            return Ok(Listing {
                files: vec![entry.clone()],
                ..Listing::default()
            });
        }
        let mut listing = Listing::default();
        let mut token = None;
        loop {
            let page = self
                .rt
                .block_on(list_page(
                    &self.client,
                    &self.url.bucket,
                    dir,
                    delimited,
                    token.take(),
                    1000,
                ))
                .map_err(|f| list_error(&f, &self.url, dir, &self.endpoint))?;
            listing.dirs.extend(page.dirs);
            for entry in page.files {
                if entry.rel.ends_with('/') {
                    // A zero-byte "folder" placeholder made by the console;
                    // a local copy has no such file either.
                    if entry.size > 0 {
                        listing.passed_over.push(PassedOver {
                            name: self.display(&entry.rel),
                            reason: "key ends in '/', which no local file can mirror".into(),
                            failure: false,
                        });
                    }
                    continue;
                }
                listing.files.push(entry);
            }
            match page.next {
                Some(next) => token = Some(next),
                None => break,
            }
        }
        Ok(listing)
    }
}

impl Store for S3Store {
    fn display(&self, rel: &str) -> String {
        format!("s3://{}/{rel}", self.url.bucket)
    }

    fn list_dir(&self, dir: &str) -> Result<Listing, ListError> {
        self.list(dir, true)
    }

    fn list_all(&self, dir: &str) -> Result<Listing, ListError> {
        self.list(dir, false)
    }

    fn listers(&self) -> usize {
        LISTERS
    }

    fn open_all<'a>(&'a self, rels: Rels<'a>) -> Bodies<'a> {
        Box::new(Prefetch {
            store: self,
            pending: rels,
            ahead: VecDeque::new(),
        })
    }
}

/// A tokio runtime that does not wait for stuck tasks (a DNS lookup, say)
/// when the store is dropped.
#[derive(Debug)]
struct OwnedRuntime(Option<Runtime>);

impl std::ops::Deref for OwnedRuntime {
    type Target = Runtime;

    fn deref(&self) -> &Runtime {
        // Only `drop` takes the runtime out.
        self.0.as_ref().expect("runtime present until drop")
    }
}

impl Drop for OwnedRuntime {
    fn drop(&mut self) {
        if let Some(rt) = self.0.take() {
            rt.shutdown_background();
        }
    }
}

/// Where requests go, for messages.
#[derive(Clone, Debug)]
struct Endpoint {
    custom: Option<String>,
    region: String,
}

impl Endpoint {
    fn new(custom: Option<&str>, region: &str) -> Endpoint {
        Endpoint {
            custom: custom.map(str::to_owned),
            region: region.to_owned(),
        }
    }
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.custom {
            Some(url) => write!(f, "{url}"),
            None => write!(f, "https://s3.{}.amazonaws.com", self.region),
        }
    }
}

fn env_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

async fn load_shared_config(opts: &S3Options) -> SdkConfig {
    let retry = RetryConfig::standard().with_max_attempts(MAX_ATTEMPTS);
    let timeouts = TimeoutConfig::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .read_timeout(READ_TIMEOUT)
        .build();
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .retry_config(retry)
        .timeout_config(timeouts);
    if let Some(profile) = &opts.profile {
        loader = loader.profile_name(profile);
    }
    if let Some(region) = &opts.region {
        loader = loader.region(Region::new(region.clone()));
    }
    if opts.no_sign_request {
        loader = loader.no_credentials();
    }
    loader.load().await
}

fn make_client(shared: &SdkConfig, region: &str, endpoint: Option<&str>) -> Client {
    let mut config =
        aws_sdk_s3::config::Builder::from(shared).region(Region::new(region.to_owned()));
    if let Some(url) = endpoint {
        config = config.endpoint_url(url).force_path_style(true);
    }
    Client::from_conf(config.build())
}

/// Calls `HeadBucket`, returning the bucket's region when the server names it.
async fn head_bucket(client: &Client, bucket: &str) -> Result<Option<String>, Failure> {
    let probe = aws_sdk_s3::config::Builder::default().retry_config(
        RetryConfig::standard()
            .with_max_attempts(PROBE_ATTEMPTS)
            .with_initial_backoff(Duration::from_millis(200)),
    );
    client
        .head_bucket()
        .bucket(bucket)
        .customize()
        .config_override(probe)
        .send()
        .await
        .map(|out| out.bucket_region().map(str::to_owned))
        .map_err(|e| Failure::of(&e))
}

/// Finds out whether `key` (a source URL's prefix without its `/`) names an
/// object while nothing lies below `key/`.
async fn single_object(client: &Client, bucket: &str, key: &str) -> Result<Option<Entry>, Failure> {
    let below = list_page(client, bucket, &format!("{key}/"), true, None, 1).await?;
    if !below.files.is_empty() || !below.dirs.is_empty() {
        return Ok(None);
    }
    let exact = list_page(client, bucket, key, true, None, 1).await?;
    Ok(exact.files.into_iter().find(|e| e.rel == key))
}

/// One page of a listing, and the token for the next one.
#[derive(Debug, Default)]
struct Page {
    dirs: Vec<String>,
    files: Vec<Entry>,
    next: Option<String>,
}

async fn list_page(
    client: &Client,
    bucket: &str,
    prefix: &str,
    delimited: bool,
    token: Option<String>,
    max_keys: i32,
) -> Result<Page, Failure> {
    let mut request = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .max_keys(max_keys)
        .set_continuation_token(token);
    if delimited {
        request = request.delimiter("/");
    }
    let out = request.send().await.map_err(|e| Failure::of(&e))?;
    let next = match (out.is_truncated(), out.next_continuation_token()) {
        (Some(true), Some(token)) if !token.is_empty() => Some(token.to_owned()),
        (Some(true), _) if max_keys > 1 => {
            return Err(Failure::Other(
                "the server said the listing is truncated but gave no continuation token".into(),
            ));
        }
        _ => None,
    };
    Ok(Page {
        dirs: out
            .common_prefixes()
            .iter()
            .filter_map(|p| p.prefix().map(str::to_owned))
            .collect(),
        files: out
            .contents()
            .iter()
            .filter_map(|o| {
                Some(Entry {
                    rel: o.key()?.to_owned(),
                    size: o.size().and_then(|s| u64::try_from(s).ok()).unwrap_or(0),
                })
            })
            .collect(),
        next,
    })
}

// ---------------------------------------------------------------------------
// Downloading

/// The iterator [`S3Store::open_all`] returns. Fetches are started from
/// `next`, so at most `concurrency` objects are ever waiting ahead of the
/// reader, and an object the reader asks for is always started at once: a
/// reader that holds several bodies can never deadlock against the bound.
struct Prefetch<'a> {
    store: &'a S3Store,
    pending: Rels<'a>,
    ahead: VecDeque<Slot>,
}

impl Iterator for Prefetch<'_> {
    type Item = Result<Body, OpenError>;

    fn next(&mut self) -> Option<Self::Item> {
        let slot = match self.ahead.pop_front() {
            Some(slot) => slot,
            None => {
                let key = self.pending.next()?;
                self.start(key)
            }
        };
        while self.ahead.len() < self.store.concurrency {
            let Some(key) = self.pending.next() else {
                break;
            };
            let next = self.start(key);
            self.ahead.push_back(next);
        }
        Some(slot.open())
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let (low, high) = self.pending.size_hint();
        let n = self.ahead.len();
        (n.saturating_add(low), high.and_then(|h| h.checked_add(n)))
    }
}

impl Prefetch<'_> {
    fn start(&self, key: String) -> Slot {
        let (head_tx, head) = oneshot::channel();
        let (chunk_tx, chunks) = mpsc::channel(CHUNKS_PER_OBJECT);
        let task = self.store.rt.spawn(download(
            self.store.client.clone(),
            self.store.url.bucket.clone(),
            key,
            head_tx,
            chunk_tx,
        ));
        Slot {
            head,
            chunks,
            task: AbortOnDrop(task.abort_handle()),
        }
    }
}

/// A download started ahead of the reader.
struct Slot {
    head: oneshot::Receiver<Result<Option<u64>, OpenError>>,
    chunks: mpsc::Receiver<io::Result<Bytes>>,
    task: AbortOnDrop,
}

impl Slot {
    /// Waits for the response headers.
    fn open(self) -> Result<Body, OpenError> {
        match self.head.blocking_recv() {
            Ok(Ok(expected)) => Ok(Box::new(ObjectBody {
                chunks: self.chunks,
                current: Bytes::new(),
                received: 0,
                expected,
                finished: false,
                _task: self.task,
            })),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(OpenError("the download stopped before any response".into())),
        }
    }
}

/// Stops a download when its reader (or the batch) is dropped.
struct AbortOnDrop(AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The bytes of one object, as they arrive.
struct ObjectBody {
    chunks: mpsc::Receiver<io::Result<Bytes>>,
    current: Bytes,
    received: u64,
    expected: Option<u64>,
    finished: bool,
    _task: AbortOnDrop,
}

impl Read for ObjectBody {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            if !self.current.is_empty() {
                let n = buf.len().min(self.current.len());
                buf[..n].copy_from_slice(&self.current.split_to(n));
                self.received += n as u64;
                return Ok(n);
            }
            if self.finished || buf.is_empty() {
                return Ok(0);
            }
            match self.chunks.blocking_recv() {
                Some(Ok(chunk)) => self.current = chunk,
                Some(Err(e)) => return Err(e),
                // The download checks lengths itself; this is the last guard
                // against a short body, should the task ever stop early.
                None => match self.expected {
                    Some(expected) if self.received != expected => {
                        return Err(io::Error::new(
                            io::ErrorKind::UnexpectedEof,
                            format!("download ended after {} of {expected} bytes", self.received),
                        ));
                    }
                    _ => self.finished = true,
                },
            }
        }
    }
}

/// Downloads `key`, sending the outcome of the GET to `head` and the body to
/// `chunks`. A body that breaks off, stalls or ends short is resumed from
/// where it stopped with a ranged GET that must match the first response's
/// ETag; when resuming fails the reader receives an [`io::Error`].
async fn download(
    client: Client,
    bucket: String,
    key: String,
    head: oneshot::Sender<Result<Option<u64>, OpenError>>,
    chunks: mpsc::Sender<io::Result<Bytes>>,
) {
    let first = match get(&client, &bucket, &key, None).await {
        Ok(out) => out,
        Err(failure) => {
            let _ = head.send(Err(open_error(&failure)));
            return;
        }
    };
    let expected = first.content_length().and_then(|n| u64::try_from(n).ok());
    let etag = first.e_tag().map(str::to_owned);
    if head.send(Ok(expected)).is_err() {
        return;
    }
    let mut body: ByteStream = first.body;
    let mut received: u64 = 0;
    let mut resumes = 0;
    loop {
        let cause = match tokio::time::timeout(STALL_TIMEOUT, body.next()).await {
            Ok(Some(Ok(chunk))) => {
                received += chunk.len() as u64;
                if let Some(expected) = expected
                    && received > expected
                {
                    let msg = format!("the server sent more than the {expected} bytes announced");
                    let _ = chunks.send(Err(io::Error::other(msg))).await;
                    return;
                }
                if chunks.send(Ok(chunk)).await.is_err() {
                    return; // the reader is gone
                }
                continue;
            }
            Ok(None) => match expected {
                Some(expected) if received < expected => "the connection closed early".to_owned(),
                _ => return,
            },
            Ok(Some(Err(e))) => cause_of(&e),
            Err(_) => format!("no data for {} s", STALL_TIMEOUT.as_secs()),
        };
        let broke_off = |detail: String| {
            let total = expected.map_or_else(|| "?".to_owned(), |n| n.to_string());
            io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("download broke off after {received} of {total} bytes: {detail}"),
            )
        };
        // Without a length there is nothing to resume against; with all the
        // bytes in, the failure is the SDK's integrity check.
        if expected.is_none_or(|total| received >= total) {
            let _ = chunks.send(Err(broke_off(cause))).await;
            return;
        }
        if resumes == MAX_RESUMES {
            let detail = format!("{cause} (resumed {MAX_RESUMES} times)");
            let _ = chunks.send(Err(broke_off(detail))).await;
            return;
        }
        resumes += 1;
        tokio::time::sleep(RESUME_BACKOFF * (1 << resumes)).await;
        match get(&client, &bucket, &key, Some((received, etag.as_deref()))).await {
            Ok(rest) if range_start(rest.content_range()) == Some(received) => {
                body = rest.body;
            }
            Ok(_) => {
                let detail = format!("{cause}; the server ignored the range when resuming");
                let _ = chunks.send(Err(broke_off(detail))).await;
                return;
            }
            Err(failure) => {
                let why = match &failure {
                    Failure::Service { status: 412, .. } => {
                        "the object changed while it was being read".to_owned()
                    }
                    other => open_error(other).0,
                };
                let detail = format!("{cause}; resuming failed: {why}");
                let _ = chunks.send(Err(broke_off(detail))).await;
                return;
            }
        }
    }
}

/// The first byte of a `Content-Range: bytes FIRST-LAST/TOTAL` header.
fn range_start(content_range: Option<&str>) -> Option<u64> {
    let spec = content_range?.trim().strip_prefix("bytes ")?;
    spec.split(['-', '/']).next()?.trim().parse().ok()
}

async fn get(
    client: &Client,
    bucket: &str,
    key: &str,
    from: Option<(u64, Option<&str>)>,
) -> Result<GetObjectOutput, Failure> {
    let mut request = client.get_object().bucket(bucket).key(key);
    if let Some((offset, etag)) = from {
        request = request
            .range(format!("bytes={offset}-"))
            .set_if_match(etag.map(str::to_owned));
    }
    request.send().await.map_err(|e| {
        let mut failure = Failure::of(&e);
        if let (Failure::Service { storage_class, .. }, SdkError::ServiceError(ctx)) =
            (&mut failure, &e)
            && let GetObjectError::InvalidObjectState(state) = ctx.err()
        {
            *storage_class = state
                .storage_class()
                .map(|c| c.as_str().to_owned())
                .or_else(|| state.access_tier().map(|t| t.as_str().to_owned()));
        }
        failure
    })
}

// ---------------------------------------------------------------------------
// Errors

/// What went wrong with one S3 call, independent of the operation.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Failure {
    /// The server answered with an error.
    Service {
        status: u16,
        /// The S3 error code; empty for HEAD requests, which carry no body.
        code: String,
        message: String,
        /// The `x-amz-bucket-region` header, when present.
        region: Option<String>,
        /// For `InvalidObjectState`: the object's storage class or tier.
        storage_class: Option<String>,
    },
    /// No credentials could be loaded.
    NoCredentials(String),
    /// The endpoint could not be reached (refused, DNS, TLS).
    Unreachable(String),
    /// The request timed out, after retries.
    Timeout(String),
    /// Anything else.
    Other(String),
}

impl Failure {
    fn of<E>(err: &SdkError<E, HttpResponse>) -> Failure
    where
        E: ProvideErrorMetadata + StdError + 'static,
    {
        match err {
            SdkError::ServiceError(ctx) => {
                let raw = ctx.raw();
                Failure::Service {
                    status: raw.status().as_u16(),
                    code: ctx.err().code().unwrap_or_default().to_owned(),
                    message: ctx.err().message().unwrap_or_default().to_owned(),
                    region: raw.headers().get("x-amz-bucket-region").map(str::to_owned),
                    storage_class: None,
                }
            }
            SdkError::ResponseError(ctx) => {
                let raw = ctx.raw();
                Failure::Service {
                    status: raw.status().as_u16(),
                    code: String::new(),
                    message: cause_of(err),
                    region: raw.headers().get("x-amz-bucket-region").map(str::to_owned),
                    storage_class: None,
                }
            }
            SdkError::TimeoutError(_) => Failure::Timeout(cause_of(err)),
            SdkError::DispatchFailure(dispatch) => {
                let cause = cause_of(err);
                if mentions_credentials(&cause) {
                    Failure::NoCredentials(cause)
                } else if dispatch.is_timeout() {
                    Failure::Timeout(cause)
                } else if dispatch.is_io() {
                    Failure::Unreachable(cause)
                } else {
                    Failure::Other(cause)
                }
            }
            _ => {
                let cause = cause_of(err);
                if mentions_credentials(&cause) {
                    Failure::NoCredentials(cause)
                } else {
                    Failure::Other(cause)
                }
            }
        }
    }

    /// The server's answer in a few words: code, message, status.
    fn detail(&self) -> String {
        match self {
            Failure::Service {
                status,
                code,
                message,
                ..
            } => match (code.is_empty(), message.is_empty()) {
                (true, true) => format!("HTTP {status}"),
                (true, false) => format!("HTTP {status}: {message}"),
                (false, true) => format!("{code} (HTTP {status})"),
                (false, false) => format!("{code}: {message}"),
            },
            Failure::NoCredentials(cause)
            | Failure::Unreachable(cause)
            | Failure::Timeout(cause)
            | Failure::Other(cause) => cause.clone(),
        }
    }

    fn bucket_region(&self) -> Option<&str> {
        match self {
            Failure::Service {
                region: Some(r), ..
            } if !r.is_empty() => Some(r),
            _ => None,
        }
    }
}

fn mentions_credentials(cause: &str) -> bool {
    let lower = cause.to_ascii_lowercase();
    lower.contains("credential") || lower.contains("resolve identity")
}

/// The error's chain of causes, outermost first, without repeats. The SDK's
/// own top level ("dispatch failure", "service error") says little.
fn cause_of(err: &(dyn StdError + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    // Keep the informative tail: the first couple of levels are generic.
    let keep = parts.len().saturating_sub(3);
    parts.drain(..keep);
    parts.join(": ")
}

const CREDENTIALS_FIX: &str = "provide credentials with --profile NAME, the \
    AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY environment variables, `aws sso login`, \
    or an instance or container role; for a public bucket use --no-sign-request";

/// The fatal error for a failed listing of `prefix`, naming the fix. The
/// caller names the source; a prefix below it is named here.
fn list_error(failure: &Failure, url: &S3Url, prefix: &str, endpoint: &Endpoint) -> ListError {
    let bucket = &url.bucket;
    let endpoint_hint = if endpoint.custom.is_some() {
        " (set by --endpoint-url, AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL)"
    } else {
        ""
    };
    let msg = match failure {
        Failure::NoCredentials(cause) => {
            format!("no AWS credentials found ({cause}); {CREDENTIALS_FIX}")
        }
        Failure::Unreachable(cause) => format!(
            "cannot reach the S3 endpoint {endpoint}{endpoint_hint}: {cause}; check the address \
             and your network"
        ),
        Failure::Timeout(cause) => format!(
            "the S3 endpoint {endpoint}{endpoint_hint} did not answer in time: {cause}; check \
             the address and your network"
        ),
        Failure::Other(cause) => format!("listing failed: {cause}"),
        Failure::Service {
            status,
            code,
            region,
            ..
        } => {
            let detail = failure.detail();
            match (code.as_str(), *status) {
                ("NoSuchBucket", _) | (_, 404) => format!(
                    "bucket {bucket:?} does not exist at {endpoint}{endpoint_hint}; check the \
                     bucket name"
                ),
                ("InvalidAccessKeyId" | "InvalidClientTokenId", _) => {
                    format!("the access key is not known to S3 ({detail}); {CREDENTIALS_FIX}")
                }
                ("SignatureDoesNotMatch", _) => format!(
                    "the secret key does not match the access key ({detail}); {CREDENTIALS_FIX}"
                ),
                ("ExpiredToken" | "TokenRefreshRequired" | "InvalidToken", _) => format!(
                    "the session credentials have expired or are invalid ({detail}); refresh \
                     them (for SSO: `aws sso login`) and run again"
                ),
                ("PermanentRedirect" | "AuthorizationHeaderMalformed", _) | (_, 301) => {
                    let pass = region
                        .as_deref()
                        .map_or_else(|| "--region REGION".to_owned(), |r| format!("--region {r}"));
                    format!(
                        "the bucket is not in region {} ({detail}); pass {pass}",
                        endpoint.region
                    )
                }
                ("AccessDenied" | "AllAccessDisabled", _) | (_, 403) => {
                    let scope = if prefix.is_empty() {
                        String::new()
                    } else {
                        format!(" (at least for the prefix {prefix:?})")
                    };
                    format!(
                        "access denied ({detail}); the credentials need s3:ListBucket on \
                         arn:aws:s3:::{bucket}{scope}"
                    )
                }
                _ => format!("listing failed after retries: {detail}"),
            }
        }
    };
    if prefix == url.prefix {
        ListError(msg)
    } else {
        ListError(format!("listing s3://{bucket}/{prefix}: {msg}"))
    }
}

/// The reason one object is skipped.
fn open_error(failure: &Failure) -> OpenError {
    let msg = match failure {
        Failure::Service {
            status,
            code,
            message,
            storage_class,
            ..
        } => {
            let detail = failure.detail();
            let kms =
                code.starts_with("KMS.") || message.contains("kms:") || message.contains("KMS");
            match code.as_str() {
                "InvalidObjectState" => format!(
                    "archived in storage class {}; restore it first (aws s3api restore-object) \
                     and run again",
                    storage_class
                        .as_deref()
                        .unwrap_or("GLACIER or DEEP_ARCHIVE")
                ),
                "NoSuchKey" => "the object no longer exists (NoSuchKey): deleted or expired \
                                since it was listed"
                    .to_owned(),
                _ if kms => format!(
                    "KMS denied decrypting the object ({detail}); the credentials need \
                     kms:Decrypt on the key that encrypts it"
                ),
                "AccessDenied" | "" if *status == 403 => format!(
                    "access denied ({detail}); the credentials need s3:GetObject on this object"
                ),
                "InvalidRequest" if message.contains("Server Side Encryption") => format!(
                    "encrypted with a customer-provided key (SSE-C), which keytrail cannot \
                     supply ({detail})"
                ),
                _ => format!("download failed after retries: {detail}"),
            }
        }
        Failure::NoCredentials(cause) => format!("no AWS credentials ({cause})"),
        Failure::Unreachable(cause) => format!("S3 endpoint unreachable, after retries: {cause}"),
        Failure::Timeout(cause) => format!("timed out, after retries: {cause}"),
        Failure::Other(cause) => format!("download failed: {cause}"),
    };
    OpenError(msg)
}

#[cfg(test)]
mod tests {
    //! Parsing and error wording, plus the download machinery against a tiny
    //! scripted HTTP server: the failures worth testing (a body that breaks
    //! off, a truncated listing) are hard to provoke from a real S3 server.
    #![allow(clippy::unwrap_used)]

    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::{Arc, Mutex};
    use std::time::Instant;

    #[test]
    fn parses_urls() {
        let url = |s| S3Url::parse(s).map(|u| (u.bucket, u.prefix));
        assert_eq!(url("s3://trail"), Some(("trail".into(), "".into())));
        assert_eq!(url("s3://trail/"), Some(("trail".into(), "".into())));
        assert_eq!(url("s3://trail/org"), Some(("trail".into(), "org/".into())));
        assert_eq!(
            url("s3://trail/a/b/"),
            Some(("trail".into(), "a/b/".into()))
        );
        assert_eq!(url("s3://"), None);
        assert_eq!(url("s3:///key"), None);
        assert_eq!(url("s3://my bucket"), None);
        assert_eq!(url("S3://trail"), None);
        assert_eq!(url("/tmp/trail"), None);
        assert_eq!(url("https://trail.s3.amazonaws.com/"), None);
        assert_eq!(S3Url::parse("s3://t/p").unwrap().to_string(), "s3://t/p/");
    }

    #[test]
    fn reads_content_range() {
        assert_eq!(range_start(Some("bytes 300-999/1000")), Some(300));
        assert_eq!(range_start(Some("bytes 0-0/1")), Some(0));
        assert_eq!(range_start(Some("bytes */1000")), None);
        assert_eq!(range_start(None), None);
    }

    fn service(status: u16, code: &str, message: &str) -> Failure {
        Failure::Service {
            status,
            code: code.into(),
            message: message.into(),
            region: None,
            storage_class: None,
        }
    }

    #[test]
    fn explains_object_failures() {
        let reason = |f: &Failure| open_error(f).0;
        let mut glacier = service(403, "InvalidObjectState", "not valid for the storage class");
        if let Failure::Service { storage_class, .. } = &mut glacier {
            *storage_class = Some("DEEP_ARCHIVE".into());
        }
        let r = reason(&glacier);
        assert!(
            r.contains("archived in storage class DEEP_ARCHIVE; restore it first"),
            "{r}"
        );
        let r = reason(&service(403, "AccessDenied", "Access Denied"));
        assert!(
            r.contains("access denied") && r.contains("s3:GetObject"),
            "{r}"
        );
        let r = reason(&service(
            403,
            "AccessDenied",
            "User: x is not authorized to perform: kms:Decrypt",
        ));
        assert!(
            r.starts_with("KMS denied") && r.contains("kms:Decrypt"),
            "{r}"
        );
        let r = reason(&service(400, "KMS.DisabledException", "key is disabled"));
        assert!(r.starts_with("KMS denied"), "{r}");
        let r = reason(&service(
            404,
            "NoSuchKey",
            "The specified key does not exist.",
        ));
        assert!(r.contains("no longer exists"), "{r}");
        let r = reason(&service(
            400,
            "InvalidRequest",
            "The object was stored using a form of Server Side Encryption. The correct parameters must be provided to retrieve the object.",
        ));
        assert!(r.contains("SSE-C"), "{r}");
        let r = reason(&service(
            503,
            "SlowDown",
            "Please reduce your request rate.",
        ));
        assert!(r.contains("after retries") && r.contains("SlowDown"), "{r}");
    }

    #[test]
    fn explains_listing_failures_with_the_fix() {
        let url = S3Url::parse("s3://trail/org").unwrap();
        let aws = Endpoint::new(None, "eu-west-1");
        let local = Endpoint::new(Some("http://127.0.0.1:9"), "us-east-1");
        let msg = |f: &Failure, prefix: &str, e: &Endpoint| list_error(f, &url, prefix, e).0;

        let m = msg(&service(404, "", ""), "org/", &aws);
        assert!(
            m.contains("\"trail\" does not exist at https://s3.eu-west-1.amazonaws.com"),
            "{m}"
        );
        let m = msg(&service(404, "NoSuchBucket", "gone"), "org/", &local);
        assert!(
            m.contains("does not exist at http://127.0.0.1:9") && m.contains("--endpoint-url"),
            "{m}"
        );
        let m = msg(&service(403, "AccessDenied", "Access Denied"), "org/", &aws);
        assert!(m.contains("s3:ListBucket on arn:aws:s3:::trail"), "{m}");
        let m = msg(&Failure::NoCredentials("no providers".into()), "org/", &aws);
        assert!(
            m.contains("--profile")
                && m.contains("AWS_ACCESS_KEY_ID")
                && m.contains("--no-sign-request"),
            "{m}"
        );
        let m = msg(
            &Failure::Unreachable("Connection refused".into()),
            "org/",
            &local,
        );
        assert!(
            m.starts_with("cannot reach the S3 endpoint http://127.0.0.1:9"),
            "{m}"
        );
        let mut moved = service(301, "PermanentRedirect", "use the right endpoint");
        if let Failure::Service { region, .. } = &mut moved {
            *region = Some("ap-southeast-2".into());
        }
        let m = msg(&moved, "org/", &aws);
        assert!(m.contains("pass --region ap-southeast-2"), "{m}");
        let m = msg(&service(400, "ExpiredToken", "expired"), "org/", &aws);
        assert!(m.contains("expired") && m.contains("aws sso login"), "{m}");
        // Only a prefix below the source is named: the caller names the source.
        let m = msg(&service(403, "AccessDenied", "no"), "org/AWSLogs/", &aws);
        assert!(
            m.starts_with("listing s3://trail/org/AWSLogs/: access denied"),
            "{m}"
        );
    }

    // --- A scripted HTTP/1.1 server --------------------------------------

    struct Request {
        method: String,
        target: String,
        headers: Vec<(String, String)>,
    }

    impl Request {
        fn header(&self, name: &str) -> Option<&str> {
            self.headers
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, v)| v.as_str())
        }
    }

    struct Reply {
        status: u16,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
        /// Send only this many body bytes, then close the connection.
        cut: Option<usize>,
    }

    impl Reply {
        fn ok(body: impl Into<Vec<u8>>) -> Reply {
            Reply {
                status: 200,
                headers: vec![("ETag".into(), "\"e1\"".into())],
                body: body.into(),
                cut: None,
            }
        }

        fn status(status: u16, body: &str) -> Reply {
            Reply {
                status,
                headers: vec![("Content-Type".into(), "application/xml".into())],
                body: body.into(),
                cut: None,
            }
        }
    }

    type Handler = dyn Fn(&Request) -> Reply + Send + Sync;

    /// Serves `handler` on a free port; records each request line.
    struct Fake {
        endpoint: String,
        log: Arc<Mutex<Vec<String>>>,
    }

    fn fake(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let log = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let log2 = Arc::clone(&log);
        // The thread outlives the test; it only ever waits on accept.
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let handler = Arc::clone(&handler);
                let log = Arc::clone(&log2);
                std::thread::spawn(move || serve(stream, &*handler, &log));
            }
        });
        Fake { endpoint, log }
    }

    fn serve(stream: TcpStream, handler: &Handler, log: &Mutex<Vec<String>>) {
        let mut reader = BufReader::new(stream.try_clone().unwrap());
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_owned();
        let target = parts.next().unwrap_or_default().to_owned();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
                break;
            }
            if let Some((n, v)) = h.split_once(':') {
                headers.push((n.trim().to_owned(), v.trim().to_owned()));
            }
        }
        let request = Request {
            method,
            target,
            headers,
        };
        let range = request.header("range").map(str::to_owned);
        log.lock().unwrap().push(format!(
            "{} {} {}",
            request.method,
            request.target,
            range.unwrap_or_default()
        ));
        let reply = handler(&request);
        let mut out = stream;
        let mut head = format!("HTTP/1.1 {} X\r\nConnection: close\r\n", reply.status);
        if request.method != "HEAD" || reply.body.is_empty() {
            head.push_str(&format!("Content-Length: {}\r\n", reply.body.len()));
        }
        for (n, v) in &reply.headers {
            head.push_str(&format!("{n}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let _ = out.write_all(head.as_bytes());
        if request.method != "HEAD" {
            let n = reply.cut.unwrap_or(reply.body.len());
            let _ = out.write_all(&reply.body[..n]);
        }
        let _ = out.flush();
    }

    fn store(fake: &Fake, concurrency: usize) -> S3Store {
        let opts = S3Options {
            region: Some("us-east-1".into()),
            endpoint_url: Some(fake.endpoint.clone()),
            no_sign_request: true,
            concurrency,
            ..S3Options::default()
        };
        S3Store::connect(&S3Url::parse("s3://trail").unwrap(), &opts).unwrap()
    }

    /// An object's bytes, answering plain and ranged GETs like S3.
    fn object_reply(req: &Request, data: &[u8], cut_first: Option<usize>) -> Reply {
        match req.header("range").and_then(|r| r.strip_prefix("bytes=")) {
            Some(spec) => {
                let from: usize = spec.trim_end_matches('-').parse().unwrap();
                let mut reply = Reply::ok(&data[from..]);
                reply.status = 206;
                reply.headers.push((
                    "Content-Range".into(),
                    format!("bytes {from}-{}/{}", data.len() - 1, data.len()),
                ));
                reply
            }
            None => Reply {
                cut: cut_first,
                ..Reply::ok(data)
            },
        }
    }

    fn head_ok(req: &Request) -> Option<Reply> {
        (req.method == "HEAD").then(|| Reply {
            headers: vec![("x-amz-bucket-region".into(), "us-east-1".into())],
            ..Reply::ok(Vec::new())
        })
    }

    fn sample(n: usize) -> Vec<u8> {
        (0..n).map(|i| (i * 7 % 251) as u8).collect()
    }

    #[test]
    fn resumes_a_body_that_breaks_off() {
        let data = sample(100_000);
        let served = data.clone();
        let fake = fake(move |req| {
            head_ok(req).unwrap_or_else(|| object_reply(req, &served, Some(30_000)))
        });
        let s3 = store(&fake, 4);
        let mut bodies = s3.open_all(Box::new(std::iter::once("a.json.gz".to_owned())));
        let mut got = Vec::new();
        bodies
            .next()
            .unwrap()
            .unwrap()
            .read_to_end(&mut got)
            .unwrap();
        assert!(
            got == data,
            "resumed body differs: {} of {} bytes",
            got.len(),
            data.len()
        );
        let log = fake.log.lock().unwrap().clone();
        assert!(log.iter().any(|l| l.ends_with("bytes=30000-")), "{log:?}");
    }

    #[test]
    fn a_body_that_keeps_breaking_off_is_an_error_not_a_short_read() {
        let data = sample(50_000);
        let fake = fake(move |req| {
            head_ok(req).unwrap_or_else(|| {
                let mut reply = object_reply(req, &data, None);
                reply.cut = Some(reply.body.len() / 2);
                reply
            })
        });
        let s3 = store(&fake, 4);
        let mut body = s3
            .open_all(Box::new(std::iter::once("a.json.gz".to_owned())))
            .next()
            .unwrap()
            .unwrap();
        let mut got = Vec::new();
        let err = body.read_to_end(&mut got).unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);
        assert!(
            err.to_string().contains("broke off after")
                && err.to_string().contains("of 50000 bytes"),
            "{err}"
        );
        assert!(got.len() < 50_000);
    }

    #[test]
    fn a_changed_object_is_not_spliced() {
        let data = sample(10_000);
        let fake = fake(move |req| {
            head_ok(req).unwrap_or_else(|| match req.header("if-match") {
                Some(_) => Reply::status(412, "<Error><Code>PreconditionFailed</Code></Error>"),
                None => object_reply(req, &data, Some(1000)),
            })
        });
        let s3 = store(&fake, 4);
        let mut body = s3
            .open_all(Box::new(std::iter::once("a".to_owned())))
            .next()
            .unwrap()
            .unwrap();
        let err = body.read_to_end(&mut Vec::new()).unwrap_err();
        assert!(
            err.to_string().contains("changed while it was being read"),
            "{err}"
        );
    }

    #[test]
    fn glacier_objects_are_skipped_with_their_storage_class() {
        let fake = fake(|req| {
            head_ok(req).unwrap_or_else(|| {
                Reply::status(
                    403,
                    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>InvalidObjectState</Code>\
                     <Message>The operation is not valid for the object's storage class</Message>\
                     <StorageClass>DEEP_ARCHIVE</StorageClass></Error>",
                )
            })
        });
        let s3 = store(&fake, 4);
        let err = s3
            .open_all(Box::new(std::iter::once("cold".to_owned())))
            .next()
            .unwrap()
            .err()
            .unwrap();
        assert!(
            err.0
                .contains("storage class DEEP_ARCHIVE; restore it first"),
            "{}",
            err.0
        );
    }

    #[test]
    fn bodies_come_in_order_with_bounded_prefetch() {
        let fake = fake(|req| {
            head_ok(req).unwrap_or_else(|| {
                // Later objects answer sooner: order must not follow arrival.
                let path = req.target.split('?').next().unwrap();
                let n: u64 = path.rsplit('/').next().unwrap().parse().unwrap();
                std::thread::sleep(Duration::from_millis(40u64.saturating_sub(n * 2)));
                Reply::ok(format!("object {n}"))
            })
        });
        let s3 = store(&fake, 3);
        let keys: Vec<String> = (0..20).map(|i| i.to_string()).collect();
        let mut bodies = s3.open_all(Box::new(keys.into_iter()));
        let mut first = String::new();
        bodies
            .next()
            .unwrap()
            .unwrap()
            .read_to_string(&mut first)
            .unwrap();
        assert_eq!(first, "object 0");
        std::thread::sleep(Duration::from_millis(300));
        let gets = fake
            .log
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.starts_with("GET"))
            .count();
        assert!(
            gets <= 1 + 3,
            "{gets} GETs started for a reader one object in"
        );
        for (i, body) in bodies.enumerate() {
            let mut text = String::new();
            body.unwrap().read_to_string(&mut text).unwrap();
            assert_eq!(text, format!("object {}", i + 1));
        }
    }

    #[test]
    fn a_reader_holding_many_bodies_does_not_deadlock() {
        let big = sample(1 << 20);
        let fake = fake(move |req| head_ok(req).unwrap_or_else(|| Reply::ok(big.clone())));
        let s3 = store(&fake, 2);
        let keys: Vec<String> = (0..6).map(|i| i.to_string()).collect();
        let held: Vec<Body> = s3
            .open_all(Box::new(keys.into_iter()))
            .map(Result::unwrap)
            .collect();
        for mut body in held {
            let mut n = 0;
            let mut buf = vec![0; 65536];
            loop {
                match body.read(&mut buf).unwrap() {
                    0 => break,
                    k => n += k,
                }
            }
            assert_eq!(n, 1 << 20);
        }
    }

    #[test]
    fn listings_follow_continuation_tokens() {
        let fake = fake(|req| {
            head_ok(req).unwrap_or_else(|| {
                let second = req.target.contains("continuation-token=page2");
                let (keys, tail) = if second {
                    (["d/c", "d/e"], "<IsTruncated>false</IsTruncated>")
                } else {
                    (["d/a", "d/b"], "<IsTruncated>true</IsTruncated><NextContinuationToken>page2</NextContinuationToken>")
                };
                let contents: String = keys
                    .iter()
                    .map(|k| format!("<Contents><Key>{k}</Key><Size>3</Size></Contents>"))
                    .collect();
                Reply::status(
                    200,
                    &format!(
                        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult>\
                         <Name>trail</Name><Prefix>d/</Prefix>{contents}\
                         <Contents><Key>d/</Key><Size>0</Size></Contents>{tail}</ListBucketResult>"
                    ),
                )
            })
        });
        let s3 = store(&fake, 2);
        let listing = s3.list_all("d/").unwrap();
        let keys: Vec<&str> = listing.files.iter().map(|e| e.rel.as_str()).collect();
        assert_eq!(keys, ["d/a", "d/b", "d/c", "d/e"]);
        assert_eq!(listing.files[0].size, 3);
        assert_eq!(s3.display("d/a"), "s3://trail/d/a");
        let log = fake.log.lock().unwrap().clone();
        let lists: Vec<&String> = log.iter().filter(|l| l.contains("list-type=2")).collect();
        assert_eq!(lists.len(), 2, "{log:?}");
        assert!(
            !lists[0].contains("delimiter"),
            "a flat listing sent a delimiter: {log:?}"
        );
    }

    #[test]
    fn the_bucket_region_is_discovered() {
        let heads = AtomicUsize::new(0);
        let fake = fake(move |req| {
            assert_eq!(req.method, "HEAD", "only HeadBucket expected");
            let mut reply = Reply::ok(Vec::new());
            if heads.fetch_add(1, Ordering::SeqCst) == 0 {
                reply.status = 301;
            }
            reply
                .headers
                .push(("x-amz-bucket-region".into(), "ap-southeast-2".into()));
            reply
        });
        let opts = S3Options {
            endpoint_url: Some(fake.endpoint.clone()),
            no_sign_request: true,
            ..S3Options::default()
        };
        let s3 = S3Store::connect(&S3Url::parse("s3://trail").unwrap(), &opts).unwrap();
        assert_eq!(s3.region(), "ap-southeast-2");
    }

    #[test]
    fn a_missing_bucket_or_a_closed_port_is_fatal_and_fast() {
        let fake = fake(|_| Reply::status(404, ""));
        let opts = S3Options {
            region: Some("us-east-1".into()),
            endpoint_url: Some(fake.endpoint.clone()),
            no_sign_request: true,
            ..S3Options::default()
        };
        let err = S3Store::connect(&S3Url::parse("s3://nope").unwrap(), &opts).unwrap_err();
        assert!(
            err.0.contains("bucket \"nope\" does not exist"),
            "{}",
            err.0
        );

        let closed = {
            let l = TcpListener::bind("127.0.0.1:0").unwrap();
            l.local_addr().unwrap()
        };
        let opts = S3Options {
            endpoint_url: Some(format!("http://{closed}")),
            ..opts
        };
        let t = Instant::now();
        let err = S3Store::connect(&S3Url::parse("s3://trail").unwrap(), &opts).unwrap_err();
        assert!(
            err.0
                .starts_with(&format!("cannot reach the S3 endpoint http://{closed}")),
            "{}",
            err.0
        );
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "took {:?}",
            t.elapsed()
        );
    }
}
