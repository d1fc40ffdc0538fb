//! A source on the command line is either a local path or `s3://…`, and that
//! has to be settled before any credentials are loaded or any request is
//! sent. Parsing is kept apart from the client so that configuration can
//! recognise and validate a bucket source without touching the AWS SDK.

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
    ///
    /// [`S3Store::connect`]: super::S3Store::connect
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

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

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
}
