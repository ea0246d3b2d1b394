//! A fault-injecting HTTP/1.1 proxy for loopback tests: it sits between an SDK client and moto's
//! server and answers chosen requests itself — the first N requests a [`Rule`] matches get the
//! rule's status and error body (500 `InternalError`, 503 `SlowDown`, 403 `AccessDenied`, …) —
//! and forwards everything else unchanged.
//!
//! Deliberately small: one thread per connection, one request per connection (`Connection:
//! close` both ways, so the client never reuses a connection the proxy is about to close),
//! request bodies framed by `Content-Length` or `Transfer-Encoding: chunked` and forwarded byte
//! for byte (aws-chunked uploads included), `Expect: 100-continue` answered by the proxy, and the
//! upstream answer read to its end and passed back. It only ever connects to loopback.
//!
//! ```no_run
//! # use tollgate_testkit::{Moto, proxy::{FaultProxy, Fault, Rule}};
//! let moto = Moto::start();
//! let proxy = FaultProxy::start(&moto.url);
//! let create = proxy.add(
//!     Rule::new("CreateBucket", |r| r.is("PUT", "/my-bucket"))
//!         .times(2)
//!         .answer(Fault::s3(500, "InternalError", "We encountered an internal error.")),
//! );
//! // ... point clients at proxy.url, then:
//! assert_eq!(create.matched(), 3);
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

/// Longest request or response head the proxy accepts.
const MAX_HEAD: usize = 64 * 1024;
/// Socket read and write timeout: a stuck peer fails the request instead of hanging the test.
const IO_TIMEOUT: Duration = Duration::from_secs(30);

/// One request as the proxy received it.
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// The request target: path and query (`/bucket?tagging`).
    pub target: String,
    /// Header names as sent, values trimmed.
    pub headers: Vec<(String, String)>,
    /// The body as sent (still chunk-framed when it came chunked).
    pub body: Vec<u8>,
}

impl Request {
    /// The path, without the query.
    pub fn path(&self) -> &str {
        self.target.split_once('?').map_or(&self.target, |(p, _)| p)
    }

    /// The query string, if any (`tagging`, `list-type=2&prefix=x`).
    pub fn query(&self) -> Option<&str> {
        self.target.split_once('?').map(|(_, q)| q)
    }

    /// A header's value (names compared case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// `method` and exactly `path` (a trailing `/` aside: the S3 SDK sends `PUT /bucket/`), with
    /// no query: `is("PUT", "/bucket")` is S3 CreateBucket and not PutBucketTagging
    /// (`PUT /bucket?tagging`).
    pub fn is(&self, method: &str, path: &str) -> bool {
        self.method.eq_ignore_ascii_case(method)
            && self.path().trim_end_matches('/') == path.trim_end_matches('/')
            && self.query().is_none_or(str::is_empty)
    }

    /// A JSON-protocol operation by its `X-Amz-Target` (`AWSBudgetServiceGateway.CreateBudget`
    /// matches `"CreateBudget"`).
    pub fn is_target(&self, operation: &str) -> bool {
        self.header("x-amz-target")
            .and_then(|t| t.rsplit_once('.'))
            .is_some_and(|(_, op)| op == operation)
    }

    /// A query-protocol operation (IAM, STS, SNS): `Action=<operation>` in the form body.
    pub fn is_action(&self, operation: &str) -> bool {
        let needle = format!("Action={operation}");
        String::from_utf8_lossy(&self.body)
            .split('&')
            .any(|p| p == needle)
    }

    /// Whether the body came with `Transfer-Encoding: chunked`.
    pub fn is_chunked(&self) -> bool {
        self.header("transfer-encoding")
            .is_some_and(|v| v.to_ascii_lowercase().contains("chunked"))
    }
}

/// The answer the proxy gives instead of forwarding.
#[derive(Debug, Clone)]
pub struct Fault {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Fault {
    /// An S3 (REST-XML) error: `<Error><Code>…</Code><Message>…</Message>…</Error>`.
    pub fn s3(status: u16, code: &str, message: &str) -> Self {
        let body = format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
             <Message>{message}</Message><RequestId>tollgate-fault-proxy</RequestId></Error>"
        );
        Self {
            status,
            headers: vec![
                ("Content-Type".to_owned(), "application/xml".to_owned()),
                (
                    "x-amz-request-id".to_owned(),
                    "tollgate-fault-proxy".to_owned(),
                ),
            ],
            body: body.into_bytes(),
        }
    }

    /// A query-protocol (IAM, STS, SNS) error: `<ErrorResponse><Error>…</Error></ErrorResponse>`.
    pub fn query(status: u16, code: &str, message: &str) -> Self {
        let kind = if status >= 500 { "Receiver" } else { "Sender" };
        let body = format!(
            "<ErrorResponse><Error><Type>{kind}</Type><Code>{code}</Code>\
             <Message>{message}</Message></Error><RequestId>tollgate-fault-proxy</RequestId>\
             </ErrorResponse>"
        );
        Self {
            status,
            headers: vec![("Content-Type".to_owned(), "text/xml".to_owned())],
            body: body.into_bytes(),
        }
    }

    /// A JSON-protocol (awsJson1.1: Budgets, Organizations, Config) error:
    /// `{"__type": "<code>", "message": "…"}`.
    pub fn json(status: u16, code: &str, message: &str) -> Self {
        let body = format!(
            "{{\"__type\":\"{code}\",\"message\":\"{}\"}}",
            message.replace('\\', "\\\\").replace('"', "\\\"")
        );
        Self {
            status,
            headers: vec![
                (
                    "Content-Type".to_owned(),
                    "application/x-amz-json-1.1".to_owned(),
                ),
                (
                    "x-amzn-RequestId".to_owned(),
                    "tollgate-fault-proxy".to_owned(),
                ),
            ],
            body: body.into_bytes(),
        }
    }

    /// Any status with any body (an HTML 500 page, an empty 502, …).
    pub fn raw(status: u16, content_type: &str, body: impl Into<Vec<u8>>) -> Self {
        Self {
            status,
            headers: vec![("Content-Type".to_owned(), content_type.to_owned())],
            body: body.into(),
        }
    }
}

type Matcher = Box<dyn Fn(&Request) -> bool + Send + Sync>;

/// A gate that holds matched requests until it opens: a test can then kill or signal the client
/// while a call is in flight, at a moment it chooses. Clones share the gate.
#[derive(Debug, Clone, Default)]
pub struct Hold {
    inner: Arc<(Mutex<HoldState>, std::sync::Condvar)>,
}

#[derive(Debug, Default)]
struct HoldState {
    open: bool,
    waiting: usize,
    held: usize,
}

impl Hold {
    /// A closed gate.
    pub fn new() -> Self {
        Self::default()
    }

    /// Requests waiting at the gate now.
    pub fn waiting(&self) -> usize {
        self.inner.0.lock().map_or(0, |s| s.waiting)
    }

    /// Requests that have waited at the gate so far.
    pub fn held(&self) -> usize {
        self.inner.0.lock().map_or(0, |s| s.held)
    }

    /// Opens the gate: waiting requests go on, later ones pass.
    pub fn open(&self) {
        if let Ok(mut s) = self.inner.0.lock() {
            s.open = true;
        }
        self.inner.1.notify_all();
    }

    /// Waits until the gate opens, or `limit` passes.
    fn wait(&self, limit: Duration) {
        let (lock, cvar) = &*self.inner;
        let Ok(mut s) = lock.lock() else { return };
        s.waiting += 1;
        s.held += 1;
        let start = std::time::Instant::now();
        while !s.open && start.elapsed() < limit {
            s = match cvar.wait_timeout(s, Duration::from_millis(50)) {
                Ok((s, _)) => s,
                Err(_) => return,
            };
        }
        s.waiting -= 1;
    }
}

/// Longest a request is held at a closed gate: a test that forgets to open it still ends.
const MAX_HOLD: Duration = Duration::from_secs(120);

/// "The first `times` requests that `matcher` accepts get `fault`"; later ones are forwarded.
pub struct Rule {
    name: String,
    matcher: Matcher,
    times: usize,
    fault: Fault,
    after_forwarding: bool,
    /// Forward after holding at this gate (or, with `after_forwarding`, forward, then hold the
    /// server's answer), instead of answering with `fault`.
    hold: Option<Hold>,
}

impl std::fmt::Debug for Rule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Rule")
            .field("name", &self.name)
            .field("times", &self.times)
            .field("status", &self.fault.status)
            .field("after_forwarding", &self.after_forwarding)
            .finish_non_exhaustive()
    }
}

impl Rule {
    /// A rule matching what `matcher` accepts; by default it answers every match with a 500
    /// `InternalError` (S3 shape) — set [`Rule::times`] and [`Rule::answer`].
    pub fn new(
        name: impl Into<String>,
        matcher: impl Fn(&Request) -> bool + Send + Sync + 'static,
    ) -> Self {
        Self {
            name: name.into(),
            matcher: Box::new(matcher),
            times: usize::MAX,
            fault: Fault::s3(500, "InternalError", "We encountered an internal error."),
            after_forwarding: false,
            hold: None,
        }
    }

    /// Hold matching requests at `gate` and then forward them (with
    /// [`Rule::after_forwarding`]: forward at once, and hold the server's answer — the server
    /// has carried the call out, the client does not know yet). No fault is injected.
    pub fn hold(mut self, gate: &Hold) -> Self {
        self.hold = Some(gate.clone());
        self
    }

    /// Forward the request first (the server carries it out) and then answer with the fault
    /// instead of the server's answer: a change that happened but whose answer was lost.
    pub fn after_forwarding(mut self) -> Self {
        self.after_forwarding = true;
        self
    }

    /// Only the first `n` matching requests get the fault; the rest are forwarded.
    pub fn times(mut self, n: usize) -> Self {
        self.times = n;
        self
    }

    /// The answer to give.
    pub fn answer(mut self, fault: Fault) -> Self {
        self.fault = fault;
        self
    }
}

/// What one rule has seen.
#[derive(Debug, Default)]
struct RuleCounts {
    matched: AtomicUsize,
    injected: AtomicUsize,
}

/// Counters of one added rule.
#[derive(Debug, Clone)]
pub struct RuleHandle {
    name: String,
    counts: Arc<RuleCounts>,
}

impl RuleHandle {
    /// Requests the rule's matcher accepted (faulted or forwarded).
    pub fn matched(&self) -> usize {
        self.counts.matched.load(Ordering::SeqCst)
    }

    /// Requests answered with the rule's fault.
    pub fn injected(&self) -> usize {
        self.counts.injected.load(Ordering::SeqCst)
    }

    pub fn name(&self) -> &str {
        &self.name
    }
}

/// A line of the proxy's log: what came in and what became of it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub method: String,
    pub target: String,
    /// `X-Amz-Target`, when sent.
    pub amz_target: Option<String>,
    pub chunked: bool,
    /// The status the client got (0 when the exchange failed).
    pub status: u16,
    /// The rule that answered, or `None` when forwarded.
    pub injected_by: Option<String>,
}

#[derive(Debug, Default)]
struct Shared {
    rules: Mutex<Vec<(Rule, Arc<RuleCounts>)>>,
    log: Mutex<Vec<Seen>>,
    forwarded: AtomicUsize,
    /// Exchanges accepted and not yet finished (a held one included).
    in_flight: AtomicUsize,
    errors: Mutex<Vec<String>>,
    /// Held while a conditional write (`If-None-Match` / `If-Match`) is forwarded: S3 applies
    /// one atomically, but moto 5.2.1 checks the condition and then writes, unlocked, on a
    /// threaded server. Forwarding them one at a time restores S3's guarantee; the clients still
    /// race each other.
    conditional_writes: Mutex<()>,
}

/// The running proxy; stopped when dropped.
#[derive(Debug)]
pub struct FaultProxy {
    pub port: u16,
    /// `http://127.0.0.1:PORT`: give this to the SDK as its endpoint.
    pub url: String,
    upstream: SocketAddr,
    shared: Arc<Shared>,
    stop: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> Self {
        let upstream = parse_loopback_url(upstream);
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .expect("bind a loopback port for the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let shared = Arc::new(Shared::default());
        let stop = Arc::new(AtomicBool::new(false));
        let acceptor = {
            let shared = Arc::clone(&shared);
            let stop = Arc::clone(&stop);
            std::thread::Builder::new()
                .name("fault-proxy".to_owned())
                .spawn(move || {
                    for conn in listener.incoming() {
                        if stop.load(Ordering::SeqCst) {
                            break;
                        }
                        let Ok(conn) = conn else { continue };
                        let shared = Arc::clone(&shared);
                        shared.in_flight.fetch_add(1, Ordering::SeqCst);
                        let spawned = std::thread::Builder::new()
                            .name("fault-proxy-conn".to_owned())
                            .spawn({
                                let shared = Arc::clone(&shared);
                                move || {
                                    serve(conn, upstream, &shared);
                                    shared.in_flight.fetch_sub(1, Ordering::SeqCst);
                                }
                            });
                        if spawned.is_err() {
                            shared.in_flight.fetch_sub(1, Ordering::SeqCst);
                        }
                    }
                })
                .expect("spawn the proxy thread")
        };
        Self {
            port,
            url: format!("http://127.0.0.1:{port}"),
            upstream,
            shared,
            stop,
            acceptor: Some(acceptor),
        }
    }

    /// Adds a rule (checked after the rules added before it; the first one that matches and
    /// has faults left answers).
    pub fn add(&self, rule: Rule) -> RuleHandle {
        let counts = Arc::new(RuleCounts::default());
        let handle = RuleHandle {
            name: rule.name.clone(),
            counts: Arc::clone(&counts),
        };
        self.shared
            .rules
            .lock()
            .expect("rules lock")
            .push((rule, counts));
        handle
    }

    /// Requests passed on to the upstream server.
    pub fn forwarded(&self) -> usize {
        self.shared.forwarded.load(Ordering::SeqCst)
    }

    /// Every request so far, in the order their exchanges finished.
    pub fn log(&self) -> Vec<Seen> {
        self.shared.log.lock().expect("log lock").clone()
    }

    /// Waits until every exchange the proxy has accepted has finished (a held request
    /// forwarded once its gate opened, even when its client has gone), or `limit` passes;
    /// returns whether it settled. A request that was wholly sent before its client was killed
    /// still reaches the server: a test that kills a client mid-call settles the proxy before
    /// the next run, so the late request cannot land in the middle of that run.
    pub fn settle(&self, limit: Duration) -> bool {
        let start = std::time::Instant::now();
        while self.shared.in_flight.load(Ordering::SeqCst) > 0 {
            if start.elapsed() >= limit {
                return false;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        true
    }

    /// Exchanges that failed inside the proxy (bad framing, upstream unreachable, …).
    pub fn errors(&self) -> Vec<String> {
        self.shared.errors.lock().expect("errors lock").clone()
    }

    /// The upstream server's address.
    pub fn upstream(&self) -> SocketAddr {
        self.upstream
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the acceptor so it sees the flag.
        let _ = TcpStream::connect_timeout(
            &SocketAddr::from((Ipv4Addr::LOCALHOST, self.port)),
            Duration::from_millis(500),
        );
        if let Some(t) = self.acceptor.take() {
            let _ = t.join();
        }
    }
}

fn parse_loopback_url(url: &str) -> SocketAddr {
    let rest = url
        .strip_prefix("http://127.0.0.1:")
        .or_else(|| url.strip_prefix("http://localhost:"))
        .unwrap_or_else(|| panic!("the fault proxy only forwards to loopback, not {url}"));
    let port: u16 = rest
        .trim_end_matches('/')
        .parse()
        .unwrap_or_else(|e| panic!("bad upstream port in {url}: {e}"));
    SocketAddr::from((Ipv4Addr::LOCALHOST, port))
}

/// Handles one connection: one request, one answer, then close.
fn serve(client: TcpStream, upstream: SocketAddr, shared: &Shared) {
    if let Err(e) = exchange(client, upstream, shared) {
        shared.errors.lock().expect("errors lock").push(e);
    }
}

fn exchange(client: TcpStream, upstream: SocketAddr, shared: &Shared) -> Result<(), String> {
    client
        .set_read_timeout(Some(IO_TIMEOUT))
        .and_then(|()| client.set_write_timeout(Some(IO_TIMEOUT)))
        .map_err(|e| format!("socket options: {e}"))?;
    let mut writer = client
        .try_clone()
        .map_err(|e| format!("clone socket: {e}"))?;
    let mut reader = BufReader::new(client);
    let Some(head) = read_head(&mut reader)? else {
        return Ok(()); // connected and closed without a request (the wake-up in Drop)
    };
    let (request_line, header_lines) = head.split_first().ok_or("empty request head")?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next().ok_or("no method")?.to_owned();
    let target = parts.next().ok_or("no request target")?.to_owned();
    let headers: Vec<(String, String)> = header_lines
        .iter()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut request = Request {
        method,
        target,
        headers,
        body: Vec::new(),
    };
    if request
        .header("expect")
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
    {
        writer
            .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
            .map_err(|e| format!("writing 100 Continue: {e}"))?;
    }
    request.body = read_body(&mut reader, &request)?;

    let mut seen = Seen {
        method: request.method.clone(),
        target: request.target.clone(),
        amz_target: request.header("x-amz-target").map(str::to_owned),
        chunked: request.is_chunked(),
        status: 0,
        injected_by: None,
    };
    let fault = {
        let rules = shared.rules.lock().expect("rules lock");
        let mut chosen = None;
        for (rule, counts) in rules.iter() {
            if !(rule.matcher)(&request) {
                continue;
            }
            counts.matched.fetch_add(1, Ordering::SeqCst);
            if chosen.is_none() && counts.injected.load(Ordering::SeqCst) < rule.times {
                counts.injected.fetch_add(1, Ordering::SeqCst);
                chosen = Some((
                    rule.name.clone(),
                    rule.fault.clone(),
                    rule.after_forwarding,
                    rule.hold.clone(),
                ));
            }
        }
        chosen
    };
    let result = match fault {
        Some((_, _, after_forwarding, Some(gate))) => {
            let answered = if after_forwarding {
                let mut answer = Vec::new();
                forward(&request, upstream, &mut answer).map(|status| {
                    shared.forwarded.fetch_add(1, Ordering::SeqCst);
                    seen.status = status;
                    gate.wait(MAX_HOLD);
                    answer
                })
            } else {
                gate.wait(MAX_HOLD);
                let mut answer = Vec::new();
                forward(&request, upstream, &mut answer).map(|status| {
                    shared.forwarded.fetch_add(1, Ordering::SeqCst);
                    seen.status = status;
                    answer
                })
            };
            answered.and_then(|answer| {
                writer
                    .write_all(&answer)
                    .map_err(|e| format!("writing the held answer: {e}"))
            })
        }
        Some((name, fault, after_forwarding, None)) => {
            seen.status = fault.status;
            seen.injected_by = Some(name);
            let forwarded = if after_forwarding {
                // The server's answer is dropped: the client only learns of the fault.
                forward(&request, upstream, &mut std::io::sink()).map(|_| {
                    shared.forwarded.fetch_add(1, Ordering::SeqCst);
                })
            } else {
                Ok(())
            };
            forwarded.and_then(|()| {
                writer
                    .write_all(&fault_response(&fault))
                    .map_err(|e| format!("writing the fault: {e}"))
            })
        }
        None => {
            let conditional =
                request.header("if-none-match").is_some() || request.header("if-match").is_some();
            let _one_at_a_time = conditional.then(|| {
                shared
                    .conditional_writes
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
            });
            forward(&request, upstream, &mut writer).map(|status| {
                shared.forwarded.fetch_add(1, Ordering::SeqCst);
                seen.status = status;
            })
        }
    };
    let _ = writer.flush();
    let _ = writer.shutdown(Shutdown::Write);
    shared.log.lock().expect("log lock").push(seen);
    result.map_err(|e| format!("{} {}: {e}", request.method, request.target))
}

/// The head's lines (request or status line first), or `None` at EOF before any byte.
fn read_head(reader: &mut impl BufRead) -> Result<Option<Vec<String>>, String> {
    let mut lines = Vec::new();
    let mut total = 0;
    loop {
        let mut line = String::new();
        let n = reader
            .read_line(&mut line)
            .map_err(|e| format!("reading the head: {e}"))?;
        if n == 0 {
            return if lines.is_empty() {
                Ok(None)
            } else {
                Err("connection closed inside the head".to_owned())
            };
        }
        total += n;
        if total > MAX_HEAD {
            return Err(format!("head longer than {MAX_HEAD} bytes"));
        }
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if line.is_empty() {
            if lines.is_empty() {
                continue; // stray CRLF before a request line is allowed
            }
            return Ok(Some(lines));
        }
        lines.push(line);
    }
}

/// The request body, byte for byte as framed (chunk sizes, extensions and trailers included
/// when chunked).
fn read_body(reader: &mut impl BufRead, request: &Request) -> Result<Vec<u8>, String> {
    if request.is_chunked() {
        let mut raw = Vec::new();
        loop {
            let mut size_line = String::new();
            reader
                .read_line(&mut size_line)
                .map_err(|e| format!("reading a chunk size: {e}"))?;
            if size_line.is_empty() {
                return Err("connection closed inside a chunked body".to_owned());
            }
            raw.extend_from_slice(size_line.as_bytes());
            let hex = size_line
                .trim()
                .split(';')
                .next()
                .unwrap_or_default()
                .trim();
            let size = usize::from_str_radix(hex, 16)
                .map_err(|e| format!("bad chunk size `{}`: {e}", size_line.trim()))?;
            if size == 0 {
                // Trailers, then the empty line.
                loop {
                    let mut t = String::new();
                    reader
                        .read_line(&mut t)
                        .map_err(|e| format!("reading trailers: {e}"))?;
                    if t.is_empty() {
                        return Err("connection closed inside the trailers".to_owned());
                    }
                    raw.extend_from_slice(t.as_bytes());
                    if t == "\r\n" || t == "\n" {
                        return Ok(raw);
                    }
                }
            }
            let start = raw.len();
            raw.resize(start + size + 2, 0); // data and its CRLF
            reader
                .read_exact(&mut raw[start..])
                .map_err(|e| format!("reading a chunk: {e}"))?;
        }
    }
    let length = match request.header("content-length") {
        Some(v) => v
            .parse::<usize>()
            .map_err(|e| format!("bad Content-Length `{v}`: {e}"))?,
        None => 0,
    };
    let mut body = vec![0; length];
    reader
        .read_exact(&mut body)
        .map_err(|e| format!("reading a {length}-byte body: {e}"))?;
    Ok(body)
}

/// Headers a one-request-per-connection proxy must not pass on.
fn hop_by_hop(name: &str) -> bool {
    ["connection", "keep-alive", "expect", "proxy-connection"]
        .iter()
        .any(|h| name.eq_ignore_ascii_case(h))
}

/// Sends the request upstream, streams the whole answer back, and returns its status.
fn forward(
    request: &Request,
    upstream: SocketAddr,
    client: &mut impl Write,
) -> Result<u16, String> {
    let mut up = TcpStream::connect_timeout(&upstream, Duration::from_secs(5))
        .map_err(|e| format!("connecting to {upstream}: {e}"))?;
    up.set_read_timeout(Some(IO_TIMEOUT))
        .and_then(|()| up.set_write_timeout(Some(IO_TIMEOUT)))
        .map_err(|e| format!("socket options: {e}"))?;
    let mut head = format!("{} {} HTTP/1.1\r\n", request.method, request.target);
    for (k, v) in request.headers.iter().filter(|(k, _)| !hop_by_hop(k)) {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("Connection: close\r\n\r\n");
    up.write_all(head.as_bytes())
        .and_then(|()| up.write_all(&request.body))
        .and_then(|()| up.flush())
        .map_err(|e| format!("writing upstream: {e}"))?;

    let mut reader = BufReader::new(up);
    // Skip interim 1xx answers (the proxy already told the client to continue).
    let (status_line, headers) = loop {
        let lines = read_head(&mut reader)?.ok_or("upstream closed without answering")?;
        let (status_line, headers) = lines.split_first().ok_or("empty response head")?;
        let status: u16 = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| format!("bad status line `{status_line}`"))?;
        if (100..200).contains(&status) {
            continue;
        }
        break (status_line.clone(), headers.to_vec());
    };
    let status: u16 = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_default();
    let mut rest = Vec::new();
    reader
        .read_to_end(&mut rest)
        .map_err(|e| format!("reading the upstream body: {e}"))?;
    let mut out = format!("{status_line}\r\n");
    for line in &headers {
        let name = line
            .split_once(':')
            .map_or(line.as_str(), |(k, _)| k.trim());
        if !hop_by_hop(name) {
            out.push_str(line);
            out.push_str("\r\n");
        }
    }
    out.push_str("Connection: close\r\n\r\n");
    client
        .write_all(out.as_bytes())
        .and_then(|()| client.write_all(&rest))
        .map_err(|e| format!("writing the answer back: {e}"))?;
    Ok(status)
}

fn fault_response(fault: &Fault) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {} {}\r\n", fault.status, reason(fault.status));
    for (k, v) in &fault.headers {
        out.push_str(&format!("{k}: {v}\r\n"));
    }
    out.push_str(&format!(
        "Content-Length: {}\r\nConnection: close\r\n\r\n",
        fault.body.len()
    ));
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(&fault.body);
    bytes
}

fn reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        409 => "Conflict",
        412 => "Precondition Failed",
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Fault",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny upstream that answers every request with 200 and echoes the method, target and
    /// body length (so framing is checked without moto).
    fn echo_server() -> (u16, JoinHandle<()>) {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let port = listener.local_addr().unwrap().port();
        let t = std::thread::spawn(move || {
            for conn in listener.incoming().take(3) {
                let conn = conn.unwrap();
                let mut w = conn.try_clone().unwrap();
                let mut r = BufReader::new(conn);
                let head = read_head(&mut r).unwrap().unwrap();
                let mut parts = head[0].split_whitespace();
                let (m, t) = (parts.next().unwrap(), parts.next().unwrap());
                let headers: Vec<(String, String)> = head[1..]
                    .iter()
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned()))
                    .collect();
                assert!(
                    headers
                        .iter()
                        .any(|(k, v)| k.eq_ignore_ascii_case("connection") && v == "close"),
                    "the proxy asks upstream to close"
                );
                let req = Request {
                    method: m.into(),
                    target: t.into(),
                    headers,
                    body: vec![],
                };
                let body = read_body(&mut r, &req).unwrap();
                let text = format!("{m} {t} {}", body.len());
                write!(
                    w,
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: keep-alive\r\n\r\n{text}",
                    text.len()
                )
                .unwrap();
            }
        });
        (port, t)
    }

    fn send(port: u16, raw: &[u8]) -> String {
        let mut s = TcpStream::connect((Ipv4Addr::LOCALHOST, port)).unwrap();
        s.write_all(raw).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    }

    #[test]
    fn faults_the_first_matches_then_forwards_with_bodies_framed_either_way() {
        let (up, server) = echo_server();
        let proxy = FaultProxy::start(&format!("http://127.0.0.1:{up}"));
        let rule = proxy.add(
            Rule::new("put-b", |r| r.is("PUT", "/b"))
                .times(1)
                .answer(Fault::s3(
                    503,
                    "SlowDown",
                    "Please reduce your request rate.",
                )),
        );
        let put = b"PUT /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
        let first = send(proxy.port, put);
        assert!(
            first.starts_with("HTTP/1.1 503 Service Unavailable\r\n"),
            "{first}"
        );
        assert!(first.contains("<Code>SlowDown</Code>"), "{first}");
        let second = send(proxy.port, put);
        assert!(second.starts_with("HTTP/1.1 200 OK\r\n"), "{second}");
        assert!(second.ends_with("PUT /b 3"), "{second}");
        assert!(second.contains("Connection: close"), "{second}");
        assert!(!second.contains("keep-alive"), "{second}");
        // Not the same operation: a query string makes it PutBucketTagging.
        let tagging = send(
            proxy.port,
            b"PUT /b?tagging HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n",
        );
        assert!(tagging.ends_with("PUT /b?tagging 0"), "{tagging}");
        // A chunked body with an extension and a trailer arrives whole (5 + 3 data bytes,
        // forwarded with its framing).
        let body = "5;ext=1\r\nhello\r\n3\r\nabc\r\n0\r\nx-amz-checksum-crc32: AAAAAA==\r\n\r\n";
        let chunked = send(
            proxy.port,
            format!(
                "POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\
                 Expect: 100-continue\r\n\r\n{body}"
            )
            .as_bytes(),
        );
        assert!(
            chunked.starts_with("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK"),
            "{chunked}"
        );
        assert!(
            chunked.ends_with(&format!("POST /c {}", body.len())),
            "{chunked}"
        );
        server.join().unwrap();
        assert_eq!((rule.matched(), rule.injected()), (2, 1));
        assert_eq!(proxy.forwarded(), 3);
        assert!(proxy.errors().is_empty(), "{:?}", proxy.errors());
        // The proxy may record an exchange after it has answered the client: give the last one a
        // moment (bounded) to land in the log.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while proxy.log().len() < 4 && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let log = proxy.log();
        assert_eq!(log.len(), 4);
        assert_eq!(log[0].injected_by.as_deref(), Some("put-b"));
        assert!(log[3].chunked);
    }

    #[test]
    fn matchers_tell_operations_apart() {
        let r = |target: &str, headers: &[(&str, &str)], body: &str| Request {
            method: "POST".into(),
            target: target.into(),
            headers: headers
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
            body: body.as_bytes().to_vec(),
        };
        let json = r(
            "/",
            &[("X-Amz-Target", "AWSBudgetServiceGateway.CreateBudget")],
            "{}",
        );
        assert!(json.is_target("CreateBudget"));
        assert!(!json.is_target("CreateBudgetAction"));
        let query = r("/", &[], "Action=CreateRole&RoleName=x&Version=2010-05-08");
        assert!(query.is_action("CreateRole"));
        assert!(!query.is_action("Create"));
        assert!(r("/b", &[], "").is("post", "/b"));
        assert!(r("/b/", &[], "").is("POST", "/b"));
        assert!(!r("/b/k", &[], "").is("POST", "/b"));
        assert!(!r("/b?x", &[], "").is("POST", "/b"));
    }
}
