//! `sasl-sample mesos-master --acls FILE`: the registration gate's lines.

use std::path::Path;
use std::sync::Arc;

use cyrus_sasl_mesos::MasterConfig;
use cyrus_sasl_mesos::RegistrationRecord;
use cyrus_sasl_mesos::authorization::AclFile;
use cyrus_sasl_mesos::registration::{RegistrationGate, Verdict};

use crate::outcome::Failure;

/// The gate: `--acls FILE` if given, else the master config's `acls:` key, else none.
pub fn gate(acls: Option<&Path>, config: &MasterConfig) -> Result<Option<RegistrationGate>, Failure> {
    match acls {
        Some(path) => {
            let file = AclFile::load(path).map_err(Failure::error)?;
            Ok(Some(RegistrationGate::from_file(Arc::new(file))))
        }
        None => Ok(config.registration_gate()),
    }
}

/// One decision as one line, peer text escaped with `escape`:
/// `registered: PRINCIPAL role=ROLE[,ROLE...]`, `registered: PRINCIPAL agent`,
/// `denied: PRINCIPAL (REASON)` or, for a sender that never authenticated,
/// `denied: pid=UPID (REASON)`.
pub fn line(record: &RegistrationRecord, escape: impl Fn(&str) -> String) -> String {
    match &record.verdict {
        Verdict::FrameworkRegistered { principal, roles, .. } => {
            let roles: Vec<String> = roles.iter().map(|r| escape(r)).collect();
            format!("registered: {} role={}", escape(principal), roles.join(","))
        }
        Verdict::AgentRegistered { principal, .. } => format!("registered: {} agent", escape(principal)),
        Verdict::Denied { principal: Some(principal), denial, .. } => {
            format!("denied: {} ({})", escape(principal), escape(&denial.to_string()))
        }
        Verdict::Denied { principal: None, denial, .. } => {
            format!("denied: pid={} ({})", escape(&record.from.to_string()), escape(&denial.to_string()))
        }
    }
}
