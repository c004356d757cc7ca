//! `MasterInfo`, what a contending master writes into its znode, in the three
//! forms a Mesos detector reads:
//!
//! | znode label | data |
//! |---|---|
//! | `json.info` | `MasterInfo` as JSON (what masters since Mesos 0.24 write) |
//! | `info` | `MasterInfo` as a binary protobuf (older masters) |
//! | none | the master's UPID as text, `master@IP:PORT` (oldest masters) |
//!
//! `ip` is the uint32 whose little-endian bytes are the address in network order:
//! `127.0.0.1` is `0x0100007F` = 16777343 (see [`ip_to_u32`], [`ip_from_u32`]).
//!
//! A detector needs `id`, `ip`, `port` (required fields of the protobuf) and `pid`
//! (the 1.11 scheduler driver talks to that UPID), so all four are required here.
//!
//! Znode data is whatever anyone with write access put there: parsing never
//! panics, reads at most [`MAX_MASTER_INFO_SIZE`] bytes, and an error quotes at
//! most a short, escaped excerpt of it.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use libprocess::{Upid, UpidError};
use serde::Serialize;
use serde_json::{Map, Value};

use crate::MASTER_PROCESS_ID;

/// The largest znode data parsed as a `MasterInfo`. A real master's is a few
/// hundred bytes; ZooKeeper lets a node hold up to 1 MiB.
pub const MAX_MASTER_INFO_SIZE: usize = 64 * 1024;

/// The Mesos version a master of this crate advertises ([`MasterInfo::for_master`]):
/// the release whose protocol it speaks.
pub const ADVERTISED_MESOS_VERSION: &str = "1.11.0";

/// At most this many characters of znode text are quoted in an error.
const EXCERPT_CHARS: usize = 80;

/// The first 80 characters of a text from a znode (its name or its data),
/// for an error message.
pub(super) fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(EXCERPT_CHARS).collect();
    if out.len() < text.len() {
        out.push('…');
    }
    out
}

/// The port a `MasterInfo` protobuf means when it has none (the `.proto` default).
pub const DEFAULT_MASTER_PORT: u16 = 5050;

/// `MasterInfo.ip` of an IPv4 address: the uint32 whose little-endian bytes are the
/// address's octets in network order (`127.0.0.1` ⇒ 16777343).
pub fn ip_to_u32(ip: Ipv4Addr) -> u32 {
    u32::from_le_bytes(ip.octets())
}

/// The IPv4 address of a `MasterInfo.ip` value (16777343 ⇒ `127.0.0.1`).
pub fn ip_from_u32(ip: u32) -> Ipv4Addr {
    Ipv4Addr::from(ip.to_le_bytes())
}

/// `MasterInfo.address`: how to reach the master by name and by address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Address {
    /// The master's host name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// The master's IP address, as text (Mesos writes it dotted).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    /// The master's port.
    pub port: u16,
}

/// What a leading master advertises in ZooKeeper (the fields of Mesos's
/// `MasterInfo` that a framework or an agent uses).
///
/// Serialised by [`MasterInfo::to_json`] with its keys in alphabetical order, as
/// a real master writes them.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct MasterInfo {
    /// `address`: name, address text and port.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub address: Option<Address>,
    /// `hostname`: the master's host name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    /// `id`: the master's unique id (a new one at every start of a real master).
    pub id: String,
    /// `ip`: the master's IPv4 address (a uint32 on the wire, see [`ip_to_u32`]).
    #[serde(serialize_with = "serialize_ip")]
    pub ip: Ipv4Addr,
    /// `pid`: the master's UPID, `master@IP:PORT`.
    #[serde(serialize_with = "serialize_pid")]
    pub pid: Upid,
    /// `port`: the master's port.
    pub port: u16,
    /// `version`: the master's Mesos version, e.g. `1.11.0`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
}

fn serialize_ip<S: serde::Serializer>(ip: &Ipv4Addr, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_u32(ip_to_u32(*ip))
}

fn serialize_pid<S: serde::Serializer>(pid: &Upid, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(pid)
}

/// Why znode data is not a usable `MasterInfo`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum MasterInfoError {
    /// More than [`MAX_MASTER_INFO_SIZE`] bytes.
    #[error("{0} bytes of data, over the limit of {MAX_MASTER_INFO_SIZE}")]
    TooLarge(usize),
    /// `json.info` or legacy data that is not UTF-8.
    #[error("the data is not UTF-8")]
    NotUtf8,
    /// `json.info` data that is not JSON.
    #[error("bad JSON: {0}")]
    BadJson(String),
    /// `json.info` data that is JSON but not an object.
    #[error("the JSON is not an object")]
    NotAnObject,
    /// A required field is absent (`id`, `ip`, `port` or `pid`; `address.port`).
    #[error("missing field {0:?}")]
    MissingField(&'static str),
    /// A field of the wrong JSON type.
    #[error("field {field:?} is not {expected}")]
    WrongType {
        /// The field.
        field: &'static str,
        /// What it should be.
        expected: &'static str,
    },
    /// A port outside 1..=65535 (or an `ip` outside the uint32 range).
    #[error("field {field:?} is out of range: {value}")]
    OutOfRange {
        /// The field.
        field: &'static str,
        /// Its value.
        value: i128,
    },
    /// `info` data that is not a `MasterInfo` protobuf.
    #[error("bad protobuf: {0}")]
    BadProtobuf(String),
    /// A `pid` (or legacy data) that is not a UPID, `ID@IP:PORT`.
    #[error("bad pid {pid:?}: {error}")]
    BadPid {
        /// The text (its first 80 characters).
        pid: String,
        /// What is wrong with it.
        error: UpidError,
    },
    /// A master's own address that is not IPv4: `MasterInfo.ip` is 32 bits.
    #[error("the master's address {0} is not IPv4")]
    NotIpv4(IpAddr),
}

fn parse_pid(text: &str) -> Result<Upid, MasterInfoError> {
    text.parse().map_err(|error| MasterInfoError::BadPid { pid: excerpt(text), error })
}

fn check_size(data: &[u8]) -> Result<(), MasterInfoError> {
    if data.len() > MAX_MASTER_INFO_SIZE { Err(MasterInfoError::TooLarge(data.len())) } else { Ok(()) }
}

/// The protobuf `mesos.MasterInfo`, the fields read here (every one optional on
/// the wire, so that a missing required field is a typed error).
#[derive(Clone, PartialEq, prost::Message)]
struct MasterInfoProto {
    #[prost(string, optional, tag = "1")]
    id: Option<String>,
    #[prost(uint32, optional, tag = "2")]
    ip: Option<u32>,
    #[prost(uint32, optional, tag = "3")]
    port: Option<u32>,
    #[prost(string, optional, tag = "4")]
    pid: Option<String>,
    #[prost(string, optional, tag = "5")]
    hostname: Option<String>,
    #[prost(message, optional, tag = "7")]
    address: Option<AddressProto>,
    #[prost(string, optional, tag = "10")]
    version: Option<String>,
}

/// The protobuf `mesos.Address`.
#[derive(Clone, PartialEq, prost::Message)]
struct AddressProto {
    #[prost(string, optional, tag = "1")]
    hostname: Option<String>,
    #[prost(string, optional, tag = "2")]
    ip: Option<String>,
    #[prost(int32, optional, tag = "3")]
    port: Option<i32>,
}

fn port_from(field: &'static str, value: i128) -> Result<u16, MasterInfoError> {
    match u16::try_from(value) {
        Ok(p) if p != 0 => Ok(p),
        _ => Err(MasterInfoError::OutOfRange { field, value }),
    }
}

impl MasterInfo {
    /// A `MasterInfo` for the master `master@IP:PORT` with the given id, no host
    /// name, version nor address.
    pub fn new(id: impl Into<String>, ip: Ipv4Addr, port: u16) -> MasterInfo {
        MasterInfo {
            address: None,
            hostname: None,
            id: id.into(),
            ip,
            pid: Upid::new(MASTER_PROCESS_ID, SocketAddr::from((ip, port))).expect("\"master\" is a valid process id"),
            port,
            version: None,
        }
    }

    /// The complete `MasterInfo` a master of this crate advertises when it
    /// contends, as a real master fills it: `pid` (whose IPv4 address and port
    /// also give `ip`, `port` and `address`), `hostname` (in `address` too) when
    /// given, and `version` [`ADVERTISED_MESOS_VERSION`]. Mesos makes a new `id`
    /// at each start of a master (a UUID); so should the caller.
    pub fn for_master(id: impl Into<String>, pid: Upid, hostname: Option<&str>) -> Result<MasterInfo, MasterInfoError> {
        let IpAddr::V4(ip) = pid.ip() else {
            return Err(MasterInfoError::NotIpv4(pid.ip()));
        };
        let port = pid.port();
        Ok(MasterInfo {
            address: Some(Address { hostname: hostname.map(str::to_owned), ip: Some(ip.to_string()), port }),
            hostname: hostname.map(str::to_owned),
            id: id.into(),
            ip,
            pid,
            port,
            version: Some(ADVERTISED_MESOS_VERSION.to_owned()),
        })
    }

    /// This `MasterInfo` as the JSON a real master writes into `json.info_N`:
    /// keys in alphabetical order, `ip` as its uint32, absent options left out.
    pub fn to_json(&self) -> String {
        // Strings, integers and a map of them: serde_json cannot fail here.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Parses the data of a `json.info_N` znode.
    pub fn from_json(data: &[u8]) -> Result<MasterInfo, MasterInfoError> {
        check_size(data)?;
        let text = std::str::from_utf8(data).map_err(|_| MasterInfoError::NotUtf8)?;
        let value: Value = serde_json::from_str(text).map_err(|e| MasterInfoError::BadJson(e.to_string()))?;
        let Value::Object(obj) = value else {
            return Err(MasterInfoError::NotAnObject);
        };
        let id = json_string(&obj, "id")?.ok_or(MasterInfoError::MissingField("id"))?;
        let ip = json_integer(&obj, "ip")?.ok_or(MasterInfoError::MissingField("ip"))?;
        let ip = u32::try_from(ip).map_err(|_| MasterInfoError::OutOfRange { field: "ip", value: ip })?;
        let port = json_integer(&obj, "port")?.ok_or(MasterInfoError::MissingField("port"))?;
        let port = port_from("port", port)?;
        let pid = parse_pid(&json_string(&obj, "pid")?.ok_or(MasterInfoError::MissingField("pid"))?)?;
        let address = match obj.get("address") {
            None | Some(Value::Null) => None,
            Some(Value::Object(a)) => Some(Address {
                hostname: json_string_in(a, "address.hostname", "hostname")?,
                ip: json_string_in(a, "address.ip", "ip")?,
                port: port_from(
                    "address.port",
                    json_integer_in(a, "address.port", "port")?.ok_or(MasterInfoError::MissingField("address.port"))?,
                )?,
            }),
            Some(_) => {
                return Err(MasterInfoError::WrongType { field: "address", expected: "an object" });
            }
        };
        Ok(MasterInfo {
            address,
            hostname: json_string(&obj, "hostname")?,
            id,
            ip: ip_from_u32(ip),
            pid,
            port,
            version: json_string(&obj, "version")?,
        })
    }

    /// This `MasterInfo` as the binary protobuf of an `info_N` znode.
    pub fn to_protobuf(&self) -> Vec<u8> {
        use prost::Message;
        MasterInfoProto {
            id: Some(self.id.clone()),
            ip: Some(ip_to_u32(self.ip)),
            port: Some(self.port.into()),
            pid: Some(self.pid.to_string()),
            hostname: self.hostname.clone(),
            address: self.address.as_ref().map(|a| AddressProto {
                hostname: a.hostname.clone(),
                ip: a.ip.clone(),
                port: Some(a.port.into()),
            }),
            version: self.version.clone(),
        }
        .encode_to_vec()
    }

    /// Parses the data of an `info_N` znode (a binary `MasterInfo` protobuf).
    pub fn from_protobuf(data: &[u8]) -> Result<MasterInfo, MasterInfoError> {
        use prost::Message;
        check_size(data)?;
        let p = MasterInfoProto::decode(data).map_err(|e| MasterInfoError::BadProtobuf(e.to_string()))?;
        let id = p.id.ok_or(MasterInfoError::MissingField("id"))?;
        let ip = p.ip.ok_or(MasterInfoError::MissingField("ip"))?;
        let port = port_from("port", p.port.ok_or(MasterInfoError::MissingField("port"))?.into())?;
        let pid = parse_pid(&p.pid.ok_or(MasterInfoError::MissingField("pid"))?)?;
        let address = match p.address {
            None => None,
            Some(a) => Some(Address {
                hostname: a.hostname,
                ip: a.ip,
                port: port_from("address.port", a.port.ok_or(MasterInfoError::MissingField("address.port"))?.into())?,
            }),
        };
        Ok(MasterInfo { address, hostname: p.hostname, id, ip: ip_from_u32(ip), pid, port, version: p.version })
    }

    /// Parses the data of an unlabelled (legacy) znode: the UPID `master@IP:PORT`
    /// as text, surrounding white space ignored. Mesos gives such a master a made-up
    /// id; here the id is the UPID text itself. The UPID must be IPv4, as
    /// `MasterInfo.ip` is.
    pub fn from_legacy(data: &[u8]) -> Result<MasterInfo, MasterInfoError> {
        check_size(data)?;
        let text = std::str::from_utf8(data).map_err(|_| MasterInfoError::NotUtf8)?.trim();
        let pid = parse_pid(text)?;
        let IpAddr::V4(ip) = pid.ip() else {
            return Err(MasterInfoError::NotIpv4(pid.ip()));
        };
        Ok(MasterInfo { address: None, hostname: None, id: pid.to_string(), ip, port: pid.port(), pid, version: None })
    }
}

fn json_string(obj: &Map<String, Value>, field: &'static str) -> Result<Option<String>, MasterInfoError> {
    json_string_in(obj, field, field)
}

fn json_string_in(obj: &Map<String, Value>, field: &'static str, key: &str) -> Result<Option<String>, MasterInfoError> {
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(MasterInfoError::WrongType { field, expected: "a string" }),
    }
}

fn json_integer(obj: &Map<String, Value>, field: &'static str) -> Result<Option<i128>, MasterInfoError> {
    json_integer_in(obj, field, field)
}

fn json_integer_in(obj: &Map<String, Value>, field: &'static str, key: &str) -> Result<Option<i128>, MasterInfoError> {
    let wrong = MasterInfoError::WrongType { field, expected: "an integer" };
    match obj.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => {
            if let Some(u) = n.as_u64() {
                Ok(Some(u.into()))
            } else if let Some(i) = n.as_i64() {
                Ok(Some(i.into()))
            } else {
                Err(wrong)
            }
        }
        Some(_) => Err(wrong),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const REAL: &str = r#"{"address":{"hostname":"h","ip":"127.0.0.1","port":5050},"hostname":"h","id":"5e2f-id","ip":16777343,"pid":"master@127.0.0.1:5050","port":5050,"version":"1.11.0"}"#;

    fn full() -> MasterInfo {
        MasterInfo {
            address: Some(Address { hostname: Some("h".into()), ip: Some("127.0.0.1".into()), port: 5050 }),
            hostname: Some("h".into()),
            id: "5e2f-id".into(),
            ip: Ipv4Addr::LOCALHOST,
            pid: "master@127.0.0.1:5050".parse().unwrap(),
            port: 5050,
            version: Some("1.11.0".into()),
        }
    }

    #[test]
    fn ip_encoding_both_ways() {
        assert_eq!(ip_to_u32(Ipv4Addr::LOCALHOST), 16777343);
        assert_eq!(ip_to_u32(Ipv4Addr::LOCALHOST), 0x0100_007F);
        assert_eq!(ip_from_u32(16777343), Ipv4Addr::LOCALHOST);
        assert_eq!(ip_to_u32(Ipv4Addr::new(10, 1, 2, 3)), 0x0302_010A);
        assert_eq!(ip_from_u32(0x0302_010A), Ipv4Addr::new(10, 1, 2, 3));
        for ip in [Ipv4Addr::new(0, 0, 0, 0), Ipv4Addr::new(255, 254, 1, 0), Ipv4Addr::new(192, 168, 7, 9)] {
            assert_eq!(ip_from_u32(ip_to_u32(ip)), ip);
        }
    }

    #[test]
    fn json_as_a_real_master_writes_it() {
        assert_eq!(MasterInfo::from_json(REAL.as_bytes()), Ok(full()));
        assert_eq!(full().to_json(), REAL);
        let minimal = MasterInfo::new("x", Ipv4Addr::new(127, 0, 0, 2), 6060);
        assert_eq!(minimal.to_json(), r#"{"id":"x","ip":33554559,"pid":"master@127.0.0.2:6060","port":6060}"#);
        assert_eq!(MasterInfo::from_json(minimal.to_json().as_bytes()), Ok(minimal));
        // Fields Mesos adds (domain, capabilities) are ignored.
        let extra = r#"{"id":"i","ip":16777343,"port":1,"pid":"master@127.0.0.1:1","capabilities":[{"type":"AGENT_UPDATE"}],"domain":{}}"#;
        assert!(MasterInfo::from_json(extra.as_bytes()).is_ok());
    }

    #[test]
    fn json_errors() {
        let e = |s: &str| MasterInfo::from_json(s.as_bytes()).unwrap_err();
        assert!(matches!(e("{not json"), MasterInfoError::BadJson(_)));
        assert!(matches!(e(""), MasterInfoError::BadJson(_)));
        assert_eq!(MasterInfo::from_json(&[0xff, 0xfe]), Err(MasterInfoError::NotUtf8));
        assert_eq!(e("[1]"), MasterInfoError::NotAnObject);
        assert_eq!(e(r#"{"ip":16777343,"port":1,"pid":"master@127.0.0.1:1"}"#), MasterInfoError::MissingField("id"));
        assert_eq!(e(r#"{"id":"i","port":1,"pid":"master@127.0.0.1:1"}"#), MasterInfoError::MissingField("ip"));
        assert_eq!(e(r#"{"id":"i","ip":16777343,"pid":"master@127.0.0.1:1"}"#), MasterInfoError::MissingField("port"));
        assert_eq!(e(r#"{"id":"i","ip":16777343,"port":1}"#), MasterInfoError::MissingField("pid"));
        assert_eq!(
            e(r#"{"id":1,"ip":16777343,"port":1,"pid":"master@127.0.0.1:1"}"#),
            MasterInfoError::WrongType { field: "id", expected: "a string" }
        );
        assert_eq!(
            e(r#"{"id":"i","ip":"127.0.0.1","port":1,"pid":"master@127.0.0.1:1"}"#),
            MasterInfoError::WrongType { field: "ip", expected: "an integer" }
        );
        assert_eq!(
            e(r#"{"id":"i","ip":4294967296,"port":1,"pid":"master@127.0.0.1:1"}"#),
            MasterInfoError::OutOfRange { field: "ip", value: 4294967296 }
        );
        assert_eq!(
            e(r#"{"id":"i","ip":1,"port":70000,"pid":"master@127.0.0.1:1"}"#),
            MasterInfoError::OutOfRange { field: "port", value: 70000 }
        );
        assert_eq!(
            e(r#"{"id":"i","ip":1,"port":1.5,"pid":"master@127.0.0.1:1"}"#),
            MasterInfoError::WrongType { field: "port", expected: "an integer" }
        );
        assert_eq!(
            e(r#"{"id":"i","ip":1,"port":1,"pid":"master@127.0.0.1:1","address":{"ip":"x"}}"#),
            MasterInfoError::MissingField("address.port")
        );
        assert_eq!(
            e(r#"{"id":"i","ip":1,"port":1,"pid":"master@127.0.0.1:1","address":7}"#),
            MasterInfoError::WrongType { field: "address", expected: "an object" }
        );
        assert_eq!(
            e(r#"{"id":"i","ip":1,"port":1,"pid":"127.0.0.1:1"}"#),
            MasterInfoError::BadPid { pid: "127.0.0.1:1".into(), error: UpidError::MissingAt }
        );
        // Hostile data: quoted briefly, never in full.
        let long = format!(r#"{{"id":"i","ip":1,"port":1,"pid":"{}"}}"#, "\\u0007".repeat(10_000));
        let MasterInfoError::BadPid { pid, .. } = e(&long) else { panic!("not BadPid") };
        assert_eq!(pid.chars().count(), EXCERPT_CHARS + 1);
        let huge = vec![b' '; MAX_MASTER_INFO_SIZE + 1];
        assert_eq!(MasterInfo::from_json(&huge), Err(MasterInfoError::TooLarge(MAX_MASTER_INFO_SIZE + 1)));
        assert_eq!(MasterInfo::from_protobuf(&huge), Err(MasterInfoError::TooLarge(MAX_MASTER_INFO_SIZE + 1)));
        assert_eq!(MasterInfo::from_legacy(&huge), Err(MasterInfoError::TooLarge(MAX_MASTER_INFO_SIZE + 1)));
        // Deeply nested JSON is an error, not a stack overflow.
        let deep = "[".repeat(100_000);
        assert!(matches!(e(&deep), MasterInfoError::TooLarge(_) | MasterInfoError::BadJson(_)));
        let deep = "[".repeat(60_000);
        assert!(matches!(e(&deep), MasterInfoError::BadJson(_)));
    }

    #[test]
    fn pid_must_be_a_upid() {
        let error = |s: &str| match MasterInfo::from_legacy(s.as_bytes()) {
            Err(MasterInfoError::BadPid { error, .. }) => error,
            other => panic!("{s}: {other:?}"),
        };
        assert_eq!(error("master127.0.0.1:5050"), UpidError::MissingAt);
        assert_eq!(error("@127.0.0.1:5050"), UpidError::EmptyId);
        assert!(matches!(error("master@127.0.0.1"), UpidError::BadAddress(_)));
        assert!(matches!(error("master@host:5050"), UpidError::BadAddress(_)));
        assert!(matches!(error("master@127.0.0.1:65536"), UpidError::BadAddress(_)));
        assert_eq!(
            MasterInfo::from_legacy(b"master@[::1]:5050"),
            Err(MasterInfoError::NotIpv4("::1".parse().unwrap()))
        );
        assert_eq!(full().pid.to_string(), "master@127.0.0.1:5050");
    }

    #[test]
    fn for_master_is_complete() {
        let pid: Upid = "master@127.0.0.1:5050".parse().unwrap();
        let info = MasterInfo::for_master("5e2f-id", pid.clone(), Some("h")).unwrap();
        assert_eq!(info.to_json(), REAL);
        let bare = MasterInfo::for_master("x", pid, None).unwrap();
        assert_eq!(bare.address.as_ref().map(|a| a.ip.as_deref()), Some(Some("127.0.0.1")));
        assert_eq!(bare.hostname, None);
        let v6: Upid = "master@[::1]:5050".parse().unwrap();
        assert!(matches!(MasterInfo::for_master("x", v6, None), Err(MasterInfoError::NotIpv4(_))));
    }

    #[test]
    fn protobuf_round_trip_and_errors() {
        let bytes = full().to_protobuf();
        assert_eq!(MasterInfo::from_protobuf(&bytes), Ok(full()));
        // id = 1 "i", ip = 2 16777343, port = 3 5050, pid = 4 "master@127.0.0.1:5050", by hand.
        let mut hand = vec![0x0a, 1, b'i', 0x10, 0xff, 0x80, 0x80, 0x08, 0x18, 0xba, 0x27, 0x22, 21];
        hand.extend_from_slice(b"master@127.0.0.1:5050");
        let info = MasterInfo::from_protobuf(&hand).unwrap();
        assert_eq!((info.ip, info.port, info.id.as_str()), (Ipv4Addr::LOCALHOST, 5050, "i"));
        assert!(matches!(MasterInfo::from_protobuf(&[0x0a, 5, b'x']), Err(MasterInfoError::BadProtobuf(_))));
        assert_eq!(MasterInfo::from_protobuf(&[]), Err(MasterInfoError::MissingField("id")));
        assert_eq!(MasterInfo::from_protobuf(&hand[..8]), Err(MasterInfoError::MissingField("port")));
        assert_eq!(MasterInfo::from_protobuf(&hand[..11]), Err(MasterInfoError::MissingField("pid")));
    }

    #[test]
    fn legacy_text() {
        let info = MasterInfo::from_legacy(b"master@127.0.0.1:5050\n").unwrap();
        assert_eq!(info.pid.to_string(), "master@127.0.0.1:5050");
        assert_eq!((info.ip, info.port), (Ipv4Addr::LOCALHOST, 5050));
        assert!(matches!(MasterInfo::from_legacy(b"not a pid"), Err(MasterInfoError::BadPid { .. })));
        assert_eq!(MasterInfo::from_legacy(&[0xc3]), Err(MasterInfoError::NotUtf8));
    }
}
