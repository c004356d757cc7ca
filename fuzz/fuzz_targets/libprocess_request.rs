//! The libprocess request decoder (`libprocess::RequestDecoder`, request
//! heads by httparse) on an arbitrary byte stream, as the endpoint's connection
//! loop drives it.
//!
//! Input: byte 0 picks the limits, byte 1 how the connection hands out the
//! stream (all at once, or in pieces of 1 to 7 bytes); the rest is the stream.
//! Requests are taken until the first error, as the endpoint does.
//!
//! Invariants:
//! - no panic; every failure is a typed `RequestError` with a 4xx/5xx status;
//! - every request respects the limits (its body is at most `max_body_bytes`),
//!   has a non-empty process id and name, and its sender re-parses as itself;
//! - the decoder buffers at most a head's worth, one chunk-size line, one
//!   trailer line and one piece (it never holds a whole body);
//! - however the stream is cut, the same requests come out, and a refusal found
//!   in pieces is found in one piece too;
//! - re-encoding a request as libprocess writes it decodes back to the same
//!   request.
#![no_main]

use libprocess::{Limits, Request, RequestDecoder, RequestError, Upid, encode_request};
use libfuzzer_sys::fuzz_target;

const LIMITS: [Limits; 4] = [
    Limits { max_head_bytes: 16 * 1024, max_headers: 32, max_body_bytes: 4 * 1024 * 1024 },
    Limits { max_head_bytes: 64, max_headers: 2, max_body_bytes: 4 },
    Limits { max_head_bytes: 300, max_headers: 8, max_body_bytes: 100 },
    Limits { max_head_bytes: 1024, max_headers: 64, max_body_bytes: 0 },
];

/// Stops after this many requests: enough for any input libFuzzer makes.
const MAX_REQUESTS: usize = 64;

fn run(limits: Limits, stream: &[u8], piece: usize) -> (Vec<Request>, Option<RequestError>) {
    let mut decoder = RequestDecoder::new(limits);
    let mut out = Vec::new();
    for part in stream.chunks(piece.max(1)) {
        decoder.push(part);
        loop {
            match decoder.next_request() {
                Ok(Some(request)) => {
                    out.push(request);
                    if out.len() >= MAX_REQUESTS {
                        return (out, None);
                    }
                }
                Ok(None) => break,
                Err(e) => return (out, Some(e)),
            }
        }
    }
    (out, None)
}

fuzz_target!(|data: &[u8]| {
    let [limits_byte, piece_byte, stream @ ..] = data else { return };
    let limits = LIMITS[usize::from(*limits_byte) % LIMITS.len()];
    let piece = match piece_byte % 8 {
        0 => stream.len(),
        n => usize::from(n),
    };
    let (requests, error) = run(limits, stream, piece);
    if let Some(e) = &error {
        assert!((400..600).contains(&e.status()), "{e:?}");
    }
    for request in &requests {
        assert!(request.body.len() <= limits.max_body_bytes);
        assert!(!request.to.is_empty() && !request.name.is_empty());
        assert_eq!(request.from.to_string().parse::<Upid>().as_ref(), Ok(&request.from));
        // As libprocess would write it, it decodes back to itself.
        let to = Upid::new(request.to.clone(), request.from.addr()).expect("a delivered id is valid");
        let bytes = encode_request(&request.from, &to, &request.name, &request.body);
        let big = Limits { max_head_bytes: usize::MAX, max_headers: 64, max_body_bytes: usize::MAX };
        let (again, err) = run(big, &bytes, bytes.len());
        assert!(err.is_none(), "{err:?}");
        assert_eq!(again.len(), 1);
        assert_eq!((&again[0].to, &again[0].name, &again[0].from, &again[0].body), (&request.to, &request.name, &request.from, &request.body));
    }
    // The same requests whichever way the stream was cut (when no cap stopped
    // them). A refusal found in pieces is found in the whole too; the converse
    // need not hold, as a head is parsed again only once a line has ended.
    if requests.len() < MAX_REQUESTS {
        let whole = run(limits, stream, stream.len());
        assert_eq!(whole.0, requests);
        if error.is_some() {
            assert!(whole.1.is_some(), "{error:?} in pieces, nothing in one piece");
        }
    }
});
