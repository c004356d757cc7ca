//! What a person reads: `Debug` of steps and security properties, error
//! messages without empty parts, a hint for the empty initial response, and
//! the mechanism list on a shared reference like the mechanisms.

use cyrus_sasl::{Client, Config, Credentials, Error, SecurityProperties, Server, ServerStep};

fn cram_server() -> Server {
    let config = Config::new().with("mech_list", "CRAM-MD5").unwrap();
    Server::new("test", "localhost", Some("EXAMPLE.TEST"), &config).unwrap()
}

#[test]
fn server_step_debug_shows_length_and_hex_not_decimal_bytes() {
    let mut server = cram_server();
    let step = server.start("CRAM-MD5", None).unwrap();
    let ServerStep::Continue(challenge) = &step else { panic!("{step:?}") };
    let debug = format!("{step:?}");
    // A CRAM-MD5 challenge is `<...>`: `<` is 0x3c.
    assert!(debug.starts_with(&format!("Continue(<{} bytes: 3c", challenge.len())), "{debug}");
    assert!(!debug.contains("60, "), "no decimal byte list: {debug}");
    assert_eq!(format!("{:?}", step.into_owned()), debug, "the owned step reads the same");
}

#[test]
fn security_properties_debug_names_the_flags() {
    let debug = format!("{:?}", SecurityProperties::default());
    assert!(debug.contains(r#"flags: "noplaintext noanonymous""#), "{debug}");
    let odd = SecurityProperties { flags: SecurityProperties::MUTUAL_AUTH | 0x4000, ..Default::default() };
    assert!(format!("{odd:?}").contains(r#"flags: "mutual_auth 0x4000""#), "{odd:?}");
}

#[test]
fn mechanism_list_and_mechanisms_take_the_same_shared_receiver() {
    let server = cram_server();
    let (shared_a, shared_b) = (&server, &server);
    assert_eq!(shared_a.mechanism_list().unwrap(), shared_b.mechanisms().unwrap().join(" "));
}

#[test]
fn messages_have_no_empty_parts() {
    // Nothing offered (PLAIN, refused by the default noplaintext): the list
    // says so rather than `allow: ;`.
    let config = Config::new().with("mech_list", "PLAIN").unwrap();
    let err = Server::check("test", "localhost", None, &config).map(|_| ()).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("allow: none)"), "{text}");
    // A client that can use nothing: libsasl2's detail has an empty last part.
    let mut client = Client::new("test", "localhost", Credentials::new("alice", "pw"), &Config::new()).unwrap();
    let text = client.start("NO-SUCH-MECH").map(|_| ()).unwrap_err().to_string();
    for empty in [": ]", ": ;", ": )", "  "] {
        assert!(!text.contains(empty), "{empty:?} in {text}");
    }
}

#[test]
fn an_empty_initial_response_where_none_is_allowed_gets_a_hint() {
    let mut server = cram_server();
    let err = server.start("CRAM-MD5", Some(&[])).map(|_| ()).unwrap_err();
    let Error::Sasl { ref detail, .. } = err else { panic!("{err}") };
    assert!(detail.contains("Remote sent first"), "libsasl2's own words stay: {detail}");
    assert!(detail.contains("pass None"), "{detail}");
    assert!(detail.contains("Some(&[])"), "{detail}");
}
