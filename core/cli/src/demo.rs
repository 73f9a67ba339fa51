//! `nomq demo`: two nodes on loopback exchange messages at QoS 0, 1 and 2 and report what was
//! delivered, confirmed and how fast. No config, no server.

use nomq::{Qos, Version};

use crate::{common, flow};

pub fn run(v2: bool, count: usize) -> Result<bool, String> {
    let version = common::version(v2);
    common::runtime().block_on(async move {
        let (alice, bob) = flow::pair(version).await?;
        println!(
            "nomq demo: two NoMQ {} nodes on loopback, public demo keys",
            if version == Version::V1 { "v1 (reference wire format)" } else { "v2" }
        );
        println!("  alice {} -> bob {}, channel \"demo/temperature\"", alice.local_addr(), bob.local_addr());
        let mut ok = true;
        for qos in [Qos::AtMostOnce, Qos::AtLeastOnce, Qos::ExactlyOnce] {
            let f = flow::run(&alice, &bob, "demo/temperature", qos, count, 32, |i| {
                format!("reading {i}: {:.1} °C", 20.0 + (i % 50) as f64 / 10.0).into_bytes()
            })
            .await?;
            let q = qos as u8;
            let confirmed = if qos == Qos::AtMostOnce {
                format!("{} sent", f.confirmed)
            } else {
                format!("{} confirmed", f.confirmed)
            };
            println!(
                "  QoS {q}: {confirmed}, {} delivered to bob, {} duplicates suppressed, {:.0} msg/s",
                f.delivered,
                f.duplicates,
                f.rate()
            );
            println!(
                "         bob got: {}",
                f.first_messages.iter().map(|m| format!("{m:?}")).collect::<Vec<_>>().join(", ")
            );
            ok &= f.confirmed == count && (qos == Qos::AtMostOnce || f.delivered == count);
        }
        alice.close().await;
        bob.close().await;
        println!(
            "{}",
            if ok { "OK" } else { "FAILED: not every QoS 1/2 message was confirmed and delivered" }
        );
        Ok(ok)
    })
}
