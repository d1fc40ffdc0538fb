//! The SDK's errors say what failed on the wire; the user needs to know what
//! to do about it. Every SDK error is reduced once to a small [`Failure`],
//! then worded separately for a listing (fatal: the whole source is unusable)
//! and for one object (skipped and reported), so the fix-naming messages sit
//! in one place and can be tested without a server.

use std::error::Error as StdError;

use aws_sdk_s3::config::http::HttpResponse;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};

use super::S3Url;
use super::connect::Endpoint;
use crate::source::{ListError, OpenError};

/// What went wrong with one S3 call, independent of the operation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Failure {
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
    pub(super) fn of<E>(err: &SdkError<E, HttpResponse>) -> Failure
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

    pub(super) fn bucket_region(&self) -> Option<&str> {
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
pub(super) fn cause_of(err: &(dyn StdError + 'static)) -> String {
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
pub(super) fn list_error(
    failure: &Failure,
    url: &S3Url,
    prefix: &str,
    endpoint: &Endpoint,
) -> ListError {
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
pub(super) fn open_error(failure: &Failure) -> OpenError {
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
    #![allow(clippy::unwrap_used)]

    use super::*;

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
}
