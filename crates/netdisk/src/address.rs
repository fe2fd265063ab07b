//! The server address a client is given: HOST, HOST:PORT, [IPv6] or
//! [IPv6]:PORT, always completed to "host:port" (the port defaults to
//! netdisk's), so known_hosts and saved logins key on one spelling.

use netdisk_proto::DEFAULT_PORT;
use std::net::Ipv6Addr;

/// Parses --server; the result always carries a port.
pub fn parse_server_address(text: &str) -> Result<String, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("empty address (expected HOST or HOST:PORT)".into());
    }
    if let Some(rest) = text.strip_prefix('[') {
        let Some((host, after)) = rest.split_once(']') else {
            return Err(format!("{text}: missing ']' after the IPv6 address"));
        };
        host.parse::<Ipv6Addr>()
            .map_err(|_| format!("{text}: {host} is not an IPv6 address"))?;
        return match after {
            "" => Ok(format!("[{host}]:{DEFAULT_PORT}")),
            _ => match after.strip_prefix(':') {
                Some(port) => check_port(text, port).map(|()| text.to_owned()),
                None => Err(format!("{text}: expected ':PORT' after ']'")),
            },
        };
    }
    // A bare IPv6 address has colons of its own: it cannot carry a port.
    if text.parse::<Ipv6Addr>().is_ok() {
        return Ok(format!("[{text}]:{DEFAULT_PORT}"));
    }
    match text.split_once(':') {
        None => Ok(format!("{text}:{DEFAULT_PORT}")),
        Some(("", _)) => Err(format!("{text}: no host before the port")),
        Some((_, port)) => check_port(text, port).map(|()| text.to_owned()),
    }
}

fn check_port(text: &str, port: &str) -> Result<(), String> {
    match port.parse::<u16>() {
        Ok(0) | Err(_) => Err(format!(
            "{text}: the port must be a number from 1 to 65535 (IPv6: [ADDRESS]:PORT)"
        )),
        Ok(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::parse_server_address as parse;

    #[test]
    fn the_port_defaults_to_7420_for_names_and_addresses() {
        assert_eq!(parse("localhost").as_deref(), Ok("localhost:7420"));
        assert_eq!(parse("example.org").as_deref(), Ok("example.org:7420"));
        assert_eq!(parse("192.0.2.1").as_deref(), Ok("192.0.2.1:7420"));
        assert_eq!(parse("[::1]").as_deref(), Ok("[::1]:7420"));
        assert_eq!(parse("::1").as_deref(), Ok("[::1]:7420"));
        assert_eq!(parse(" fe80::1 ").as_deref(), Ok("[fe80::1]:7420"));
    }

    #[test]
    fn a_given_port_is_kept() {
        assert_eq!(parse("localhost:7420").as_deref(), Ok("localhost:7420"));
        assert_eq!(parse("127.0.0.1:9000").as_deref(), Ok("127.0.0.1:9000"));
        assert_eq!(parse("[::1]:1").as_deref(), Ok("[::1]:1"));
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for bad in [
            "",
            "host:",
            ":7420",
            "host:port",
            "host:0",
            "host:70000",
            "host:1:2",
            "[::1",
            "[::1]7420",
            "[::1]:",
            "[nope]:1",
            "[::1]:x",
        ] {
            assert!(parse(bad).is_err(), "{bad:?} was accepted");
        }
    }
}
