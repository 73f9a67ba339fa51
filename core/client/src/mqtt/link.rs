//! The connection's byte pipe: plain TCP, or TLS with rustls driven sans-IO over the same
//! socket. Reads and writes never wait (`try_read`/`try_write` through a shared `&TcpStream`),
//! so whichever thread holds the client's lock can move bytes: a publish leaves from the
//! caller's thread, and the driver task is woken only when the socket is full.

use std::io::{self, Read as _, Write};
use std::sync::Arc;

use rustls::ClientConnection;
use tokio::io::Interest;
use tokio::net::TcpStream;

use crate::Error;
use nomq_proto::mqtt::Session;

/// Plaintext taken out of rustls per call.
const PLAINTEXT_CHUNK: usize = 16 * 1024;

pub(super) struct Link {
    tcp: Arc<TcpStream>,
    tls: Option<Tls>,
}

struct Tls {
    conn: ClientConnection,
    host: String,
    plaintext: Vec<u8>,
}

/// What a read found.
pub(super) enum Received {
    /// Bytes went to the session (possibly none, for TLS records without application data).
    Data,
    /// Nothing was there: wait for readiness again.
    Empty,
    /// The server closed the connection.
    Closed,
}

impl Link {
    pub(super) fn plain(tcp: Arc<TcpStream>) -> Link {
        Link { tcp, tls: None }
    }

    /// TLS to `name` over `tcp`; the handshake runs as the link is read and written, and
    /// rustls holds CONNECT until it completes.
    pub(super) fn tls(
        tcp: Arc<TcpStream>,
        config: Arc<rustls::ClientConfig>,
        name: rustls_pki_types::ServerName<'static>,
        host: &str,
    ) -> Result<Link, Error> {
        let conn =
            ClientConnection::new(config, name).map_err(|e| Error::Tls(format!("TLS with {host}: {e}")))?;
        let tls = Tls { conn, host: host.to_owned(), plaintext: vec![0; PLAINTEXT_CHUNK] };
        Ok(Link { tcp, tls: Some(tls) })
    }

    /// Moves the session's outgoing bytes into the socket as far as it takes them. `Ok(true)`
    /// when bytes wait for the socket to drain (wait for `writable`); `Ok(false)` when all
    /// went, or when TLS holds them until its handshake completes.
    pub(super) fn write(&mut self, session: &mut Session, now: u64) -> io::Result<bool> {
        let Some(tls) = &mut self.tls else {
            loop {
                let tx = session.transmit();
                if tx.is_empty() {
                    return Ok(false);
                }
                match self.tcp.try_write(tx) {
                    Ok(n) => session.transmitted(now, n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
                    Err(e) => return Err(e),
                }
            }
        };
        loop {
            while tls.conn.wants_write() {
                match tls.conn.write_tls(&mut Socket(&self.tcp)) {
                    Ok(_) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(true),
                    Err(e) => return Err(e),
                }
            }
            let tx = session.transmit();
            if tx.is_empty() {
                return Ok(false);
            }
            // rustls buffers plaintext up to its limit, before the handshake too.
            let n = tls.conn.writer().write(tx)?;
            if n == 0 {
                return Ok(false);
            }
            session.transmitted(now, n);
        }
    }

    /// Reads what the socket has (one buffer's worth) and hands the plaintext to the session.
    pub(super) fn read(
        &mut self,
        buf: &mut [u8],
        session: &mut Session,
        now: u64,
    ) -> Result<Received, Error> {
        let n = match read_draining(&self.tcp, buf) {
            Ok(0) => return Ok(Received::Closed),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Received::Empty),
            Err(e) => return Err(Error::Io(e)),
        };
        let Some(tls) = &mut self.tls else {
            session.handle_bytes(now, &buf[..n]);
            return Ok(Received::Data);
        };
        let mut records = &buf[..n];
        while !records.is_empty() {
            tls.conn.read_tls(&mut records).map_err(Error::Io)?;
            let handshaking = tls.conn.is_handshaking();
            tls.conn.process_new_packets().map_err(|e| {
                let during = if handshaking { "TLS handshake" } else { "TLS" };
                Error::Tls(format!("{during} with {}: {e}", tls.host))
            })?;
            loop {
                match tls.conn.reader().read(&mut tls.plaintext) {
                    Ok(0) => return Ok(Received::Closed),
                    Ok(k) => session.handle_bytes(now, &tls.plaintext[..k]),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) => return Err(Error::Io(e)),
                }
            }
        }
        Ok(Received::Data)
    }

    /// Whether [`Link::acknowledge_now`] works here (`TCP_QUICKACK`, Linux and Android).
    pub(super) const ACKNOWLEDGES_NOW: bool = cfg!(any(target_os = "linux", target_os = "android"));

    /// Sends the TCP ACK for what was read now, not when the delayed-ACK timer fires; with
    /// `keep_delaying`, the kernel goes on delaying the ACKs of later reads (Linux's ping-pong
    /// mode, `TCP_QUICKACK` 0), else it acknowledges them as they are read until we write.
    /// The error is the caller's to log (it holds the client's lock: see `Core::log`).
    pub(super) fn acknowledge_now(&self, keep_delaying: bool) -> std::io::Result<()> {
        #[cfg(any(target_os = "linux", target_os = "android"))]
        {
            let s = socket2::SockRef::from(&*self.tcp);
            s.set_tcp_quickack(true)?;
            if keep_delaying {
                s.set_tcp_quickack(false)?;
            }
        }
        #[cfg(not(any(target_os = "linux", target_os = "android")))]
        let _ = keep_delaying;
        Ok(())
    }

    /// Ends TLS with close_notify, as far as the socket takes it now.
    pub(super) fn close(&mut self) {
        if let Some(tls) = &mut self.tls {
            tls.conn.send_close_notify();
            while tls.conn.wants_write() && tls.conn.write_tls(&mut Socket(&self.tcp)).is_ok() {}
        }
    }
}

/// Reads without waiting. A read shorter than `buf` emptied the socket's receive queue, so the
/// socket's readiness is cleared right away: otherwise tokio learns it only from one more read
/// that fails with `WouldBlock`, a wasted syscall per wake-up. This is safe because tokio
/// clears only the readiness event it observed (by tick): bytes arriving after this read raise
/// a new event, and the next `readable()` sees them.
fn read_draining(tcp: &TcpStream, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = None;
    let cleared = tcp.try_io(Interest::READABLE, || {
        let n = tcp.try_read(buf)?;
        got = Some(n);
        if n > 0 && n < buf.len() { Err(io::ErrorKind::WouldBlock.into()) } else { Ok(n) }
    });
    match (cleared, got) {
        (_, Some(n)) => Ok(n),
        (result, None) => result,
    }
}

/// `io::Write` over a shared tokio socket, without waiting.
struct Socket<'a>(&'a TcpStream);

impl Write for Socket<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.try_write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
