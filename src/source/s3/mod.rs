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
//!
//! [`io::Error`]: std::io::Error

mod connect;
mod errors;
#[cfg(test)]
mod fake;
mod fetch;
mod list;
mod url;

use std::collections::VecDeque;

use aws_sdk_s3::Client;

use super::{Bodies, Entry, ListError, Listing, ObjectMeta, OpenError, Rels, Store};
use connect::{Endpoint, OwnedRuntime};
use fetch::Prefetch;
use list::LISTERS;

pub use connect::{DEFAULT_CONCURRENCY, S3Options};
pub use url::S3Url;

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
    /// The region requests are sent to.
    pub fn region(&self) -> &str {
        &self.endpoint.region
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

    fn head(&self, rel: &str) -> Result<ObjectMeta, OpenError> {
        let out = self
            .rt
            .block_on(
                self.client
                    .head_object()
                    .bucket(&self.url.bucket)
                    .key(rel)
                    .send(),
            )
            .map_err(|e| {
                OpenError(format!(
                    "{}: HeadObject failed: {}",
                    self.display(rel),
                    aws_sdk_s3::error::DisplayErrorContext(&e)
                ))
            })?;
        Ok(ObjectMeta {
            etag: out.e_tag().map(|t| t.trim_matches('"').to_owned()),
            version_id: out.version_id().map(str::to_owned),
            user: out
                .metadata()
                .map(|m| m.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
                .unwrap_or_default(),
        })
    }

    fn open_all<'a>(&'a self, rels: Rels<'a>) -> Bodies<'a> {
        Box::new(Prefetch {
            store: self,
            pending: rels,
            ahead: VecDeque::new(),
        })
    }
}
