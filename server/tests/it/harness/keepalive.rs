//! A keep-alive HTTP/1.1 connection for load: sends prepared request bytes, reads one response.
//! Written here, with no client library, so it costs the same for every endpoint it measures.
//! Shared by the flood test and the benchmarks (`#[path]`).
#![allow(dead_code)]

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

pub struct Conn {
    stream: TcpStream,
    /// The last response, head and body as received.
    pub buf: Vec<u8>,
}

impl Conn {
    pub async fn open(server: SocketAddr) -> Conn {
        let stream = TcpStream::connect(server).await.expect("connect");
        Conn::wrap(stream)
    }

    /// From a chosen local (loopback) address, so the server sees distinct clients.
    pub async fn open_from(server: SocketAddr, from: [u8; 4]) -> Conn {
        let socket = TcpSocket::new_v4().expect("socket");
        socket
            .bind(SocketAddr::from((from, 0)))
            .expect("bind a loopback source address");
        Conn::wrap(socket.connect(server).await.expect("connect"))
    }

    fn wrap(stream: TcpStream) -> Conn {
        stream.set_nodelay(true).expect("nodelay");
        Conn {
            stream,
            buf: Vec::with_capacity(4096),
        }
    }

    /// Sends `request` and reads one whole response (by Content-Length, or to the last chunk of
    /// a streamed page); answers its status.
    pub async fn call(&mut self, request: &[u8]) -> u16 {
        self.stream.write_all(request).await.expect("write");
        self.buf.clear();
        let end = loop {
            self.read_more().await;
            if let Some(end) = find(&self.buf, b"\r\n\r\n") {
                break end;
            }
        };
        let head = std::str::from_utf8(&self.buf[..end]).expect("ascii head");
        let status: u16 = head[9..12].parse().expect("status");
        let chunked =
            header(head, "transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
        let length: usize = header(head, "content-length")
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        if chunked {
            while !self.buf.ends_with(b"\r\n0\r\n\r\n") {
                self.read_more().await;
            }
        } else {
            while self.buf.len() < end + 4 + length {
                self.read_more().await;
            }
        }
        status
    }

    /// The last response's head and body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.buf).into_owned()
    }

    /// The last response's body (for a response with Content-Length).
    pub fn body(&self) -> &[u8] {
        let start = find(&self.buf, b"\r\n\r\n").map_or(self.buf.len(), |end| end + 4);
        &self.buf[start..]
    }

    async fn read_more(&mut self) {
        let mut chunk = [0u8; 4096];
        let n = self.stream.read(&mut chunk).await.expect("read");
        assert!(n > 0, "the server closed the connection");
        self.buf.extend_from_slice(&chunk[..n]);
    }
}

/// A JSON POST request, ready to send on a keep-alive connection.
pub fn post_json(path: &str, body: &str) -> Vec<u8> {
    format!(
        "POST {path} HTTP/1.1\r\nHost: load\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (k, v) = line.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
