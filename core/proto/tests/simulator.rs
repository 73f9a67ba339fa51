//! Endpoints over the deterministic simulated network: QoS guarantees under loss,
//! duplication and reordering, replay suppression, bounded memory under floods, confirmation
//! matching, heartbeats and retain, in both protocol versions.

mod sim;

use nomq_proto::endpoint::{Dropped, EndpointConfig, Event, Message, PublishOptions, PublishOutcome};
use nomq_proto::frame::{Qos, Version};
use sim::{Impairments, Net, START, addr};
use std::collections::HashMap;

const VERSIONS: [Version; 2] = [Version::V1, Version::V2];

fn messages(events: &[Event]) -> Vec<&Message> {
    events.iter().filter_map(|e| if let Event::Message(m) = e { Some(m) } else { None }).collect()
}

fn outcomes(events: &[Event]) -> Vec<PublishOutcome> {
    events
        .iter()
        .filter_map(|e| if let Event::PublishDone { outcome, .. } = e { Some(*outcome) } else { None })
        .collect()
}

/// Node 0 publishes `count` numbered messages to node 1 at `qos`; returns the net after all
/// publishes finished (or the time limit).
fn exchange(version: Version, qos: Qos, count: usize, impair: Impairments, seed: u64) -> Net {
    let mut net = Net::new(version, 2, impair, seed);
    let ch = net.nodes[1].ep.channel("sensors/temp");
    net.nodes[1].ep.subscribe(&ch).unwrap();
    let to = net.nodes[1].addr;
    for i in 0..count {
        let opts = PublishOptions { qos, ..PublishOptions::default() };
        let now = net.mono(0);
        net.nodes[0].ep.publish(now, to, &ch, format!("msg {i}").as_bytes(), opts).unwrap();
        // Spread the publishes over time so retransmissions and new traffic interleave.
        net.run_until(net.now + 5, |_| false);
    }
    net.run_until(START + 600_000, |n| outcomes(&n.nodes[0].events).len() == count);
    net
}

fn delivery_counts(net: &Net) -> HashMap<Vec<u8>, usize> {
    let mut counts = HashMap::new();
    for m in messages(&net.nodes[1].events) {
        *counts.entry(m.payload.clone()).or_insert(0) += 1;
    }
    counts
}

#[test]
fn qos1_at_30_percent_loss_delivers_every_message_and_confirms_it() {
    for version in VERSIONS {
        let net = exchange(version, Qos::AtLeastOnce, 300, Impairments::lossy(0.3), 1);
        let counts = delivery_counts(&net);
        for i in 0..300 {
            assert!(
                counts.contains_key(format!("msg {i}").as_bytes()),
                "{version:?}: msg {i} never delivered"
            );
        }
        // Retransmissions inside the window are suppressed too, so in practice exactly once.
        assert!(counts.values().all(|&c| c == 1), "{version:?}: a QoS 1 retransmission was re-delivered");
        let done = outcomes(&net.nodes[0].events);
        assert_eq!(done.len(), 300);
        assert!(done.iter().all(|o| *o == PublishOutcome::Confirmed), "{version:?}: {done:?}");
        let s = net.nodes[0].ep.stats();
        assert!(
            s.retransmitted > 50,
            "{version:?}: loss must have forced retransmissions ({})",
            s.retransmitted
        );
        assert!(net.nodes[1].ep.stats().duplicates > 0, "{version:?}: duplicates were seen and suppressed");
        assert_eq!(net.nodes[0].ep.usage().pending, 0);
    }
}

#[test]
fn qos2_at_30_percent_loss_delivers_exactly_once() {
    for version in VERSIONS {
        for seed in [2, 3] {
            let net = exchange(version, Qos::ExactlyOnce, 300, Impairments::lossy(0.3), seed);
            let counts = delivery_counts(&net);
            assert_eq!(counts.len(), 300, "{version:?} seed {seed}: every message arrived");
            assert!(counts.values().all(|&c| c == 1), "{version:?} seed {seed}: exactly once");
            let done = outcomes(&net.nodes[0].events);
            assert_eq!(done.len(), 300);
            assert!(done.iter().all(|o| *o == PublishOutcome::Confirmed));
            assert!(net.nodes[0].ep.stats().retransmitted > 50);
        }
    }
}

#[test]
fn qos0_never_duplicates_even_when_the_network_does() {
    for version in VERSIONS {
        let impair = Impairments { loss: 0.3, duplicate: 0.5, min_delay_ms: 1, max_delay_ms: 100 };
        let net = exchange(version, Qos::AtMostOnce, 300, impair, 4);
        let counts = delivery_counts(&net);
        assert!(counts.values().all(|&c| c == 1), "{version:?}: a QoS 0 message was delivered twice");
        assert!(
            counts.len() > 150 && counts.len() < 300,
            "{version:?}: loss applies to QoS 0 ({})",
            counts.len()
        );
        assert!(outcomes(&net.nodes[0].events).iter().all(|o| *o == PublishOutcome::Sent));
        assert!(net.nodes[1].ep.stats().duplicates > 0);
    }
}

#[test]
fn replayed_datagrams_are_never_delivered_twice() {
    for version in VERSIONS {
        let net = exchange(version, Qos::AtLeastOnce, 50, Impairments::NONE, 5);
        let mut net = net;
        assert_eq!(messages(&net.nodes[1].events).len(), 50);
        let captured: Vec<Vec<u8>> = net.nodes[0].sent.iter().map(|(_, _, b)| b.clone()).collect();
        let attacker = addr(9);
        // Replays within the window, from the original and from another address.
        for delay in [1_000, 10_000, 25_000] {
            net.run_until(START + delay, |_| false);
            for bytes in &captured {
                net.inject(1, attacker, bytes);
                net.inject(1, addr(0), bytes);
            }
        }
        net.run_until(net.now + 10, |_| false);
        assert_eq!(messages(&net.nodes[1].events).len(), 50, "{version:?}: a replay was delivered");
        // Beyond the window they are refused as stale.
        net.run_until(START + 200_000, |_| false);
        let stale_before = net.nodes[1].ep.stats().rejected_stale;
        for bytes in &captured {
            net.inject(1, attacker, bytes);
        }
        assert_eq!(net.nodes[1].ep.stats().rejected_stale - stale_before, captured.len() as u64);
        assert_eq!(messages(&net.nodes[1].events).len(), 50);
    }
}

#[test]
fn memory_stays_bounded_under_floods() {
    for version in VERSIONS {
        let mut config = EndpointConfig::new(version);
        config.max_inbound = 2_000;
        config.max_events = 500;
        config.max_peers = 100;
        let mut net = Net::with_config(config, 3, Impairments::NONE, 6);
        let ch = net.nodes[1].ep.channel("sensors/temp");
        net.nodes[1].ep.subscribe(&ch).unwrap();
        let other = net.nodes[2].ep.channel("not-subscribed");
        // Garbage from many addresses.
        for i in 0..20_000u32 {
            let junk: Vec<u8> = (0..(i % 300)).map(|j| (i ^ j) as u8).collect();
            let from = format!("10.1.{}.{}:9", (i / 250) % 250, i % 250).parse().unwrap();
            net.inject(1, from, &junk);
        }
        // Valid packets for an unknown channel, and valid QoS 0 messages the application never
        // reads, from many sender addresses.
        let mut buf = vec![0u8; 4096];
        for i in 0..20_000u32 {
            let now = net.now_of(2);
            let c = if i % 2 == 0 { &other } else { &ch };
            let opts = PublishOptions { qos: Qos::AtMostOnce, ..Default::default() };
            let to = net.nodes[1].addr;
            net.nodes[2].ep.publish(now.mono, to, c, format!("{i}").as_bytes(), opts).unwrap();
            let t = net.nodes[2].ep.poll_transmit(now.unix, &mut buf).unwrap().unwrap();
            let from = format!("10.2.{}.{}:9", (i / 250) % 250, i % 250).parse().unwrap();
            net.inject(1, from, &buf[..t.len]);
            let _ = net.nodes[2].ep.poll_event();
            if i % 1000 == 0 {
                net.now += 1000;
                let now = net.mono(1);
                net.nodes[1].ep.handle_timeout(now);
            }
        }
        let usage = net.nodes[1].ep.usage();
        assert!(usage.events <= 500, "{version:?}: events bounded ({usage:?})");
        assert!(usage.inbound <= 2_000, "{version:?}: {usage:?}");
        assert!(usage.peers <= 100, "{version:?}: {usage:?}");
        let s = net.nodes[1].ep.stats();
        assert_eq!(s.unknown_channel, 10_000, "{version:?}");
        assert!(s.refused_full > 0, "{version:?}: the bound was reached and reported");
        assert!(s.rejected_malformed + s.rejected_auth >= 19_000, "{version:?}: {s:?}");
        // Draining the events reports the drops, and the node recovers.
        let mut drained = vec![];
        while let Some(e) = net.nodes[1].ep.poll_event() {
            drained.push(e);
        }
        net.now += 1000;
        let now = net.mono(1);
        net.nodes[1].ep.handle_timeout(now);
        while let Some(e) = net.nodes[1].ep.poll_event() {
            drained.push(e);
        }
        assert!(drained.iter().any(|e| matches!(e, Event::Dropped(Dropped::Inbound { .. }))));
        assert!(drained.iter().any(|e| matches!(e, Event::Dropped(Dropped::Peers { .. }))));
    }
}

#[test]
fn unanswered_publishes_expire_after_their_ttl() {
    for version in VERSIONS {
        let mut net = Net::new(version, 1, Impairments::NONE, 7);
        let ch = net.nodes[0].ep.channel("void");
        let opts = PublishOptions { qos: Qos::ExactlyOnce, ttl: 5, ..Default::default() };
        let now = net.mono(0);
        net.nodes[0].ep.publish(now, addr(5), &ch, b"into the void", opts).unwrap();
        net.run_until(START + 60_000, |n| !outcomes(&n.nodes[0].events).is_empty());
        assert_eq!(outcomes(&net.nodes[0].events), vec![PublishOutcome::Expired]);
        assert!(net.now >= START + 5_000 && net.now < START + 6_000, "expired at its ttl, not before");
        let s = net.nodes[0].ep.stats();
        assert!(
            s.retransmitted >= 4,
            "{version:?}: retransmitted with backoff before giving up ({})",
            s.retransmitted
        );
        assert!(s.retransmitted <= 12, "{version:?}: backoff, not a hot loop ({})", s.retransmitted);
        assert_eq!(net.nodes[0].ep.usage().pending, 0);
    }
}

#[test]
fn confirmations_must_come_from_the_destination() {
    for version in VERSIONS {
        // Node 2 also receives node 0's publish (it sniffs it) and answers it; node 0 published
        // to node 1, so node 2's ACK must not confirm.
        let mut net = Net::new(version, 3, Impairments::NONE, 8);
        let ch = net.nodes[1].ep.channel("c");
        net.nodes[1].ep.subscribe(&ch).unwrap();
        net.nodes[2].ep.subscribe(&ch).unwrap();
        let now = net.now_of(0);
        net.nodes[0].ep.publish(now.mono, addr(1), &ch, b"for node 1", PublishOptions::default()).unwrap();
        let mut buf = vec![0u8; 4096];
        let t = net.nodes[0].ep.poll_transmit(now.unix, &mut buf).unwrap().unwrap();
        net.inject(2, addr(0), &buf[..t.len]);
        net.run_until(net.now + 5, |_| false);
        assert!(outcomes(&net.nodes[0].events).is_empty(), "{version:?}: node 2's ACK was accepted");
        assert!(net.nodes[0].ep.stats().unmatched_replies >= 1);
        // The retransmission reaches node 1, whose ACK confirms.
        net.run_until(START + 10_000, |n| !outcomes(&n.nodes[0].events).is_empty());
        assert_eq!(outcomes(&net.nodes[0].events), vec![PublishOutcome::Confirmed]);
    }
}

#[test]
fn broadcast_publish_reaches_everyone_and_is_confirmed_once() {
    for version in VERSIONS {
        let mut net = Net::new(version, 4, Impairments::lossy(0.1), 9);
        let ch = net.nodes[0].ep.channel("all");
        for i in 1..4 {
            net.nodes[i].ep.subscribe(&ch).unwrap();
        }
        let now = net.mono(0);
        let to = "10.0.0.255:8888".parse().unwrap();
        let opts = PublishOptions { qos: Qos::ExactlyOnce, ..Default::default() };
        net.nodes[0].ep.publish(now, to, &ch, b"hello all", opts).unwrap();
        net.run_until(START + 60_000, |_| false);
        assert_eq!(outcomes(&net.nodes[0].events), vec![PublishOutcome::Confirmed], "{version:?}");
        for i in 1..4 {
            let got = messages(&net.nodes[i].events);
            assert!(got.len() <= 1, "{version:?}: node {i} got it {} times", got.len());
        }
    }
}

#[test]
fn heartbeats_are_answered_at_most_once_per_interval_and_never_ping_pong() {
    for version in VERSIONS {
        let mut net = Net::new(version, 2, Impairments::NONE, 10);
        for _ in 0..5 {
            net.nodes[0].ep.heartbeat(addr(1)).unwrap();
            net.run_until(net.now + 100, |_| false);
        }
        net.run_until(START + 10_000, |_| false);
        let from_1 = net.nodes[1].sent.len();
        assert_eq!(from_1, 1, "{version:?}: node 1 answered once within the interval");
        let from_0 = net.nodes[0].sent.len();
        // Node 0's five heartbeats, plus in v1 at most one answer to node 1's answer (v1 has no
        // answer flag, so rate limiting alone stops the exchange).
        assert!(from_0 <= 6, "{version:?}: {from_0}");
        assert!(net.nodes[0].events.iter().any(|e| matches!(e, Event::PeerAlive { .. })));
        assert!(net.nodes[1].events.iter().any(|e| matches!(e, Event::PeerAlive { .. })));
        // Silence makes both lose each other.
        net.run_until(START + 200_000, |_| false);
        assert!(net.nodes[1].events.iter().any(|e| matches!(e, Event::PeerLost { .. })));
    }
}

#[test]
fn retained_messages_are_sent_to_a_new_subscriber() {
    for version in VERSIONS {
        let mut net = Net::new(version, 2, Impairments::NONE, 11);
        let ch = net.nodes[0].ep.channel("door");
        let now = net.mono(0);
        for text in ["closed", "open"] {
            let opts = PublishOptions { qos: Qos::AtMostOnce, retain: true, ..Default::default() };
            net.nodes[0].ep.publish(now, addr(7), &ch, text.as_bytes(), opts).unwrap();
        }
        net.run_until(START + 20_000, |_| false);
        net.nodes[1].ep.subscribe(&ch).unwrap();
        net.nodes[1].ep.announce(addr(0), &ch, true, 5).unwrap();
        net.run_until(net.now + 1_000, |_| false);
        let got: Vec<(&[u8], bool)> =
            messages(&net.nodes[1].events).iter().map(|m| (&m.payload[..], m.retain)).collect();
        assert_eq!(got, vec![(&b"closed"[..], true), (&b"open"[..], true)], "{version:?}");
    }
}

#[test]
fn oversized_and_invalid_publishes_are_refused_cleanly() {
    use nomq_proto::error::{Error, InvalidInput, ResourceError, Table};
    for version in VERSIONS {
        let mut config = EndpointConfig::new(version);
        config.max_pending = 2;
        let mut net = Net::with_config(config, 1, Impairments::NONE, 12);
        let now = net.mono(0);
        let ep = &mut net.nodes[0].ep;
        let ch = ep.channel("x");
        let too_big = vec![b'a'; ep.config().max_payload + 1];
        assert_eq!(
            ep.publish(now, addr(1), &ch, &too_big, PublishOptions::default()),
            Err(Error::Invalid(InvalidInput::PayloadTooLarge))
        );
        ep.publish(now, addr(1), &ch, b"1", PublishOptions::default()).unwrap();
        ep.publish(now, addr(1), &ch, b"2", PublishOptions::default()).unwrap();
        assert_eq!(
            ep.publish(now, addr(1), &ch, b"3", PublishOptions::default()),
            Err(Error::Resource(ResourceError::Full(Table::Pending)))
        );
        let qos0 = PublishOptions { qos: Qos::AtMostOnce, ..Default::default() };
        assert!(ep.publish(now, addr(1), &ch, b"qos 0 is not tracked", qos0).is_ok());
        let binary = ep.publish(now, addr(1), &ch, &[0xff, 0xfe], qos0);
        match version {
            Version::V1 => assert_eq!(binary, Err(Error::Invalid(InvalidInput::NotText))),
            Version::V2 => assert!(binary.is_ok(), "v2 payloads are bytes"),
        }
    }
}

#[test]
fn a_receiver_with_a_small_max_payload_refuses_larger_messages_and_keeps_working() {
    use nomq_proto::MonoMillis;
    use nomq_proto::endpoint::{Endpoint, SeededRandom};
    for version in VERSIONS {
        let mut net = Net::new(version, 2, Impairments::NONE, 21);
        // Node 1 is a firmware node: its receive buffer is sized for 200-byte payloads.
        let mut small = EndpointConfig::new(version);
        small.max_payload = 200;
        net.nodes[1].ep =
            Endpoint::new(small, &sim::keys(), Box::new(SeededRandom::new(5)), MonoMillis(10_000));
        let ch = net.nodes[1].ep.channel("fw");
        net.nodes[1].ep.subscribe(&ch).unwrap();
        let now = net.mono(0);
        let qos0 = PublishOptions { qos: Qos::AtMostOnce, ..Default::default() };
        net.nodes[0].ep.publish(now, addr(1), &ch, &[b'x'; 1000], qos0).unwrap();
        net.nodes[0].ep.publish(now, addr(1), &ch, &[b'y'; 200], qos0).unwrap();
        net.run_until(START + 1_000, |_| false);
        let got: Vec<usize> = messages(&net.nodes[1].events).iter().map(|m| m.payload.len()).collect();
        assert_eq!(
            got,
            vec![200],
            "{version:?}: the 1000-byte message is refused, the 200-byte one delivered"
        );
        assert_eq!(net.nodes[1].ep.stats().rejected_malformed, 1, "{version:?}");
    }
}

#[test]
fn duplicate_cache_memory_does_not_grow_with_the_message_rate() {
    for version in VERSIONS {
        let mut net = Net::new(version, 2, Impairments::NONE, 13);
        let ch = net.nodes[1].ep.channel("fast");
        net.nodes[1].ep.subscribe(&ch).unwrap();
        // 50,000 QoS 1 messages within ~10 s: far more than `max_inbound` ids inside the
        // 60 s retention of random ids; sequential ids need one window per session.
        for i in 0..50_000u32 {
            let now = net.mono(0);
            let to = net.nodes[1].addr;
            net.nodes[0]
                .ep
                .publish(now, to, &ch, format!("{i}").as_bytes(), PublishOptions::default())
                .unwrap();
            if i % 100 == 0 {
                net.run_until(net.now + 20, |_| false);
                net.nodes[1].events.clear();
                net.nodes[0].events.clear();
            }
        }
        net.run_until(START + 60_000, |n| n.nodes[0].ep.usage().pending == 0);
        let s = net.nodes[1].ep.stats();
        assert_eq!(s.delivered, 50_000, "{version:?}: {s:?}");
        assert_eq!(s.refused_full, 0, "{version:?}");
        // One sequential session, and seen ids below its window within the id budget.
        let inbound = net.nodes[1].ep.usage().inbound;
        assert!(inbound <= 1 + net.nodes[1].ep.config().max_inbound, "{version:?}: {inbound}");
        assert_eq!(net.nodes[0].ep.stats().confirmed, 50_000);
    }
}

#[test]
fn a_channel_name_no_datagram_can_carry_is_refused_and_blocks_nothing() {
    use nomq_proto::error::{Error, InvalidInput};
    for version in VERSIONS {
        let mut net = Net::new(version, 2, Impairments::NONE, 14);
        let now = net.mono(0);
        let huge = net.nodes[0].ep.channel(&"c".repeat(70_000));
        assert_eq!(
            net.nodes[0].ep.announce(addr(1), &huge, true, 0),
            Err(Error::Invalid(InvalidInput::PayloadTooLarge)),
            "{version:?}"
        );
        // Nothing stuck in front of the next datagram.
        let ch = net.nodes[1].ep.channel("ok");
        net.nodes[1].ep.subscribe(&ch).unwrap();
        let ch = net.nodes[0].ep.channel("ok");
        net.nodes[0].ep.publish(now, addr(1), &ch, b"after", PublishOptions::default()).unwrap();
        net.run_until(START + 5_000, |n| !messages(&n.nodes[1].events).is_empty());
        assert_eq!(messages(&net.nodes[1].events).len(), 1, "{version:?}");
    }
}

#[test]
fn a_replayed_subscribe_does_not_send_retained_messages_again() {
    for version in VERSIONS {
        let mut net = Net::new(version, 2, Impairments::NONE, 15);
        let ch = net.nodes[0].ep.channel("door");
        let now = net.mono(0);
        let opts = PublishOptions { qos: Qos::AtMostOnce, retain: true, ..Default::default() };
        net.nodes[0].ep.publish(now, addr(7), &ch, &[b'x'; 1000], opts).unwrap();
        net.run_until(START + 1_000, |_| false);
        net.nodes[1].ep.subscribe(&ch).unwrap();
        net.nodes[1].ep.announce(addr(0), &ch, true, 5).unwrap();
        net.run_until(net.now + 1_000, |_| false);
        assert_eq!(messages(&net.nodes[1].events).len(), 1, "{version:?}: the first SUBSCRIBE is answered");
        // The SUBSCRIBE, recorded and replayed with a victim's source address.
        let subscribe = net.nodes[1].sent.iter().find(|(_, to, _)| *to == addr(0)).unwrap().2.clone();
        let victim = addr(9);
        let before = net.nodes[0].sent.len();
        for _ in 0..20 {
            net.inject(0, victim, &subscribe);
        }
        net.run_until(net.now + 1_000, |_| false);
        let to_victim = net.nodes[0].sent[before..].iter().filter(|(_, to, _)| *to == victim).count();
        assert_eq!(to_victim, 0, "{version:?}: the replay was answered {to_victim} times");
    }
}

/// The datagrams `from` sent to `to` since index `since` of its log.
fn sent_to(net: &Net, from: usize, to: std::net::SocketAddr, since: usize) -> Vec<Vec<u8>> {
    net.nodes[from].sent[since..].iter().filter(|(_, t, _)| *t == to).map(|(_, _, b)| b.clone()).collect()
}

#[test]
fn replayed_control_packets_get_no_answer_or_a_small_budgeted_one() {
    for version in VERSIONS {
        let mut net = Net::new(version, 2, Impairments::NONE, 16);
        let ch = net.nodes[1].ep.channel("valve");
        net.nodes[1].ep.subscribe(&ch).unwrap();
        let opts = PublishOptions { qos: Qos::ExactlyOnce, ..Default::default() };
        let now = net.mono(0);
        net.nodes[0].ep.publish(now, addr(1), &ch, b"open", opts).unwrap();
        // Lose everything once node 1 has answered with PUBREC: node 0's PUBREL goes nowhere,
        // so its publish waits at the PUBCOMP stage.
        net.run_until(START + 1_000, |n| !sent_to(n, 1, addr(0), 0).is_empty());
        net.impair.loss = 1.0;
        net.run_until(net.now + 5, |_| false);
        let pubrec = sent_to(&net, 1, addr(0), 0)[0].clone();
        let before = net.nodes[0].sent.len();
        for _ in 0..20 {
            net.inject(0, addr(1), &pubrec);
        }
        net.run_until(net.now, |_| false);
        assert_eq!(net.nodes[0].sent.len(), before, "{version:?}: a repeated PUBREC was answered at once");
        net.impair.loss = 0.0;
        net.run_until(net.now + 60_000, |n| !outcomes(&n.nodes[0].events).is_empty());
        assert_eq!(
            outcomes(&net.nodes[0].events),
            [PublishOutcome::Confirmed],
            "{version:?}: the timer finished it"
        );

        // Everything node 0 sent (PUBLISH, PUBRELs) replayed to node 1 from a victim's address:
        // the PUBLISH is a released duplicate (no answer), the PUBRELs draw on the victim's
        // budget of repeated PUBCOMPs.
        let victim = addr(9);
        let recorded = sent_to(&net, 0, addr(1), 0);
        let before = net.nodes[1].sent.len();
        for _ in 0..50 {
            for d in &recorded {
                net.inject(1, victim, d);
            }
        }
        net.run_until(net.now, |_| false);
        let answers = sent_to(&net, 1, victim, before).len();
        assert!(answers <= 32, "{version:?}: {answers} answers to replays sent to the victim");
        assert!(net.nodes[1].ep.stats().answers_limited > 0, "{version:?}");
        assert_eq!(messages(&net.nodes[1].events).len(), 1, "{version:?}: delivered once");

        // A recorded HEARTBEAT replayed from the victim's address is not answered at all.
        net.nodes[1].ep.heartbeat(addr(0)).unwrap();
        net.run_until(net.now + 100, |_| false);
        let heartbeat = sent_to(&net, 1, addr(0), 0).last().unwrap().clone();
        let before = net.nodes[0].sent.len();
        for _ in 0..20 {
            net.inject(0, victim, &heartbeat);
        }
        net.run_until(net.now, |_| false);
        assert_eq!(
            sent_to(&net, 0, victim, before).len(),
            0,
            "{version:?}: a replayed heartbeat was answered"
        );
    }
}

#[test]
fn retained_answers_are_rate_limited_per_peer() {
    for version in VERSIONS {
        let mut config = EndpointConfig::new(version);
        config.max_transmits = 10_000;
        let mut net = Net::with_config(config, 2, Impairments::NONE, 17);
        let ch = net.nodes[0].ep.channel("door");
        let now = net.mono(0);
        let opts = PublishOptions { qos: Qos::AtMostOnce, retain: true, ..Default::default() };
        net.nodes[0].ep.publish(now, addr(7), &ch, b"closed", opts).unwrap();
        net.run_until(START + 1_000, |_| false);
        net.nodes[1].ep.subscribe(&ch).unwrap();
        // 100 genuine SUBSCRIBEs within a second: the first 32 are answered.
        for _ in 0..100 {
            net.nodes[1].ep.announce(addr(0), &ch, true, 0).unwrap();
        }
        net.run_until(net.now + 500, |_| false);
        let got = messages(&net.nodes[1].events).len();
        assert_eq!(got, 32, "{version:?}: {got} retained answers");
        assert_eq!(net.nodes[0].ep.stats().answers_limited, 68, "{version:?}");
        // The budget refills.
        net.run_until(net.now + 1_000, |_| false);
        net.nodes[1].ep.announce(addr(0), &ch, true, 0).unwrap();
        net.run_until(net.now + 500, |_| false);
        assert_eq!(messages(&net.nodes[1].events).len(), 33, "{version:?}");
    }
}

#[test]
fn qos2_stays_exactly_once_across_a_partition_longer_than_the_replay_window() {
    for version in VERSIONS {
        for qos in [Qos::AtLeastOnce, Qos::ExactlyOnce] {
            let mut net = Net::new(version, 2, Impairments::NONE, 18);
            let ch = net.nodes[1].ep.channel("valve");
            net.nodes[1].ep.subscribe(&ch).unwrap();
            let now = net.mono(0);
            let opts = PublishOptions { qos, ..Default::default() };
            net.nodes[0].ep.publish(now, addr(1), &ch, b"open", opts).unwrap();
            // The PUBLISH arrives; its answer, and everything for the next 5 minutes, is lost.
            net.run_until(START + 1_000, |n| !n.nodes[1].sent.is_empty());
            net.impair.loss = 1.0;
            net.run_until(net.now + 300_000, |_| false);
            net.impair.loss = 0.0;
            net.run_until(net.now + 60_000, |n| !outcomes(&n.nodes[0].events).is_empty());
            assert_eq!(
                messages(&net.nodes[1].events).len(),
                1,
                "{version:?} {qos:?}: delivered again after the partition"
            );
            assert_eq!(outcomes(&net.nodes[0].events), [PublishOutcome::Confirmed], "{version:?} {qos:?}");
        }
    }
}

#[test]
fn an_application_that_never_reads_its_events_is_stopped_not_buffered() {
    use nomq_proto::error::{Error, ResourceError, Table};
    for version in VERSIONS {
        let mut config = EndpointConfig::new(version);
        config.max_events = 16;
        let mut net = Net::with_config(config, 2, Impairments::NONE, 19);
        let ch = net.nodes[0].ep.channel("x");
        let mut buf = vec![0u8; 70_000];
        let mut refused = None;
        for i in 0..100 {
            let now = net.now_of(0);
            let opts = PublishOptions { qos: Qos::AtMostOnce, ..Default::default() };
            match net.nodes[0].ep.publish(now.mono, addr(1), &ch, b"m", opts) {
                Ok(_) => while net.nodes[0].ep.poll_transmit(now.unix, &mut buf).unwrap().is_some() {},
                Err(e) => {
                    assert_eq!(e, Error::Resource(ResourceError::Full(Table::Events)), "{version:?}");
                    refused = Some(i);
                    break;
                }
            }
        }
        assert_eq!(refused, Some(16), "{version:?}: refused once 16 outcomes were unread");
        assert_eq!(net.nodes[0].ep.usage().events, 16, "{version:?}");
        // Reading one makes room for one.
        assert!(net.nodes[0].ep.poll_event().is_some());
        let now = net.now_of(0);
        assert!(net.nodes[0].ep.publish(now.mono, addr(1), &ch, b"m", PublishOptions::default()).is_ok());
    }
}
