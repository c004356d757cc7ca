//! Security properties: the SSF range a connection accepts, and mechanism
//! flags. Plain data; what inspects a live connection is in `too_weak` (the
//! error that says a required strength was not met) and `security_layer`.

use sasl_sys as sys;

/// What a connection demands of a mechanism and its security layer
/// (`sasl_security_properties_t`, set with `SASL_SEC_PROPS`).
///
/// SSF is the "security strength factor": 0 means no security layer, 1 integrity
/// only, more is confidentiality with a key of about that many bits.
///
/// The default is `min_ssf` 0 and `max_ssf` 0: authentication only, no security
/// layer is negotiated, so nothing must wrap the stream afterwards. Raise
/// `max_ssf` (e.g. to 256) to let GSSAPI or DIGEST-MD5 protect the channel.
///
/// The default flags are [`NOANONYMOUS`](Self::NOANONYMOUS) `|`
/// [`NOPLAINTEXT`](Self::NOPLAINTEXT), on servers and clients alike: a server
/// refuses ANONYMOUS even when `mech_list` is unset or misspelt, and neither
/// side uses PLAIN or LOGIN, so a default never sends a password in the clear.
/// libsasl2 lifts `NOPLAINTEXT` by itself on a connection whose external
/// security layer (`SASL_SSF_EXTERNAL`, e.g. TLS) has an SSF above 1 and at
/// least `min_ssf` (`lib/server.c` `mech_permitted`, `lib/client.c`
/// `sasl_client_start`, 2.1.28). A config opens up explicitly with the
/// `security_flags` option (see [`SecurityProperties::parse_flags`]).
///
/// `Debug` names the flags: `flags: "noplaintext noanonymous"`, and any bit
/// without a name in hex.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SecurityProperties {
    /// The weakest acceptable SSF. A mechanism that cannot reach it is not offered.
    pub min_ssf: u32,
    /// The strongest SSF to negotiate.
    pub max_ssf: u32,
    /// The largest buffer this side can decode.
    pub maxbufsize: u32,
    /// `SASL_SEC_*` flags, e.g. [`SecurityProperties::NOPLAINTEXT`].
    pub flags: u32,
}

impl SecurityProperties {
    /// Refuse mechanisms that send the password in the clear (PLAIN, LOGIN).
    pub const NOPLAINTEXT: u32 = sys::SASL_SEC_NOPLAINTEXT as u32;
    /// Refuse mechanisms open to active (non-dictionary) attacks.
    pub const NOACTIVE: u32 = sys::SASL_SEC_NOACTIVE as u32;
    /// Refuse mechanisms open to passive dictionary attacks.
    pub const NODICTIONARY: u32 = sys::SASL_SEC_NODICTIONARY as u32;
    /// Require forward secrecy.
    pub const FORWARD_SECRECY: u32 = sys::SASL_SEC_FORWARD_SECRECY as u32;
    /// Refuse mechanisms that allow anonymous login.
    pub const NOANONYMOUS: u32 = sys::SASL_SEC_NOANONYMOUS as u32;
    /// Require mechanisms that pass client credentials.
    pub const PASS_CREDENTIALS: u32 = sys::SASL_SEC_PASS_CREDENTIALS as u32;
    /// Require mutual authentication.
    pub const MUTUAL_AUTH: u32 = sys::SASL_SEC_MUTUAL_AUTH as u32;

    /// The flags as Cyrus names them (its `secflag_map` in `lib/server.c`),
    /// lower case: the words of the `security_flags` option.
    pub const FLAG_NAMES: [(&'static str, u32); 7] = [
        ("noplaintext", Self::NOPLAINTEXT),
        ("noactive", Self::NOACTIVE),
        ("nodictionary", Self::NODICTIONARY),
        ("forward_secrecy", Self::FORWARD_SECRECY),
        ("noanonymous", Self::NOANONYMOUS),
        ("pass_credentials", Self::PASS_CREDENTIALS),
        ("mutual_auth", Self::MUTUAL_AUTH),
    ];

    /// The default flags: refuse anonymous logins and plaintext mechanisms.
    pub const DEFAULT_FLAGS: u32 = Self::NOANONYMOUS | Self::NOPLAINTEXT;

    /// Parses the value of the `security_flags` option: flag names from
    /// [`SecurityProperties::FLAG_NAMES`], separated by spaces or commas, case
    /// ignored. The value replaces the default flags, so
    /// `security_flags: noanonymous` allows PLAIN and LOGIN, and an empty value
    /// allows anonymous and plaintext logins too. An unknown name is returned
    /// as the error.
    pub fn parse_flags(value: &str) -> Result<u32, String> {
        let mut flags = 0;
        for word in value.split(|c: char| c.is_whitespace() || c == ',').filter(|w| !w.is_empty()) {
            match Self::FLAG_NAMES.iter().find(|(name, _)| name.eq_ignore_ascii_case(word)) {
                Some((_, flag)) => flags |= flag,
                None => return Err(word.to_owned()),
            }
        }
        Ok(flags)
    }

    pub(crate) fn to_sys(self) -> sys::sasl_security_properties_t {
        sys::sasl_security_properties_t {
            min_ssf: self.min_ssf,
            max_ssf: self.max_ssf,
            maxbufsize: self.maxbufsize,
            security_flags: self.flags,
            property_names: std::ptr::null_mut(),
            property_values: std::ptr::null_mut(),
        }
    }
}

impl Default for SecurityProperties {
    fn default() -> Self {
        SecurityProperties { min_ssf: 0, max_ssf: 0, maxbufsize: 65536, flags: Self::DEFAULT_FLAGS }
    }
}

impl std::fmt::Debug for SecurityProperties {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut words: Vec<String> = Self::FLAG_NAMES
            .iter()
            .filter(|&&(_, bit)| self.flags & bit != 0)
            .map(|&(name, _)| name.to_owned())
            .collect();
        let unnamed = Self::FLAG_NAMES.iter().fold(self.flags, |rest, &(_, bit)| rest & !bit);
        if unnamed != 0 {
            words.push(format!("{unnamed:#x}"));
        }
        f.debug_struct("SecurityProperties")
            .field("min_ssf", &self.min_ssf)
            .field("max_ssf", &self.max_ssf)
            .field("maxbufsize", &self.maxbufsize)
            .field("flags", &words.join(" "))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_refuse_anonymous_and_plaintext() {
        assert_eq!(
            SecurityProperties::default().flags,
            SecurityProperties::NOANONYMOUS | SecurityProperties::NOPLAINTEXT
        );
    }

    #[test]
    fn flag_names_parse_and_unknown_names_are_returned() {
        let p = SecurityProperties::parse_flags;
        assert_eq!(p("noanonymous noplaintext"), Ok(SecurityProperties::DEFAULT_FLAGS));
        assert_eq!(
            p("NoAnonymous, mutual_auth"),
            Ok(SecurityProperties::NOANONYMOUS | SecurityProperties::MUTUAL_AUTH)
        );
        assert_eq!(p(""), Ok(0));
        assert_eq!(p("noanonymous noplaintxt"), Err("noplaintxt".to_owned()));
    }
}
