//! The option names a config file may use, so that a misspelt key is an error
//! naming the nearest known one instead of an option libsasl2 never asks for.
//!
//! libsasl2 passes unknown keys through silently: a master config with
//! `credentails: creds.json` would start, fall back to libsasl2's default
//! `/etc/sasldb2` and refuse everyone, with the cause visible only in a trace
//! log. So [`Config::from_file`](crate::Config::from_file) accepts only the keys
//! listed here, plus those a file declares with `extra_options` and those a
//! layer above declares for itself (the Mesos master's `credentials`).

/// Every option libsasl2 2.1.28 and its bundled plugins ask for through
/// `SASL_CB_GETOPT`, found by reading each `getopt` call in the 2.1.28 sources
/// (`lib/`, `plugins/`, `sasldb/`) and checked against Cyrus's `options.rst`.
/// Options a plugin reads under its own plugin name (`scram_iteration_counter`
/// is asked for as SCRAM-SHA-256's) are listed by their option name.
pub const CYRUS_OPTIONS: &[&str] = &[
    // The library: server.c, client.c, auxprop.c, canonusr.c, checkpw.c.
    "auto_transition",
    "authdaemond_path",
    "auxprop_plugin",
    "canon_user_plugin",
    "client_mech_list",
    "log_level",
    "mech_list",
    "plugin_list",
    "pwcheck_method",
    "saslauthd_path",
    // sasldb (Berkeley DB, gdbm, LMDB back ends).
    "sasldb_path",
    "sasldb_mapsize",
    "sasldb_maxreaders",
    // GSSAPI: `keytab` is read process-wide by the plugin; this crate also
    // applies it per connection.
    "keytab",
    "ad_compat",
    // DIGEST-MD5, NTLM, OTP, SRP, SCRAM.
    "reauth_timeout",
    "ntlm_server",
    "ntlm_v2",
    "opiekeys",
    "otp_mda",
    "srp_mda",
    "scram_iteration_counter",
    "scram_secret_generate",
    // The ldapdb auxprop plugin.
    "ldapdb_uri",
    "ldapdb_id",
    "ldapdb_pw",
    "ldapdb_mech",
    "ldapdb_rc",
    "ldapdb_starttls",
    "ldapdb_canon_attr",
    // The sql auxprop plugin.
    "sql_engine",
    "sql_hostnames",
    "sql_user",
    "sql_passwd",
    "sql_database",
    "sql_select",
    "sql_insert",
    "sql_update",
    "sql_statement",
    "sql_usessl",
];

/// This crate's own keys, which configure the wrapper rather than libsasl2.
pub const CRATE_OPTIONS: &[&str] = &[
    "min_ssf",
    "max_ssf",
    "maxbufsize",
    // `SASL_SEC_*` flag names (`SecurityProperties::parse_flags`).
    "security_flags",
    // A client's Kerberos credential cache, per connection.
    "ccache",
    // Declares keys this list does not know (see `Config::from_file`).
    EXTRA_OPTIONS_KEY,
];

/// The key with which a config file declares option names of its own, for a
/// plugin this list does not know: `extra_options: my_plugin_path my_plugin_mode`.
pub const EXTRA_OPTIONS_KEY: &str = "extra_options";

/// Whether `key` is a known option, or one of `extra`.
pub(crate) fn is_known(key: &str, extra: &[&str]) -> bool {
    CYRUS_OPTIONS.contains(&key) || CRATE_OPTIONS.contains(&key) || extra.contains(&key)
}

/// The known option nearest to `key`, when one is close enough to be the
/// likely intent (at most two edits, and fewer than a third of its length).
pub(crate) fn nearest<'a>(key: &str, extra: &[&'a str]) -> Option<&'a str>
where
    'static: 'a,
{
    let key = key.to_ascii_lowercase();
    CYRUS_OPTIONS
        .iter()
        .chain(CRATE_OPTIONS)
        .copied()
        .chain(extra.iter().copied())
        .map(|known| (strsim::damerau_levenshtein(&key, known), known))
        .filter(|&(distance, known)| distance <= 2 && distance * 3 < known.len().max(key.len()))
        .min_by_key(|&(distance, _)| distance)
        .map(|(_, known)| known)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_misspelt_key_suggests_the_known_one() {
        assert_eq!(nearest("mech_lsit", &[]), Some("mech_list"));
        assert_eq!(nearest("credentails", &["credentials"]), Some("credentials"));
        assert_eq!(nearest("SASLDB_PATH", &[]), Some("sasldb_path"));
        assert_eq!(nearest("auxprop_plugins", &[]), Some("auxprop_plugin"));
    }

    #[test]
    fn an_unrelated_key_suggests_nothing() {
        assert_eq!(nearest("colour", &[]), None);
        assert_eq!(nearest("ab", &[]), None);
    }

    #[test]
    fn known_keys_include_extras_and_the_crates_own() {
        assert!(is_known("mech_list", &[]));
        assert!(is_known("max_ssf", &[]));
        assert!(!is_known("credentials", &[]));
        assert!(is_known("credentials", &["credentials"]));
    }
}
