//! Provisioning users in a sasldb (`sasl_setpass`), so programs and tests can add,
//! change and remove users without shelling out to `saslpasswd2`.

use std::path::{Path, PathBuf};

use sasl_sys as sys;

use crate::config::Config;
use crate::error::Result;
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
        server.set_password(user, password.map(Secret::expose), flags)
    }
}
