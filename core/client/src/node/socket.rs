//! The UDP socket of a node (v1 §18, with §22.18 fixed): address reuse when asked for, `SO_BROADCAST` so
//! broadcast destinations work, dual-stack IPv6, multicast membership, a large receive buffer.

use socket2::{Domain, Protocol, Socket, Type};
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

pub(super) fn bind(addr: SocketAddr, multicast: &[IpAddr], share: bool) -> io::Result<tokio::net::UdpSocket> {
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    // Shared only when asked, or for multicast listeners (see `NodeConfig::share_port`).
    if share || !multicast.is_empty() {
        socket.set_reuse_address(true)?;
    }
    match addr {
        SocketAddr::V4(_) => socket.set_broadcast(true)?,
        // `[::]` also receives IPv4 (as mapped addresses) where the OS allows it.
        SocketAddr::V6(v6) if v6.ip().is_unspecified() => {
            let _ = socket.set_only_v6(false);
        }
        SocketAddr::V6(_) => {}
    }
    // Bursts should wait in the kernel, not be dropped: the driver drains as fast as it can.
    let _ = socket.set_recv_buffer_size(4 << 20);
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    for group in multicast {
        match group {
            IpAddr::V4(g) => {
                socket.join_multicast_v4(g, &Ipv4Addr::UNSPECIFIED)?;
                socket.set_multicast_loop_v4(true)?;
            }
            IpAddr::V6(g) => {
                socket.join_multicast_v6(g, 0)?;
                socket.set_multicast_loop_v6(true)?;
            }
        }
    }
    tokio::net::UdpSocket::from_std(socket.into())
}
