//! A config built in code is as strict as one read from a file: a misspelt
//! key given to `Config::with` is an error naming the nearest known key, while
//! `Config::set` still takes a plugin's own key.

use cyrus_sasl::{Config, ConfigErrorKind, Server};

#[test]
fn a_misspelt_key_in_code_is_an_error_naming_the_known_key() {
    let err = Config::new().with("min_sff", "56").unwrap_err();
    assert_eq!(err.kind, ConfigErrorKind::UnknownOption { key: "min_sff".into(), suggestion: Some("min_ssf".into()) });
    assert!(err.to_string().contains("did you mean `min_ssf`?"), "{err}");
    assert!(err.to_string().contains("Config::set"), "the message names the way for a plugin key: {err}");
    // The same as a file says, but for the line.
    let from_file = "min_sff: 56\n".parse::<Config>().unwrap_err();
    assert_eq!(from_file.kind, err.kind);

    let far = Config::new().with("colour", "blue").unwrap_err();
    assert_eq!(far.kind, ConfigErrorKind::UnknownOption { key: "colour".into(), suggestion: None });
}

#[test]
fn known_keys_in_code_still_take_effect() {
    let config = Config::new().with("min_ssf", "56").unwrap().with("mech_list", "CRAM-MD5").unwrap();
    assert_eq!(config.security().min_ssf, 56);
    assert_eq!(config.get("mech_list"), Some("CRAM-MD5"));
    // `ccache` is this crate's own key, known though libsasl2 never reads it.
    Config::new().with("ccache", "FILE:/tmp/x").unwrap();
}

#[test]
fn set_takes_a_plugin_key_that_with_refuses() {
    assert!(Config::new().with("myplugin_path", "/var/lib/x").is_err());
    let mut config = Config::new().with("mech_list", "CRAM-MD5").unwrap();
    config.set("myplugin_path", "/var/lib/x").unwrap();
    assert_eq!(config.get("myplugin_path"), Some("/var/lib/x"));
    // And a server takes such a config.
    Server::new("test", "localhost", None, &config).unwrap();
}
