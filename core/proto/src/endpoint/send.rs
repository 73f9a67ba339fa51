//! `poll_transmit`: seal the next queued datagram into the driver's buffer.

use super::Endpoint;
use super::event::{Event, PublishOutcome};
use super::outbound::Stage;
use super::transmit::{OutMessage, Outgoing, Transmit};
use crate::error::{Error, ResourceError};
use crate::frame::{Body, ChannelId, DEFAULT_TTL, Flags, Header, PacketType, Version};
use crate::time::UnixMillis;

impl Endpoint {
    /// Writes the next datagram into `buf` and says where to send it; `Ok(None)` when there is
    /// nothing to send. A buffer of [`Endpoint::max_datagram_len`] bytes always suffices; with a
    /// smaller one, a datagram that does not fit stays queued and the error says how much is
    /// needed. The datagram is sealed now, with `now` (wall clock) as its timestamp: send it
    /// right away.
    pub fn poll_transmit(&mut self, now: UnixMillis, buf: &mut [u8]) -> Result<Option<Transmit>, Error> {
        while let Some(item) = self.transmits.pop_front() {
            match self.seal(now, &item, buf) {
                Ok(Some(t)) => {
                    self.stats.datagrams_out += 1;
                    if let Outgoing::Publish { done: Some(id), .. } = item {
                        self.events.push_back(Event::PublishDone { id, outcome: PublishOutcome::Sent });
                    }
                    return Ok(Some(t));
                }
                // Stale item (a tracked publish confirmed meanwhile): skip it.
                Ok(None) => {}
                // A larger buffer takes it: kept for the next call.
                Err(e @ Error::Resource(ResourceError::BufferTooSmall { .. })) => {
                    self.transmits.push_front(item);
                    return Err(e);
                }
                // It can never be sealed: dropped, so it cannot block what is queued behind it.
                Err(e) => return Err(e),
            }
        }
        Ok(None)
    }

    fn seal(&mut self, now: UnixMillis, item: &Outgoing, buf: &mut [u8]) -> Result<Option<Transmit>, Error> {
        let (to, len) = match item {
            Outgoing::Publish { to, packet_id, msg, .. } => {
                (*to, self.seal_publish(now, *packet_id, msg, false, buf)?)
            }
            Outgoing::Tracked { packet_id } => {
                let Some(p) = self.outbound.entries.get(packet_id) else {
                    return Ok(None);
                };
                let to = p.destination();
                let (stage, retransmission) = (p.stage, p.retries > 0);
                let len = if stage == Stage::Comp {
                    let channel = p.msg.channel;
                    self.seal_reply(now, PacketType::PubRel, *packet_id, channel, buf)?
                } else {
                    let msg = p.msg.clone();
                    self.seal_publish(now, *packet_id, &msg, retransmission, buf)?
                };
                (to, len)
            }
            Outgoing::Reply { to, kind, packet_id, channel } => {
                (*to, self.seal_reply(now, *kind, *packet_id, *channel, buf)?)
            }
            Outgoing::Announce { to, kind, name, flags } => {
                let packet_id = self.new_packet_id();
                let channel = self.codec.channel_id(name);
                let header = self.header(now, *kind, *flags, packet_id, DEFAULT_TTL, channel);
                (*to, self.codec.seal(&header, &Body::Bytes(name.as_bytes()), buf)?)
            }
            Outgoing::Heartbeat { to, answer } => {
                let packet_id = self.new_packet_id();
                let flags = match self.config.version {
                    Version::V1 => Flags(0),
                    Version::V2 => Flags::heartbeat(*answer),
                };
                let header = self.header(
                    now,
                    PacketType::Heartbeat,
                    flags,
                    packet_id,
                    DEFAULT_TTL,
                    ChannelId::HEARTBEAT,
                );
                (*to, self.codec.seal(&header, &Body::Empty, buf)?)
            }
        };
        Ok(Some(Transmit { to, len }))
    }

    /// A PUBLISH with a fresh IV and timestamp. v2 marks retransmissions with DUP; v1 keeps
    /// bit 3 clear as the reference does (§4).
    fn seal_publish(
        &mut self,
        now: UnixMillis,
        packet_id: u32,
        msg: &OutMessage,
        retransmission: bool,
        buf: &mut [u8],
    ) -> Result<usize, Error> {
        let flags = msg.flags.with_dup(retransmission && self.config.version == Version::V2);
        let header = self.header(now, PacketType::Publish, flags, packet_id, msg.ttl, msg.channel);
        // v1 text was validated as UTF-8 by `publish`.
        let body =
            Body::publish(self.config.version, now.0, msg.nonce, &msg.payload, self.config.inner_layout)?;
        self.codec.seal(&header, &body, buf)
    }

    /// ACK, PUBREC, PUBREL or PUBCOMP: the answered id in the header (and, in v1, as the u32
    /// plaintext), the PUBLISH's channel id, ttl 3600, our session id (v1 §5, §11).
    fn seal_reply(
        &mut self,
        now: UnixMillis,
        kind: PacketType,
        packet_id: u32,
        channel: ChannelId,
        buf: &mut [u8],
    ) -> Result<usize, Error> {
        let flags = if kind == PacketType::Ack { Flags::V1_ACK } else { Flags(0) };
        let header = self.header(now, kind, flags, packet_id, DEFAULT_TTL, channel);
        let body = match self.config.version {
            Version::V1 => Body::Acknowledges(packet_id),
            Version::V2 => Body::Empty,
        };
        self.codec.seal(&header, &body, buf)
    }

    fn header(
        &mut self,
        now: UnixMillis,
        kind: PacketType,
        flags: Flags,
        packet_id: u32,
        ttl: u16,
        channel: ChannelId,
    ) -> Header {
        let mut iv = [0u8; 16];
        self.random.fill(&mut iv);
        Header { kind, flags, packet_id, session_id: self.session_id, ttl, timestamp_ms: now.0, channel, iv }
    }
}
