//! A retransmission that arrives after the receiver's replay window (4096 ids of the sender's
//! counter) has moved on is still recognised as seen and answered, so its sender stops and
//! reports it confirmed, instead of retrying until the ttl and reporting it expired although
//! the first copy was delivered.

use std::net::SocketAddr;

use nomq_proto::endpoint::{Endpoint, EndpointConfig, Event, PublishOptions, PublishOutcome, SeededRandom};
use nomq_proto::frame::{Qos, Version};
use nomq_proto::{Keys, MonoMillis, Now, UnixMillis};

const WALL: u64 = 1_700_000_000_000;

fn carry(from: &mut Endpoint, from_addr: SocketAddr, to: Option<&mut Endpoint>, t: u64) -> usize {
    let mut buf = vec![0u8; from.max_datagram_len()];
    let mut to = to;
    let mut n = 0;
    while let Some(sent) = from.poll_transmit(UnixMillis(WALL + t), &mut buf).unwrap() {
        n += 1;
        if let Some(to) = to.as_deref_mut() {
            to.handle_datagram(Now::new(UnixMillis(WALL + t), MonoMillis(t)), from_addr, &buf[..sent.len]);
        }
    }
    n
}

#[test]
fn a_retransmission_older_than_the_window_is_answered() {
    let keys = Keys::new([1; 32], [2; 32]);
    let (a_addr, b_addr): (SocketAddr, SocketAddr) =
        ("127.0.0.1:1".parse().unwrap(), "127.0.0.1:2".parse().unwrap());
    let mut a =
        Endpoint::new(EndpointConfig::new(Version::V2), &keys, Box::new(SeededRandom::new(1)), MonoMillis(0));
    let mut b =
        Endpoint::new(EndpointConfig::new(Version::V2), &keys, Box::new(SeededRandom::new(2)), MonoMillis(0));
    let ch = b.channel("c");
    b.subscribe(&ch).unwrap();
    let ch = a.channel("c");
    let id = a.publish(MonoMillis(0), b_addr, &ch, b"first", PublishOptions::default()).unwrap();
    carry(&mut a, a_addr, Some(&mut b), 0);
    carry(&mut b, b_addr, None, 0); // the ACK is lost
    // The sender goes on: more than a window of ids before the retransmission arrives.
    let qos0 = PublishOptions { qos: Qos::AtMostOnce, ..PublishOptions::default() };
    for i in 0..5000u32 {
        a.publish(MonoMillis(1), b_addr, &ch, &i.to_be_bytes(), qos0).unwrap();
        carry(&mut a, a_addr, Some(&mut b), 1);
        while b.poll_event().is_some() {}
        while a.poll_event().is_some() {}
    }
    // The retransmission of the first message.
    let t = a.poll_timeout().unwrap().0;
    a.handle_timeout(MonoMillis(t));
    assert_eq!(carry(&mut a, a_addr, Some(&mut b), t), 1);
    carry(&mut b, b_addr, Some(&mut a), t);
    let done: Vec<Event> = std::iter::from_fn(|| a.poll_event()).collect();
    assert!(
        done.contains(&Event::PublishDone { id, outcome: PublishOutcome::Confirmed }),
        "the late retransmission was answered: {done:?}"
    );
    assert_eq!(b.stats().delivered, 5001, "delivered once");
}
