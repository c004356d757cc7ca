//! Provisioning users in a sasldb (`sasl_setpass`), so programs and tests can add,
//! change and remove users without shelling out to `saslpasswd2`.

use std::path::{Path, PathBuf};
use std::ptr;

use sasl_sys as sys;

use crate::config::Config;
use crate::connection::{CArg, c_len};
use crate::error::{Result, check};
use crate::secret::Secret;
use crate::server::Server;

/// A sasldb file (Berkeley DB, as written by `saslpasswd2`) and the realm its users
/// live in.
///
/// Users are stored as `user@realm`, exactly as `saslpasswd2 -f PATH -u REALM`
/// stores them. A [`Server`] finds them when it is created with the same realm
/// and [`Sasldb::config`].
///
/// ```no_run
/// use cyrus_sasl::{Sasldb, Secret};
/// let db = Sasldb::new("/var/lib/myapp/sasldb2", "EXAMPLE.COM")?;
/// db.set_password("alice", &Secret::from("s3cret"))?;
/// db.delete_user("bob")?;
/// # Ok::<(), cyrus_sasl::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Sasldb {
    path: PathBuf,
    realm: String,
    config: Config,
}

impl Sasldb {
    /// Names a sasldb file (created on first write) and its realm.
    ///
    /// Fails when the path cannot be handed to libsasl2 as an option value: it
    /// must be UTF-8 without NUL bytes. (Dropping it instead would leave the
    /// server on the system's default sasldb.)
    pub fn new(path: impl AsRef<Path>, realm: &str) -> Result<Self> {
        let path = path.as_ref().to_owned();
        let invalid = |why: &str| crate::Error::Sasldb {
            path: path.clone(),
            source: std::io::Error::new(std::io::ErrorKind::InvalidInput, why.to_owned()),
        };
        let text = path.to_str().ok_or_else(|| invalid("the path is not UTF-8"))?;
        let config = Config::new()
            .with("pwcheck_method", "auxprop")?
            .with("auxprop_plugin", "sasldb")?
            .with("sasldb_path", text)
            .map_err(|_| invalid("the path contains a NUL byte"))?;
        Ok(Sasldb { path, realm: realm.to_owned(), config })
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The realm.
    pub fn realm(&self) -> &str {
        &self.realm
    }

    /// A config that makes a server authenticate against this database:
    /// `pwcheck_method: auxprop`, `auxprop_plugin: sasldb`, `sasldb_path: PATH`.
    /// Add `mech_list` and the rest to it.
    pub fn config(&self) -> Config {
        self.config.clone()
    }

    /// Creates the user, or changes the password of an existing one. Every
    /// mechanism that stores its own secret (SCRAM) gets one too.
    ///
    /// An empty password is refused (`SASL_BADPARAM`), and so is one containing
    /// a NUL byte ([`Error::Nul`](crate::Error::Nul)): libsasl2's mechanisms
    /// read stored secrets as C strings, so only the part before the NUL would
    /// count.
    #[doc(alias = "sasl_setpass")]
    pub fn set_password(&self, user: &str, password: &Secret) -> Result<()> {
        if password.is_empty() {
            // An empty password would make CRAM-MD5 fail with SASL_FAIL, not reject.
            return Err(crate::Error::Sasl {
                call: "sasl_setpass",
                code: crate::Code::BADPARAM,
                detail: "refusing to store an empty password".into(),
            });
        }
        if password.expose().contains(&0) {
            // libsasl2 would store it whole, but its mechanisms read the stored
            // secret as a C string: measured with CRAM-MD5, "pw\0tail" would
            // then accept the password "pw".
            return Err(crate::Error::Nul { what: "password" });
        }
        self.setpass(user, Some(password), sys::SASL_SET_CREATE as u32)
    }

    /// Removes the user and all their secrets.
    #[doc(alias = "sasl_setpass")]
    pub fn delete_user(&self, user: &str) -> Result<()> {
        // libsasl2 deletes on a NULL password only together with SASL_SET_DISABLE;
        // with flags 0 it answers SASL_BADPARAM.
        self.setpass(user, None, sys::SASL_SET_DISABLE as u32)
    }

    fn setpass(&self, user: &str, password: Option<&Secret>, flags: u32) -> Result<()> {
        let server = Server::new("sasldb", &self.realm, Some(&self.realm), &self.config)?;
        let user = CArg::new(user, "user")?;
        let (pass, len) = match password {
            Some(p) => (p.expose().as_ptr().cast(), c_len(p.expose(), "password")?),
            None => (ptr::null(), 0),
        };
        // SAFETY: the connection is live for the call; user is NUL-terminated; pass
        // points at len readable bytes (libsasl2 takes the length, not a NUL).
        let rc = unsafe { sys::sasl_setpass(server.as_ptr(), user.as_ptr(), pass, len, ptr::null(), 0, flags) };
        check(server.as_ptr(), "sasl_setpass", rc).map(drop)
    }
}

/// Checks the sasldb a server config points at, when it uses one: the file must
/// exist and be a regular file. libsasl2 reports a missing file as an unknown
/// user (`SASL_NOUSER`), indistinguishable from a wrong login, so the server runs
/// this check when it is about to answer "unknown user". (Only then: a `stat` on
/// every connection would cost about 2% of a CRAM-MD5 handshake. Unreadable or
/// corrupt files need no check: libsasl2 fails them loudly, with `SASL_FAIL`
/// "Unable to open DB".)
pub(crate) fn check_configured(config: &Config) -> Result<()> {
    let Some(path) = config.get("sasldb_path") else { return Ok(()) };
    let uses_sasldb = config.get("auxprop_plugin").is_none_or(|p| p.split_whitespace().any(|p| p == "sasldb"));
    if !uses_sasldb {
        return Ok(());
    }
    let error = |source| crate::Error::Sasldb { path: path.into(), source };
    let meta = std::fs::metadata(path).map_err(error)?;
    if !meta.is_file() {
        return Err(error(std::io::Error::new(std::io::ErrorKind::InvalidInput, "not a regular file")));
    }
    Ok(())
}
