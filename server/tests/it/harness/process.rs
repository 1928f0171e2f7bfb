//! The real `xray-keys` binary as a child process, and a small blocking HTTP/1.1 client for it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// A running server; killed (SIGKILL) when dropped.
pub struct Server {
    child: Option<Child>,
    pub port: u16,
}

/// A port nothing listens on right now.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

impl Server {
    /// Starts `xray-keys serve` in `dir` (its data folder is `dir/data` unless `vars` say
    /// otherwise) with only `vars` in its environment, and waits until it is ready. Its log
    /// goes to `dir/server-<port>.log`.
    pub fn start(dir: &Path, vars: &[(&str, &str)]) -> Server {
        let port = free_port();
        let log = std::fs::File::create(dir.join(format!("server-{port}.log"))).expect("log file");
        let listen = format!("127.0.0.1:{port}");
        let mut command = super::cli::xray_keys(
            dir,
            &[("XRAY_KEYS_LISTEN", &listen), ("XRAY_KEYS_LOG", "warn")],
        );
        command.arg("serve").stdout(Stdio::null()).stderr(log);
        for (name, value) in vars {
            command.env(name, value);
        }
        let child = command.spawn().expect("start xray-keys");
        let mut server = Server {
            child: Some(child),
            port,
        };
        for _ in 0..1200 {
            if request(port, "GET", "/readyz", &[], "").is_some_and(|r| r.status == 200) {
                return server;
            }
            if let Some(status) = server
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten())
            {
                let log = std::fs::read_to_string(dir.join(format!("server-{port}.log")));
                panic!("the server exited with {status} before it was ready: {log:?}");
            }
            std::thread::sleep(Duration::from_millis(25));
        }
        panic!("the server did not become ready within 30 s");
    }

    pub fn pid(&self) -> u32 {
        self.child
            .as_ref()
            .map(std::process::Child::id)
            .unwrap_or_default()
    }

    /// SIGTERM, as a service manager stops it: the server may shut down gracefully.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -TERM failed");
    }

    /// Waits up to `limit` for the process to exit; its exit status, or `None` if it still runs.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        let deadline = std::time::Instant::now() + limit;
        while std::time::Instant::now() < deadline {
            if let Some(status) = child.try_wait().ok().flatten() {
                self.child = None;
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    /// SIGKILL: no shutdown code runs.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

pub struct Response {
    pub status: u16,
    /// The header lines, as sent.
    pub head: String,
    pub body: String,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (n, v) = line.split_once(':')?;
            n.trim().eq_ignore_ascii_case(name).then(|| v.trim())
        })
    }
}

/// One request over a fresh connection. `None` when no complete answer came back (connection
/// refused, reset or closed early): the caller cannot know whether the server acted on it.
pub fn request(
    port: u16,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Option<Response> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream
        .set_read_timeout(Some(Duration::from_secs(60)))
        .ok()?;
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\nContent-Length: {}\r\n", body.len());
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text.push_str("\r\n");
    text.push_str(body);
    stream.write_all(text.as_bytes()).ok()?;
    read_response(&mut stream)
}

/// Reads one response up to the end of the connection (the request said `Connection: close`).
pub fn read_response(stream: &mut TcpStream) -> Option<Response> {
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).ok()?;
    let raw = String::from_utf8(raw).ok()?;
    let (head, rest) = raw.split_once("\r\n\r\n")?;
    let status = head.split(' ').nth(1)?.parse().ok()?;
    let mut response = Response {
        status,
        head: head.to_string(),
        body: String::new(),
    };
    response.body = if response
        .header("transfer-encoding")
        .is_some_and(|v| v.eq_ignore_ascii_case("chunked"))
    {
        dechunk(rest)?
    } else {
        let length: usize = response.header("content-length")?.parse().ok()?;
        if rest.len() != length {
            return None;
        }
        rest.to_string()
    };
    Some(response)
}

/// The body of a chunked message; `None` when it was cut off before the last chunk.
fn dechunk(mut rest: &str) -> Option<String> {
    let mut body = String::new();
    loop {
        let (size, after) = rest.split_once("\r\n")?;
        let size = usize::from_str_radix(size.split(';').next()?.trim(), 16).ok()?;
        if size == 0 {
            return Some(body);
        }
        body.push_str(after.get(..size)?);
        rest = after.get(size + 2..)?;
    }
}
