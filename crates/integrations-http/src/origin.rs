//! The origin (scheme, host, port) of a URI, compared the way browsers compare origins.

use http::Uri;
use std::fmt;

/// A URI's scheme, host and port: lowercased, with the scheme's default port filled in, so
/// `https://API.hubapi.com` and `https://api.hubapi.com:443` are the same origin.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Origin {
    scheme: Box<str>,
    host: Box<str>,
    port: u16,
}

impl Origin {
    /// The origin of an absolute `http`/`https` URI; `None` for a relative URI, another scheme
    /// without an explicit port, or a URI without a host.
    pub(crate) fn of(uri: &Uri) -> Option<Self> {
        let scheme = uri.scheme_str()?.to_ascii_lowercase();
        let host = uri.host()?.to_ascii_lowercase();
        let port = match (uri.port_u16(), scheme.as_str()) {
            (Some(port), _) => port,
            (None, "http") => 80,
            (None, "https") => 443,
            (None, _) => return None,
        };
        Some(Self {
            scheme: scheme.into(),
            host: host.into(),
            port,
        })
    }

    /// `true` when `uri` has this origin; the same rule as comparing with [`Origin::of`], but
    /// without allocating, since it runs for every request through bearer auth.
    pub(crate) fn matches(&self, uri: &Uri) -> bool {
        let (Some(scheme), Some(host)) = (uri.scheme_str(), uri.host()) else {
            return false;
        };
        if !scheme.eq_ignore_ascii_case(&self.scheme) || !host.eq_ignore_ascii_case(&self.host) {
            return false;
        }
        let port = match uri.port_u16() {
            Some(port) => port,
            None if scheme.eq_ignore_ascii_case("http") => 80,
            None if scheme.eq_ignore_ascii_case("https") => 443,
            None => return false,
        };
        port == self.port
    }
}

impl fmt::Debug for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}:{}", self.scheme, self.host, self.port)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origin(s: &str) -> Option<Origin> {
        Origin::of(&s.parse::<Uri>().expect("test uri"))
    }

    #[test]
    fn default_ports_and_case_do_not_matter() {
        assert_eq!(
            origin("https://API.HubApi.com/crm"),
            origin("https://api.hubapi.com:443/")
        );
        assert_eq!(origin("http://h/x"), origin("http://h:80"));
        assert_eq!(
            format!("{:?}", origin("HTTPS://h.example").expect("origin")),
            "https://h.example:443"
        );
    }

    #[test]
    fn scheme_host_and_port_all_count() {
        let api = origin("https://api.hubapi.com");
        assert_ne!(api, origin("http://api.hubapi.com"));
        assert_ne!(api, origin("https://api.hubapi.com:8443"));
        assert_ne!(api, origin("https://api.hubapi.com.evil.example"));
        assert_ne!(origin("http://127.0.0.1:1"), origin("http://127.0.0.1:2"));
    }

    #[test]
    fn matches_agrees_with_comparing_origins() {
        let uris = [
            "https://api.hubapi.com",
            "https://API.HubApi.com:443/crm",
            "HTTPS://api.hubapi.com/x?y=1",
            "http://api.hubapi.com",
            "https://api.hubapi.com:8443",
            "https://api.hubapi.com.evil.example",
            "http://127.0.0.1:1",
            "http://127.0.0.1:80",
            "http://127.0.0.1",
            "ftp://h:21/x",
            "ftp://h/x",
            "/relative",
        ];
        for api in uris {
            let Some(origin) = origin(api) else { continue };
            for uri in uris {
                let parsed: Uri = uri.parse().expect("test uri");
                assert_eq!(
                    origin.matches(&parsed),
                    Origin::of(&parsed).as_ref() == Some(&origin),
                    "{api} vs {uri}"
                );
            }
        }
    }

    #[test]
    fn relative_and_odd_uris_have_no_origin() {
        assert_eq!(origin("/crm/v3/objects"), None);
        assert_eq!(origin("ftp://h/x"), None);
        assert!(origin("ftp://h:21/x").is_some());
    }
}
