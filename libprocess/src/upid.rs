//! [`Upid`]: the address of a libprocess process, `id@ip:port`.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

/// The longest process id accepted. libprocess sets no limit; ids it makes are
/// a prefix plus a counter or a UUID, well under this.
pub const MAX_ID_LEN: usize = 256;

/// A libprocess process address: `id@ip:port`, e.g.
/// `crammd5-authenticatee(1)@127.0.0.1:47517` or `master@10.0.0.1:5050`.
///
/// The id names a process inside one libprocess instance; `ip:port` is where that
/// instance listens (its *advertised* address). A message to a UPID is an HTTP
/// request to `ip:port` with the path `/{id}/{message name}`.
///
/// A `Upid` is the parsed, bounded form: hold one instead of the text a peer
/// sent, and ask it for [`ip`](Self::ip) rather than splitting the string again.
/// The address must be an IP literal (IPv6 in brackets: `id@[::1]:5050`):
/// libprocess resolves a host name here, this type does not, so parsing never
/// blocks on DNS. The id must be non-empty, at most [`MAX_ID_LEN`] bytes, and
/// free of `/`, `@`, whitespace and control characters, so it is always one path
/// segment and one header token. Parsing text of any length is safe: it never
/// copies more than the bounded id, and an error quotes at most 64 characters.
///
/// ```
/// use libprocess::{Upid, UpidError};
/// // What a peer claims, e.g. the `pid` field of a message it sent.
/// let claimed = "scheduler-5c1e@10.0.0.7:41393";
/// let upid: Upid = claimed.parse()?;
/// assert_eq!(upid.id(), "scheduler-5c1e");
/// assert_eq!(upid.ip().to_string(), "10.0.0.7");
/// assert_eq!(upid.port(), 41393);
/// assert_eq!(upid.to_string(), claimed);
///
/// assert_eq!("master@mesos.example:5050".parse::<Upid>(), Err(UpidError::BadAddress("mesos.example:5050".into())));
/// let long = format!("{}@127.0.0.1:1", "x".repeat(libprocess::MAX_ID_LEN + 1));
/// assert!(matches!(Upid::try_from(long.as_str()), Err(UpidError::IdTooLong(_))));
/// # Ok::<(), UpidError>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Upid {
    id: String,
    addr: SocketAddr,
}

/// Why a string is not a [`Upid`]. The texts say what a valid UPID looks like.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UpidError {
    /// There is no `@` between id and address.
    #[error("a UPID is id@ip:port, and this one has no '@': write it as e.g. master@10.0.0.1:5050")]
    MissingAt,
    /// The id before `@` is empty.
    #[error("the UPID's process id (before '@') is empty: name the process, e.g. master@10.0.0.1:5050")]
    EmptyId,
    /// The id is longer than [`MAX_ID_LEN`].
    #[error("the UPID's process id is {0} bytes, over the limit of {MAX_ID_LEN}: use a shorter id")]
    IdTooLong(usize),
    /// The id has a character that cannot appear in a path segment or header.
    #[error("the UPID's process id contains {0:?}: use no '/', '@', whitespace or control characters")]
    BadIdChar(char),
    /// The part after `@` is not `ip:port` with an IP literal.
    #[error(
        "the UPID's address {0:?} is not ip:port: give an IP literal (IPv6 in brackets) and a port, not a host name"
    )]
    BadAddress(String),
    /// A host name given for TLS is not a DNS name.
    #[error("{0:?} is not a DNS host name: give a name such as master.example.com, or an IP address")]
    BadHostName(String),
    /// The host name of a UPID written `id@host:port` could not be resolved.
    #[error("cannot resolve the host name {host:?} ({reason}): check the name, or give the IP")]
    Unresolved {
        /// The name, cut after 64 characters.
        host: String,
        /// What the resolver said.
        reason: String,
    },
}

/// `id@host:port` split, the id checked, the host not resolved: `host` is a
/// DNS name or an IP literal (IPv6 in brackets, which stay).
pub(crate) fn split_named(s: &str) -> Result<(&str, &str, u16), UpidError> {
    let (id, addr) = s.split_once('@').ok_or(UpidError::MissingAt)?;
    check_id(id)?;
    let bad = || UpidError::BadAddress(addr.chars().take(64).collect());
    let (host, port) = addr.rsplit_once(':').ok_or_else(bad)?;
    let port = port.parse::<u16>().map_err(|_| bad())?;
    if host.is_empty() {
        return Err(bad());
    }
    Ok((id, host, port))
}

/// `name` as the DNS name a TLS certificate must carry.
pub(crate) fn dns_name(name: &str) -> Result<rustls::pki_types::ServerName<'static>, UpidError> {
    let bad = || UpidError::BadHostName(name.chars().take(64).collect());
    match rustls::pki_types::ServerName::try_from(name.to_owned()) {
        Ok(dns @ rustls::pki_types::ServerName::DnsName(_)) => Ok(dns),
        _ => Err(bad()),
    }
}

impl Upid {
    /// The UPID of process `id` at `addr`. Fails if `id` is not a valid process id
    /// (see [`Upid`]).
    pub fn new(id: impl Into<String>, addr: SocketAddr) -> Result<Self, UpidError> {
        let id = id.into();
        check_id(&id)?;
        Ok(Upid { id, addr })
    }

    /// The process id, e.g. `master`.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The address its libprocess instance listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The IP of [`addr`](Self::addr).
    pub fn ip(&self) -> IpAddr {
        self.addr.ip()
    }

    /// The port of [`addr`](Self::addr).
    pub fn port(&self) -> u16 {
        self.addr.port()
    }
}

/// Checks a process id: non-empty, bounded, one path segment, one header token.
pub(crate) fn check_id(id: &str) -> Result<(), UpidError> {
    if id.is_empty() {
        return Err(UpidError::EmptyId);
    }
    if id.len() > MAX_ID_LEN {
        return Err(UpidError::IdTooLong(id.len()));
    }
    match id.chars().find(|&c| c == '/' || c == '@' || c.is_whitespace() || c.is_control()) {
        Some(c) => Err(UpidError::BadIdChar(c)),
        None => Ok(()),
    }
}

impl FromStr for Upid {
    type Err = UpidError;

    fn from_str(s: &str) -> Result<Self, UpidError> {
        let (id, addr) = s.split_once('@').ok_or(UpidError::MissingAt)?;
        check_id(id)?;
        let addr = addr.parse().map_err(|_| UpidError::BadAddress(addr.chars().take(64).collect()))?;
        Ok(Upid { id: id.to_owned(), addr })
    }
}

impl TryFrom<&str> for Upid {
    type Error = UpidError;

    fn try_from(s: &str) -> Result<Self, UpidError> {
        s.parse()
    }
}

impl TryFrom<String> for Upid {
    type Error = UpidError;

    fn try_from(s: String) -> Result<Self, UpidError> {
        s.parse()
    }
}

impl From<Upid> for String {
    fn from(upid: Upid) -> String {
        upid.to_string()
    }
}

impl fmt::Display for Upid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.id, self.addr)
    }
}

impl fmt::Debug for Upid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The id is checked free of control characters, but quoting keeps a log
        // line's fields apart all the same.
        write!(f, "Upid({:?})", self.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for s in [
            "crammd5-authenticatee(1)@127.0.0.1:47517",
            "master@127.0.0.1:5050",
            "scheduler-a597f447-d218-4916-982f-9ce3c99aa1c8@127.0.0.1:47517",
            "slave(1)@[::1]:5051",
            "a@0.0.0.0:0",
        ] {
            let upid: Upid = s.parse().unwrap();
            assert_eq!(upid.to_string(), s);
            assert_eq!(upid.to_string().parse::<Upid>().unwrap(), upid);
        }
    }

    #[test]
    fn parts() {
        let upid: Upid = "crammd5-authenticator-session(3)@127.0.0.1:37899".parse().unwrap();
        assert_eq!(upid.id(), "crammd5-authenticator-session(3)");
        assert_eq!(upid.ip(), IpAddr::from([127, 0, 0, 1]));
        assert_eq!(upid.port(), 37899);
        assert_eq!(upid.addr(), "127.0.0.1:37899".parse::<SocketAddr>().unwrap());
        assert_eq!(Upid::new("master", upid.addr()).unwrap().to_string(), "master@127.0.0.1:37899");
    }

    #[test]
    fn bad_upids_are_typed_errors() {
        let long = format!("{}@127.0.0.1:1", "x".repeat(MAX_ID_LEN + 1));
        let cases: [(&str, UpidError); 9] = [
            ("master", UpidError::MissingAt),
            ("@127.0.0.1:5050", UpidError::EmptyId),
            ("a/b@127.0.0.1:5050", UpidError::BadIdChar('/')),
            ("a b@127.0.0.1:5050", UpidError::BadIdChar(' ')),
            ("a\r\nX: y@127.0.0.1:5050", UpidError::BadIdChar('\r')),
            ("master@localhost:5050", UpidError::BadAddress("localhost:5050".into())),
            ("master@127.0.0.1", UpidError::BadAddress("127.0.0.1".into())),
            ("master@127.0.0.1:99999", UpidError::BadAddress("127.0.0.1:99999".into())),
            (&long, UpidError::IdTooLong(MAX_ID_LEN + 1)),
        ];
        for (s, want) in cases {
            assert_eq!(s.parse::<Upid>(), Err(want), "{s:?}");
        }
        // An '@' inside the address part.
        assert!(matches!("a@b@127.0.0.1:1".parse::<Upid>(), Err(UpidError::BadAddress(_))));
        assert_eq!(Upid::new("", "127.0.0.1:1".parse().unwrap()), Err(UpidError::EmptyId));
    }

    #[test]
    fn debug_quotes() {
        let upid: Upid = "master@127.0.0.1:5050".parse().unwrap();
        assert_eq!(format!("{upid:?}"), "Upid(\"master@127.0.0.1:5050\")");
    }
}
