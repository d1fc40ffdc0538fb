//! The failures worth testing (a body that breaks off, a truncated listing, a
//! bucket in another region, a port that does not answer) are hard to provoke
//! from a real S3 server, so the unit tests of the download machinery,
//! listing and connecting talk to this tiny scripted HTTP/1.1 server.
#![allow(clippy::unwrap_used)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

use super::{S3Options, S3Store, S3Url};

pub(super) struct Request {
    pub(super) method: String,
    pub(super) target: String,
    headers: Vec<(String, String)>,
}

impl Request {
    pub(super) fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

pub(super) struct Reply {
    pub(super) status: u16,
    pub(super) headers: Vec<(String, String)>,
    pub(super) body: Vec<u8>,
    /// Send only this many body bytes, then close the connection.
    pub(super) cut: Option<usize>,
}

impl Reply {
    pub(super) fn ok(body: impl Into<Vec<u8>>) -> Reply {
        Reply {
            status: 200,
            headers: vec![("ETag".into(), "\"e1\"".into())],
            body: body.into(),
            cut: None,
        }
    }

    pub(super) fn status(status: u16, body: &str) -> Reply {
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
pub(super) struct Fake {
    pub(super) endpoint: String,
    pub(super) log: Arc<Mutex<Vec<String>>>,
}

pub(super) fn fake(handler: impl Fn(&Request) -> Reply + Send + Sync + 'static) -> Fake {
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

pub(super) fn store(fake: &Fake, concurrency: usize) -> S3Store {
    let opts = S3Options {
        region: Some("us-east-1".into()),
        endpoint_url: Some(fake.endpoint.clone()),
        no_sign_request: true,
        concurrency,
        ..S3Options::default()
    };
    S3Store::connect(&S3Url::parse("s3://trail").unwrap(), &opts).unwrap()
}

pub(super) fn head_ok(req: &Request) -> Option<Reply> {
    (req.method == "HEAD").then(|| Reply {
        headers: vec![("x-amz-bucket-region".into(), "us-east-1".into())],
        ..Reply::ok(Vec::new())
    })
}
