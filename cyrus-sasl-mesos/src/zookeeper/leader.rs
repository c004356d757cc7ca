//! Which child of the contention path leads, and how its data parses: sans-IO.
//!
//! Masters join a ZooKeeper "group": each creates an ephemeral sequential child of
//! the path, named `LABEL_` followed by the 10-digit sequence number ZooKeeper
//! appends (`json.info_0000000012`), or just the number when it has no label (the
//! oldest masters: `0000000012`). Libmesos reads a child name as follows, and so
//! does [`Member::parse`]:
//!
//! - the name is split at every `_`, empty pieces dropped;
//! - the last piece must be a 32-bit signed integer, the sequence number (leading
//!   zeros allowed): a child whose last piece is not one (`log_replicas`, the
//!   replicated log's node) is not a member and is skipped;
//! - when there is more than one piece, the first is the label; with a single
//!   piece (`0000000012`, also `_0000000012`) there is none.
//!
//! The leader is the member with the lowest sequence number, whatever its label.
//! Its label then decides how its data parses: `json.info` (JSON), `info` (binary
//! protobuf) or none (the UPID as text). Any other label, or data that does not
//! parse, leaves no usable leader: libmesos fails its detector there (and the
//! process exits); here it is a [`LeaderError`] and detection goes on.

use std::fmt;

use super::master_info::{MasterInfo, MasterInfoError, excerpt};

/// The label of the znodes a Mesos master (0.24 and later) creates: JSON data.
pub const JSON_LABEL: &str = "json.info";
/// The label of the znodes older masters create: binary protobuf data.
pub const PROTOBUF_LABEL: &str = "info";

/// A member of the group: a child of the contention path whose name ends in a
/// sequence number.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Member {
    /// The child's name, as ZooKeeper listed it.
    pub name: String,
    /// Its label, if any.
    pub label: Option<String>,
    /// Its sequence number.
    pub sequence: i32,
}

/// How a leader's data is to be read, from its label.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum LabelKind {
    /// `json.info`: `MasterInfo` as JSON.
    Json,
    /// `info`: `MasterInfo` as a binary protobuf.
    Protobuf,
    /// No label: the UPID as text.
    Legacy,
    /// Any other label: no way to read the data.
    Unknown(String),
}

impl Member {
    /// Reads a child's name as libmesos does (see the module documentation);
    /// `None` for a child that is not a member.
    pub fn parse(name: &str) -> Option<Member> {
        let pieces: Vec<&str> = name.split('_').filter(|p| !p.is_empty()).collect();
        let last = pieces.last()?;
        let sequence = parse_sequence(last)?;
        let label = if pieces.len() > 1 { Some(pieces[0].to_owned()) } else { None };
        Some(Member { name: name.to_owned(), label, sequence })
    }

    /// How this member's data is to be read.
    pub fn kind(&self) -> LabelKind {
        match self.label.as_deref() {
            None => LabelKind::Legacy,
            Some(JSON_LABEL) => LabelKind::Json,
            Some(PROTOBUF_LABEL) => LabelKind::Protobuf,
            Some(other) => LabelKind::Unknown(other.to_owned()),
        }
    }

    /// Parses this member's data by its label.
    pub fn parse_data(&self, data: &[u8]) -> Result<MasterInfo, LeaderError> {
        let malformed = |error| LeaderError::Malformed { node: excerpt(&self.name), error };
        match self.kind() {
            LabelKind::Json => MasterInfo::from_json(data).map_err(malformed),
            LabelKind::Protobuf => MasterInfo::from_protobuf(data).map_err(malformed),
            LabelKind::Legacy => MasterInfo::from_legacy(data).map_err(malformed),
            LabelKind::Unknown(label) => {
                Err(LeaderError::UnknownLabel { node: excerpt(&self.name), label: excerpt(&label) })
            }
        }
    }
}

/// A decimal 32-bit signed integer with an optional sign, leading zeros allowed
/// (ZooKeeper writes `%010d`, so a counter past 2^31 - 1 shows as negative).
fn parse_sequence(piece: &str) -> Option<i32> {
    let digits = piece.strip_prefix(['-', '+']).unwrap_or(piece);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    piece.parse().ok()
}

/// The name ZooKeeper gives a member: `LABEL_` and the sequence number written
/// with 10 digits (`json.info_0000000012`), or the number alone without a label.
pub fn member_name(label: Option<&str>, sequence: i32) -> String {
    match label {
        Some(l) => format!("{l}_{sequence:010}"),
        None => format!("{sequence:010}"),
    }
}

/// The members among the children of the contention path, in the order listed.
pub fn members<S: AsRef<str>>(children: &[S]) -> Vec<Member> {
    children.iter().filter_map(|c| Member::parse(c.as_ref())).collect()
}

/// The leader among the children of the contention path: the member with the
/// lowest sequence number, whatever its label. `None` when no child is a member.
/// Two members with one number (ZooKeeper never makes them; by hand only): the
/// one listed first.
pub fn choose_leader<S: AsRef<str>>(children: &[S]) -> Option<Member> {
    let mut leader: Option<Member> = None;
    for m in members(children) {
        if leader.as_ref().is_none_or(|l| m.sequence < l.sequence) {
            leader = Some(m);
        }
    }
    leader
}

/// Why the leading member gives no usable `MasterInfo`.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum LeaderError {
    /// The leader's label is none of `json.info`, `info` and no label.
    #[error("the leading znode {node:?} has the unknown label {label:?}")]
    UnknownLabel {
        /// The znode's name (its first 80 characters).
        node: String,
        /// Its label (its first 80 characters).
        label: String,
    },
    /// The leader's data does not parse by its label.
    #[error("the leading znode {node:?} holds no valid MasterInfo: {error}")]
    Malformed {
        /// The znode's name (its first 80 characters).
        node: String,
        /// What is wrong with its data.
        error: MasterInfoError,
    },
}

/// What the children of the contention path and the leader's data say.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Election {
    /// No child is a member.
    NoLeader,
    /// The leader and what it advertises.
    Leader {
        /// The leading member.
        member: Member,
        /// Its `MasterInfo`.
        info: MasterInfo,
    },
    /// A leader whose data is of no use.
    Unusable(LeaderError),
}

impl Election {
    /// The election given the leader (from [`choose_leader`]) and its data.
    pub fn decide(leader: Option<(Member, &[u8])>) -> Election {
        match leader {
            None => Election::NoLeader,
            Some((member, data)) => match member.parse_data(data) {
                Ok(info) => Election::Leader { member, info },
                Err(e) => Election::Unusable(e),
            },
        }
    }
}

impl fmt::Display for Member {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?} (sequence {})", self.name, self.sequence)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    fn leader(children: &[&str]) -> Option<String> {
        choose_leader(children).map(|m| m.name)
    }

    #[test]
    fn names() {
        assert_eq!(
            Member::parse("json.info_0000000012"),
            Some(Member { name: "json.info_0000000012".into(), label: Some("json.info".into()), sequence: 12 })
        );
        assert_eq!(Member::parse("info_0000000003").unwrap().kind(), LabelKind::Protobuf);
        assert_eq!(Member::parse("json.info_0000000003").unwrap().kind(), LabelKind::Json);
        let legacy = Member::parse("0000000007").unwrap();
        assert_eq!((legacy.label.clone(), legacy.sequence, legacy.kind()), (None, 7, LabelKind::Legacy));
        // Empty pieces are dropped: a leading '_' leaves no label either.
        assert_eq!(Member::parse("_0000000007").unwrap().label, None);
        assert_eq!(Member::parse("json.info__0000000007").unwrap().label.as_deref(), Some("json.info"));
        // The label is the first piece.
        assert_eq!(Member::parse("a_b_0000000001").unwrap().label.as_deref(), Some("a"));
        assert_eq!(Member::parse("foo_0000000001").unwrap().kind(), LabelKind::Unknown("foo".into()));
        // Not members.
        for name in ["log_replicas", "json.info_", "_", "", "json.info_12a", "json.info_99999999999", "x_--1"] {
            assert_eq!(Member::parse(name), None, "{name}");
        }
        // 32-bit signed, as ZooKeeper's counter wraps.
        assert_eq!(Member::parse("json.info_-2147483648").unwrap().sequence, i32::MIN);
        assert_eq!(Member::parse("json.info_2147483647").unwrap().sequence, i32::MAX);
        assert_eq!(Member::parse("json.info_2147483648"), None);
    }

    #[test]
    fn zero_padding() {
        assert_eq!(member_name(Some(JSON_LABEL), 12), "json.info_0000000012");
        assert_eq!(member_name(Some(PROTOBUF_LABEL), 0), "info_0000000000");
        assert_eq!(member_name(None, 2147483647), "2147483647");
        assert_eq!(member_name(None, 5), "0000000005");
        for seq in [0, 1, 9, 10, 123456789, i32::MAX] {
            let m = Member::parse(&member_name(Some(JSON_LABEL), seq)).unwrap();
            assert_eq!(m.sequence, seq);
        }
    }

    #[test]
    fn lowest_sequence_leads_whatever_the_label() {
        assert_eq!(leader(&[]), None);
        assert_eq!(leader(&["log_replicas"]), None);
        assert_eq!(leader(&["json.info_0000000002", "json.info_0000000001"]).as_deref(), Some("json.info_0000000001"));
        // Numeric, not lexical, order: 10 > 9 even written without padding.
        assert_eq!(leader(&["json.info_10", "json.info_9"]).as_deref(), Some("json.info_9"));
        assert_eq!(
            leader(&["json.info_0000000010", "info_0000000009", "log_replicas"]).as_deref(),
            Some("info_0000000009")
        );
        assert_eq!(leader(&["json.info_0000000004", "0000000003", "info_0000000005"]).as_deref(), Some("0000000003"));
        // An unknown label still leads when it is lowest.
        assert_eq!(leader(&["json.info_0000000002", "foo_0000000001"]).as_deref(), Some("foo_0000000001"));
        // A wrapped (negative) counter is lower than any positive one.
        assert_eq!(
            leader(&["json.info_2147483647", "json.info_-2147483648"]).as_deref(),
            Some("json.info_-2147483648")
        );
        // A tie (hand-made only): the first listed.
        assert_eq!(leader(&["info_0000000001", "json.info_1"]).as_deref(), Some("info_0000000001"));
    }

    #[test]
    fn election_parses_by_label() {
        let info = MasterInfo::new("id1", Ipv4Addr::LOCALHOST, 5050);
        let json = info.to_json();
        let pb = info.to_protobuf();
        let m = |n: &str| Member::parse(n).unwrap();

        assert_eq!(Election::decide(None), Election::NoLeader);
        assert_eq!(
            Election::decide(Some((m("json.info_0000000001"), json.as_bytes()))),
            Election::Leader { member: m("json.info_0000000001"), info: info.clone() }
        );
        assert!(matches!(
            Election::decide(Some((m("info_0000000001"), &pb))),
            Election::Leader { info: i, .. } if i == info
        ));
        assert!(matches!(
            Election::decide(Some((m("0000000001"), b"master@127.0.0.1:5050"))),
            Election::Leader { info: i, .. } if i.pid.to_string() == "master@127.0.0.1:5050"
        ));
        assert_eq!(
            Election::decide(Some((m("foo_0000000001"), json.as_bytes()))),
            Election::Unusable(LeaderError::UnknownLabel { node: "foo_0000000001".into(), label: "foo".into() })
        );
        assert!(matches!(
            Election::decide(Some((m("json.info_0000000001"), b"{bad"))),
            Election::Unusable(LeaderError::Malformed { error: MasterInfoError::BadJson(_), .. })
        ));
        // JSON data under the protobuf label is malformed, not silently accepted.
        assert!(matches!(
            Election::decide(Some((m("info_0000000001"), json.as_bytes()))),
            Election::Unusable(LeaderError::Malformed { .. })
        ));
    }
}
