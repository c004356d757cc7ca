//! Explaining a failure caused by `min_ssf` as [`Error::SecurityTooWeak`].

use sasl_sys as sys;

use crate::error::{Code, Error};
use crate::ffi::Conn;

/// Explains a failure caused by `min_ssf` as [`Error::SecurityTooWeak`]; any
/// other error comes back unchanged.
///
/// libsasl2 reports a required strength it cannot meet in two ways (measured,
/// 2.1.28):
/// - `SASL_TOOWEAK`: `sasl_server_start` for a mechanism whose strongest layer
///   is below `min_ssf` ("mech CRAM-MD5 is too weak"), or a client step where
///   the server offers no layer within this side's `min_ssf`..=`max_ssf`
///   (GSSAPI: detail left stale, "Unable to find a callback: 32775";
///   DIGEST-MD5: "Can't find an acceptable layer"). Always the SSF.
/// - `SASL_NOMECH` "No worthy mechs found" from `sasl_client_start`, which
///   also means `mech_list` or the flags excluded everything. The SSF is named
///   as the cause only when, with `min_ssf` 0 and all else equal, the
///   connection would offer one of `candidates`.
///
/// `candidates` is the mechanism list the call was given; `None` means the
/// connection's chosen mechanism (`SASL_MECHNAME`).
pub(crate) fn explain(conn: &Conn, error: Error, candidates: Option<&str>) -> Error {
    let code = match error.code() {
        Some(code @ (Code::TOOWEAK | Code::NOMECH)) if matches!(error, Error::Sasl { .. }) => code,
        _ => return error,
    };
    let Ok(props) = conn.security() else { return error };
    if code == Code::NOMECH && props.min_ssf == 0 {
        return error;
    }
    let named: Vec<String> = match candidates {
        Some(list) => {
            list.split(|c: char| c.is_whitespace() || c == ',').filter(|m| !m.is_empty()).map(str::to_owned).collect()
        }
        None => conn.prop_str(sys::SASL_MECHNAME, "mechanism name").ok().flatten().into_iter().collect(),
    };
    let mechanisms = if code == Code::TOOWEAK {
        named
    } else {
        let Some(offered) = conn.mechanisms_without_min_ssf() else { return error };
        let excluded: Vec<String> =
            named.into_iter().filter(|m| offered.iter().any(|o| o.eq_ignore_ascii_case(m))).collect();
        if excluded.is_empty() {
            return error;
        }
        excluded
    };
    Error::SecurityTooWeak { min_ssf: props.min_ssf, max_ssf: props.max_ssf, mechanisms, code }
}
