//! Where the master is: the forms a user writes for a framework's or an agent's
//! `--master`, parsed without any I/O, then resolved in a separate step.
//!
//! | form | meaning |
//! |---|---|
//! | `IP:PORT`, `HOST:PORT` | one master, no failover |
//! | `master@IP:PORT`, `master@HOST:PORT` | the same, written as the master's UPID |
//! | `zk://[USER:PASSWORD@]HOST:PORT[,HOST:PORT...]/PATH` | the leading master among those contending under PATH in ZooKeeper |
//! | `file:///PATH` | a file that holds one of the forms above |
//!
//! [`MasterAddress::from_str`] never resolves a name nor reads a file: a host name
//! is looked up by [`MasterAddress::resolve`] (with the standard library's
//! resolver), and a `file://` address is read by [`MasterAddress::load`].
//!
//! The password of a `zk://` address is never shown: both `Debug` and `Display`
//! print `***` in its place, no error message quotes it (not even when the
//! `zk://` was forgotten: `alice:secret@host:2181/mesos` is reported as the
//! process id `"alice:***"`), and it is wiped from memory when dropped.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4, ToSocketAddrs};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use libprocess::Upid;
use zeroize::Zeroizing;

use crate::MASTER_PROCESS_ID;

/// Why a master address could not be parsed, loaded or resolved.
///
/// No variant carries the password of a `zk://` address.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum AddressError {
    /// Nothing but white space was given.
    #[error("the master address is empty")]
    Empty,
    /// A `SCHEME://` other than `zk://` and `file://`.
    #[error("unknown scheme {0:?}: a master address is HOST:PORT, master@HOST:PORT, zk://... or file://...")]
    UnknownScheme(String),
    /// `ID@HOST:PORT` with an ID other than `master`. An ID holding `:` is
    /// shown as `USER:***` (it is likely `USER:PASSWORD` of a `zk://` address
    /// written without `zk://`).
    #[error("{0:?} is not the master's process id: a master's UPID is master@HOST:PORT (and ZooKeeper is zk://...)")]
    NotMaster(String),
    /// A `HOST:PORT` (or a ZooKeeper server) without `:PORT`.
    #[error("missing port in {0:?}: expected HOST:PORT")]
    MissingPort(String),
    /// The text after the last `:` is not a port number from 1 to 65535.
    #[error("bad port {port:?} in {input:?}: expected a number from 1 to 65535")]
    BadPort {
        /// The `HOST:PORT` it was found in.
        input: String,
        /// The text that is not a port.
        port: String,
    },
    /// `:PORT` with nothing before it.
    #[error("missing host in {0:?}: expected HOST:PORT")]
    MissingHost(String),
    /// A host that is neither an IPv4 address nor a DNS name.
    #[error("bad host {0:?}: expected an IPv4 address or a DNS name")]
    BadHost(String),
    /// A bracketed IPv6 literal: Mesos masters advertise IPv4 only (`MasterInfo.ip` is 32 bits).
    #[error("IPv6 address {0:?} is not supported: a Mesos master is reached over IPv4")]
    Ipv6Unsupported(String),
    /// `zk://` with no server before the path.
    #[error("the zk:// address names no ZooKeeper server")]
    EmptyZkHostList,
    /// One of the comma-separated ZooKeeper servers is empty (`a:1,,b:2`).
    #[error("the zk:// address has an empty entry in its server list")]
    EmptyZkHost,
    /// `zk://HOST:PORT` with no `/PATH`.
    #[error("the zk:// address has no path: expected zk://HOST:PORT/PATH")]
    MissingZkPath,
    /// A path that ZooKeeper would refuse, or the root `/` itself.
    #[error("bad ZooKeeper path {0:?}: expected /NAME[/NAME...] without empty, '.' or '..' names")]
    BadZkPath(String),
    /// `USER:PASSWORD@` without the `:`, or with an empty user.
    #[error("bad credentials in the zk:// address: expected USER:PASSWORD@ with a non-empty USER")]
    BadZkCredentials,
    /// `file://` not followed by an absolute path.
    #[error("bad file address {0:?}: expected file:///ABSOLUTE/PATH")]
    BadFilePath(String),
    /// The file of a `file://` address could not be read.
    #[error("cannot read the master address file {path:?}: {reason}")]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The I/O error, as text.
        reason: String,
    },
    /// The file of a `file://` address holds another `file://` address.
    #[error("the master address file {0:?} holds another file:// address")]
    NestedFile(PathBuf),
    /// The host name could not be resolved.
    #[error("cannot resolve {host:?}: {reason}")]
    Resolve {
        /// The host name.
        host: String,
        /// The resolver's error, as text.
        reason: String,
    },
    /// The host name resolved, but to no IPv4 address.
    #[error("{0:?} has no IPv4 address")]
    NoIpv4(String),
}

/// A host and a port, the host not yet resolved.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct HostPort {
    /// An IPv4 address in dotted form or a DNS name, as written.
    pub host: String,
    /// The port, from 1 to 65535.
    pub port: u16,
}

impl HostPort {
    /// The host as an IPv4 address, when it is written as one.
    pub fn ip(&self) -> Option<Ipv4Addr> {
        self.host.parse().ok()
    }

    /// Resolves the host (no look-up for an IPv4 literal) to its first IPv4 address.
    pub fn resolve(&self) -> Result<SocketAddrV4, AddressError> {
        if let Some(ip) = self.ip() {
            return Ok(SocketAddrV4::new(ip, self.port));
        }
        let addrs = (self.host.as_str(), self.port)
            .to_socket_addrs()
            .map_err(|e| AddressError::Resolve { host: self.host.clone(), reason: e.to_string() })?;
        addrs
            .filter_map(|a| match a {
                SocketAddr::V4(v4) => Some(v4),
                SocketAddr::V6(_) => None,
            })
            .next()
            .ok_or_else(|| AddressError::NoIpv4(self.host.clone()))
    }
}

impl fmt::Display for HostPort {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.host, self.port)
    }
}

/// Parses `HOST:PORT`: an IPv4 literal or a DNS name, and a port from 1 to 65535.
fn parse_host_port(input: &str) -> Result<HostPort, AddressError> {
    if input.starts_with('[') {
        return Err(AddressError::Ipv6Unsupported(input.to_owned()));
    }
    let Some((host, port)) = input.rsplit_once(':') else {
        return Err(AddressError::MissingPort(input.to_owned()));
    };
    if host.is_empty() {
        return Err(AddressError::MissingHost(input.to_owned()));
    }
    if host.contains(':') {
        // An unbracketed IPv6 literal, or junk.
        return Err(AddressError::Ipv6Unsupported(input.to_owned()));
    }
    let bad_port = || AddressError::BadPort { input: input.to_owned(), port: port.to_owned() };
    if port.is_empty() {
        return Err(AddressError::MissingPort(input.to_owned()));
    }
    if !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad_port());
    }
    let port: u16 = port.parse().map_err(|_| bad_port())?;
    if port == 0 {
        return Err(bad_port());
    }
    if !valid_host(host) {
        return Err(AddressError::BadHost(host.to_owned()));
    }
    Ok(HostPort { host: host.to_owned(), port })
}

/// An IPv4 literal, or a DNS name: labels of letters, digits, `-` and `_`
/// (not starting or ending with `-`), separated by single dots.
fn valid_host(host: &str) -> bool {
    if host.parse::<Ipv4Addr>().is_ok() {
        return true;
    }
    if host.len() > 253 {
        return false;
    }
    let all_numeric = host.split('.').all(|l| !l.is_empty() && l.bytes().all(|b| b.is_ascii_digit()));
    if all_numeric {
        // Looks like an IPv4 address but is not one (e.g. 300.1.1.1).
        return false;
    }
    let host = host.strip_suffix('.').unwrap_or(host);
    host.split('.').all(|label| {
        !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// The `USER:PASSWORD` of a `zk://` address, for ZooKeeper's `digest` scheme.
///
/// `Debug` shows the user and `***` for the password; the password is wiped
/// from memory when dropped.
#[derive(Clone, PartialEq, Eq)]
pub struct ZkCredentials {
    user: String,
    password: Zeroizing<String>,
}

impl ZkCredentials {
    /// Credentials for the `digest` scheme. The user must not be empty nor hold a `:`.
    pub fn new(user: impl Into<String>, password: impl Into<String>) -> Result<Self, AddressError> {
        let user = user.into();
        if user.is_empty() || user.contains(':') {
            return Err(AddressError::BadZkCredentials);
        }
        Ok(ZkCredentials { user, password: Zeroizing::new(password.into()) })
    }

    /// The user name.
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The password, in clear: for the ZooKeeper client only, never for a log.
    pub fn password(&self) -> &str {
        &self.password
    }

    /// `USER:PASSWORD`, the auth data of ZooKeeper's `digest` scheme (wiped
    /// when dropped).
    pub fn digest_auth(&self) -> Zeroizing<Vec<u8>> {
        let mut auth = Vec::with_capacity(self.user.len() + 1 + self.password.len());
        auth.extend_from_slice(self.user.as_bytes());
        auth.push(b':');
        auth.extend_from_slice(self.password.as_bytes());
        Zeroizing::new(auth)
    }
}

impl fmt::Debug for ZkCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZkCredentials").field("user", &self.user).field("password", &"***").finish()
    }
}

/// A `zk://` address: ZooKeeper servers, optional digest credentials, and the
/// path under which masters contend.
///
/// `Debug` and `Display` show `***` in place of the password.
#[derive(Clone, PartialEq, Eq)]
pub struct ZkAddress {
    servers: Vec<HostPort>,
    path: String,
    credentials: Option<ZkCredentials>,
}

impl ZkAddress {
    /// An address from its parts. `servers` must not be empty and `path` must be a
    /// valid absolute ZooKeeper path other than `/` (a trailing `/` is dropped).
    pub fn new(servers: Vec<HostPort>, path: &str, credentials: Option<ZkCredentials>) -> Result<Self, AddressError> {
        if servers.is_empty() {
            return Err(AddressError::EmptyZkHostList);
        }
        Ok(ZkAddress { servers, path: parse_zk_path(path)?, credentials })
    }

    /// The ZooKeeper servers, in the order written.
    pub fn servers(&self) -> &[HostPort] {
        &self.servers
    }

    /// The path under which masters contend, absolute, without a trailing `/`.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The digest credentials, if the address has `USER:PASSWORD@`.
    pub fn credentials(&self) -> Option<&ZkCredentials> {
        self.credentials.as_ref()
    }

    /// The ZooKeeper connect string, `HOST:PORT[,HOST:PORT...]` (no path, no credentials).
    pub fn connect_string(&self) -> String {
        self.servers.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(",")
    }

    /// The same servers and credentials with another path.
    pub fn with_path(&self, path: &str) -> Result<Self, AddressError> {
        Ok(ZkAddress {
            servers: self.servers.clone(),
            path: parse_zk_path(path)?,
            credentials: self.credentials.clone(),
        })
    }

    fn parse(rest: &str) -> Result<Self, AddressError> {
        // rest is what follows "zk://": [USER:PASSWORD@]SERVERS/PATH. The path starts
        // at the first '/' after the credentials.
        let (credentials, rest) = match split_credentials(rest) {
            Some((auth, rest)) => {
                let (user, password) = auth.split_once(':').ok_or(AddressError::BadZkCredentials)?;
                (Some(ZkCredentials::new(user, password)?), rest)
            }
            None => (None, rest),
        };
        let (servers, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, ""),
        };
        if servers.is_empty() {
            return Err(AddressError::EmptyZkHostList);
        }
        let servers = servers
            .split(',')
            .map(|s| if s.is_empty() { Err(AddressError::EmptyZkHost) } else { parse_host_port(s) })
            .collect::<Result<Vec<_>, _>>()?;
        if path.is_empty() {
            return Err(AddressError::MissingZkPath);
        }
        Ok(ZkAddress { servers, path: parse_zk_path(path)?, credentials })
    }
}

/// Splits `USER:PASSWORD@REST` at the last `@`, if there is one: a password may
/// hold `@` and `/`, a server list never holds `@`. (So a path holding `@` cannot
/// be written in a `zk://` address; ZooKeeper allows it, Mesos masters never use one.)
fn split_credentials(rest: &str) -> Option<(&str, &str)> {
    let at = rest.rfind('@')?;
    Some((&rest[..at], &rest[at + 1..]))
}

/// Checks an absolute ZooKeeper path and drops one trailing `/`.
fn parse_zk_path(path: &str) -> Result<String, AddressError> {
    let bad = || AddressError::BadZkPath(path.to_owned());
    if !path.starts_with('/') {
        return Err(bad());
    }
    let trimmed = path.strip_suffix('/').unwrap_or(path);
    if trimmed.is_empty() {
        return Err(bad());
    }
    for name in trimmed[1..].split('/') {
        if name.is_empty() || name == "." || name == ".." || name.chars().any(|c| c.is_control()) {
            return Err(bad());
        }
    }
    Ok(trimmed.to_owned())
}

impl fmt::Debug for ZkAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ZkAddress")
            .field("servers", &self.servers)
            .field("path", &self.path)
            .field("credentials", &self.credentials)
            .finish()
    }
}

impl fmt::Display for ZkAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("zk://")?;
        if let Some(c) = &self.credentials {
            write!(f, "{}:***@", c.user)?;
        }
        write!(f, "{}{}", self.connect_string(), self.path)
    }
}

/// Where the master is, as a user writes it (see the module documentation).
///
/// ```
/// use cyrus_sasl_mesos::MasterAddress;
///
/// let direct: MasterAddress = "master@127.0.0.1:5050".parse()?;
/// assert_eq!(direct.to_string(), "master@127.0.0.1:5050");
///
/// let ha: MasterAddress = "zk://alice:secret@zk1:2181,zk2:2181/mesos".parse()?;
/// let MasterAddress::ZooKeeper(zk) = &ha else { unreachable!() };
/// assert_eq!(zk.connect_string(), "zk1:2181,zk2:2181");
/// assert_eq!(zk.path(), "/mesos");
/// // The password is never shown.
/// assert_eq!(ha.to_string(), "zk://alice:***@zk1:2181,zk2:2181/mesos");
/// # Ok::<(), cyrus_sasl_mesos::zookeeper::AddressError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MasterAddress {
    /// `HOST:PORT` or `master@HOST:PORT`: one master, not resolved yet.
    Direct(HostPort),
    /// `zk://...`: the leader among the masters contending in ZooKeeper.
    ZooKeeper(ZkAddress),
    /// `file:///PATH`: a file holding one of the other forms, not read yet.
    File(PathBuf),
}

/// A master address after [`MasterAddress::resolve`]: the master's UPID, or
/// ZooKeeper to ask.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResolvedMaster {
    /// The master's UPID, `master@IP:PORT` (IPv4).
    Direct(Upid),
    /// Ask ZooKeeper for the leader (servers are resolved by the ZooKeeper client).
    ZooKeeper(ZkAddress),
}

impl MasterAddress {
    /// Reads the file of a `file://` address and parses what it holds (surrounding
    /// white space ignored); any other address is returned as it is. A file that
    /// holds another `file://` address is an error.
    pub fn load(&self) -> Result<MasterAddress, AddressError> {
        match self {
            MasterAddress::File(path) => {
                let text = read_address_file(path)?;
                match text.parse::<MasterAddress>()? {
                    MasterAddress::File(_) => Err(AddressError::NestedFile(path.clone())),
                    other => Ok(other),
                }
            }
            other => Ok(other.clone()),
        }
    }

    /// Loads a `file://` address ([`Self::load`]) and resolves a host name to its
    /// first IPv4 address with the standard library's resolver.
    pub fn resolve(&self) -> Result<ResolvedMaster, AddressError> {
        match self.load()? {
            MasterAddress::Direct(hp) => Ok(ResolvedMaster::Direct(master_upid(hp.resolve()?))),
            MasterAddress::ZooKeeper(zk) => Ok(ResolvedMaster::ZooKeeper(zk)),
            MasterAddress::File(path) => Err(AddressError::NestedFile(path)),
        }
    }
}

/// `master@IP:PORT`.
fn master_upid(addr: SocketAddrV4) -> Upid {
    Upid::new(MASTER_PROCESS_ID, SocketAddr::V4(addr)).expect("\"master\" is a valid process id")
}

/// The largest `file://` address file read: an address is one line.
const MAX_ADDRESS_FILE: u64 = 64 * 1024;

fn read_address_file(path: &Path) -> Result<String, AddressError> {
    use std::io::Read as _;
    let failed = |reason: String| AddressError::ReadFile { path: path.to_owned(), reason };
    let file = std::fs::File::open(path).map_err(|e| failed(e.to_string()))?;
    let mut text = String::new();
    file.take(MAX_ADDRESS_FILE + 1).read_to_string(&mut text).map_err(|e| failed(e.to_string()))?;
    if text.len() as u64 > MAX_ADDRESS_FILE {
        return Err(failed(format!("longer than {MAX_ADDRESS_FILE} bytes")));
    }
    Ok(text)
}

/// A process id for an error message: `USER:***` when it holds a `:` (a
/// `USER:PASSWORD` most likely), at most 64 characters otherwise.
fn redacted_id(id: &str) -> String {
    match id.split_once(':') {
        Some((user, _)) => format!("{}:***", user.chars().take(64).collect::<String>()),
        None => id.chars().take(64).collect(),
    }
}

impl FromStr for MasterAddress {
    type Err = AddressError;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let input = input.trim();
        if input.is_empty() {
            return Err(AddressError::Empty);
        }
        if let Some((scheme, rest)) = input.split_once("://") {
            return match scheme.to_ascii_lowercase().as_str() {
                "zk" => Ok(MasterAddress::ZooKeeper(ZkAddress::parse(rest)?)),
                "file" => {
                    let path = Path::new(rest);
                    if !path.is_absolute() || rest.len() == 1 {
                        return Err(AddressError::BadFilePath(input.to_owned()));
                    }
                    Ok(MasterAddress::File(path.to_owned()))
                }
                _ => Err(AddressError::UnknownScheme(scheme.to_owned())),
            };
        }
        let host_port = match input.split_once('@') {
            Some(("master", rest)) => rest,
            Some((id, _)) => return Err(AddressError::NotMaster(redacted_id(id))),
            None => input,
        };
        Ok(MasterAddress::Direct(parse_host_port(host_port)?))
    }
}

impl FromStr for ZkAddress {
    type Err = AddressError;

    /// Parses a `zk://` address; any other form is [`AddressError::UnknownScheme`].
    fn from_str(input: &str) -> Result<Self, Self::Err> {
        match input.parse::<MasterAddress>()? {
            MasterAddress::ZooKeeper(zk) => Ok(zk),
            _ => Err(AddressError::UnknownScheme(
                input.trim().split_once("://").map(|(s, _)| s).unwrap_or("").to_owned(),
            )),
        }
    }
}

impl fmt::Display for MasterAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MasterAddress::Direct(hp) => write!(f, "master@{hp}"),
            MasterAddress::ZooKeeper(zk) => zk.fmt(f),
            MasterAddress::File(path) => write!(f, "file://{}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<MasterAddress, AddressError> {
        s.parse()
    }

    fn upid(s: &str) -> Upid {
        s.parse().unwrap()
    }

    fn hp(host: &str, port: u16) -> HostPort {
        HostPort { host: host.to_owned(), port }
    }

    #[test]
    fn ip_port() {
        assert_eq!(parse("127.0.0.1:5050"), Ok(MasterAddress::Direct(hp("127.0.0.1", 5050))));
        assert_eq!(parse("  127.0.0.1:5050\n"), Ok(MasterAddress::Direct(hp("127.0.0.1", 5050))));
    }

    #[test]
    fn host_port_is_not_resolved_by_parse() {
        // A name that cannot resolve still parses: no DNS at parse time.
        let a = parse("no-such-host.invalid:5050").unwrap();
        assert_eq!(a, MasterAddress::Direct(hp("no-such-host.invalid", 5050)));
        assert!(matches!(a.resolve(), Err(AddressError::Resolve { .. } | AddressError::NoIpv4(_))));
    }

    #[test]
    fn resolve_localhost_and_ip() {
        let a = parse("localhost:5050").unwrap();
        assert_eq!(a.resolve(), Ok(ResolvedMaster::Direct(upid("master@127.0.0.1:5050"))));
        let a = parse("master@127.0.0.2:1").unwrap();
        assert_eq!(a.resolve(), Ok(ResolvedMaster::Direct(upid("master@127.0.0.2:1"))));
    }

    #[test]
    fn upid_form() {
        assert_eq!(parse("master@10.0.0.1:5050"), Ok(MasterAddress::Direct(hp("10.0.0.1", 5050))));
        assert_eq!(parse("master@m1.example:5051"), Ok(MasterAddress::Direct(hp("m1.example", 5051))));
        assert_eq!(parse("slave(1)@10.0.0.1:5051"), Err(AddressError::NotMaster("slave(1)".into())));
        assert_eq!(parse("master@"), Err(AddressError::MissingPort("".into())));
        // A zk:// address without its scheme: the password is not quoted.
        let e = parse("alice:hunter2@zk1:2181/mesos").unwrap_err();
        assert_eq!(e, AddressError::NotMaster("alice:***".into()));
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn direct_errors() {
        assert_eq!(parse(""), Err(AddressError::Empty));
        assert_eq!(parse("   "), Err(AddressError::Empty));
        assert_eq!(parse("127.0.0.1"), Err(AddressError::MissingPort("127.0.0.1".into())));
        assert_eq!(parse("host:"), Err(AddressError::MissingPort("host:".into())));
        assert_eq!(parse(":5050"), Err(AddressError::MissingHost(":5050".into())));
        assert_eq!(parse("host:http"), Err(AddressError::BadPort { input: "host:http".into(), port: "http".into() }));
        assert_eq!(
            parse("host:65536"),
            Err(AddressError::BadPort { input: "host:65536".into(), port: "65536".into() })
        );
        assert_eq!(parse("host:0"), Err(AddressError::BadPort { input: "host:0".into(), port: "0".into() }));
        assert_eq!(parse("host:+5"), Err(AddressError::BadPort { input: "host:+5".into(), port: "+5".into() }));
        assert_eq!(parse("bad host:1"), Err(AddressError::BadHost("bad host".into())));
        assert_eq!(parse("300.1.1.1:1"), Err(AddressError::BadHost("300.1.1.1".into())));
        assert_eq!(parse("-a.b:1"), Err(AddressError::BadHost("-a.b".into())));
        assert_eq!(parse("[::1]:5050"), Err(AddressError::Ipv6Unsupported("[::1]:5050".into())));
        assert_eq!(parse("::1:5050"), Err(AddressError::Ipv6Unsupported("::1:5050".into())));
        assert_eq!(parse("http://h:1"), Err(AddressError::UnknownScheme("http".into())));
    }

    #[test]
    fn zk_without_credentials() {
        let MasterAddress::ZooKeeper(zk) = parse("zk://127.0.0.1:2181,zk2.example:2182/mesos").unwrap() else {
            panic!("not zk")
        };
        assert_eq!(zk.servers(), &[hp("127.0.0.1", 2181), hp("zk2.example", 2182)]);
        assert_eq!(zk.path(), "/mesos");
        assert_eq!(zk.credentials(), None);
        assert_eq!(zk.connect_string(), "127.0.0.1:2181,zk2.example:2182");
        assert_eq!(zk.to_string(), "zk://127.0.0.1:2181,zk2.example:2182/mesos");
        // Scheme case and a trailing slash do not matter; nested paths are fine.
        let zk2: ZkAddress = "ZK://127.0.0.1:2181/a/b/".parse().unwrap();
        assert_eq!(zk2.path(), "/a/b");
    }

    #[test]
    fn zk_with_credentials_is_redacted() {
        let a = parse("zk://alice:s3cr:et/@x@127.0.0.1:2181/mesos").unwrap();
        let MasterAddress::ZooKeeper(zk) = &a else { panic!("not zk") };
        let c = zk.credentials().unwrap();
        assert_eq!(c.user(), "alice");
        assert_eq!(c.password(), "s3cr:et/@x");
        assert_eq!(c.digest_auth().as_slice(), b"alice:s3cr:et/@x");
        assert_eq!(zk.servers(), &[hp("127.0.0.1", 2181)]);
        assert_eq!(zk.path(), "/mesos");
        for shown in [format!("{a}"), format!("{a:?}"), format!("{zk}"), format!("{zk:?}"), format!("{c:?}")] {
            assert!(!shown.contains("s3cr"), "password shown in {shown}");
        }
        assert_eq!(zk.to_string(), "zk://alice:***@127.0.0.1:2181/mesos");
        assert!(format!("{zk:?}").contains("alice"));
    }

    #[test]
    fn zk_errors() {
        assert_eq!(parse("zk:///mesos"), Err(AddressError::EmptyZkHostList));
        assert_eq!(parse("zk://"), Err(AddressError::EmptyZkHostList));
        assert_eq!(parse("zk://u:p@/mesos"), Err(AddressError::EmptyZkHostList));
        assert_eq!(parse("zk://h:1,,h:2/mesos"), Err(AddressError::EmptyZkHost));
        assert_eq!(parse("zk://h:1,/mesos"), Err(AddressError::EmptyZkHost));
        assert_eq!(parse("zk://h:1"), Err(AddressError::MissingZkPath));
        assert_eq!(parse("zk://h:1/"), Err(AddressError::BadZkPath("/".into())));
        assert_eq!(parse("zk://h:1//a"), Err(AddressError::BadZkPath("//a".into())));
        assert_eq!(parse("zk://h:1/a/../b"), Err(AddressError::BadZkPath("/a/../b".into())));
        assert_eq!(parse("zk://h/mesos"), Err(AddressError::MissingPort("h".into())));
        assert_eq!(
            parse("zk://h:99999/mesos"),
            Err(AddressError::BadPort { input: "h:99999".into(), port: "99999".into() })
        );
        assert_eq!(parse("zk://alice@h:1/mesos"), Err(AddressError::BadZkCredentials));
        assert_eq!(parse("zk://:pw@h:1/mesos"), Err(AddressError::BadZkCredentials));
        // No error message quotes the password.
        for bad in ["zk://u:hunter2@h:1", "zk://u:hunter2@h/x", "zk://u:hunter2@/x", "zk://u:hunter2@h:1/"] {
            let e = parse(bad).unwrap_err();
            assert!(!e.to_string().contains("hunter2") && !format!("{e:?}").contains("hunter2"), "{e:?}");
        }
    }

    #[test]
    fn zk_address_from_parts() {
        let zk = ZkAddress::new(vec![hp("127.0.0.1", 1)], "/x/", None).unwrap();
        assert_eq!(zk.path(), "/x");
        assert_eq!(ZkAddress::new(vec![], "/x", None), Err(AddressError::EmptyZkHostList));
        assert_eq!(zk.with_path("y"), Err(AddressError::BadZkPath("y".into())));
        assert_eq!(ZkCredentials::new("a:b", "c"), Err(AddressError::BadZkCredentials));
        assert_eq!("127.0.0.1:1".parse::<ZkAddress>(), Err(AddressError::UnknownScheme(String::new())));
    }

    #[test]
    fn file_addresses() {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().to_owned();
        let f = dir.join("master");
        std::fs::write(&f, "zk://u:pw@127.0.0.1:2181/mesos\n").unwrap();
        let a = parse(&format!("file://{}", f.display())).unwrap();
        assert_eq!(a, MasterAddress::File(f.clone()));
        let MasterAddress::ZooKeeper(zk) = a.load().unwrap() else { panic!("not zk") };
        assert_eq!(zk.path(), "/mesos");
        assert!(matches!(a.resolve(), Ok(ResolvedMaster::ZooKeeper(_))));

        std::fs::write(&f, "127.0.0.1:5050").unwrap();
        assert_eq!(a.resolve(), Ok(ResolvedMaster::Direct(upid("master@127.0.0.1:5050"))));

        std::fs::write(&f, format!("file://{}", f.display())).unwrap();
        assert_eq!(a.load(), Err(AddressError::NestedFile(f.clone())));

        std::fs::write(&f, "\n").unwrap();
        assert_eq!(a.load(), Err(AddressError::Empty));

        let missing = MasterAddress::File(dir.join("missing"));
        assert!(matches!(missing.load(), Err(AddressError::ReadFile { .. })));
        std::fs::write(&f, vec![b' '; MAX_ADDRESS_FILE as usize + 1]).unwrap();
        assert!(matches!(a.load(), Err(AddressError::ReadFile { reason, .. }) if reason.contains("longer than")));

        assert_eq!(parse("file://relative"), Err(AddressError::BadFilePath("file://relative".into())));
        assert_eq!(parse("file://"), Err(AddressError::BadFilePath("file://".into())));
        assert_eq!(parse("file:///"), Err(AddressError::BadFilePath("file:///".into())));
    }

    #[test]
    fn display_round_trips() {
        for s in ["master@127.0.0.1:5050", "zk://h:1,h2:2/a/b", "file:///etc/mesos/master"] {
            assert_eq!(parse(s).unwrap().to_string(), s);
        }
    }
}
