//! [`AclFile`]: an ACL file in force, which reloads.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arc_swap::ArcSwap;

use super::acls::{Acls, LOG_TARGET};
use crate::error::FileError;

/// An ACL file in force, reloadable while decisions are being made.
///
/// [`current`](AclFile::current) hands out the ACLs in force; [`reload`](AclFile::reload)
/// reads the file again and swaps the new ACLs in atomically. A decision made
/// during a reload sees the old ACLs or the new ones, never a mix; a file that
/// fails to read or parse leaves the previous ACLs in force.
#[derive(Debug)]
pub struct AclFile {
    path: PathBuf,
    current: ArcSwap<Acls>,
}

impl AclFile {
    /// Reads the ACLs in `path` (see [`Acls::read`]).
    pub fn read(path: impl AsRef<Path>) -> Result<AclFile, FileError> {
        let path = path.as_ref().to_owned();
        let acls = Acls::read(&path)?;
        Ok(AclFile { path, current: ArcSwap::from_pointee(acls) })
    }

    /// The ACLs in force.
    pub fn current(&self) -> Arc<Acls> {
        self.current.load_full()
    }

    /// The file this reads.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Reads the file again. On success the new ACLs are in force from the
    /// next [`current`](AclFile::current) on; on error the previous ones stay in
    /// force, the error is logged and returned.
    pub fn reload(&self) -> Result<Arc<Acls>, FileError> {
        match Acls::read(&self.path) {
            Ok(acls) => {
                let acls = Arc::new(acls);
                self.current.store(Arc::clone(&acls));
                log::info!(target: LOG_TARGET, "reloaded ACLs from '{}'", self.path.display());
                Ok(acls)
            }
            Err(e) => {
                log::warn!(target: LOG_TARGET, "{e}; the previous ACLs stay in force");
                Err(e)
            }
        }
    }
}
