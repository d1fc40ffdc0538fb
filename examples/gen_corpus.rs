//! Writes a realistic CloudTrail archive, deterministic by seed, with an
//! embedded attack lineage and its ground truth.
//!
//! ```sh
//! cargo run --release --example gen_corpus -- --out bench-corpus --events 1500000 --seed 1 --org
//! ```
//!
//! The archive follows the S3 delivery layout
//! (`AWSLogs/[o-ORG/]ACCOUNT/CloudTrail/REGION/YYYY/MM/DD/…json.gz`), with one
//! file per account, region and 5-minute window, late deliveries (up to 4 h,
//! under keytrail's 6 h default margin), duplicate deliveries and hourly
//! digest files. Records are compact JSON of about 1 KB with the identity mix
//! of real trails and STS noise that returns credentials.
//!
//! The lineage: an IAM user's key leaks; the attacker mints a session token
//! (used for hours, also after the defender deactivates the key) and a
//! federation token, chains roles across accounts, creates a key for another
//! user and mints a session from it. `DIR/ground-truth.json` is computed from
//! the records actually written (duplicates counted once). The seed key is
//! printed on stdout, statistics on stderr.
//!
//! Every file is a pure function of `(seed, options, file)`, so files are
//! written in parallel and the bytes do not depend on the thread count.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Parser;
use flate2::Compression;
use flate2::write::GzEncoder;
use rayon::prelude::*;

/// Command line.
#[derive(Parser, Debug, Clone)]
#[command(
    about = "Write a deterministic synthetic CloudTrail archive with an embedded key lineage"
)]
struct Args {
    /// Output folder (created; existing files with the same names are overwritten).
    #[arg(long)]
    out: PathBuf,
    /// Unique events to write (background plus lineage).
    #[arg(long, default_value_t = 1_500_000)]
    events: u64,
    /// PRNG seed.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Accounts in the trail (the victim is the first, the cross-account target the second).
    #[arg(long, default_value_t = 6)]
    accounts: usize,
    /// Regions per account (at most 16).
    #[arg(long, default_value_t = 4)]
    regions: usize,
    /// Days of activity, from 2025-12-08.
    #[arg(long, default_value_t = 1)]
    days: u32,
    /// Organization trail layout (`AWSLogs/o-ORG/ACCOUNT/…`).
    #[arg(long)]
    org: bool,
}

/// Seconds per delivery window.
const SLOT: i64 = 300;
/// Latest delivery, in windows after the event's own (4 h; keytrail's default margin is 6 h).
const MAX_DELAY: usize = 48;
/// Parts per 10,000 of events delivered late, and delivered twice.
const LATE_PER_10K: u64 = 40;
const DUP_PER_10K: u64 = 30;
/// 2025-12-08T00:00:00Z.
const START: i64 = 1_765_152_000;
const TRAIL: &str = "org-trail";
const BUCKET: &str = "aws-cloudtrail-logs-org-archive";

const REGIONS: &[&str] = &[
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-2",
    "ap-northeast-1",
    "us-east-2",
    "eu-west-2",
    "ca-central-1",
    "sa-east-1",
    "ap-south-1",
    "eu-north-1",
    "ap-southeast-1",
    "us-west-1",
    "eu-west-3",
    "ap-northeast-2",
];
const REGION_WEIGHT: &[f64] = &[
    4.0, 2.5, 2.0, 1.5, 1.0, 1.0, 0.8, 0.8, 0.6, 0.5, 0.5, 0.4, 0.4, 0.3, 0.3, 0.3,
];

const USERS: &[&str] = &[
    "terraform",
    "backup-svc",
    "alice.nguyen",
    "bob.smith",
    "monitoring",
    "jenkins",
    "secops-admin",
    "data-export",
];
const ROLES: &[&str] = &[
    "ecs-task-orders-api",
    "lambda-exec-billing",
    "eks-node-group-prod",
    "github-actions-deploy",
    "AWSReservedSSO_AdministratorAccess_7c1f09a3b2d4e5f6",
    "AWSReservedSSO_ReadOnly_0a1b2c3d4e5f6a7b",
    "OrganizationAccountAccessRole",
    "datadog-integration",
];
const SERVICES: &[&str] = &[
    "lambda.amazonaws.com",
    "ecs-tasks.amazonaws.com",
    "ec2.amazonaws.com",
    "config.amazonaws.com",
    "autoscaling.amazonaws.com",
    "cloudformation.amazonaws.com",
    "elasticloadbalancing.amazonaws.com",
    "ssm.amazonaws.com",
];
const AGENTS: &[&str] = &[
    "aws-cli/2.15.30 Python/3.11.8 Linux/5.10.210-201.852.amzn2.x86_64 exe/x86_64.amzn.2 prompt/off command/ec2.describe-instances",
    "Boto3/1.34.51 md/Botocore#1.34.51 ua/2.0 os/linux#5.10.209-198.858.amzn2.x86_64 md/arch#x86_64 lang/python#3.12.2 md/pyimpl#CPython exec-env/AWS_Lambda_python3.12 cfg/retry-mode#legacy Botocore/1.34.51",
    "aws-sdk-go-v2/1.25.2 os/linux lang/go#1.22.0 md/GOOS#linux md/GOARCH#amd64 api/ec2#1.149.1",
    "APN/1.0 HashiCorp/1.0 Terraform/1.7.4 (+https://www.terraform.io) terraform-provider-aws/5.40.0 (+https://registry.terraform.io/providers/hashicorp/aws) aws-sdk-go/1.50.33 (go1.22.0; linux; amd64)",
    "aws-sdk-java/2.25.6 Linux/5.10.210-201.852.amzn2.x86_64 OpenJDK_64-Bit_Server_VM/17.0.10+7-LTS Java/17.0.10 vendor/Amazon.com_Inc. io/sync http/Apache cfg/retry-mode/standard",
    "aws-sdk-js/3.535.0 ua/2.0 os/linux#5.10.210 lang/js md/nodejs#20.11.1 api/dynamodb#3.535.0",
    "datadog-agent/7.51.0 (\"aws-integration\"; +https://docs.datadoghq.com)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36",
];
const ATTACKER_AGENTS: &[&str] = &[
    "aws-cli/2.13.5 Python/3.11.4 Linux/6.3.0-kali1-amd64 exe/x86_64.kali.2023 prompt/off command/sts.get-caller-identity",
    "Boto3/1.28.17 Python/3.11.4 Linux/6.3.0-kali1-amd64 Botocore/1.31.17 (pacu)",
    "python-requests/2.31.0 \"=cmd|' /C calc'!A0\"",
];
const ATTACKER_IPS: &[&str] = &["185.220.101.47", "185.220.101.33", "45.134.26.77"];
const CI_IP: &str = "34.207.118.21";

// ---------------------------------------------------------------- randomness

/// The splitmix64 finaliser: a good 64-bit mixer.
fn mix(mut z: u64) -> u64 {
    z = z.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Hashes a tuple of words into one.
fn hash(parts: &[u64]) -> u64 {
    parts.iter().fold(0x5eed_u64, |h, &p| mix(h ^ p))
}

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed)
    }
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        mix(self.0)
    }
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next()) * u128::from(n)) >> 64) as u64
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo).max(1) as u64) as i64
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
    fn percent(&mut self) -> u64 {
        self.below(100)
    }
    fn chars(&mut self, out: &mut String, alphabet: &[u8], n: usize) {
        for _ in 0..n {
            out.push(char::from(*self.pick(alphabet)));
        }
    }
}

const B32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const B64: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const HEX: &[u8] = b"0123456789abcdef";

/// An access key id: a 4-letter prefix and 16 base-32 characters.
fn key_id(prefix: &str, h: u64) -> String {
    let mut s = String::with_capacity(20);
    s.push_str(prefix);
    Rng::new(h).chars(&mut s, B32, 16);
    s
}

fn principal_id(prefix: &str, h: u64) -> String {
    let mut s = String::with_capacity(21);
    s.push_str(prefix);
    Rng::new(h).chars(&mut s, B32, 17);
    s
}

fn uuid(out: &mut String, rng: &mut Rng) {
    let a = rng.next();
    let b = rng.next();
    let _ = write!(
        out,
        "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
        a >> 32,
        (a >> 16) & 0xffff,
        a & 0xfff,
        0x8000 | (b >> 48) & 0x3fff,
        b & 0xffff_ffff_ffff
    );
}

fn uuid_string(rng: &mut Rng) -> String {
    let mut s = String::with_capacity(36);
    uuid(&mut s, rng);
    s
}

// ---------------------------------------------------------------- time

/// Days since 1970-01-01 into (year, month, day); Howard Hinnant's algorithm.
fn civil(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

struct Parts {
    y: i64,
    mo: u32,
    d: u32,
    h: i64,
    mi: i64,
    s: i64,
}

fn parts(t: i64) -> Parts {
    let (y, mo, d) = civil(t.div_euclid(86_400));
    let sod = t.rem_euclid(86_400);
    Parts {
        y,
        mo,
        d,
        h: sod / 3600,
        mi: sod / 60 % 60,
        s: sod % 60,
    }
}

/// `2025-12-08T14:03:12Z`
fn iso(out: &mut String, t: i64) {
    let p = parts(t);
    let _ = write!(
        out,
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        p.y, p.mo, p.d, p.h, p.mi, p.s
    );
}

fn iso_string(t: i64) -> String {
    let mut s = String::with_capacity(20);
    iso(&mut s, t);
    s
}

/// `Dec 10, 2025, 2:03:12 AM`, as STS writes `credentials.expiration`.
fn expiration(out: &mut String, t: i64) {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let p = parts(t);
    let (h12, ampm) = match p.h {
        0 => (12, "AM"),
        1..=11 => (p.h, "AM"),
        12 => (12, "PM"),
        _ => (p.h - 12, "PM"),
    };
    let _ = write!(
        out,
        "{} {}, {}, {}:{:02}:{:02} {}",
        MONTHS[p.mo as usize - 1],
        p.d,
        p.y,
        h12,
        p.mi,
        p.s,
        ampm
    );
}

/// `YYYY/MM/DD` and `YYYYMMDDTHHmm` of a delivery stamp.
fn stamp_parts(t: i64) -> (String, String) {
    let p = parts(t);
    (
        format!("{:04}/{:02}/{:02}", p.y, p.mo, p.d),
        format!("{:04}{:02}{:02}T{:02}{:02}", p.y, p.mo, p.d, p.h, p.mi),
    )
}

// ---------------------------------------------------------------- JSON

/// Appends `s` as a JSON string.
fn jstr(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// One API call, ready to be written as a record.
struct Call<'a> {
    time: i64,
    recipient: &'a str,
    region: &'a str,
    identity: &'a str,
    source_ip: &'a str,
    user_agent: &'a str,
    api: &'a Api,
    error: Option<(&'a str, String)>,
    event_id: &'a str,
    shared_event_id: Option<&'a str>,
    tls: bool,
    console: bool,
}

/// What was called: source, name, parameters, response.
struct Api {
    source: &'static str,
    name: &'static str,
    read_only: bool,
    host: String,
    request: String,
    response: String,
    additional: Option<String>,
    resources: Option<String>,
}

impl Api {
    fn new(source: &'static str, name: &'static str, read_only: bool) -> Api {
        Api {
            source,
            name,
            read_only,
            host: String::new(),
            request: "null".into(),
            response: "null".into(),
            additional: None,
            resources: None,
        }
    }
}

fn record(out: &mut String, c: &Call<'_>, rng: &mut Rng) {
    out.push_str("{\"eventVersion\":\"1.09\",\"userIdentity\":");
    out.push_str(c.identity);
    out.push_str(",\"eventTime\":\"");
    iso(out, c.time);
    let _ = write!(
        out,
        "\",\"eventSource\":\"{}\",\"eventName\":\"{}\",\"awsRegion\":\"{}\",\"sourceIPAddress\":",
        c.api.source, c.api.name, c.region
    );
    jstr(out, c.source_ip);
    out.push_str(",\"userAgent\":");
    jstr(out, c.user_agent);
    if let Some((code, message)) = &c.error {
        let _ = write!(out, ",\"errorCode\":\"{code}\",\"errorMessage\":");
        jstr(out, message);
    }
    out.push_str(",\"requestParameters\":");
    if c.error.is_some() && c.api.source == "sts.amazonaws.com" {
        out.push_str(&c.api.request);
        out.push_str(",\"responseElements\":null");
    } else {
        out.push_str(&c.api.request);
        out.push_str(",\"responseElements\":");
        out.push_str(&c.api.response);
    }
    if let Some(add) = &c.api.additional {
        out.push_str(",\"additionalEventData\":");
        out.push_str(add);
    }
    out.push_str(",\"requestID\":\"");
    uuid(out, rng);
    let _ = write!(
        out,
        "\",\"eventID\":\"{}\",\"readOnly\":{}",
        c.event_id, c.api.read_only
    );
    if let Some(res) = &c.api.resources {
        out.push_str(",\"resources\":");
        out.push_str(res);
    }
    let _ = write!(
        out,
        ",\"eventType\":\"AwsApiCall\",\"managementEvent\":true,\"recipientAccountId\":\"{}\"",
        c.recipient
    );
    if let Some(shared) = c.shared_event_id {
        let _ = write!(out, ",\"sharedEventID\":\"{shared}\"");
    }
    out.push_str(",\"eventCategory\":\"Management\"");
    if c.tls {
        let (version, suite) = if rng.percent() < 70 {
            ("TLSv1.3", "TLS_AES_128_GCM_SHA256")
        } else {
            ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256")
        };
        let _ = write!(
            out,
            ",\"tlsDetails\":{{\"tlsVersion\":\"{version}\",\"cipherSuite\":\"{suite}\",\"clientProvidedHostHeader\":\"{}\"}}",
            c.api.host
        );
    }
    if c.console {
        out.push_str(",\"sessionCredentialFromConsole\":\"true\"");
    }
    out.push('}');
}

// ---------------------------------------------------------------- identities

fn iam_user(account: &str, user: &str, key: &str) -> String {
    format!(
        r#"{{"type":"IAMUser","principalId":"{}","arn":"arn:aws:iam::{account}:user/{user}","accountId":"{account}","accessKeyId":"{key}","userName":"{user}"}}"#,
        principal_id("AIDA", hash(&[1, fnv(account), fnv(user)]))
    )
}

/// A `GetSessionToken` session: still an `IAMUser`, with a session context.
fn session_user(account: &str, user: &str, key: &str, created: i64) -> String {
    format!(
        r#"{{"type":"IAMUser","principalId":"{}","arn":"arn:aws:iam::{account}:user/{user}","accountId":"{account}","accessKeyId":"{key}","userName":"{user}","sessionContext":{{"attributes":{{"creationDate":"{}","mfaAuthenticated":"false"}}}}}}"#,
        principal_id("AIDA", hash(&[1, fnv(account), fnv(user)])),
        iso_string(created)
    )
}

fn assumed_role(account: &str, role: &str, session: &str, key: &str, created: i64) -> String {
    let rid = principal_id("AROA", hash(&[2, fnv(account), fnv(role)]));
    format!(
        r#"{{"type":"AssumedRole","principalId":"{rid}:{session}","arn":"arn:aws:sts::{account}:assumed-role/{role}/{session}","accountId":"{account}","accessKeyId":"{key}","sessionContext":{{"sessionIssuer":{{"type":"Role","principalId":"{rid}","arn":"arn:aws:iam::{account}:role/{role}","accountId":"{account}","userName":"{role}"}},"webIdFederationData":{{}},"attributes":{{"creationDate":"{}","mfaAuthenticated":"false"}}}}}}"#,
        iso_string(created)
    )
}

fn federated(account: &str, user: &str, name: &str, key: &str, created: i64) -> String {
    format!(
        r#"{{"type":"FederatedUser","principalId":"{account}:{name}","arn":"arn:aws:sts::{account}:federated-user/{name}","accountId":"{account}","accessKeyId":"{key}","sessionContext":{{"sessionIssuer":{{"type":"IAMUser","principalId":"{}","arn":"arn:aws:iam::{account}:user/{user}","accountId":"{account}","userName":"{user}"}},"attributes":{{"creationDate":"{}","mfaAuthenticated":"false"}}}}}}"#,
        principal_id("AIDA", hash(&[1, fnv(account), fnv(user)])),
        iso_string(created)
    )
}

fn aws_service(service: &str) -> String {
    format!(r#"{{"type":"AWSService","invokedBy":"{service}"}}"#)
}

fn fnv(s: &str) -> u64 {
    s.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

// ---------------------------------------------------------------- APIs

fn host(service: &str, region: &str) -> String {
    match service {
        "iam" => "iam.amazonaws.com".into(),
        "s3" => "s3.amazonaws.com".into(),
        _ => format!("{service}.{region}.amazonaws.com"),
    }
}

fn bucket(account: &str, rng: &mut Rng) -> String {
    let kind = rng.pick(&["logs", "backups", "artifacts", "data-lake", "static-assets"]);
    format!("acme-{kind}-{account}")
}

/// A background or attacker call that returns no credential.
fn plain_api(rng: &mut Rng, account: &str, region: &str, global: bool) -> Api {
    let choices: u64 = if global { 22 } else { 17 };
    match rng.below(choices) {
        0 | 1 => {
            let mut a = Api::new("ec2.amazonaws.com", "DescribeInstances", true);
            a.request = r#"{"instancesSet":{},"filterSet":{"items":[{"name":"instance-state-name","valueSet":{"items":[{"value":"running"}]}},{"name":"tag:Environment","valueSet":{"items":[{"value":"production"}]}}]}}"#.into();
            a.host = host("ec2", region);
            a
        }
        2 => {
            let mut a = Api::new("ec2.amazonaws.com", "DescribeSecurityGroups", true);
            a.request = format!(
                r#"{{"securityGroupSet":{{}},"securityGroupIdSet":{{"items":[{{"groupId":"sg-0{:016x}"}}]}},"filterSet":{{}}}}"#,
                rng.next()
            );
            a.host = host("ec2", region);
            a
        }
        3 => {
            let mut a = Api::new("ec2.amazonaws.com", "DescribeVolumes", true);
            a.request = r#"{"volumeSet":{},"filterSet":{},"maxResults":500}"#.into();
            a.host = host("ec2", region);
            a
        }
        4 | 5 => {
            let mut a = Api::new("kms.amazonaws.com", "Decrypt", true);
            let key = uuid_string(rng);
            a.request = format!(
                r#"{{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{{"aws:lambda:FunctionArn":"arn:aws:lambda:{region}:{account}:function:billing-worker"}}}}"#
            );
            a.resources = Some(format!(
                r#"[{{"accountId":"{account}","type":"AWS::KMS::Key","ARN":"arn:aws:kms:{region}:{account}:key/{key}"}}]"#
            ));
            a.host = host("kms", region);
            a
        }
        6 => {
            let mut a = Api::new("kms.amazonaws.com", "GenerateDataKey", true);
            let key = uuid_string(rng);
            a.request = format!(
                r#"{{"keyId":"arn:aws:kms:{region}:{account}:key/{key}","encryptionContext":{{"aws:s3:arn":"arn:aws:s3:::{}"}},"keySpec":"AES_256"}}"#,
                bucket(account, rng)
            );
            a.resources = Some(format!(
                r#"[{{"accountId":"{account}","type":"AWS::KMS::Key","ARN":"arn:aws:kms:{region}:{account}:key/{key}"}}]"#
            ));
            a.host = host("kms", region);
            a
        }
        7 => {
            let mut a = Api::new("logs.amazonaws.com", "CreateLogStream", false);
            a.request = format!(
                r#"{{"logGroupName":"/aws/lambda/orders-api","logStreamName":"2025/12/08/[$LATEST]{:032x}"}}"#,
                u128::from(rng.next()) << 64 | u128::from(rng.next())
            );
            a.host = host("logs", region);
            a
        }
        8 => {
            let mut a = Api::new("secretsmanager.amazonaws.com", "GetSecretValue", true);
            let mut suffix = String::new();
            rng.chars(&mut suffix, ALNUM, 6);
            let arn =
                format!("arn:aws:secretsmanager:{region}:{account}:secret:prod/orders/db-{suffix}");
            a.request = format!(r#"{{"secretId":"{arn}"}}"#);
            a.resources = Some(format!(
                r#"[{{"accountId":"{account}","type":"AWS::SecretsManager::Secret","ARN":"{arn}"}}]"#
            ));
            a.host = host("secretsmanager", region);
            a
        }
        9 => {
            let mut a = Api::new("ssm.amazonaws.com", "GetParameters", true);
            a.request = r#"{"names":["/prod/orders/config","/prod/orders/feature-flags"],"withDecryption":true}"#.into();
            a.host = host("ssm", region);
            a
        }
        10 => {
            let mut a = Api::new("dynamodb.amazonaws.com", "DescribeTable", true);
            a.request = r#"{"tableName":"orders-prod"}"#.into();
            a.host = host("dynamodb", region);
            a
        }
        11 => {
            let mut a = Api::new("ecr.amazonaws.com", "GetAuthorizationToken", true);
            a.request = format!(r#"{{"registryIds":["{account}"]}}"#);
            a.host = host("api.ecr", region);
            a
        }
        12 => {
            let mut a = Api::new("lambda.amazonaws.com", "ListFunctions20150331", true);
            a.host = host("lambda", region);
            a
        }
        13 => {
            let mut a = Api::new("monitoring.amazonaws.com", "DescribeAlarms", true);
            a.request =
                r#"{"alarmNames":["orders-api-5xx","orders-api-latency-p99"],"maxRecords":100}"#
                    .into();
            a.host = host("monitoring", region);
            a
        }
        14 => {
            let mut a = Api::new(
                "elasticloadbalancing.amazonaws.com",
                "DescribeTargetHealth",
                true,
            );
            a.request = format!(
                r#"{{"targetGroupArn":"arn:aws:elasticloadbalancing:{region}:{account}:targetgroup/orders-api/{:016x}"}}"#,
                rng.next()
            );
            a.host = host("elasticloadbalancing", region);
            a
        }
        15 => {
            let mut a = Api::new("cloudformation.amazonaws.com", "DescribeStacks", true);
            a.request = format!(
                r#"{{"stackName":"arn:aws:cloudformation:{region}:{account}:stack/orders-prod/{}"}}"#,
                uuid_string(rng)
            );
            a.host = host("cloudformation", region);
            a
        }
        16 => {
            let mut a = Api::new("sts.amazonaws.com", "GetCallerIdentity", true);
            a.host = host("sts", region);
            a
        }
        17 | 18 => {
            let mut a = Api::new("s3.amazonaws.com", "ListBuckets", true);
            a.request = r#"{"Host":"s3.amazonaws.com"}"#.into();
            a.additional = Some(format!(
                r#"{{"SignatureVersion":"SigV4","CipherSuite":"TLS_AES_128_GCM_SHA256","bytesTransferredIn":0,"AuthenticationMethod":"AuthHeader","x-amz-id-2":"{:016x}{:016x}","bytesTransferredOut":{}}}"#,
                rng.next(),
                rng.next(),
                rng.range(400, 9000)
            ));
            a.host = host("s3", region);
            a
        }
        19 => {
            let mut a = Api::new("s3.amazonaws.com", "GetBucketPolicy", true);
            let b = bucket(account, rng);
            a.request =
                format!(r#"{{"bucketName":"{b}","Host":"{b}.s3.amazonaws.com","policy":""}}"#);
            a.resources = Some(format!(
                r#"[{{"accountId":"{account}","type":"AWS::S3::Bucket","ARN":"arn:aws:s3:::{b}"}}]"#
            ));
            a.host = format!("{b}.s3.amazonaws.com");
            a
        }
        20 => {
            let mut a = Api::new("iam.amazonaws.com", "ListRoles", true);
            a.request = r#"{"maxItems":100}"#.into();
            a.host = host("iam", region);
            a
        }
        _ => {
            let mut a = Api::new("iam.amazonaws.com", "ListAttachedRolePolicies", true);
            let role = rng.pick(ROLES);
            a.request = format!(r#"{{"roleName":"{role}"}}"#);
            a.host = host("iam", region);
            a
        }
    }
}

/// The credentials block of an STS response.
fn sts_credentials(out: &mut String, rng: &mut Rng, key: &str, expires: i64) {
    let _ = write!(
        out,
        r#""credentials":{{"accessKeyId":"{key}","sessionToken":"IQoJb3JpZ2luX2VjE"#
    );
    let n = 380 + rng.below(320) as usize;
    rng.chars(out, B64, n);
    out.push_str("=\",\"expiration\":\"");
    expiration(out, expires);
    out.push_str("\"}");
}

#[allow(clippy::too_many_arguments)]
fn assume_role_api(
    rng: &mut Rng,
    region: &str,
    role_account: &str,
    role: &str,
    session: &str,
    key: &str,
    expires: i64,
    duration: Option<i64>,
) -> Api {
    let mut a = Api::new("sts.amazonaws.com", "AssumeRole", true);
    let role_arn = format!("arn:aws:iam::{role_account}:role/{role}");
    a.request = match duration {
        Some(d) => format!(
            r#"{{"roleArn":"{role_arn}","roleSessionName":"{session}","durationSeconds":{d}}}"#
        ),
        None => format!(r#"{{"roleArn":"{role_arn}","roleSessionName":"{session}"}}"#),
    };
    let rid = principal_id("AROA", hash(&[2, fnv(role_account), fnv(role)]));
    let mut resp = String::from("{");
    sts_credentials(&mut resp, rng, key, expires);
    let _ = write!(
        resp,
        r#","assumedRoleUser":{{"assumedRoleId":"{rid}:{session}","arn":"arn:aws:sts::{role_account}:assumed-role/{role}/{session}"}}}}"#
    );
    a.response = resp;
    a.resources = Some(format!(
        r#"[{{"accountId":"{role_account}","type":"AWS::IAM::Role","ARN":"{role_arn}"}}]"#
    ));
    a.host = host("sts", region);
    a
}

fn session_token_api(rng: &mut Rng, region: &str, key: &str, expires: i64, duration: i64) -> Api {
    let mut a = Api::new("sts.amazonaws.com", "GetSessionToken", true);
    a.request = format!(r#"{{"durationSeconds":{duration}}}"#);
    let mut resp = String::from("{");
    sts_credentials(&mut resp, rng, key, expires);
    resp.push('}');
    a.response = resp;
    a.host = host("sts", region);
    a
}

// ---------------------------------------------------------------- the world

struct World {
    seed: u64,
    accounts: Vec<String>,
    regions: Vec<&'static str>,
    org: Option<String>,
    slots: usize,
}

impl World {
    fn new(args: &Args) -> World {
        let mut rng = Rng::new(hash(&[args.seed, 0xacc]));
        let accounts = (0..args.accounts)
            .map(|_| format!("{:012}", 100_000_000_000 + rng.below(899_999_999_999)))
            .collect();
        let org = args.org.then(|| {
            let mut s = String::from("o-");
            rng.chars(&mut s, b"abcdefghijklmnopqrstuvwxyz0123456789", 10);
            s
        });
        World {
            seed: args.seed,
            accounts,
            regions: REGIONS[..args.regions].to_vec(),
            org,
            slots: args.days as usize * 86_400 / SLOT as usize,
        }
    }

    fn base_dir(&self, account: usize) -> String {
        match &self.org {
            Some(org) => format!("AWSLogs/{org}/{}", self.accounts[account]),
            None => format!("AWSLogs/{}", self.accounts[account]),
        }
    }

    /// A background user's long-term key.
    fn user_key(&self, account: usize, user: usize) -> String {
        key_id(
            "AKIA",
            hash(&[self.seed, 0x05e4, account as u64, user as u64]),
        )
    }

    /// A background role session's key: sessions rotate hourly.
    fn role_key(&self, account: usize, role: usize, session: u64, hour: i64) -> String {
        key_id(
            "ASIA",
            hash(&[
                self.seed,
                0x401e,
                account as u64,
                role as u64,
                session,
                hour as u64,
            ]),
        )
    }
}

/// One background event.
fn background(out: &mut String, w: &World, account: usize, region: usize, t: i64, rng: &mut Rng) {
    let acct = w.accounts[account].as_str();
    let reg = w.regions[region];
    let global = region == 0;
    let event_id = uuid_string(rng);
    let roll = rng.percent();
    let mut tls = true;
    let mut console = false;
    let mut shared = None;
    let mut error = None;
    let (identity, source_ip, agent, api): (String, String, &str, Api);
    if roll < 44 {
        // A service acting for the account.
        let service = *rng.pick(SERVICES);
        identity = aws_service(service);
        source_ip = service.to_owned();
        agent = service;
        tls = false;
        api = if rng.percent() < 10 {
            let role = if service == "ecs-tasks.amazonaws.com" {
                "ecs-task-orders-api"
            } else {
                "lambda-exec-billing"
            };
            let key = key_id("ASIA", rng.next());
            let session = format!("{:016x}", rng.next());
            shared = Some(uuid_string(rng));
            assume_role_api(rng, reg, acct, role, &session, &key, t + 3600, None)
        } else {
            let mut a = plain_api(rng, acct, reg, false);
            if !a.source.starts_with("kms") && !a.source.starts_with("logs") {
                a = Api::new("kms.amazonaws.com", "Decrypt", true);
                a.request =
                    r#"{"encryptionAlgorithm":"SYMMETRIC_DEFAULT","encryptionContext":{"PARAMETER_ARN":"arn:aws:ssm:param"}}"#.into();
            }
            a
        };
    } else if roll < 84 {
        let role = rng.below(ROLES.len() as u64) as usize;
        let session_no = rng.below(6);
        let hour = (t - START) / 3600;
        let key = w.role_key(account, role, session_no, hour);
        let sso = ROLES[role].starts_with("AWSReservedSSO");
        let session = if sso {
            format!("user{session_no}@acme.example")
        } else {
            format!(
                "{}-{:08x}",
                ROLES[role].split('-').next().unwrap_or("s"),
                hash(&[session_no, hour as u64]) as u32
            )
        };
        identity = assumed_role(acct, ROLES[role], &session, &key, START + hour * 3600);
        if sso {
            console = rng.percent() < 60;
            agent = AGENTS[7];
            source_ip = format!("203.0.113.{}", session_no + 10);
        } else {
            agent = *rng.pick(&AGENTS[..7]);
            source_ip = format!("10.{}.{}.{}", rng.below(4), rng.below(256), rng.below(256));
        }
        api = if rng.percent() < 4 {
            // Role chaining in CI: STS noise.
            let target = rng.below(w.accounts.len() as u64) as usize;
            let new_key = key_id("ASIA", rng.next());
            assume_role_api(
                rng,
                reg,
                &w.accounts[target],
                "deploy-target",
                "gha-deploy",
                &new_key,
                t + 3600,
                Some(3600),
            )
        } else {
            plain_api(rng, acct, reg, global)
        };
    } else if roll < 97 {
        let user = rng.below(USERS.len() as u64) as usize;
        let key = w.user_key(account, user);
        identity = iam_user(acct, USERS[user], &key);
        agent = *rng.pick(&AGENTS[..7]);
        source_ip = format!("198.51.100.{}", 20 + user);
        api = if rng.percent() < 8 {
            let new_key = key_id("ASIA", rng.next());
            session_token_api(rng, reg, &new_key, t + 43_200, 43_200)
        } else {
            plain_api(rng, acct, reg, global)
        };
    } else {
        // GitHub Actions OIDC: AssumeRoleWithWebIdentity.
        let repo = rng.pick(&["acme/orders-api", "acme/billing", "acme/infra"]);
        identity = format!(
            r#"{{"type":"WebIdentityUser","principalId":"arn:aws:iam::{acct}:oidc-provider/token.actions.githubusercontent.com:sts.amazonaws.com:repo:{repo}:ref:refs/heads/main","userName":"repo:{repo}:ref:refs/heads/main","identityProvider":"arn:aws:iam::{acct}:oidc-provider/token.actions.githubusercontent.com"}}"#
        );
        agent = "aws-sdk-js/3.535.0 ua/2.0 os/linux#6.5.0-1017-azure lang/js md/nodejs#20.11.1 api/sts#3.535.0 configure-aws-credentials-for-github-actions";
        source_ip = format!("4.{}.{}.{}", rng.below(256), rng.below(256), rng.below(256));
        let new_key = key_id("ASIA", rng.next());
        let mut a = assume_role_api(
            rng,
            reg,
            acct,
            "github-actions-deploy",
            "GitHubActions",
            &new_key,
            t + 3600,
            Some(3600),
        );
        a.name = "AssumeRoleWithWebIdentity";
        a.response.pop();
        let _ = write!(
            a.response,
            r#","subjectFromWebIdentityToken":"repo:{repo}:ref:refs/heads/main","provider":"arn:aws:iam::{acct}:oidc-provider/token.actions.githubusercontent.com","audience":"sts.amazonaws.com"}}"#
        );
        api = a;
    }
    if rng.below(1000) < 25 {
        let code = if api.source == "ec2.amazonaws.com" {
            "Client.UnauthorizedOperation"
        } else {
            "AccessDenied"
        };
        error = Some((
            code,
            format!(
                "User: arn:aws:sts::{acct}:assumed-role/readonly/session is not authorized to perform: {}:{} because no identity-based policy allows the {}:{} action",
                api.source.trim_end_matches(".amazonaws.com"),
                api.name,
                api.source.trim_end_matches(".amazonaws.com"),
                api.name
            ),
        ));
    }
    let call = Call {
        time: t,
        recipient: acct,
        region: reg,
        identity: &identity,
        source_ip: &source_ip,
        user_agent: agent,
        api: &api,
        error,
        event_id: &event_id,
        shared_event_id: shared.as_deref(),
        tls,
        console,
    };
    record(out, &call, rng);
}

// ---------------------------------------------------------------- the lineage

/// One credential of the embedded lineage.
struct Cred {
    key: String,
    kind: &'static str,
    parent: Option<usize>,
    depth: u32,
    account: usize,
    issued_at: Option<i64>,
    minted_by: Option<String>,
    deactivated_at: Option<i64>,
}

/// Why a lineage event is in the timeline.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Relation {
    /// Made with credential `.0`.
    Action(usize),
    /// A defender's `UpdateAccessKey`/`DeleteAccessKey` naming a lineage key.
    Lifecycle,
    /// The role account's copy of a cross-account `AssumeRole`.
    Copy,
}

/// A planned lineage event, already serialized.
struct LineageEvent {
    time: i64,
    account: usize,
    region: usize,
    id: String,
    relation: Relation,
    json: String,
    /// Force a delivery: `(delay in windows, duplicate)`.
    delivery: Option<(usize, bool)>,
}

struct Lineage {
    creds: Vec<Cred>,
    events: Vec<LineageEvent>,
}

/// How an actor presents itself in its records.
struct Actor {
    cred: usize,
    identity: String,
    account: usize,
    ip: &'static str,
    agent: &'static str,
}

struct Planner<'w> {
    w: &'w World,
    rng: Rng,
    lineage: Lineage,
}

impl Planner<'_> {
    fn add(
        &mut self,
        actor: &Actor,
        t: i64,
        region: usize,
        api: &Api,
        error: Option<(&str, String)>,
        delivery: Option<(usize, bool)>,
    ) -> String {
        let id = uuid_string(&mut self.rng);
        let mut json = String::new();
        let call = Call {
            time: t,
            recipient: &self.w.accounts[actor.account],
            region: self.w.regions[region],
            identity: &actor.identity,
            source_ip: actor.ip,
            user_agent: actor.agent,
            api,
            error,
            event_id: &id,
            shared_event_id: None,
            tls: true,
            console: false,
        };
        record(&mut json, &call, &mut self.rng);
        self.lineage.events.push(LineageEvent {
            time: t,
            account: actor.account,
            region,
            id: id.clone(),
            relation: Relation::Action(actor.cred),
            json,
            delivery,
        });
        id
    }

    /// `n` ordinary actions spread over `[from, to)`, some of them failing.
    fn actions(&mut self, actor: &Actor, n: usize, from: i64, to: i64, regions: bool) {
        for i in 0..n {
            let span = (to - from).max(1);
            let t = from
                + span * i as i64 / n.max(1) as i64
                + self.rng.below((span / n.max(1) as i64).max(1) as u64) as i64;
            let region = if regions {
                self.rng.below(self.w.regions.len() as u64) as usize
            } else {
                0
            };
            let acct = self.w.accounts[actor.account].clone();
            let api = plain_api(&mut self.rng, &acct, self.w.regions[region], region == 0);
            let error = (self.rng.percent() < 8).then(|| {
                (
                    "AccessDenied",
                    format!(
                        "User: {} is not authorized to perform: {}:{}",
                        arn_of(&actor.identity),
                        api.source.trim_end_matches(".amazonaws.com"),
                        api.name
                    ),
                )
            });
            self.add(actor, t, region, &api, error, None);
        }
    }

    fn cred(
        &mut self,
        key: String,
        kind: &'static str,
        parent: Option<usize>,
        account: usize,
    ) -> usize {
        let depth = parent.map_or(0, |p| self.lineage.creds[p].depth + 1);
        self.lineage.creds.push(Cred {
            key,
            kind,
            parent,
            depth,
            account,
            issued_at: None,
            minted_by: None,
            deactivated_at: None,
        });
        self.lineage.creds.len() - 1
    }

    fn minted(&mut self, cred: usize, t: i64, id: String) {
        self.lineage.creds[cred].issued_at = Some(t);
        self.lineage.creds[cred].minted_by = Some(id);
    }

    /// A cross-account `AssumeRole` by `actor` into `role_account`, with the
    /// role account's copy; returns the new credential.
    #[allow(clippy::too_many_arguments)]
    fn assume(
        &mut self,
        actor: &Actor,
        t: i64,
        role_account: usize,
        role: &str,
        session: &str,
        duration: i64,
        delivery: Option<(usize, bool)>,
    ) -> usize {
        let key = key_id("ASIA", self.rng.next());
        let cred = self.cred(key.clone(), "assumed-role", Some(actor.cred), role_account);
        let role_acct = self.w.accounts[role_account].clone();
        let api = assume_role_api(
            &mut self.rng,
            self.w.regions[0],
            &role_acct,
            role,
            session,
            &key,
            t + duration,
            Some(duration),
        );
        let id = self.add(actor, t, 0, &api, None, delivery);
        self.minted(cred, t, id);
        if role_account != actor.account {
            let shared = uuid_string(&mut self.rng);
            if let Some(own) = self.lineage.events.last_mut() {
                // The caller's copy carries the shared id too.
                own.json = own.json.replacen(
                    ",\"eventCategory\"",
                    &format!(",\"sharedEventID\":\"{shared}\",\"eventCategory\""),
                    1,
                );
            }
            let id = uuid_string(&mut self.rng);
            let caller = &self.w.accounts[actor.account];
            let identity = format!(
                r#"{{"type":"AWSAccount","principalId":"{}","accountId":"{caller}"}}"#,
                principal_of(&actor.identity)
            );
            let mut json = String::new();
            let call = Call {
                time: t,
                recipient: &role_acct,
                region: self.w.regions[0],
                identity: &identity,
                source_ip: actor.ip,
                user_agent: actor.agent,
                api: &api,
                error: None,
                event_id: &id,
                shared_event_id: Some(&shared),
                tls: true,
                console: false,
            };
            record(&mut json, &call, &mut self.rng);
            self.lineage.events.push(LineageEvent {
                time: t,
                account: role_account,
                region: 0,
                id,
                relation: Relation::Copy,
                json,
                delivery: None,
            });
        }
        cred
    }
}

fn arn_of(identity: &str) -> &str {
    identity
        .split("\"arn\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or("unknown")
}

fn principal_of(identity: &str) -> &str {
    identity
        .split("\"principalId\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .unwrap_or("unknown")
}

/// Plans the attack. Times are fractions of the corpus span `s`.
fn plan_lineage(w: &World, total_actions: usize) -> Lineage {
    let mut p = Planner {
        w,
        rng: Rng::new(hash(&[w.seed, 0x11ea9e])),
        lineage: Lineage {
            creds: Vec::new(),
            events: Vec::new(),
        },
    };
    let s = w.slots as i64 * SLOT;
    let share = |pct: usize| (total_actions * pct / 100).max(2);
    let victim = 0;
    let target = usize::from(w.accounts.len() > 1);
    let a0 = w.accounts[victim].clone();
    let a1 = w.accounts[target].clone();
    let ip = |p: &mut Planner<'_>| *p.rng.pick(ATTACKER_IPS);
    let agent = |p: &mut Planner<'_>| *p.rng.pick(ATTACKER_AGENTS);

    // The seed: CI's key, used legitimately before it leaks.
    let seed_key = key_id("AKIA", hash(&[w.seed, 0x5eed]));
    let seed = p.cred(seed_key.clone(), "seed", None, victim);
    let ci = Actor {
        cred: seed,
        identity: iam_user(&a0, "ci-deploy", &seed_key),
        account: victim,
        ip: CI_IP,
        agent: AGENTS[3],
    };
    let t0 = START + s * 15 / 100;
    p.actions(&ci, share(8), START + s / 100, t0, true);

    let seed_actor = Actor {
        ip: ip(&mut p),
        agent: agent(&mut p),
        ..ci
    };
    let t_deact = t0 + s / 4;
    p.actions(&seed_actor, share(10), t0, t_deact, true);
    // A failed privilege escalation attempt with the seed.
    let mut api = Api::new("iam.amazonaws.com", "CreateUser", false);
    api.request = r#"{"userName":"support-backdoor"}"#.into();
    api.host = host("iam", "us-east-1");
    p.add(
        &seed_actor,
        t0 + 600,
        0,
        &api,
        Some((
            "AccessDenied",
            format!(
                "User: arn:aws:iam::{a0}:user/ci-deploy is not authorized to perform: iam:CreateUser on resource: arn:aws:iam::{a0}:user/support-backdoor"
            ),
        )),
        None,
    );

    // GetSessionToken: a 36 h session that outlives the key.
    let t_gst = t0 + s / 100;
    let asia1_key = key_id("ASIA", p.rng.next());
    let asia1 = p.cred(asia1_key.clone(), "session-token", Some(seed), victim);
    let api = session_token_api(
        &mut p.rng,
        "us-east-1",
        &asia1_key,
        t_gst + 129_600,
        129_600,
    );
    let id = p.add(&seed_actor, t_gst, 0, &api, None, Some((2, false)));
    p.minted(asia1, t_gst, id);

    // GetFederationToken: a federated user for 12 h.
    let t_fed = t0 + s / 50;
    let fed_key = key_id("ASIA", p.rng.next());
    let fed = p.cred(fed_key.clone(), "federated", Some(seed), victim);
    let mut api = Api::new("sts.amazonaws.com", "GetFederationToken", true);
    api.request = r#"{"name":"ops-helper","durationSeconds":43200,"policyArns":[{"arn":"arn:aws:iam::aws:policy/AdministratorAccess"}]}"#.into();
    let mut resp = String::from("{");
    sts_credentials(&mut resp, &mut p.rng, &fed_key, t_fed + 43_200);
    let _ = write!(
        resp,
        r#","federatedUser":{{"federatedUserId":"{a0}:ops-helper","arn":"arn:aws:sts::{a0}:federated-user/ops-helper"}},"packedPolicySize":6}}"#
    );
    api.response = resp;
    api.host = host("sts", "us-east-1");
    let id = p.add(&seed_actor, t_fed, 0, &api, None, None);
    p.minted(fed, t_fed, id);
    let fed_actor = Actor {
        cred: fed,
        identity: federated(&a0, "ci-deploy", "ops-helper", &fed_key, t_fed),
        account: victim,
        ip: ip(&mut p),
        agent: agent(&mut p),
    };
    p.actions(
        &fed_actor,
        share(5),
        t_fed + 60,
        t_fed + (s / 10).min(39_600),
        true,
    );

    // The session token, used for hours, across the deactivation.
    let s1 = Actor {
        cred: asia1,
        identity: session_user(&a0, "ci-deploy", &asia1_key, t_gst),
        account: victim,
        ip: ip(&mut p),
        agent: agent(&mut p),
    };
    p.actions(
        &s1,
        share(37),
        t_gst + 60,
        (t0 + s * 3 / 4).min(t_gst + 126_000),
        true,
    );
    // A failed AssumeRole: an action, not a mint.
    let mut api = Api::new("sts.amazonaws.com", "AssumeRole", true);
    api.request = format!(
        r#"{{"roleArn":"arn:aws:iam::{}:role/OrganizationAccountAccessRole","roleSessionName":"probe"}}"#,
        w.accounts[w.accounts.len() - 1]
    );
    api.host = host("sts", "us-east-1");
    p.add(
        &s1,
        t0 + s / 20,
        0,
        &api,
        Some((
            "AccessDenied",
            format!(
                "User: arn:aws:iam::{a0}:user/ci-deploy is not authorized to perform: sts:AssumeRole on resource: arn:aws:iam::{}:role/OrganizationAccountAccessRole",
                w.accounts[w.accounts.len() - 1]
            ),
        )),
        None,
    );

    // The defender deactivates the leaked key.
    let defender = Actor {
        cred: usize::MAX,
        identity: iam_user(&a0, "secops-admin", &w.user_key(victim, 6)),
        account: victim,
        ip: "203.0.113.200",
        agent: AGENTS[7],
    };
    let mut api = Api::new("iam.amazonaws.com", "UpdateAccessKey", false);
    api.request =
        format!(r#"{{"userName":"ci-deploy","accessKeyId":"{seed_key}","status":"Inactive"}}"#);
    api.host = host("iam", "us-east-1");
    p.add(&defender, t_deact, 0, &api, None, None);
    p.lineage.creds[seed].deactivated_at = Some(t_deact);
    if let Some(e) = p.lineage.events.last_mut() {
        e.relation = Relation::Lifecycle;
    }

    // Cross-account role, delivered 3 h late.
    let t_ar = t0 + s / 10;
    let asia2 = p.assume(
        &s1,
        t_ar,
        target,
        "ops-admin",
        "ci-deploy",
        3600,
        Some((36, false)),
    );
    let s2 = Actor {
        cred: asia2,
        identity: assumed_role(
            &a1,
            "ops-admin",
            "ci-deploy",
            &p.lineage.creds[asia2].key,
            t_ar,
        ),
        account: target,
        ip: ip(&mut p),
        agent: agent(&mut p),
    };
    p.actions(&s2, share(12), t_ar + 30, t_ar + 3300, true);

    // Role chaining inside the target account.
    let t_chain = t_ar + 300;
    let asia3 = p.assume(&s2, t_chain, target, "data-admin", "exfil", 3600, None);
    let s3 = Actor {
        cred: asia3,
        identity: assumed_role(
            &a1,
            "data-admin",
            "exfil",
            &p.lineage.creds[asia3].key,
            t_chain,
        ),
        account: target,
        ip: ip(&mut p),
        agent: agent(&mut p),
    };
    p.actions(&s3, share(10), t_chain + 30, t_chain + 3300, true);

    // A key for another user, created by the assumed role; delivered twice.
    let t_cak = t_ar + 1200;
    let akia_c_key = key_id("AKIA", p.rng.next());
    let akia_c = p.cred(akia_c_key.clone(), "created-key", Some(asia2), target);
    let mut api = Api::new("iam.amazonaws.com", "CreateAccessKey", false);
    api.request = r#"{"userName":"backup-svc"}"#.into();
    api.response = format!(
        r#"{{"accessKey":{{"accessKeyId":"{akia_c_key}","status":"Active","userName":"backup-svc","createDate":"{}"}}}}"#,
        expiration_string(t_cak)
    );
    api.host = host("iam", "us-east-1");
    let id = p.add(&s2, t_cak, 0, &api, None, Some((1, true)));
    p.minted(akia_c, t_cak, id);
    let c_actor = Actor {
        cred: akia_c,
        identity: iam_user(&a1, "backup-svc", &akia_c_key),
        account: target,
        ip: ip(&mut p),
        agent: agent(&mut p),
    };
    let t_delete = START + s * 90 / 100;
    p.actions(&c_actor, share(8), t_cak + 60, t_delete - 600, true);

    // The created key's session, which outlives the key's deletion.
    let t_gst2 = t_cak + 1800;
    let asia_c_key = key_id("ASIA", p.rng.next());
    let asia_c = p.cred(asia_c_key.clone(), "session-token", Some(akia_c), target);
    let api = session_token_api(
        &mut p.rng,
        "us-east-1",
        &asia_c_key,
        t_gst2 + 43_200,
        43_200,
    );
    let id = p.add(&c_actor, t_gst2, 0, &api, None, None);
    p.minted(asia_c, t_gst2, id);
    let sc = Actor {
        cred: asia_c,
        identity: session_user(&a1, "backup-svc", &asia_c_key, t_gst2),
        account: target,
        ip: ip(&mut p),
        agent: agent(&mut p),
    };
    p.actions(
        &sc,
        share(10),
        t_gst2 + 30,
        (t_gst2 + 43_000).min(START + s * 97 / 100),
        true,
    );

    // The defender deletes the created key (the session lives on).
    let defender1 = Actor {
        identity: iam_user(&a1, "secops-admin", &w.user_key(target, 6)),
        account: target,
        ..defender
    };
    let mut api = Api::new("iam.amazonaws.com", "DeleteAccessKey", false);
    api.request = format!(r#"{{"userName":"backup-svc","accessKeyId":"{akia_c_key}"}}"#);
    api.host = host("iam", "us-east-1");
    p.add(&defender1, t_delete, 0, &api, None, None);
    p.lineage.creds[akia_c].deactivated_at = Some(t_delete);
    if let Some(e) = p.lineage.events.last_mut() {
        e.relation = Relation::Lifecycle;
    }

    // After the seed is deactivated, the session assumes the role again.
    let t_ar2 = t_deact + s / 10;
    let asia2b = p.assume(&s1, t_ar2, target, "ops-admin", "ci-deploy-2", 3600, None);
    let s2b = Actor {
        cred: asia2b,
        identity: assumed_role(
            &a1,
            "ops-admin",
            "ci-deploy-2",
            &p.lineage.creds[asia2b].key,
            t_ar2,
        ),
        account: target,
        ip: ip(&mut p),
        agent: agent(&mut p),
    };
    p.actions(&s2b, share(10), t_ar2 + 30, t_ar2 + 3300, true);

    p.lineage
}

fn expiration_string(t: i64) -> String {
    let mut s = String::new();
    expiration(&mut s, t);
    s
}

// ---------------------------------------------------------------- the archive

/// Where every event goes: counts per source window and deliveries.
struct Plan {
    /// Background events per `(account, region, window)`.
    background: Vec<u32>,
    /// Lineage events (indexes into `Lineage::events`) per source window, by time.
    lineage_at: HashMap<usize, Vec<usize>>,
    /// Events moved out of their own window's file (late), per source window.
    moved: HashMap<usize, BTreeSet<u32>>,
    /// Extra arrivals per delivery file: `(source window, index)`.
    arrivals: HashMap<usize, Vec<(usize, u32)>>,
    late: u64,
    duplicates: u64,
}

/// Delivery windows per account and region (the last events may arrive late).
fn delivery_slots(w: &World) -> usize {
    w.slots + MAX_DELAY + 1
}

fn src_index(w: &World, account: usize, region: usize, slot: usize) -> usize {
    (account * w.regions.len() + region) * w.slots + slot
}

fn dst_index(w: &World, account: usize, region: usize, slot: usize) -> usize {
    (account * w.regions.len() + region) * delivery_slots(w) + slot
}

fn make_plan(w: &World, background_events: u64, lineage: &Lineage) -> Plan {
    let n_ar = w.accounts.len() * w.regions.len();
    // Weights: busy accounts and regions, and a day/night cycle.
    let mut weights = Vec::with_capacity(n_ar * w.slots);
    for a in 0..w.accounts.len() {
        let aw = 1.0 / (1.0 + a as f64 * 0.3);
        for &rw in &REGION_WEIGHT[..w.regions.len()] {
            for s in 0..w.slots {
                let hour = (s as f64 * SLOT as f64 / 3600.0) % 24.0;
                let diurnal = 1.0 + 0.5 * ((hour - 9.0) / 24.0 * std::f64::consts::TAU).cos();
                weights.push(aw * rw * diurnal);
            }
        }
    }
    let total: f64 = weights.iter().sum();
    let mut background: Vec<u32> = weights
        .iter()
        .map(|wt| (background_events as f64 * wt / total).floor() as u32)
        .collect();
    let assigned: u64 = background.iter().map(|&c| u64::from(c)).sum();
    let len = background.len();
    for i in 0..(background_events - assigned) as usize {
        background[i * 7919 % len] += 1;
    }

    let mut lineage_at: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, e) in lineage.events.iter().enumerate() {
        let slot = ((e.time - START) / SLOT) as usize;
        lineage_at
            .entry(src_index(w, e.account, e.region, slot))
            .or_default()
            .push(i);
    }
    for v in lineage_at.values_mut() {
        v.sort_by_key(|&i| (lineage.events[i].time, i));
    }

    let mut plan = Plan {
        background,
        lineage_at,
        moved: HashMap::new(),
        arrivals: HashMap::new(),
        late: 0,
        duplicates: 0,
    };
    for a in 0..w.accounts.len() {
        for r in 0..w.regions.len() {
            for s in 0..w.slots {
                let src = src_index(w, a, r, s);
                let bg = plan.background[src];
                let lin = plan.lineage_at.get(&src).cloned().unwrap_or_default();
                for idx in 0..bg + lin.len() as u32 {
                    let forced = idx
                        .checked_sub(bg)
                        .and_then(|j| lineage.events[lin[j as usize]].delivery);
                    let h = hash(&[w.seed, 0xde1, src as u64, u64::from(idx)]);
                    let roll = h % 10_000;
                    let (delay, dup) = match forced {
                        Some(f) => f,
                        None if roll < LATE_PER_10K => {
                            let d = (h >> 20) % 100;
                            let delay = if d < 60 {
                                1 + (h >> 30) % 6
                            } else if d < 90 {
                                6 + (h >> 30) % 18
                            } else {
                                24 + (h >> 30) % 24
                            };
                            (delay as usize, false)
                        }
                        None if roll < LATE_PER_10K + DUP_PER_10K => {
                            (1 + (h >> 30) as usize % 3, true)
                        }
                        None => continue,
                    };
                    if dup {
                        plan.duplicates += 1;
                    } else {
                        plan.late += 1;
                        plan.moved.entry(src).or_default().insert(idx);
                    }
                    plan.arrivals
                        .entry(dst_index(w, a, r, s + delay))
                        .or_default()
                        .push((s, idx));
                }
            }
        }
    }
    plan
}

/// What writing one log file produced.
struct Written {
    account: usize,
    region: usize,
    stamp: i64,
    path: String,
    records: u64,
    json_bytes: u64,
    gz_bytes: u64,
    oldest: i64,
    newest: i64,
    lineage: Vec<usize>,
}

/// Writes the event `(window, index)` of an account and region.
fn write_event(
    out: &mut String,
    w: &World,
    plan: &Plan,
    lineage: &Lineage,
    (account, region, slot, idx): (usize, usize, usize, u32),
    written: &mut Vec<usize>,
) -> i64 {
    let src = src_index(w, account, region, slot);
    let bg = plan.background[src];
    if idx < bg {
        let t = START + slot as i64 * SLOT + i64::from(idx) * SLOT / i64::from(bg);
        let mut rng = Rng::new(hash(&[w.seed, 0xe7e, src as u64, u64::from(idx)]));
        background(out, w, account, region, t, &mut rng);
        t
    } else {
        let li = plan.lineage_at[&src][(idx - bg) as usize];
        out.push_str(&lineage.events[li].json);
        written.push(li);
        lineage.events[li].time
    }
}

fn write_log_file(
    root: &Path,
    w: &World,
    plan: &Plan,
    lineage: &Lineage,
    (account, region, d): (usize, usize, usize),
    buf: &mut String,
) -> Result<Option<Written>> {
    // The window's own events, in time order, then late and duplicate arrivals.
    let mut order: Vec<(i64, usize, u32)> = Vec::new();
    if d < w.slots {
        let src = src_index(w, account, region, d);
        let bg = plan.background[src];
        let moved = plan.moved.get(&src);
        let lin = plan.lineage_at.get(&src).map_or(&[][..], Vec::as_slice);
        for idx in 0..bg + lin.len() as u32 {
            if moved.is_some_and(|m| m.contains(&idx)) {
                continue;
            }
            let t = if idx < bg {
                START + d as i64 * SLOT + i64::from(idx) * SLOT / i64::from(bg)
            } else {
                lineage.events[lin[(idx - bg) as usize]].time
            };
            order.push((t, d, idx));
        }
        order.sort_unstable();
    }
    if let Some(arr) = plan.arrivals.get(&dst_index(w, account, region, d)) {
        order.extend(arr.iter().map(|&(s, idx)| (0, s, idx)));
    }
    if order.is_empty() {
        return Ok(None);
    }
    let mut rng = Rng::new(hash(&[
        w.seed,
        0xf11e,
        account as u64,
        region as u64,
        d as u64,
    ]));
    let stamp = START + (d as i64 + 1) * SLOT + rng.range(0, 180) / 60 * 60;
    let (day, hhmm) = stamp_parts(stamp);
    let mut unique = String::new();
    rng.chars(&mut unique, ALNUM, 16);
    let acct = &w.accounts[account];
    let reg = w.regions[region];
    let dir = format!("{}/CloudTrail/{reg}/{day}", w.base_dir(account));
    let path = format!("{dir}/{acct}_CloudTrail_{reg}_{hhmm}Z_{unique}.json.gz");

    buf.clear();
    buf.push_str("{\"Records\":[");
    let mut lineage_written = Vec::new();
    let (mut oldest, mut newest) = (i64::MAX, i64::MIN);
    for (i, &(_, s, idx)) in order.iter().enumerate() {
        if i > 0 {
            buf.push(',');
        }
        let t = write_event(
            buf,
            w,
            plan,
            lineage,
            (account, region, s, idx),
            &mut lineage_written,
        );
        oldest = oldest.min(t);
        newest = newest.max(t);
    }
    buf.push_str("]}");

    let mut gz = GzEncoder::new(Vec::with_capacity(buf.len() / 6), Compression::new(6));
    gz.write_all(buf.as_bytes())?;
    let bytes = gz.finish()?;
    fs::create_dir_all(root.join(&dir)).with_context(|| format!("creating {dir}"))?;
    fs::write(root.join(&path), &bytes).with_context(|| format!("writing {path}"))?;
    Ok(Some(Written {
        account,
        region,
        stamp,
        path,
        records: order.len() as u64,
        json_bytes: buf.len() as u64,
        gz_bytes: bytes.len() as u64,
        oldest,
        newest,
        lineage: lineage_written,
    }))
}

/// Hourly digest files (no events; keytrail skips them by design).
fn write_digest(root: &Path, w: &World, files: &[&Written], hour: i64) -> Result<u64> {
    let first = files[0];
    let acct = &w.accounts[first.account];
    let reg = w.regions[first.region];
    let end = hour + 3600;
    let p = parts(end);
    let day = format!("{:04}/{:02}/{:02}", p.y, p.mo, p.d);
    let stamp = format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        p.y, p.mo, p.d, p.h, p.mi, p.s
    );
    let dir = format!(
        "{}/CloudTrail-Digest/{reg}/{day}",
        w.base_dir(first.account)
    );
    let path = format!("{dir}/{acct}_CloudTrail-Digest_{reg}_{TRAIL}_{reg}_{stamp}.json.gz");
    let mut rng = Rng::new(hash(&[
        w.seed,
        0xd16,
        first.account as u64,
        first.region as u64,
        hour as u64,
    ]));
    let mut hex = |n: usize| {
        let mut s = String::with_capacity(n);
        rng.chars(&mut s, HEX, n);
        s
    };
    let mut out = format!(
        r#"{{"awsAccountId":"{acct}","digestStartTime":"{}","digestEndTime":"{}","digestS3Bucket":"{BUCKET}","digestS3Object":"{path}","digestPublicKeyFingerprint":"{}","digestSignatureAlgorithm":"SHA256withRSA","newestEventTime":"{}","oldestEventTime":"{}","previousDigestS3Bucket":"{BUCKET}","previousDigestS3Object":"{dir}/previous.json.gz","previousDigestHashValue":"{}","previousDigestHashAlgorithm":"SHA-256","previousDigestSignature":"{}","logFiles":["#,
        iso_string(hour),
        iso_string(end),
        hex(32),
        iso_string(files.iter().map(|f| f.newest).max().unwrap_or(end)),
        iso_string(files.iter().map(|f| f.oldest).min().unwrap_or(hour)),
        hex(64),
        hex(512),
    );
    for (i, f) in files.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            r#"{{"s3Bucket":"{BUCKET}","s3Object":"{}","hashValue":"{}","hashAlgorithm":"SHA-256","newestEventTime":"{}","oldestEventTime":"{}"}}"#,
            f.path,
            hex(64),
            iso_string(f.newest),
            iso_string(f.oldest)
        );
    }
    out.push_str("]}");
    let mut gz = GzEncoder::new(Vec::new(), Compression::new(6));
    gz.write_all(out.as_bytes())?;
    let bytes = gz.finish()?;
    fs::create_dir_all(root.join(&dir)).with_context(|| format!("creating {dir}"))?;
    fs::write(root.join(&path), &bytes).with_context(|| format!("writing {path}"))?;
    Ok(bytes.len() as u64)
}

/// What a run wrote.
struct Summary {
    seed_key: String,
    log_files: usize,
    digest_files: usize,
    events: u64,
    records: u64,
    json_bytes: u64,
    gz_bytes: u64,
}

fn generate(args: &Args) -> Result<Summary> {
    if args.accounts == 0 || args.regions == 0 || args.regions > REGIONS.len() || args.days == 0 {
        bail!("need 1..=16 regions, at least one account and one day");
    }
    let w = World::new(args);
    let lineage_actions = (args.events / 1500).clamp(100, 1000) as usize;
    let lineage = plan_lineage(&w, lineage_actions);
    let background_events = args
        .events
        .checked_sub(lineage.events.len() as u64)
        .context("--events is smaller than the embedded lineage")?;
    let plan = make_plan(&w, background_events, &lineage);

    let root = args.out.as_path();
    fs::create_dir_all(root).with_context(|| format!("creating {}", root.display()))?;
    let (n_regions, n_slots) = (w.regions.len(), delivery_slots(&w));
    let files: Vec<(usize, usize, usize)> = (0..w.accounts.len())
        .flat_map(|a| (0..n_regions).flat_map(move |r| (0..n_slots).map(move |d| (a, r, d))))
        .collect();
    let written: Vec<Written> = files
        .par_iter()
        .map_init(String::new, |buf, &f| {
            write_log_file(root, &w, &plan, &lineage, f, buf)
        })
        .collect::<Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();

    let mut by_hour: BTreeMap<(usize, usize, i64), Vec<&Written>> = BTreeMap::new();
    for f in &written {
        by_hour
            .entry((f.account, f.region, f.stamp.div_euclid(3600) * 3600))
            .or_default()
            .push(f);
    }
    let digest_bytes: u64 = by_hour
        .par_iter()
        .map(|((_, _, hour), files)| write_digest(root, &w, files, *hour))
        .collect::<Result<Vec<_>>>()?
        .iter()
        .sum();

    write_ground_truth(root, &w, &lineage, &written, args, &plan)?;
    Ok(Summary {
        seed_key: lineage.creds[0].key.clone(),
        log_files: written.len(),
        digest_files: by_hour.len(),
        events: args.events,
        records: written.iter().map(|f| f.records).sum(),
        json_bytes: written.iter().map(|f| f.json_bytes).sum(),
        gz_bytes: written.iter().map(|f| f.gz_bytes).sum::<u64>() + digest_bytes,
    })
}

/// One log file's JSON, built in memory for the benchmarks (`benches/micro.rs`
/// includes this file): `records` background records of the victim account's
/// busiest region, with a lineage record every 50th. Returns the JSON and the
/// lineage's key ids, seed first.
#[allow(dead_code)]
pub(crate) fn sample_file(seed: u64, records: usize) -> (String, Vec<String>) {
    let args = Args {
        out: PathBuf::new(),
        events: 1_500_000,
        seed,
        accounts: 6,
        regions: 4,
        days: 1,
        org: true,
    };
    let w = World::new(&args);
    let lineage = plan_lineage(&w, 1000);
    let mut out = String::from("{\"Records\":[");
    let mut rng = Rng::new(hash(&[seed, 0x5a3]));
    let t = START + 12 * 3600;
    for i in 0..records {
        if i > 0 {
            out.push(',');
        }
        if i % 50 == 49 {
            out.push_str(&lineage.events[i / 50 % lineage.events.len()].json);
        } else {
            background(
                &mut out,
                &w,
                0,
                0,
                t + (i as i64 * SLOT) / records as i64,
                &mut rng,
            );
        }
    }
    out.push_str("]}");
    (out, lineage.creds.iter().map(|c| c.key.clone()).collect())
}

/// One background record and one STS record that returns credentials.
#[allow(dead_code)]
pub(crate) fn sample_records(seed: u64) -> (String, String) {
    let mut rng = Rng::new(hash(&[seed, 0x5a4]));
    let acct = "123456789012";
    let mut plain = String::new();
    let api = plain_api(&mut rng, acct, "us-east-1", false);
    let identity = assumed_role(
        acct,
        ROLES[0],
        "orders-0a1b2c3d",
        "ASIAEXAMPLE0000ROLE1",
        START,
    );
    let (ip, id) = ("10.1.2.3", uuid_string(&mut rng));
    let mut call = Call {
        time: START + 60,
        recipient: acct,
        region: "us-east-1",
        identity: &identity,
        source_ip: ip,
        user_agent: AGENTS[1],
        api: &api,
        error: None,
        event_id: &id,
        shared_event_id: None,
        tls: true,
        console: false,
    };
    record(&mut plain, &call, &mut rng);
    let api = assume_role_api(
        &mut rng,
        "us-east-1",
        acct,
        "deploy-target",
        "gha-deploy",
        "ASIAEXAMPLE0000MINT1",
        START + 3660,
        Some(3600),
    );
    call.api = &api;
    let mut sts = String::new();
    record(&mut sts, &call, &mut rng);
    (plain, sts)
}

/// `ground-truth.json`, from the lineage events actually written.
fn write_ground_truth(
    root: &Path,
    w: &World,
    lineage: &Lineage,
    written: &[Written],
    args: &Args,
    plan: &Plan,
) -> Result<()> {
    let mut deliveries: BTreeMap<usize, u64> = BTreeMap::new();
    for f in written {
        for &li in &f.lineage {
            *deliveries.entry(li).or_default() += 1;
        }
    }
    if deliveries.len() != lineage.events.len() {
        bail!(
            "internal error: {} of {} lineage events were written",
            deliveries.len(),
            lineage.events.len()
        );
    }
    let effective_deactivation = |mut c: usize| {
        let mut at: Option<i64> = None;
        loop {
            if let Some(d) = lineage.creds[c].deactivated_at {
                at = Some(at.map_or(d, |a: i64| a.min(d)));
            }
            match lineage.creds[c].parent {
                Some(p) => c = p,
                None => return at,
            }
        }
    };
    let mut creds = Vec::new();
    let (mut actions_total, mut after_total) = (0u64, 0u64);
    for (ci, c) in lineage.creds.iter().enumerate() {
        let deact = effective_deactivation(ci);
        let mine: Vec<&LineageEvent> = deliveries
            .keys()
            .map(|&li| &lineage.events[li])
            .filter(|e| e.relation == Relation::Action(ci))
            .collect();
        let after = mine
            .iter()
            .filter(|e| deact.is_some_and(|d| d < e.time))
            .count();
        let failed = mine
            .iter()
            .filter(|e| e.json.contains("\"errorCode\""))
            .count();
        let records: u64 = deliveries
            .iter()
            .filter(|(li, _)| lineage.events[**li].relation == Relation::Action(ci))
            .map(|(_, n)| n)
            .sum();
        actions_total += mine.len() as u64;
        after_total += after as u64;
        creds.push(serde_json::json!({
            "key": c.key,
            "kind": c.kind,
            "parent": c.parent.map(|p| lineage.creds[p].key.clone()),
            "depth": c.depth,
            "account": w.accounts[c.account],
            "minted_by": c.minted_by,
            "issued_at": c.issued_at.map(iso_string),
            "deactivated_at": c.deactivated_at.map(iso_string),
            "actions": mine.len(),
            "failed_actions": failed,
            "actions_after_deactivation": after,
            "action_records_with_duplicates": records,
        }));
    }
    let ids = |rel: Relation| -> Vec<&str> {
        let mut v: Vec<&LineageEvent> = lineage
            .events
            .iter()
            .filter(|e| e.relation == rel)
            .collect();
        v.sort_by_key(|e| (e.time, e.id.clone()));
        v.iter().map(|e| e.id.as_str()).collect()
    };
    let lifecycle = ids(Relation::Lifecycle);
    let copies = ids(Relation::Copy);
    let seed_records: u64 = deliveries
        .iter()
        .filter(|(li, _)| lineage.events[**li].relation == Relation::Action(0))
        .map(|(_, n)| n)
        .sum();
    let truth = serde_json::json!({
        "generator": "examples/gen_corpus.rs",
        "options": {
            "events": args.events, "seed": args.seed, "accounts": args.accounts,
            "regions": args.regions, "days": args.days, "org": args.org,
        },
        "organization": w.org,
        "accounts": w.accounts,
        "regions": w.regions,
        "start": iso_string(START),
        "end": iso_string(START + w.slots as i64 * SLOT),
        "seed_key": lineage.creds[0].key,
        "log_files": written.len(),
        "unique_events": args.events,
        "records_written": written.iter().map(|f| f.records).sum::<u64>(),
        "late_deliveries": plan.late,
        "duplicate_deliveries": plan.duplicates,
        "credentials": creds,
        "lineage_actions": actions_total,
        "lineage_actions_after_deactivation": after_total,
        "lifecycle_events": lifecycle,
        "copy_events": copies,
        "timeline_rows": actions_total + lifecycle.len() as u64 + copies.len() as u64,
        "seed_direct_actions": creds[0]["actions"],
        "seed_direct_records_with_duplicates": seed_records,
    });
    let mut text = serde_json::to_string_pretty(&truth)?;
    text.push('\n');
    fs::write(root.join("ground-truth.json"), text).context("writing ground-truth.json")?;
    Ok(())
}

fn main() -> Result<()> {
    let args = Args::parse();
    let started = Instant::now();
    let s = generate(&args)?;
    let secs = started.elapsed().as_secs_f64();
    eprintln!(
        "wrote {} log files + {} digest files to {}: {} events ({} records with duplicates), {:.2} GB JSON, {:.1} MB gzipped, in {secs:.1} s",
        s.log_files,
        s.digest_files,
        args.out.display(),
        s.events,
        s.records,
        s.json_bytes as f64 / 1e9,
        s.gz_bytes as f64 / 1e6,
    );
    eprintln!(
        "ground truth: {}",
        args.out.join("ground-truth.json").display()
    );
    println!("{}", s.seed_key);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
        let mut out = BTreeMap::new();
        let mut stack = vec![root.to_path_buf()];
        while let Some(dir) = stack.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let p = entry.unwrap().path();
                if p.is_dir() {
                    stack.push(p);
                } else {
                    out.insert(
                        p.strip_prefix(root).unwrap().to_path_buf(),
                        fs::read(&p).unwrap(),
                    );
                }
            }
        }
        out
    }

    fn args(out: &Path, seed: u64) -> Args {
        Args {
            out: out.to_path_buf(),
            events: 2000,
            seed,
            accounts: 3,
            regions: 2,
            days: 1,
            org: true,
        }
    }

    #[test]
    fn same_seed_same_bytes() {
        let (a, b, c) = (
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
            tempfile::tempdir().unwrap(),
        );
        let sa = generate(&args(a.path(), 7)).unwrap();
        generate(&args(b.path(), 7)).unwrap();
        generate(&args(c.path(), 8)).unwrap();
        let (ta, tb, tc) = (tree(a.path()), tree(b.path()), tree(c.path()));
        assert!(ta.len() > 100, "{} files", ta.len());
        assert_eq!(ta, tb);
        assert_ne!(ta, tc);
        assert!(sa.seed_key.starts_with("AKIA") && sa.seed_key.len() == 20);
    }

    #[test]
    fn records_are_valid_cloudtrail_json() {
        let dir = tempfile::tempdir().unwrap();
        let s = generate(&args(dir.path(), 3)).unwrap();
        let mut records = 0;
        let mut unique = BTreeSet::new();
        for (path, bytes) in tree(dir.path()) {
            let name = path.to_string_lossy().into_owned();
            if !name.contains("/CloudTrail/") {
                continue;
            }
            let mut json = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut json)
                .unwrap();
            let v: serde_json::Value = serde_json::from_str(&json).unwrap();
            for r in v["Records"].as_array().unwrap() {
                records += 1;
                unique.insert(r["eventID"].as_str().unwrap().to_owned());
                assert!(r["eventTime"].as_str().unwrap().ends_with('Z'));
            }
        }
        assert_eq!(records, s.records);
        assert_eq!(unique.len() as u64, s.events);
        let truth: serde_json::Value =
            serde_json::from_slice(&fs::read(dir.path().join("ground-truth.json")).unwrap())
                .unwrap();
        assert_eq!(truth["seed_key"], s.seed_key.as_str());
        assert_eq!(truth["credentials"].as_array().unwrap().len(), 8);
    }

    #[test]
    fn time_formats() {
        assert_eq!(iso_string(START), "2025-12-08T00:00:00Z");
        assert_eq!(
            expiration_string(START + 2 * 86_400 + 2 * 3600 + 192),
            "Dec 10, 2025, 2:03:12 AM"
        );
        assert_eq!(
            expiration_string(START + 12 * 3600),
            "Dec 8, 2025, 12:00:00 PM"
        );
    }
}
