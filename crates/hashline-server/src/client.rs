//! Who the client is: the connection's peer address, or, when the peer is a configured
//! trusted reverse proxy, the address that proxy saw (`X-Forwarded-For`, read from the right,
//! skipping trusted hops). `X-Forwarded-For` is never believed from anyone else: a client
//! could write any address there and dodge per-address limits.

use std::net::IpAddr;

use axum::http::HeaderMap;

/// Networks whose connections are reverse proxies (`[server] trusted_proxies`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// Parses addresses and CIDR networks (`10.0.0.5`, `10.0.0.0/8`, `fd00::/8`).
    pub fn parse(list: &[String]) -> Result<TrustedProxies, String> {
        let mut nets = Vec::new();
        for item in list {
            let (addr, bits) = match item.split_once('/') {
                Some((a, b)) => (a, Some(b)),
                None => (item.as_str(), None),
            };
            let addr: IpAddr = addr.trim().parse().map_err(|_| {
                format!(
                    "server.trusted_proxies: {item:?} is not an IP address or network (10.0.0.0/8, fd00::/8)"
                )
            })?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            let bits = match bits {
                Some(b) => b.trim().parse::<u8>().ok().filter(|b| *b <= max).ok_or_else(|| {
                    format!("server.trusted_proxies: {item:?} has a prefix length outside 0–{max}")
                })?,
                None => max,
            };
            nets.push((addr, bits));
        }
        Ok(TrustedProxies(nets))
    }

    /// Whether `ip` is in one of the networks.
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        self.0.iter().any(|(net, bits)| match (canonical(*net), ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => prefix_eq(&n.octets(), &a.octets(), *bits),
            (IpAddr::V6(n), IpAddr::V6(a)) => prefix_eq(&n.octets(), &a.octets(), *bits),
            _ => false,
        })
    }
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(ip, IpAddr::V4),
        v4 => v4,
    }
}

fn prefix_eq(a: &[u8], b: &[u8], bits: u8) -> bool {
    let (whole, rest) = (usize::from(bits / 8), bits % 8);
    a[..whole] == b[..whole] && (rest == 0 || (a[whole] ^ b[whole]) >> (8 - rest) == 0)
}

/// The client's address: `peer` itself unless it is a trusted proxy; then the right-most
/// address of `X-Forwarded-For` that is not a trusted proxy (the peer when the header is
/// missing or a hop does not parse: nothing beyond it can be believed).
pub fn client_ip(peer: Option<IpAddr>, headers: &HeaderMap, trusted: &TrustedProxies) -> Option<IpAddr> {
    let peer = canonical(peer?);
    if !trusted.contains(peer) {
        return Some(peer);
    }
    let hops: Vec<&str> = headers
        .get_all("x-forwarded-for")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .collect();
    for hop in hops.iter().rev() {
        match hop.trim().parse::<IpAddr>() {
            Ok(ip) if trusted.contains(ip) => continue,
            Ok(ip) => return Some(canonical(ip)),
            Err(_) => return Some(peer),
        }
    }
    Some(peer)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(xff: &[&str]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for v in xff {
            h.append("x-forwarded-for", v.parse().unwrap());
        }
        h
    }

    #[test]
    fn forwarded_for_is_believed_only_from_trusted_proxies() {
        let t = TrustedProxies::parse(&["10.0.0.0/8".into(), "fd00::1".into()]).unwrap();
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        let proxy: IpAddr = "10.1.2.3".parse().unwrap();
        // Straight from the internet: the header is the client's own words.
        assert_eq!(client_ip(Some(client), &headers(&["198.51.100.1"]), &t), Some(client));
        // Through the proxy: the right-most untrusted hop.
        let h = headers(&["198.51.100.1, 203.0.113.7", "10.9.9.9"]);
        assert_eq!(client_ip(Some(proxy), &h, &t), Some(client));
        // A garbled hop stops the walk at the proxy.
        assert_eq!(client_ip(Some(proxy), &headers(&["203.0.113.7, bogus"]), &t), Some(proxy));
        assert_eq!(client_ip(Some(proxy), &HeaderMap::new(), &t), Some(proxy));
        // IPv4-mapped peers are their IPv4 address; IPv6 proxies by exact address.
        let mapped: IpAddr = "::ffff:10.1.2.3".parse().unwrap();
        assert_eq!(client_ip(Some(mapped), &headers(&["203.0.113.7"]), &t), Some(client));
        assert!(t.contains("fd00::1".parse().unwrap()) && !t.contains("fd00::2".parse().unwrap()));
        assert_eq!(client_ip(None, &HeaderMap::new(), &t), None);
        // Nothing trusted by default.
        let none = TrustedProxies::default();
        assert_eq!(client_ip(Some(proxy), &headers(&["203.0.113.7"]), &none), Some(proxy));
        assert!(TrustedProxies::parse(&["10.0.0.0/33".into()]).is_err());
        assert!(TrustedProxies::parse(&["example.org".into()]).is_err());
        assert!(TrustedProxies::parse(&["192.168.0.0/16".into()])
            .unwrap()
            .contains("192.168.200.1".parse().unwrap()));
        assert!(!TrustedProxies::parse(&["192.168.0.0/17".into()])
            .unwrap()
            .contains("192.168.200.1".parse().unwrap()));
    }
}
