//! The endpoint's two clocks: packets carry the wall clock, every timer runs on the monotonic
//! clock. A step of the wall clock (NTP, an RTC set by hand) changes the timestamps sealed into
//! packets and nothing else: retransmissions keep their schedule, publishes expire at their
//! ttl, and an exchange in progress completes.

mod sim;

use nomq_proto::endpoint::{Event, Message, PublishOptions, PublishOutcome};
use nomq_proto::error::{Error, FrameError};
use nomq_proto::frame::{FrameCodec, Qos, Version};
use sim::{Impairments, Net, START, addr, keys};
use std::collections::HashMap;

const VERSIONS: [Version; 2] = [Version::V1, Version::V2];
const HOUR: i64 = 3_600_000;

fn outcomes(events: &[Event]) -> Vec<PublishOutcome> {
    events
        .iter()
        .filter_map(|e| if let Event::PublishDone { outcome, .. } = e { Some(*outcome) } else { None })
        .collect()
}

fn messages(events: &[Event]) -> Vec<&Message> {
    events.iter().filter_map(|e| if let Event::Message(m) = e { Some(m) } else { None }).collect()
}

/// Node 0 publishes at QoS 2 (ttl 5 s) to an address nobody answers; `step_at` ms later its
/// wall clock is stepped by `step_ms`. Runs until the publish ends.
fn unanswered(version: Version, step_at: u64, step_ms: i64) -> Net {
    let mut net = Net::new(version, 1, Impairments::NONE, 30);
    let ch = net.nodes[0].ep.channel("void");
    let opts = PublishOptions { qos: Qos::ExactlyOnce, ttl: 5, ..Default::default() };
    let now = net.mono(0);
    net.nodes[0].ep.publish(now, addr(5), &ch, b"into the void", opts).unwrap();
    net.run_until(START + step_at, |_| false);
    net.nodes[0].wall_offset_ms = step_ms;
    net.run_until(START + 60_000, |n| !outcomes(&n.nodes[0].events).is_empty());
    net
}

#[test]
fn a_wall_clock_step_neither_stops_nor_storms_retransmissions_nor_expires_early() {
    for version in VERSIONS {
        let steady = unanswered(version, 1_000, 0);
        let sent_at = |net: &Net| net.nodes[0].sent.iter().map(|(t, _, _)| *t).collect::<Vec<_>>();
        assert_eq!(outcomes(&steady.nodes[0].events), vec![PublishOutcome::Expired]);
        assert_eq!(steady.now, START + 5_000, "{version:?}: expired at its ttl");
        let retransmitted = steady.nodes[0].ep.stats().retransmitted;
        assert!((4..=12).contains(&retransmitted), "{version:?}: backoff ({retransmitted})");

        for step_ms in [-HOUR, HOUR, -24 * HOUR] {
            let stepped = unanswered(version, 1_000, step_ms);
            let what = format!("{version:?}, wall clock stepped by {step_ms} ms");
            // The same schedule to the millisecond: the wall clock drives no timer.
            assert_eq!(sent_at(&stepped), sent_at(&steady), "{what}: retransmission times");
            assert_eq!(stepped.now, steady.now, "{what}: expiry time");
            assert_eq!(outcomes(&stepped.nodes[0].events), vec![PublishOutcome::Expired], "{what}");
            assert_eq!(stepped.nodes[0].ep.stats().retransmitted, retransmitted, "{what}");
            assert_eq!(stepped.nodes[0].ep.usage().pending, 0, "{what}");
            assert!(stepped.nodes[0].ep.poll_timeout().is_none(), "{what}: nothing left to run");

            // The step did reach the packets: those sealed after it carry the stepped clock.
            let codec = FrameCodec::new(&keys(), version);
            let mut plain = vec![0u8; 4096];
            let (mut before, mut after) = (0, 0);
            for (t, _, bytes) in &stepped.nodes[0].sent {
                if *t <= START + 1_000 {
                    assert!(codec.open(bytes, *t, &mut plain).is_ok(), "{what}: sealed with the old clock");
                    before += 1;
                } else {
                    let wall = t.saturating_add_signed(step_ms);
                    assert!(codec.open(bytes, wall, &mut plain).is_ok(), "{what}: sealed with the new clock");
                    let stale = codec.open(bytes, *t, &mut plain).map(|_| ());
                    assert_eq!(stale, Err(Error::Frame(FrameError::Stale)), "{what}");
                    after += 1;
                }
            }
            assert!(before >= 2 && after >= 2, "{what}: {before} datagrams before the step, {after} after");
        }
    }
}

#[test]
fn an_exchange_completes_across_wall_clock_steps_of_every_node() {
    for version in VERSIONS {
        let mut net = Net::new(version, 2, Impairments::lossy(0.3), 31);
        let ch = net.nodes[1].ep.channel("sensors/temp");
        net.nodes[1].ep.subscribe(&ch).unwrap();
        let to = net.nodes[1].addr;
        // The default ttl is an hour: a timer on the wall clock would expire everything pending
        // at the forward step, and run nothing for an hour after the backward one.
        let opts = PublishOptions { qos: Qos::ExactlyOnce, ..Default::default() };
        for i in 0..200 {
            // Both clocks are set at once (an NTP correction on the network), while datagrams
            // sealed before it are still in flight.
            let offset = match i {
                60 => Some(HOUR),
                130 => Some(-HOUR),
                _ => None,
            };
            if let Some(offset) = offset {
                for n in &mut net.nodes {
                    n.wall_offset_ms = offset;
                }
            }
            let now = net.mono(0);
            net.nodes[0].ep.publish(now, to, &ch, format!("msg {i}").as_bytes(), opts).unwrap();
            net.run_until(net.now + 5, |_| false);
        }
        net.run_until(START + 600_000, |n| outcomes(&n.nodes[0].events).len() == 200);

        let mut counts = HashMap::new();
        for m in messages(&net.nodes[1].events) {
            *counts.entry(m.payload.clone()).or_insert(0) += 1;
        }
        assert_eq!(counts.len(), 200, "{version:?}: every message arrived");
        assert!(counts.values().all(|&c| c == 1), "{version:?}: exactly once");
        let done = outcomes(&net.nodes[0].events);
        assert_eq!(done.len(), 200);
        assert!(done.iter().all(|o| *o == PublishOutcome::Confirmed), "{version:?}: none expired early");
        assert!(net.now < START + 60_000, "{version:?}: no pause of an hour ({} ms)", net.now - START);
        let stale = net.nodes[0].ep.stats().rejected_stale + net.nodes[1].ep.stats().rejected_stale;
        assert!(stale > 0, "{version:?}: datagrams in flight at a step were refused, then retransmitted");
    }
}

#[test]
fn a_receiver_with_a_wrong_wall_clock_refuses_and_the_sender_backs_off_until_its_ttl() {
    for version in VERSIONS {
        let mut net = Net::new(version, 2, Impairments::NONE, 32);
        let ch = net.nodes[1].ep.channel("c");
        net.nodes[1].ep.subscribe(&ch).unwrap();
        net.nodes[1].wall_offset_ms = HOUR;
        let opts = PublishOptions { qos: Qos::AtLeastOnce, ttl: 10, ..Default::default() };
        let now = net.mono(0);
        net.nodes[0].ep.publish(now, addr(1), &ch, b"refused", opts).unwrap();
        net.run_until(START + 60_000, |n| !outcomes(&n.nodes[0].events).is_empty());
        assert_eq!(outcomes(&net.nodes[0].events), vec![PublishOutcome::Expired], "{version:?}");
        assert_eq!(net.now, START + 10_000, "{version:?}: expired at its ttl");
        let (s0, s1) = (net.nodes[0].ep.stats(), net.nodes[1].ep.stats());
        assert!((4..=12).contains(&s0.retransmitted), "{version:?}: backoff ({})", s0.retransmitted);
        assert_eq!(s1.rejected_stale, s0.datagrams_out, "{version:?}: every copy refused as stale");
        assert!(messages(&net.nodes[1].events).is_empty());

        // Once the receiver's clock is set right, the next publish goes through.
        net.nodes[1].wall_offset_ms = 0;
        let now = net.mono(0);
        net.nodes[0].ep.publish(now, addr(1), &ch, b"accepted", opts).unwrap();
        net.run_until(net.now + 10_000, |n| outcomes(&n.nodes[0].events).len() == 2);
        assert_eq!(outcomes(&net.nodes[0].events)[1], PublishOutcome::Confirmed, "{version:?}");
        assert_eq!(messages(&net.nodes[1].events).len(), 1);
    }
}
