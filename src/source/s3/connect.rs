//! Everything that can be wrong before the first object is read (no
//! credentials, a bucket in another region, an endpoint that does not answer,
//! a bucket that does not exist or cannot be listed) should surface once, up
//! front, as one fatal error that names the fix, rather than as a failure on
//! every file. So the options, the runtime, the client and that first check
//! live together here, and the rest of the store can assume a working client.

use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_s3::Client;
use tokio::runtime::Runtime;

use super::errors::{Failure, list_error};
use super::list::list_page;
use super::{S3Store, S3Url};
use crate::source::{Entry, ListError};

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
    ///
    /// [`Store::open_all`]: crate::source::Store::open_all
    pub concurrency: usize,
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
}

/// A tokio runtime that does not wait for stuck tasks (a DNS lookup, say)
/// when the store is dropped.
#[derive(Debug)]
pub(super) struct OwnedRuntime(Option<Runtime>);

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
pub(super) struct Endpoint {
    pub(super) custom: Option<String>,
    pub(super) region: String,
}

impl Endpoint {
    pub(super) fn new(custom: Option<&str>, region: &str) -> Endpoint {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::source::s3::fake::{Reply, fake};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

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
