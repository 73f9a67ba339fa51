//! `nomq bench nomq`: confirmed messages per second between two nodes over loopback UDP, one
//! JSON line per QoS, and the framing floor (seal+open per second) measured in the same run.

use nomq::Qos;
use serde_json::json;

use crate::{common, flow, selfcheck};

pub fn nomq(v2: bool, qos: Option<u8>, count: usize, size: usize, window: usize) -> Result<bool, String> {
    let version = common::version(v2);
    let levels: Vec<Qos> = match qos {
        Some(q) => vec![Qos::from_u8(q).ok_or("--qos takes 0, 1 or 2")?],
        None => vec![Qos::AtMostOnce, Qos::AtLeastOnce, Qos::ExactlyOnce],
    };
    let payload = vec![b'x'; size];
    let ok = common::runtime().block_on(async move {
        let (a, b) = flow::pair(version).await?;
        // Warm-up: sockets, caches, the first allocation of every table.
        flow::run(&a, &b, "bench", Qos::AtLeastOnce, 200.min(count), window, |_| payload.clone()).await?;
        let mut ok = true;
        for qos in levels {
            let f = flow::run(&a, &b, "bench", qos, count, window, |_| payload.clone()).await?;
            println!(
                "{}",
                json!({
                    "bench": "nomq", "version": version as u8, "qos": qos as u8, "size": size, "window": window,
                    "msgs_per_s": f.rate().round(), "confirmed": f.confirmed, "received": f.delivered,
                    "count": f.count, "elapsed_s": f.elapsed.as_secs_f64(),
                })
            );
            ok &= qos == Qos::AtMostOnce || f.confirmed == count;
        }
        a.close().await;
        b.close().await;
        Ok::<bool, String>(ok)
    })?;
    let floor = selfcheck::seal_open_rate(version, 200_000, size);
    println!(
        "{}",
        json!({"bench": "framing_floor", "version": version as u8, "size": size, "seal_open_per_s": floor.round()})
    );
    Ok(ok)
}
