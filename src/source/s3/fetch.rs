//! A trail is thousands of small objects, and one GET after another would be
//! bound by round-trip latency; yet a big object must never be held whole in
//! memory, and a connection that breaks off must never hand the decoder a
//! silently short body. So downloads are started a bounded number ahead of
//! the reader, in order, streamed through small channels, and a body that
//! breaks off is resumed with a ranged GET pinned to its ETag or failed
//! loudly.

use std::collections::VecDeque;
use std::io::{self, Read};
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::get_object::{GetObjectError, GetObjectOutput};
use aws_sdk_s3::primitives::ByteStream;
use bytes::Bytes;
use tokio::sync::{mpsc, oneshot};
use tokio::task::AbortHandle;

use super::S3Store;
use super::errors::{Failure, cause_of, open_error};
use crate::source::{Body, OpenError, Rels};

/// Time a body may go without delivering a byte while it is being read.
const STALL_TIMEOUT: Duration = Duration::from_secs(60);

/// How often a body that broke off is resumed with a ranged GET.
const MAX_RESUMES: u32 = 4;

/// The first wait before resuming a body; it doubles each time.
const RESUME_BACKOFF: Duration = Duration::from_millis(if cfg!(test) { 1 } else { 200 });

/// Chunks buffered per object between the download and the reader.
const CHUNKS_PER_OBJECT: usize = 4;

/// The iterator [`S3Store::open_all`] returns. Fetches are started from
/// `next`, so at most `concurrency` objects are ever waiting ahead of the
/// reader, and an object the reader asks for is always started at once: a
/// reader that holds several bodies can never deadlock against the bound.
pub(super) struct Prefetch<'a> {
    pub(super) store: &'a S3Store,
    pub(super) pending: Rels<'a>,
    pub(super) ahead: VecDeque<Slot>,
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
pub(super) struct Slot {
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::source::Store;
    use crate::source::s3::fake::{Reply, Request, fake, head_ok, store};

    #[test]
    fn reads_content_range() {
        assert_eq!(range_start(Some("bytes 300-999/1000")), Some(300));
        assert_eq!(range_start(Some("bytes 0-0/1")), Some(0));
        assert_eq!(range_start(Some("bytes */1000")), None);
        assert_eq!(range_start(None), None);
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
}
