//! A panic in application code run by the MQTT driver (here an enhanced-auth authenticator
//! that panics when a reconnect is challenged) ends the client cleanly: it reports closed,
//! waiting receives end, and new calls fail with `Error::Closed` instead of hanging.
//! Its own process: the panic hook prints the deliberate panic.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use nomq::Qos;
use nomq::mqtt::{Client, ClientOptions, ReconnectPolicy};
use nomq::proto::mqtt::codec::{ConnAck, Properties, ReasonPacket};
use nomq::proto::mqtt::{Packet, ReasonCode};
use support::scripted::{read_packet, send};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_the_driver_closes_the_client_and_wakes_every_waiter() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    // Challenges every connection; the first is accepted, then cut, so the client reconnects.
    let server = tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = listener.accept().await else { return };
            let mut buf = vec![];
            if read_packet(&mut s, &mut buf).await.is_none() {
                continue;
            }
            let challenge = Properties {
                authentication_method: Some("X-TEST"),
                authentication_data: Some(b"nonce"),
                ..Properties::default()
            };
            let auth = ReasonPacket { reason: ReasonCode::CONTINUE_AUTHENTICATION, properties: challenge };
            send(&mut s, Packet::Auth(auth)).await;
            if read_packet(&mut s, &mut buf).await.is_none() {
                continue;
            }
            let ok = ConnAck {
                session_present: false,
                reason: ReasonCode::SUCCESS,
                properties: Properties::default(),
            };
            send(&mut s, Packet::ConnAck(ok)).await;
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    });
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let mut o =
        ClientOptions::new("127.0.0.1", port, "panics").enhanced_auth("X-TEST", None, move |challenge| {
            if counter.fetch_add(1, Ordering::SeqCst) == 1 {
                panic!("deliberate panic in an authenticator (test)");
            }
            Ok(challenge.to_vec())
        });
    o.session.reconnect = ReconnectPolicy { initial_ms: 10, max_ms: 20, ..ReconnectPolicy::default() };
    let client = Client::connect(o).await.unwrap();
    // A receive waiting when the driver panics.
    let waiting = {
        let client = Arc::new(client);
        let c = client.clone();
        (client, tokio::spawn(async move { c.recv().await }))
    };
    let (client, receiver) = waiting;
    let ended = tokio::time::timeout(Duration::from_secs(10), receiver).await;
    assert!(matches!(ended, Ok(Ok(None))), "the waiting receive ended: {ended:?}");
    assert_eq!(calls.load(Ordering::SeqCst), 2, "the reconnect was challenged");
    assert!(client.is_closed());
    let publish =
        tokio::time::timeout(Duration::from_secs(5), client.publish("t", b"x", Qos::AtLeastOnce, false))
            .await;
    assert!(matches!(publish, Ok(Err(nomq::Error::Closed))), "{publish:?}");
    server.abort();
}
