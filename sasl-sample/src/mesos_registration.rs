//! `sasl-sample mesos-master --acls FILE`: the registration gate's lines.

use std::path::Path;
use std::sync::Arc;

use cyrus_sasl_mesos::RegistrationRecord;
use cyrus_sasl_mesos::authorization::AclFile;
use cyrus_sasl_mesos::registration::{RegistrationGate, RegistrationVerdict};

use crate::outcome::Failure;

/// The gate of `--acls FILE`, which overrides the master config's `acls:` key;
/// `None` without the flag.
pub fn gate_from_flag(acls: Option<&Path>) -> Result<Option<RegistrationGate>, Failure> {
    match acls {
        Some(path) => {
            let file = AclFile::read(path).map_err(Failure::error)?;
            Ok(Some(RegistrationGate::from_acl_file(Arc::new(file))))
        }
        None => Ok(None),
    }
}

/// One decision as one line, peer text escaped with `escape`:
/// `registered: PRINCIPAL role=ROLE[,ROLE...]`, `reregistered: PRINCIPAL
/// role=ROLE[,ROLE...] id=FRAMEWORK_ID` (a framework that kept its id),
/// `registered: PRINCIPAL agent`,
/// `denied: PRINCIPAL (REASON)` or, for a sender that never authenticated,
/// `denied: pid=UPID (REASON)`.
pub fn line(record: &RegistrationRecord, escape: impl Fn(&str) -> String) -> String {
    match &record.verdict {
        RegistrationVerdict::FrameworkRegistered { principal, roles, .. } => {
            let roles: Vec<String> = roles.iter().map(|r| escape(r)).collect();
            format!("registered: {} role={}", escape(principal), roles.join(","))
        }
        RegistrationVerdict::FrameworkReregistered { principal, roles, framework_id } => {
            let roles: Vec<String> = roles.iter().map(|r| escape(r)).collect();
            format!("reregistered: {} role={} id={}", escape(principal), roles.join(","), escape(framework_id))
        }
        RegistrationVerdict::AgentRegistered { principal, .. } => format!("registered: {} agent", escape(principal)),
        RegistrationVerdict::Denied { principal: Some(principal), denial, .. } => {
            format!("denied: {} ({})", escape(principal), escape(&denial.to_string()))
        }
        RegistrationVerdict::Denied { principal: None, denial, .. } => {
            format!("denied: pid={} ({})", escape(&record.from.to_string()), escape(&denial.to_string()))
        }
    }
}
