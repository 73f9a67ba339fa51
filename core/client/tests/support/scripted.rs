//! A scripted MQTT 5.0 server's packet I/O, for tests of what mosquitto cannot be made to do
//! (refusals, silence, enhanced authentication).
// Each test binary uses part of it.
#![allow(dead_code)]

use nomq::mqtt::ProtocolVersion;
use nomq::proto::mqtt::codec::{ConnAck, Properties};
use nomq::proto::mqtt::{Packet, ReasonCode, decode};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub const V5: ProtocolVersion = ProtocolVersion::V5;

/// The next whole packet; `None` when the client closed the connection.
pub async fn read_packet(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Vec<u8>> {
    loop {
        if let Some((_, n)) = decode(buf, V5, u32::MAX).unwrap() {
            return Some(buf.drain(..n).collect());
        }
        let mut chunk = [0u8; 512];
        let n = s.read(&mut chunk).await.ok().filter(|&n| n > 0)?;
        buf.extend_from_slice(&chunk[..n]);
    }
}

pub async fn send(s: &mut TcpStream, p: Packet<'_>) {
    let mut out = vec![0u8; p.encoded_len(V5)];
    p.encode(V5, &mut out).unwrap();
    s.write_all(&out).await.unwrap();
}

/// Accepts one client, reads its CONNECT and accepts it (CONNACK success): the connection and
/// the bytes read past CONNECT.
pub async fn accept_connected(listener: &TcpListener) -> (TcpStream, Vec<u8>) {
    let (mut s, _) = listener.accept().await.unwrap();
    let mut buf = vec![];
    read_packet(&mut s, &mut buf).await.expect("CONNECT");
    let ok =
        ConnAck { session_present: false, reason: ReasonCode::SUCCESS, properties: Properties::default() };
    send(&mut s, Packet::ConnAck(ok)).await;
    (s, buf)
}
