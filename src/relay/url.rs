//! A relay URL as logs and screens show it. A URL can carry more than where
//! the relay is — a user name and password, a token in the query — and logs
//! travel further than the config file, so only the scheme, host, port and
//! path are ever shown (the screen, with less room, shows host and port).

/// `url` without user info, query or fragment: `ws://host:port/path`.
pub fn for_logs(url: &str) -> String {
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (scheme, rest),
        None => ("", url),
    };
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    let (authority, path) = match rest.find('/') {
        Some(slash) => rest.split_at(slash),
        None => (rest, ""),
    };
    let host = host_of(authority);
    match scheme {
        "" => format!("{host}{path}"),
        scheme => format!("{scheme}://{host}{path}"),
    }
}

/// The host and port of `url` (`relay.example.org`, `127.0.0.1:7600`): what
/// the screen names.
pub fn host(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    host_of(authority).to_string()
}

/// The part of an authority after any `user:password@`.
fn host_of(authority: &str) -> &str {
    authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_in_a_url_are_never_shown() {
        let table = [
            (
                "ws://127.0.0.1:7600/relay",
                "ws://127.0.0.1:7600/relay",
                "127.0.0.1:7600",
            ),
            (
                "wss://owner:hunter2@relay.example.org/family/relay?token=s3cret#x",
                "wss://relay.example.org/family/relay",
                "relay.example.org",
            ),
            (
                "ws://[::1]:7611/relay",
                "ws://[::1]:7611/relay",
                "[::1]:7611",
            ),
            ("wss://a@b.example?k=v", "wss://b.example", "b.example"),
            ("not a url", "not a url", "not a url"),
            ("", "", ""),
        ];
        for (url, logged, shown) in table {
            assert_eq!(for_logs(url), logged, "{url}");
            assert_eq!(host(url), shown, "{url}");
        }
    }
}
