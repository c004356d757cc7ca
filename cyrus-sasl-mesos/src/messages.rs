//! The seven messages of Mesos's `authentication.proto`, and [`Message`], any
//! one of them. On the libprocess wire a message is named by its full protobuf
//! name ([`MessageType::proto_name`]) and carries its protobuf bytes.
//!
//! Each struct has the field numbers, proto2 labels and types of Mesos's
//! `include/mesos/authentication/authentication.proto` (package
//! `mesos.internal`), so it encodes to the bytes Mesos's own C++ code writes:
//!
//! ```text
//! message AuthenticateMessage             { required string pid = 1; }
//! message AuthenticationMechanismsMessage { repeated string mechanisms = 1; }
//! message AuthenticationStartMessage      { required string mechanism = 1; optional bytes data = 2; }
//! message AuthenticationStepMessage       { required bytes data = 1; }
//! message AuthenticationCompletedMessage  {}
//! message AuthenticationFailedMessage     {}
//! message AuthenticationErrorMessage      { optional string error = 1; }
//! ```
//!
//! prost does not enforce proto2's `required`: it decodes a message that lacks
//! a required field as if the field were empty. [`Message::decode`] checks for
//! them, so a peer that omits one gets [`DecodeError::MissingField`].
//!
//! Start and step data can carry credentials for some mechanisms (PLAIN sends the
//! password in its initial response), so their `Debug` shows only the length.

use std::fmt;

use prost::Message as _;

/// Asks the master to authenticate the sender: the first message of an exchange,
/// from the authenticatee.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct AuthenticateMessage {
    /// The libprocess PID of the framework or agent that wants to be
    /// authenticated (`required string pid = 1`). The master keys its sessions
    /// by it: a new `AuthenticateMessage` with the same PID supersedes a pending one.
    #[prost(string, required, tag = "1")]
    pub pid: String,
}

/// The SASL mechanisms the master offers, sent in answer to an [`AuthenticateMessage`].
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct AuthenticationMechanismsMessage {
    /// Mechanism names (`repeated string mechanisms = 1`), e.g. `["CRAM-MD5"]`.
    #[prost(string, repeated, tag = "1")]
    pub mechanisms: Vec<String>,
}

/// The authenticatee's choice of mechanism and its initial response.
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[prost(skip_debug)]
pub struct AuthenticationStartMessage {
    /// The mechanism chosen from the offered list (`required string mechanism = 1`).
    #[prost(string, required, tag = "1")]
    pub mechanism: String,
    /// The initial response (`optional bytes data = 2`). Mesos's authenticatee
    /// always sets it, to an empty string when the mechanism has no initial
    /// response (CRAM-MD5), so [`Authenticatee`](super::Authenticatee) sends
    /// `Some(vec![])` there too.
    #[prost(bytes = "vec", optional, tag = "2")]
    pub data: Option<Vec<u8>>,
}

/// One SASL step, in either direction: a challenge from the master or a response
/// from the authenticatee.
#[derive(Clone, PartialEq, Eq, prost::Message)]
#[prost(skip_debug)]
pub struct AuthenticationStepMessage {
    /// The mechanism's bytes (`required bytes data = 1`).
    #[prost(bytes = "vec", required, tag = "1")]
    pub data: Vec<u8>,
}

/// The master accepted the authenticatee's credentials.
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct AuthenticationCompletedMessage {}

/// The master rejected the credentials: a wrong secret or an unknown principal
/// (deliberately the same message for both).
#[derive(Clone, Copy, PartialEq, Eq, prost::Message)]
pub struct AuthenticationFailedMessage {}

/// The exchange broke down (a protocol violation, a SASL failure) before a verdict.
/// Unlike [`AuthenticationFailedMessage`], this is worth retrying.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct AuthenticationErrorMessage {
    /// What went wrong (`optional string error = 1`).
    #[prost(string, optional, tag = "1")]
    pub error: Option<String>,
}

impl fmt::Debug for AuthenticationStartMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticationStartMessage")
            .field("mechanism", &self.mechanism)
            .field("data", &self.data.as_ref().map(|d| Redacted(d.len())))
            .finish()
    }
}

impl fmt::Debug for AuthenticationStepMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuthenticationStepMessage").field("data", &Redacted(self.data.len())).finish()
    }
}

/// Shows a byte count instead of the bytes.
struct Redacted(usize);

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "<{} bytes>", self.0)
    }
}

/// The type of a [`Message`], with a stable one-byte tag (an index for
/// [`Message::decode`]; the wire names a message by its
/// [`proto_name`](Self::proto_name)). The tags never change; tag 0 is never used.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum MessageType {
    /// [`AuthenticateMessage`], tag 1.
    Authenticate = 1,
    /// [`AuthenticationMechanismsMessage`], tag 2.
    Mechanisms = 2,
    /// [`AuthenticationStartMessage`], tag 3.
    Start = 3,
    /// [`AuthenticationStepMessage`], tag 4.
    Step = 4,
    /// [`AuthenticationCompletedMessage`], tag 5.
    Completed = 5,
    /// [`AuthenticationFailedMessage`], tag 6.
    Failed = 6,
    /// [`AuthenticationErrorMessage`], tag 7.
    Error = 7,
}

impl MessageType {
    /// Every type, in tag order.
    pub const ALL: [MessageType; 7] = [
        MessageType::Authenticate,
        MessageType::Mechanisms,
        MessageType::Start,
        MessageType::Step,
        MessageType::Completed,
        MessageType::Failed,
        MessageType::Error,
    ];

    /// The one-byte tag.
    pub fn tag(self) -> u8 {
        self as u8
    }

    /// The type with this tag, if any.
    pub fn from_tag(tag: u8) -> Option<Self> {
        Self::ALL.get(usize::from(tag).checked_sub(1)?).copied()
    }

    /// The fully qualified protobuf name, e.g. `mesos.internal.AuthenticateMessage`
    /// (libprocess uses it as the message name on the wire).
    pub fn proto_name(self) -> &'static str {
        match self {
            MessageType::Authenticate => "mesos.internal.AuthenticateMessage",
            MessageType::Mechanisms => "mesos.internal.AuthenticationMechanismsMessage",
            MessageType::Start => "mesos.internal.AuthenticationStartMessage",
            MessageType::Step => "mesos.internal.AuthenticationStepMessage",
            MessageType::Completed => "mesos.internal.AuthenticationCompletedMessage",
            MessageType::Failed => "mesos.internal.AuthenticationFailedMessage",
            MessageType::Error => "mesos.internal.AuthenticationErrorMessage",
        }
    }

    /// The type whose [`proto_name`](Self::proto_name) is `name`, if any (the
    /// message name a libprocess request carries).
    pub fn from_proto_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.proto_name() == name)
    }

    /// The name Mesos's own log and error messages use, e.g. `'step'` in
    /// "Unexpected authentication 'step' received".
    pub fn short_name(self) -> &'static str {
        match self {
            MessageType::Authenticate => "authenticate",
            MessageType::Mechanisms => "mechanisms",
            MessageType::Start => "start",
            MessageType::Step => "step",
            MessageType::Completed => "completed",
            MessageType::Failed => "failed",
            MessageType::Error => "error",
        }
    }
}

impl fmt::Display for MessageType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.short_name())
    }
}

/// Any of the seven authentication messages.
///
/// A driver sends each one under its [`MessageType::proto_name`] with its
/// [`encode`](Message::encode)d bytes, and rebuilds it with [`Message::decode`]
/// from the type the name gives ([`MessageType::from_proto_name`]):
///
/// ```
/// use cyrus_sasl_mesos::{AuthenticationStepMessage, Message};
/// let message = Message::Step(AuthenticationStepMessage { data: b"challenge".to_vec() });
/// let (tag, bytes) = (message.tag(), message.encode());
/// assert_eq!(Message::decode(tag, &bytes)?, message);
/// # Ok::<(), cyrus_sasl_mesos::DecodeError>(())
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Message {
    /// Authenticatee to master: start an exchange.
    Authenticate(AuthenticateMessage),
    /// Master to authenticatee: the mechanisms offered.
    Mechanisms(AuthenticationMechanismsMessage),
    /// Authenticatee to master: the chosen mechanism and initial response.
    Start(AuthenticationStartMessage),
    /// Either way: one SASL step.
    Step(AuthenticationStepMessage),
    /// Master to authenticatee: accepted.
    Completed(AuthenticationCompletedMessage),
    /// Master to authenticatee: rejected.
    Failed(AuthenticationFailedMessage),
    /// Either way in Mesos's protocol (in practice master to authenticatee): the
    /// exchange broke down.
    Error(AuthenticationErrorMessage),
}

impl Message {
    /// Its type.
    pub fn message_type(&self) -> MessageType {
        match self {
            Message::Authenticate(_) => MessageType::Authenticate,
            Message::Mechanisms(_) => MessageType::Mechanisms,
            Message::Start(_) => MessageType::Start,
            Message::Step(_) => MessageType::Step,
            Message::Completed(_) => MessageType::Completed,
            Message::Failed(_) => MessageType::Failed,
            Message::Error(_) => MessageType::Error,
        }
    }

    /// Its one-byte type tag (see [`MessageType`]).
    pub fn tag(&self) -> u8 {
        self.message_type().tag()
    }

    /// The protobuf encoding of the message itself (without the tag), byte for
    /// byte what Mesos's C++ code produces for the same field values.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Message::Authenticate(m) => m.encode_to_vec(),
            Message::Mechanisms(m) => m.encode_to_vec(),
            Message::Start(m) => m.encode_to_vec(),
            Message::Step(m) => m.encode_to_vec(),
            Message::Completed(m) => m.encode_to_vec(),
            Message::Failed(m) => m.encode_to_vec(),
            Message::Error(m) => m.encode_to_vec(),
        }
    }

    /// The length of [`Message::encode`]'s output, without encoding.
    pub fn encoded_len(&self) -> usize {
        match self {
            Message::Authenticate(m) => m.encoded_len(),
            Message::Mechanisms(m) => m.encoded_len(),
            Message::Start(m) => m.encoded_len(),
            Message::Step(m) => m.encoded_len(),
            Message::Completed(m) => m.encoded_len(),
            Message::Failed(m) => m.encoded_len(),
            Message::Error(m) => m.encoded_len(),
        }
    }

    /// Rebuilds a message from its tag and protobuf bytes.
    ///
    /// Fails with [`DecodeError::UnknownTag`] for a tag no type has,
    /// [`DecodeError::Protobuf`] for bytes that are not a valid encoding (including
    /// a `string` field that is not UTF-8), and [`DecodeError::MissingField`] when a
    /// proto2 `required` field is absent. Unknown fields are skipped, as protobuf
    /// requires.
    pub fn decode(tag: u8, bytes: &[u8]) -> Result<Message, DecodeError> {
        let message_type = MessageType::from_tag(tag).ok_or(DecodeError::UnknownTag(tag))?;
        let bad = |source| DecodeError::Protobuf { message: message_type, source };
        let missing = |field| DecodeError::MissingField { message: message_type, field };
        Ok(match message_type {
            MessageType::Authenticate => {
                let wire = wire::Authenticate::decode(bytes).map_err(bad)?;
                Message::Authenticate(AuthenticateMessage { pid: wire.pid.ok_or_else(|| missing("pid"))? })
            }
            MessageType::Mechanisms => {
                Message::Mechanisms(AuthenticationMechanismsMessage::decode(bytes).map_err(bad)?)
            }
            MessageType::Start => {
                let wire = wire::Start::decode(bytes).map_err(bad)?;
                Message::Start(AuthenticationStartMessage {
                    mechanism: wire.mechanism.ok_or_else(|| missing("mechanism"))?,
                    data: wire.data,
                })
            }
            MessageType::Step => {
                let wire = wire::Step::decode(bytes).map_err(bad)?;
                Message::Step(AuthenticationStepMessage { data: wire.data.ok_or_else(|| missing("data"))? })
            }
            MessageType::Completed => Message::Completed(AuthenticationCompletedMessage::decode(bytes).map_err(bad)?),
            MessageType::Failed => Message::Failed(AuthenticationFailedMessage::decode(bytes).map_err(bad)?),
            MessageType::Error => Message::Error(AuthenticationErrorMessage::decode(bytes).map_err(bad)?),
        })
    }
}

/// Each message's protobuf name, for libprocess (`prost::Name::full_name`).
macro_rules! proto_names {
    ($($ty:ident,)*) => {$(
        impl prost::Name for $ty {
            const NAME: &'static str = stringify!($ty);
            const PACKAGE: &'static str = "mesos.internal";
        }
    )*};
}

proto_names! {
    AuthenticateMessage,
    AuthenticationMechanismsMessage,
    AuthenticationStartMessage,
    AuthenticationStepMessage,
    AuthenticationCompletedMessage,
    AuthenticationFailedMessage,
    AuthenticationErrorMessage,
}

macro_rules! from_message {
    ($($variant:ident($ty:ty),)*) => {$(
        impl From<$ty> for Message {
            fn from(m: $ty) -> Message {
                Message::$variant(m)
            }
        }
    )*};
}

from_message! {
    Authenticate(AuthenticateMessage),
    Mechanisms(AuthenticationMechanismsMessage),
    Start(AuthenticationStartMessage),
    Step(AuthenticationStepMessage),
    Completed(AuthenticationCompletedMessage),
    Failed(AuthenticationFailedMessage),
    Error(AuthenticationErrorMessage),
}

/// Why bytes could not be turned into a [`Message`].
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// No message type has this tag.
    #[error("unknown authentication message type tag {0}")]
    UnknownTag(u8),
    /// The bytes are not a valid protobuf encoding of the message.
    #[error("malformed {}: not its protobuf encoding", message.proto_name())]
    Protobuf {
        /// The type the tag named.
        message: MessageType,
        /// What prost found wrong.
        #[source]
        source: prost::DecodeError,
    },
    /// A proto2 `required` field is absent.
    #[error("{} lacks its required field '{field}'", message.proto_name())]
    MissingField {
        /// The type the tag named.
        message: MessageType,
        /// The field's name in `authentication.proto`.
        field: &'static str,
    },
}

/// Decoding twins of the messages with required fields: the same field numbers and
/// types, but every field optional, so presence can be checked after decoding.
mod wire {
    #[derive(Clone, PartialEq, prost::Message)]
    pub(super) struct Authenticate {
        #[prost(string, optional, tag = "1")]
        pub pid: Option<String>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    #[prost(skip_debug)]
    pub(super) struct Start {
        #[prost(string, optional, tag = "1")]
        pub mechanism: Option<String>,
        #[prost(bytes = "vec", optional, tag = "2")]
        pub data: Option<Vec<u8>>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    #[prost(skip_debug)]
    pub(super) struct Step {
        #[prost(bytes = "vec", optional, tag = "1")]
        pub data: Option<Vec<u8>>,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all_examples() -> Vec<(Message, Vec<u8>)> {
        // Bytes worked out by hand from the protobuf wire format: a field key is
        // (field number << 3) | wire type, with wire type 2 (length-delimited) for
        // string and bytes, so field 1 is 0x0a and field 2 is 0x12, each followed by
        // a varint length. Empty messages encode to nothing.
        let pid = "scheduler-1@127.0.0.1:5050";
        let mut authenticate = vec![0x0a, pid.len() as u8];
        authenticate.extend_from_slice(pid.as_bytes());
        vec![
            (Message::Authenticate(AuthenticateMessage { pid: pid.into() }), authenticate),
            (
                Message::Mechanisms(AuthenticationMechanismsMessage {
                    mechanisms: vec!["CRAM-MD5".into(), "PLAIN".into()],
                }),
                b"\x0a\x08CRAM-MD5\x0a\x05PLAIN".to_vec(),
            ),
            (
                Message::Start(AuthenticationStartMessage { mechanism: "CRAM-MD5".into(), data: Some(vec![]) }),
                b"\x0a\x08CRAM-MD5\x12\x00".to_vec(),
            ),
            (
                Message::Start(AuthenticationStartMessage { mechanism: "PLAIN".into(), data: None }),
                b"\x0a\x05PLAIN".to_vec(),
            ),
            (Message::Step(AuthenticationStepMessage { data: b"<1.2@h>".to_vec() }), b"\x0a\x07<1.2@h>".to_vec()),
            // A required field is written even when empty.
            (Message::Step(AuthenticationStepMessage { data: vec![] }), b"\x0a\x00".to_vec()),
            (Message::Completed(AuthenticationCompletedMessage {}), vec![]),
            (Message::Failed(AuthenticationFailedMessage {}), vec![]),
            (Message::Error(AuthenticationErrorMessage { error: Some("boom".into()) }), b"\x0a\x04boom".to_vec()),
            (Message::Error(AuthenticationErrorMessage { error: None }), vec![]),
        ]
    }

    #[test]
    fn each_message_encodes_to_the_exact_mesos_bytes_and_back() {
        for (message, bytes) in all_examples() {
            assert_eq!(message.encode(), bytes, "{message:?}");
            assert_eq!(message.encoded_len(), bytes.len(), "{message:?}");
            assert_eq!(Message::decode(message.tag(), &bytes).unwrap(), message, "{message:?}");
        }
    }

    #[test]
    fn a_long_field_gets_a_multi_byte_varint_length() {
        let message = Message::Step(AuthenticationStepMessage { data: vec![7; 300] });
        let bytes = message.encode();
        // 300 = 0b10_0101100 -> varint 0xac 0x02.
        assert_eq!(&bytes[..3], &[0x0a, 0xac, 0x02]);
        assert_eq!(bytes.len(), 303);
    }

    #[test]
    fn tags_are_stable_and_round_trip() {
        let tags: Vec<u8> = MessageType::ALL.iter().map(|t| t.tag()).collect();
        assert_eq!(tags, [1, 2, 3, 4, 5, 6, 7]);
        for t in MessageType::ALL {
            assert_eq!(MessageType::from_tag(t.tag()), Some(t));
        }
        assert_eq!(MessageType::from_tag(0), None);
        assert_eq!(MessageType::from_tag(8), None);
        assert_eq!(MessageType::from_tag(255), None);
    }

    #[test]
    fn an_unknown_tag_is_a_typed_error() {
        assert_eq!(Message::decode(0, b""), Err(DecodeError::UnknownTag(0)));
        assert_eq!(Message::decode(200, b"\x0a\x00"), Err(DecodeError::UnknownTag(200)));
    }

    #[test]
    fn a_missing_required_field_is_a_typed_error_naming_it() {
        let cases = [
            (MessageType::Authenticate, &b""[..], "pid"),
            (MessageType::Start, b"\x12\x03abc", "mechanism"),
            (MessageType::Step, b"", "data"),
        ];
        for (message, bytes, field) in cases {
            let err = Message::decode(message.tag(), bytes).unwrap_err();
            assert_eq!(err, DecodeError::MissingField { message, field });
            assert!(err.to_string().contains(field), "{err}");
        }
    }

    #[test]
    fn bad_protobuf_is_a_typed_error() {
        let cases: [(MessageType, &[u8]); 5] = [
            // A length running past the end.
            (MessageType::Authenticate, b"\x0a\x10short"),
            // A string that is not UTF-8.
            (MessageType::Mechanisms, b"\x0a\x02\xff\xfe"),
            // A varint that never ends.
            (MessageType::Step, b"\x0a\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff"),
            // Field 1 with the wrong wire type (varint instead of length-delimited).
            (MessageType::Error, b"\x08\x01"),
            // Field number 0 is invalid.
            (MessageType::Completed, b"\x00\x00"),
        ];
        for (message, bytes) in cases {
            match Message::decode(message.tag(), bytes) {
                Err(DecodeError::Protobuf { message: m, .. }) => assert_eq!(m, message),
                other => panic!("{message:?} {bytes:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_fields_are_skipped() {
        // Field 9 (varint) before the pid.
        let decoded = Message::decode(MessageType::Authenticate.tag(), b"\x48\x01\x0a\x01p").unwrap();
        assert_eq!(decoded, Message::Authenticate(AuthenticateMessage { pid: "p".into() }));
        let decoded = Message::decode(MessageType::Completed.tag(), b"\x0a\x03abc").unwrap();
        assert_eq!(decoded, Message::Completed(AuthenticationCompletedMessage {}));
    }

    #[test]
    fn debug_shows_the_length_of_sasl_data_but_never_the_bytes() {
        let start = Message::Start(AuthenticationStartMessage {
            mechanism: "PLAIN".into(),
            data: Some(b"\0alice\0hunter2".to_vec()),
        });
        let step = Message::Step(AuthenticationStepMessage { data: b"hunter2".to_vec() });
        for message in [start, step] {
            let debug = format!("{message:?}");
            assert!(!debug.contains("hunter2") && !debug.contains("104, 117"), "{debug}");
            assert!(debug.contains("bytes>"), "{debug}");
        }
    }

    #[test]
    fn proto_names_match_mesos() {
        assert_eq!(MessageType::Authenticate.proto_name(), "mesos.internal.AuthenticateMessage");
        assert_eq!(MessageType::Error.proto_name(), "mesos.internal.AuthenticationErrorMessage");
        assert_eq!(MessageType::Step.to_string(), "step");
        use prost::Name;
        assert_eq!(AuthenticationStepMessage::full_name(), MessageType::Step.proto_name());
        assert_eq!(AuthenticateMessage::full_name(), MessageType::Authenticate.proto_name());
        for t in MessageType::ALL {
            assert_eq!(MessageType::from_proto_name(t.proto_name()), Some(t));
        }
        assert_eq!(MessageType::from_proto_name("mesos.scheduler.Call"), None);
    }
}
