//! The layout walker prunes by asking for one folder level at a time, and it
//! must get the same answer from a bucket as from a local copy of it. S3 has
//! no folders and pages its answers, so listings are assembled here: pages are
//! followed to the end and console "folder" placeholders, which no local copy
//! has, are left out.

use aws_sdk_s3::Client;

use super::S3Store;
use super::errors::{Failure, list_error};
use crate::source::{Entry, ListError, Listing, PassedOver, Store};

/// Listings in flight at once. An organization trail has a few for every
/// account and region folder; one after another they took 2.1 s of an 8 s
/// run over the benchmark corpus served on loopback, 16 at a time 0.8–1.1 s.
pub(super) const LISTERS: usize = 16;

impl S3Store {
    pub(super) fn list(&self, dir: &str, delimited: bool) -> Result<Listing, ListError> {
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

/// One page of a listing, and the token for the next one.
#[derive(Debug, Default)]
pub(super) struct Page {
    pub(super) dirs: Vec<String>,
    pub(super) files: Vec<Entry>,
    next: Option<String>,
}

pub(super) async fn list_page(
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::source::s3::fake::{Reply, fake, head_ok, store};

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
}
