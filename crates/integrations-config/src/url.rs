use std::fmt;
use std::str::FromStr;

use http::Uri;

use crate::ConfigError;

/// An API base URL: an absolute `http` or `https` URL with a host, optionally a path prefix,
/// and no query, fragment or `user:password@` credentials.
///
/// ```
/// use integrations_config::BaseUrl;
///
/// let url: BaseUrl = "https://api.hubapi.com".parse().unwrap();
/// assert_eq!(url.as_uri().host(), Some("api.hubapi.com"));
/// assert!("ftp://example.com".parse::<BaseUrl>().is_err());
/// ```
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct BaseUrl(Uri);

impl BaseUrl {
    /// Parses and validates a base URL (surrounding whitespace is ignored).
    ///
    /// # Errors
    ///
    /// Returns a [`BaseUrlError`] when the text is not a URL, its scheme is not `http` or
    /// `https`, it has no host, or it has a query, fragment or credentials.
    pub fn parse(input: &str) -> Result<Self, BaseUrlError> {
        let input = input.trim();
        let uri: Uri = input.parse().map_err(BaseUrlError::Invalid)?;
        Self::validate(uri, input.contains('#'))
    }

    fn validate(uri: Uri, has_fragment: bool) -> Result<Self, BaseUrlError> {
        if !matches!(uri.scheme_str(), Some("http" | "https")) {
            return Err(BaseUrlError::Scheme);
        }
        let Some(authority) = uri.authority() else {
            return Err(BaseUrlError::NoHost);
        };
        if authority.as_str().contains('@') {
            return Err(BaseUrlError::Credentials);
        }
        if authority.host().is_empty() {
            return Err(BaseUrlError::NoHost);
        }
        // `http::Uri` accepts any text after the host's `:` as a port (and then reports no
        // port at all): `https://user:pa/ss@host` would go to host `user`.
        let after_host = authority
            .as_str()
            .rsplit_once(']')
            .map_or(authority.as_str(), |(_, rest)| rest);
        if let Some((_, port)) = after_host.rsplit_once(':') {
            if !port.is_empty() && port.parse::<u16>().is_err() {
                return Err(BaseUrlError::Port);
            }
        }
        if uri.query().is_some() || has_fragment {
            return Err(BaseUrlError::Query);
        }
        Ok(Self(uri))
    }

    /// A URL known to be valid at compile time (the built-in defaults).
    pub(crate) fn from_static(url: &'static str) -> Self {
        Self(Uri::from_static(url))
    }

    /// The URL as an [`http::Uri`].
    pub fn as_uri(&self) -> &Uri {
        &self.0
    }

    /// The URL as an [`http::Uri`], by value.
    pub fn into_uri(self) -> Uri {
        self.0
    }

    /// Checks `value` as the base URL held by variable `var`, turning a failure into the
    /// matching [`ConfigError`] (with any credentials in the echoed value redacted).
    pub(crate) fn parse_var(var: &'static str, value: &str) -> Result<Self, ConfigError> {
        Self::parse(value).map_err(|error| {
            let value = redact_userinfo(value.trim());
            match error {
                BaseUrlError::Invalid(source) => ConfigError::InvalidUrl { var, value, source },
                BaseUrlError::Scheme => ConfigError::UrlScheme { var, value },
                BaseUrlError::NoHost => ConfigError::UrlNoHost { var, value },
                BaseUrlError::Query => ConfigError::UrlQuery { var, value },
                BaseUrlError::Port => ConfigError::UrlPort { var, value },
                BaseUrlError::Credentials => ConfigError::UrlCredentials { var, value },
            }
        })
    }
}

/// Replaces the `user:password` of `scheme://user:password@host/...` by `[redacted]`, and the
/// whole text when it holds an `@` whose role cannot be told.
fn redact_userinfo(value: &str) -> String {
    if !value.contains('@') {
        return value.to_owned();
    }
    if let Some(scheme_end) = value.find("://") {
        let rest_start = scheme_end + 3;
        let rest = &value[rest_start..];
        let authority_len = rest.find(['/', '?', '#']).unwrap_or(rest.len());
        let authority = &rest[..authority_len];
        if let Some(at) = authority.rfind('@') {
            return format!("{}[redacted]{}", &value[..rest_start], &rest[at..]);
        }
        // A password holding `/`, `?` or `#` ends the apparent authority early
        // (`https://user:pa/ss@host`): an authority that is not `host[:digits]` followed by an
        // `@` further on is userinfo, so everything up to that `@` goes.
        let port_ok = authority
            .rsplit_once(']')
            .map_or(authority, |(_, rest)| rest)
            .rsplit_once(':')
            .is_none_or(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()));
        return match rest.rfind('@') {
            Some(at) if !port_ok => format!("{}[redacted]{}", &value[..rest_start], &rest[at..]),
            _ => value.to_owned(),
        };
    }
    "[redacted]".to_owned()
}

impl fmt::Debug for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("BaseUrl").field(&self.0.to_string()).finish()
    }
}

impl fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl FromStr for BaseUrl {
    type Err = BaseUrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for BaseUrl {
    type Error = BaseUrlError;

    fn try_from(value: &str) -> Result<Self, Self::Error> {
        Self::parse(value)
    }
}

impl TryFrom<String> for BaseUrl {
    type Error = BaseUrlError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        Self::parse(&value)
    }
}

impl TryFrom<Uri> for BaseUrl {
    type Error = BaseUrlError;

    fn try_from(value: Uri) -> Result<Self, Self::Error> {
        Self::validate(value, false)
    }
}

impl From<BaseUrl> for Uri {
    fn from(value: BaseUrl) -> Self {
        value.0
    }
}

impl AsRef<Uri> for BaseUrl {
    fn as_ref(&self) -> &Uri {
        &self.0
    }
}

/// Why a [`BaseUrl`] was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BaseUrlError {
    /// The text does not parse as a URL.
    #[error("not a valid URL")]
    Invalid(#[source] http::uri::InvalidUri),
    /// The scheme is missing or is not `http`/`https`.
    #[error("the scheme is not http or https")]
    Scheme,
    /// The URL has no host.
    #[error("the URL has no host")]
    NoHost,
    /// The URL has a query string or a fragment.
    #[error("the URL has a query string or fragment")]
    Query,
    /// The port is not a number from 0 to 65535.
    #[error("the URL has an invalid port")]
    Port,
    /// The URL carries `user:password@` credentials.
    #[error("the URL contains credentials")]
    Credentials,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(value: &str) -> String {
        BaseUrl::parse_var("HUBSPOT_BASE_URL", value)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn accepts_http_and_https_with_or_without_a_path_prefix() {
        for input in [
            "https://api.hubapi.com",
            "https://api.hubapi.com/",
            "http://127.0.0.1:8080",
            " https://example.com/proxy/hubspot \n",
            "HTTPS://API.EXAMPLE.COM",
        ] {
            let url = BaseUrl::parse(input).unwrap_or_else(|e| panic!("{input:?}: {e}"));
            assert!(url.as_uri().host().is_some());
        }
        let url = BaseUrl::parse("https://example.com/proxy/hubspot").unwrap();
        assert_eq!(url.as_uri().path(), "/proxy/hubspot");
        assert_eq!(url.to_string(), "https://example.com/proxy/hubspot");
        let uri: Uri = url.clone().into();
        assert_eq!(&uri, url.as_uri());
    }

    #[test]
    fn every_refusal_has_its_message() {
        assert_eq!(
            message("ftp://x"),
            r#"HUBSPOT_BASE_URL="ftp://x" must be an http or https URL"#
        );
        assert_eq!(
            message("api.hubapi.com"),
            r#"HUBSPOT_BASE_URL="api.hubapi.com" must be an http or https URL"#
        );
        assert_eq!(
            message("/just/a/path"),
            r#"HUBSPOT_BASE_URL="/just/a/path" must be an http or https URL"#
        );
        assert_eq!(
            message("https://exa mple.com"),
            r#"HUBSPOT_BASE_URL="https://exa mple.com" is not a valid URL"#
        );
        assert_eq!(
            message("https://"),
            r#"HUBSPOT_BASE_URL="https://" is not a valid URL"#
        );
        assert_eq!(
            message("https://api.hubapi.com/?a=b"),
            r#"HUBSPOT_BASE_URL="https://api.hubapi.com/?a=b" must not have a query string or fragment"#
        );
        assert_eq!(
            message("https://api.hubapi.com/#top"),
            r##"HUBSPOT_BASE_URL="https://api.hubapi.com/#top" must not have a query string or fragment"##
        );
    }

    #[test]
    fn a_url_without_host_is_refused() {
        // `http::Uri` refuses most host-less forms itself; whichever check catches it, the
        // URL is refused and the message names the variable.
        for input in ["https://:443", "http://@/"] {
            let err = BaseUrl::parse_var("MANYCHAT_BASE_URL", input).unwrap_err();
            assert_eq!(err.var(), "MANYCHAT_BASE_URL");
        }
    }

    #[test]
    fn credentials_are_refused_and_never_echoed() {
        let msg = message("https://user:hunter2@api.hubapi.com/v3");
        assert_eq!(
            msg,
            r#"HUBSPOT_BASE_URL="https://[redacted]@api.hubapi.com/v3" must not contain credentials"#
        );
        // A bad scheme with credentials: still redacted.
        let msg = message("ftp://user:hunter2@x");
        assert_eq!(
            msg,
            r#"HUBSPOT_BASE_URL="ftp://[redacted]@x" must be an http or https URL"#
        );
        let err = BaseUrl::parse_var("HUBSPOT_BASE_URL", "https://u:hunter2@a b").unwrap_err();
        assert!(!err.to_string().contains("hunter2"));
        assert!(!format!("{err:?}").contains("hunter2"));
        // A password with a `/` ends the authority early: `user` would be the host and
        // `hunter2` the port. Refused, and the echoed value is still redacted.
        let err = BaseUrl::parse_var("HUBSPOT_BASE_URL", "https://user:hunter2/x@api.hubapi.com")
            .unwrap_err();
        assert!(matches!(err, ConfigError::UrlPort { .. }), "{err:?}");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        assert!(!format!("{err:?}").contains("hunter2"), "{err:?}");
    }

    #[test]
    fn redaction_rules() {
        assert_eq!(redact_userinfo("https://a.com/x@y"), "https://a.com/x@y");
        assert_eq!(
            redact_userinfo("https://u:p@a.com"),
            "https://[redacted]@a.com"
        );
        assert_eq!(redact_userinfo("u:p@a.com"), "[redacted]");
        // Passwords holding a delimiter must not end the redaction early.
        for (input, shown) in [
            ("https://u:pa/ss@a.com/v3", "https://[redacted]@a.com/v3"),
            ("https://u:pa?ss@a.com", "https://[redacted]@a.com"),
            ("https://u:pa#ss@a.com", "https://[redacted]@a.com"),
        ] {
            assert_eq!(redact_userinfo(input), shown, "{input}");
        }
        assert_eq!(
            redact_userinfo("https://a.com:8443/x@y"),
            "https://a.com:8443/x@y"
        );
        assert_eq!(redact_userinfo("http://[::1]/x@y?q"), "http://[::1]/x@y?q");
        assert_eq!(redact_userinfo("https://a.com"), "https://a.com");
    }

    #[test]
    fn try_from_uri_validates_too() {
        let uri: Uri = "ftp://x".parse().unwrap();
        assert!(matches!(BaseUrl::try_from(uri), Err(BaseUrlError::Scheme)));
        let uri: Uri = "/path".parse().unwrap();
        assert!(matches!(BaseUrl::try_from(uri), Err(BaseUrlError::Scheme)));
        assert!(BaseUrl::try_from("http://localhost:1".to_owned()).is_ok());
        assert!(BaseUrl::parse("http://[::1]:8080/x").is_ok());
        for bad in ["http://localhost:99999", "https://host:abc/x"] {
            assert!(
                matches!(BaseUrl::parse(bad), Err(BaseUrlError::Port)),
                "{bad}"
            );
        }
    }

    #[test]
    fn standalone_error_messages() {
        assert_eq!(
            BaseUrl::parse("ftp://x").unwrap_err().to_string(),
            "the scheme is not http or https"
        );
        assert_eq!(
            BaseUrl::parse("https://a.com?x").unwrap_err().to_string(),
            "the URL has a query string or fragment"
        );
    }
}
