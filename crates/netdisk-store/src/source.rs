//! Which source address a client counts as, for limits and throttling.

use std::net::IpAddr;

/// The unit limits apply to: an IPv4 address, or an IPv6 /64 (one host
/// usually holds a whole /64, so single IPv6 addresses would be free to rotate).
pub fn source_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let segments = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(
                    segments[0],
                    segments[1],
                    segments[2],
                    segments[3],
                    0,
                    0,
                    0,
                    0,
                ))
            }
        },
    }
}
