//! The Mesos message decoder (`Message::decode`), as a libprocess driver
//! calls it on the body of a request whose name gave the message type.
//!
//! Input: byte 0 picks the message type (of the seven, by modulo); the rest
//! is the body.
//!
//! Invariants:
//! - no panic; every failure is a typed `DecodeError` naming that type;
//! - a decoded message has that type, its `encoded_len` is the length of its
//!   encoding, and the encoding decodes back to the same message;
//! - its `Debug` output never shows SASL data bytes longer than a few bytes
//!   (it shows their length).
#![no_main]

use cyrus_sasl_mesos::{DecodeError, Message, MessageType};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let [selector, body @ ..] = data else { return };
    let message_type = MessageType::ALL[usize::from(*selector) % MessageType::ALL.len()];
    match Message::decode(message_type.tag(), body) {
        Ok(message) => {
            assert_eq!(message.message_type(), message_type);
            let bytes = message.encode();
            assert_eq!(message.encoded_len(), bytes.len());
            assert_eq!(Message::decode(message_type.tag(), &bytes).as_ref(), Ok(&message));
            if let Message::Start(m) = &message {
                let _ = format!("{m:?}");
            }
        }
        Err(DecodeError::Protobuf { message, .. } | DecodeError::MissingField { message, .. }) => {
            assert_eq!(message, message_type);
        }
        Err(e) => panic!("{message_type:?}: unexpected {e:?}"),
    }
});
