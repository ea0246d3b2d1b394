//! Test support shared by the workspace's test suites: moto's server (the AWS API the tests talk
//! to) started on a free loopback port, one per test, and the settings that keep every SDK call on
//! loopback — explicit test credentials and region, instance metadata disabled.
//!
//! A test that needs moto and cannot start it fails; it never skips.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use aws_config::{BehaviorVersion, Region, SdkConfig};

pub mod proxy;

/// The environment every child process that may call AWS gets: nothing reaches a real cloud or
/// the instance metadata address.
pub const SAFE_AWS_ENV: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_REGION", "eu-west-1"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
    ("AWS_CONFIG_FILE", "/dev/null"),
    ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
];

/// moto's server, running for one test; killed when dropped.
#[derive(Debug)]
pub struct Moto {
    child: Child,
    pub port: u16,
    /// `http://127.0.0.1:PORT`
    pub url: String,
}

impl Moto {
    /// Starts `moto_server` (override with `TOLLGATE_MOTO_SERVER`) on a port the OS picks, and
    /// waits until it answers.
    pub fn start() -> Moto {
        let program =
            std::env::var("TOLLGATE_MOTO_SERVER").unwrap_or_else(|_| "moto_server".to_owned());
        for _ in 0..5 {
            let port = free_port();
            let child = Command::new(&program)
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .env("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
                // The emulator is Python and reads these through botocore: pointed at /dev/null
                // (as .ci/run does for the SDK's sake) some of its handlers answer HTTP 500.
                .env_remove("AWS_CONFIG_FILE")
                .env_remove("AWS_SHARED_CREDENTIALS_FILE")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!(
                        "cannot start `{program}` ({e}): install it with \
                         `pip install 'moto[server]'` (.ci/run does)"
                    )
                });
            let mut moto = Moto {
                child,
                port,
                url: format!("http://127.0.0.1:{port}"),
            };
            if moto.wait_ready(Duration::from_secs(60)) {
                return moto;
            }
            // Lost the port to someone else, or the server died: try another port.
        }
        panic!("moto_server did not become ready on loopback after 5 attempts");
    }

    fn wait_ready(&mut self, limit: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(_)) = self.child.try_wait() {
                return false;
            }
            if http_get(self.port, "/moto-api/").is_some_and(|s| s.starts_with("HTTP/1.")) {
                return true;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        false
    }

    /// SDK configuration for in-process clients: this server, test credentials, eu-west-1,
    /// no configuration chain (so no instance metadata), few attempts.
    pub fn sdk_config(&self) -> SdkConfig {
        sdk_config_for(&self.url)
    }

    /// Environment for a child process (`tollgate apply …`) that talks to this server.
    pub fn env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = SAFE_AWS_ENV
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        env.push(("AWS_ENDPOINT_URL".to_owned(), self.url.clone()));
        env
    }
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// SDK configuration for any loopback endpoint (moto, or a fault-injecting proxy in front of it).
pub fn sdk_config_for(url: &str) -> SdkConfig {
    sdk_config_with_retries(url, 2, None)
}

/// [`sdk_config_for`] with `max_attempts` attempts per call (the first included) and, when given,
/// the first retry's backoff (the SDK's default is 1 s; fault tests use a few milliseconds).
pub fn sdk_config_with_retries(
    url: &str,
    max_attempts: u32,
    initial_backoff: Option<Duration>,
) -> SdkConfig {
    assert!(
        url.starts_with("http://127.0.0.1:") || url.starts_with("http://localhost:"),
        "tests only talk to loopback, not {url}"
    );
    let mut retry = aws_config::retry::RetryConfig::standard().with_max_attempts(max_attempts);
    if let Some(b) = initial_backoff {
        retry = retry.with_initial_backoff(b);
    }
    let credentials =
        aws_credential_types::Credentials::new("testing", "testing", None, None, "tollgate-tests");
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("eu-west-1"))
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
        )
        .endpoint_url(url)
        .retry_config(retry)
        .build()
}

/// A port nothing listens on now (the OS's choice), refusing one that already answers.
pub fn free_port() -> u16 {
    loop {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind a loopback port");
        let port = listener.local_addr().expect("local address").port();
        drop(listener);
        if TcpStream::connect_timeout(
            &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
            Duration::from_millis(100),
        )
        .is_err()
        {
            return port;
        }
    }
}

/// A bare HTTP/1.1 GET on loopback; the whole answer, or `None` when nothing answered.
pub fn http_get(port: u16, path: &str) -> Option<String> {
    let mut s = TcpStream::connect_timeout(
        &SocketAddr::from((Ipv4Addr::LOCALHOST, port)),
        Duration::from_millis(500),
    )
    .ok()?;
    s.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )
    .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    Some(out)
}
