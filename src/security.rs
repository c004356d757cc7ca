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
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
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
        SecurityProperties { min_ssf: 0, max_ssf: 0, maxbufsize: 65536, flags: 0 }
    }
}
