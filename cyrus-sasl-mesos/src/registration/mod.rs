//! The registration gate: after authentication, may this framework or agent
//! register? Sans-IO: a [`RegistrationRequest`] decoded from a libprocess
//! message, the master's [`Registry`] and the ACLs in, a [`RegistrationAnswer`]
//! (the verdict and the message to send back) out.
//! [`Master`](crate::Master) runs it when
//! [`MasterOptions::registration`](crate::MasterOptions::registration)
//! is set.
//!
//! # The messages (facts from apache/mesos 1.11's protos and its real driver)
//!
//! Only the fields the gate reads are declared; prost skips the others. These
//! partial messages are not part of this crate's API: a framework or agent
//! brings its own types generated from Mesos's `.proto` files, and the
//! libprocess endpoint carries them.
//!
//! ```text
//! mesos.scheduler.Call                      type = 2 (SUBSCRIBE = 1), subscribe = 3
//!   Call.Subscribe                          framework_info = 1
//! mesos.internal.RegisterFrameworkMessage   framework = 1          (drivers before the Call API)
//! mesos.internal.RegisterSlaveMessage       slave = 1, version = 2
//! FrameworkInfo                             user = 1, name = 2, id = 3, role = 6,
//!                                           hostname = 7, principal = 8, roles = 12
//! SlaveInfo                                 hostname = 1
//!
//! mesos.internal.FrameworkRegisteredMessage framework_id = 1 (FrameworkID{value = 1}),
//!                                           master_info = 2 (MasterInfo)
//! mesos.internal.FrameworkReregisteredMessage framework_id = 1, master_info = 2 (the same)
//! MasterInfo                                id = 1, ip = 2, port = 3, pid = 4, hostname = 5,
//!                                           address = 7 {hostname = 1, ip = 2, port = 3},
//!                                           version = 10
//! mesos.internal.FrameworkErrorMessage      message = 2
//! mesos.internal.SlaveRegisteredMessage     slave_id = 1 (SlaveID{value = 1})
//! mesos.internal.ShutdownMessage            message = 1
//! ```
//!
//! The real 1.11 scheduler driver sends `mesos.scheduler.Call` (SUBSCRIBE) from
//! its scheduler UPID (the `pid` of its `AuthenticateMessage`) to `master`. It
//! fires its `registered()` callback on a `FrameworkRegisteredMessage` only
//! when that comes from the master's own UPID (`master@ip:port`; from anyone
//! else it is ignored), and `error()` on a `FrameworkErrorMessage`.
//!
//! # The rules, in order
//!
//! 1. Under [`PeerBinding::RequireIpMatch`] the sender UPID's IP must be the TCP
//!    peer's, as for authentication.
//! 2. The sender UPID must be authenticated: the [`Registry`] holds a principal
//!    for it. Unlike Mesos (`--authenticate_frameworks` is off by default), the
//!    gate has no "no authentication" mode: a master that runs it authenticates.
//! 3. Frameworks: `FrameworkInfo.principal`, when set, must equal the
//!    authenticated principal; when unset it is filled in with it (as Mesos
//!    does). `role` and `roles` may not both be set; the roles asked for are
//!    `roles` if given, else `role`, else `*` (the proto default).
//! 4. The ACLs decide: `register_frameworks` for each role (all must be
//!    allowed), `register_agents` for an agent. A decision that cannot be made
//!    (an LDAP group whose membership is unknown) denies.
//!
//! A denied framework gets `FrameworkErrorMessage`; a denied agent gets
//! `ShutdownMessage`, as Mesos answers them. The text sent to the peer says
//! which rule failed without showing the ACLs or why a directory is down; the
//! [`Denial`] (for logs) says everything. An allowed framework gets a new
//! framework id `MASTERID-NNNN`; an allowed agent a new agent id
//! `MASTERID-S{N}`.
//!
//! # Re-registration
//!
//! A framework that registered before, with this master or with the one that
//! led before it, subscribes with `FrameworkInfo.id` set: after a master
//! failover the scheduler driver authenticates with the new leader and sends
//! its SUBSCRIBE again, with its id. The same rules decide it; then:
//!
//! 5. The id must be a usable one: 1 to [`MAX_FRAMEWORK_ID_LEN`] bytes of
//!    printable ASCII, no white space and no `/` (it names paths in Mesos).
//! 6. An id the gate has seen in this term under another principal is denied
//!    (one framework cannot take over another's tasks by naming its id).
//!
//! An allowed one keeps its id and is answered
//! `FrameworkReregisteredMessage` (the driver's `reregistered()` callback), so
//! it keeps its tasks; it is [`RegistrationVerdict::FrameworkReregistered`].
//! Every answer's `MasterInfo` is complete ([`MasterInfo::to_protobuf`]):
//! `pid`, `hostname`, `address` and `version` as well as `id`, `ip`, `port`.

use std::collections::HashMap;
use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use prost::Message as _;

use super::authenticator::upid_ip;
use super::authorization::{AclFile, Acls, AuthorizationError, Basis, Decision, GroupDirectory, NoDirectory, Request};
use super::zookeeper::MasterInfo;
use super::{PeerBinding, Registry};

pub(crate) mod proto;

use proto::{
    FrameworkErrorMessage, FrameworkId, FrameworkInfo, FrameworkRegisteredMessage, FrameworkReregisteredMessage,
    RegisterFrameworkMessage, RegisterSlaveMessage, SchedulerCall, ShutdownMessage, SlaveId, SlaveInfo,
    SlaveRegisteredMessage,
};

/// The longest `FrameworkInfo.id` a re-registering framework may keep, in bytes.
pub const MAX_FRAMEWORK_ID_LEN: usize = 256;

/// How many framework ids (with their principals) a gate remembers in one
/// term; beyond that, the oldest half is forgotten.
pub const MAX_KNOWN_FRAMEWORKS: usize = 65_536;

/// The message names the gate takes (`mesos.scheduler.Call`,
/// `mesos.internal.RegisterFrameworkMessage`, `mesos.internal.RegisterSlaveMessage`).
pub const REGISTRATION_MESSAGES: [&str; 3] =
    ["mesos.scheduler.Call", "mesos.internal.RegisterFrameworkMessage", "mesos.internal.RegisterSlaveMessage"];

/// A registration, decoded: a framework's `FrameworkInfo` or an agent's
/// `SlaveInfo`, the fields the gate reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationRequest(Registrant);

#[derive(Clone, Debug, PartialEq, Eq)]
enum Registrant {
    /// A framework subscribes (`Call` SUBSCRIBE or `RegisterFrameworkMessage`).
    Framework(FrameworkInfo),
    /// An agent registers.
    Agent(SlaveInfo),
}

/// A registration message that is not what its name says.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("bad {name}: {reason}")]
pub struct RegistrationDecodeError {
    /// The message name.
    pub name: String,
    /// What was wrong.
    pub reason: String,
}

impl RegistrationRequest {
    /// Whether a framework (not an agent) asks to register.
    pub fn is_framework(&self) -> bool {
        matches!(self.0, Registrant::Framework(_))
    }

    /// Decodes a message to `master` named `name`. `Ok(None)`: not a
    /// registration (another message name, or a `Call` other than SUBSCRIBE).
    pub fn decode(name: &str, body: &[u8]) -> Result<Option<RegistrationRequest>, RegistrationDecodeError> {
        let bad = |reason: String| RegistrationDecodeError { name: name.to_owned(), reason };
        let missing = |field: &str| bad(format!("no {field}"));
        match name {
            "mesos.scheduler.Call" => {
                let call = SchedulerCall::decode(body).map_err(|e| bad(e.to_string()))?;
                if call.r#type != Some(SchedulerCall::SUBSCRIBE) {
                    return Ok(None);
                }
                let info = call.subscribe.and_then(|s| s.framework_info).ok_or_else(|| missing("framework_info"))?;
                Ok(Some(RegistrationRequest(Registrant::Framework(info))))
            }
            "mesos.internal.RegisterFrameworkMessage" => {
                let message = RegisterFrameworkMessage::decode(body).map_err(|e| bad(e.to_string()))?;
                Ok(Some(RegistrationRequest(Registrant::Framework(
                    message.framework.ok_or_else(|| missing("framework"))?,
                ))))
            }
            "mesos.internal.RegisterSlaveMessage" => {
                let message = RegisterSlaveMessage::decode(body).map_err(|e| bad(e.to_string()))?;
                Ok(Some(RegistrationRequest(Registrant::Agent(message.slave.ok_or_else(|| missing("slave"))?))))
            }
            _ => Ok(None),
        }
    }
}

/// Why a registration was denied.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Denial {
    /// The sender UPID's IP is not the TCP peer's ([`PeerBinding::RequireIpMatch`]).
    PeerAddressMismatch {
        /// The sender UPID as claimed.
        from: String,
        /// The TCP peer's address.
        peer_ip: IpAddr,
    },
    /// The sender UPID has not authenticated (or its authentication was
    /// cleared by a newer attempt).
    NotAuthenticated,
    /// `FrameworkInfo.principal` is not the authenticated principal.
    PrincipalMismatch {
        /// What the framework claims.
        claimed: String,
    },
    /// `role` and `roles` both set.
    InvalidRoles,
    /// The ACLs denied it, by this rule (or by `permissive: false`).
    NotAuthorized(Basis),
    /// The ACLs could not decide (an LDAP group's membership is unknown).
    Undecidable(AuthorizationError),
    /// A re-registering framework's `FrameworkInfo.id` is not a usable id (empty,
    /// over [`MAX_FRAMEWORK_ID_LEN`] bytes, white space, control characters, `/`).
    InvalidFrameworkId {
        /// Its first 64 characters.
        id: String,
    },
    /// A re-registering framework names an id registered in this term under
    /// another principal.
    FrameworkIdOwned {
        /// The id.
        id: String,
    },
}

impl fmt::Display for Denial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Denial::PeerAddressMismatch { from, peer_ip } => {
                write!(f, "sender {from:?} claims another address than its connection's ({peer_ip})")
            }
            Denial::NotAuthenticated => f.write_str("not authenticated"),
            Denial::PrincipalMismatch { claimed } => {
                write!(f, "framework principal {claimed:?} is not the authenticated principal")
            }
            Denial::InvalidRoles => f.write_str("both 'role' and 'roles' are set"),
            Denial::InvalidFrameworkId { id } => write!(f, "framework id {id:?} is not a usable id"),
            Denial::FrameworkIdOwned { id } => {
                write!(f, "framework id {id:?} is registered under another principal")
            }
            Denial::NotAuthorized(basis) => {
                write!(f, "not authorized: {}", Decision { allowed: false, basis: basis.clone() })
            }
            // A `Denial` is a reason for the logs, not an error chain: the
            // lookup's own cause is part of it.
            Denial::Undecidable(e) => match std::error::Error::source(e) {
                Some(cause) => write!(f, "authorization unavailable: {e}: {cause}"),
                None => write!(f, "authorization unavailable: {e}"),
            },
        }
    }
}

/// How the gate decided one registration: registered, or denied.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RegistrationVerdict {
    /// A framework is registered.
    FrameworkRegistered {
        /// Its (authenticated) principal.
        principal: String,
        /// The roles it registered in.
        roles: Vec<String>,
        /// The id given to it.
        framework_id: String,
    },
    /// A framework that had registered before (with this master or an earlier
    /// leader) is registered again, keeping its id.
    FrameworkReregistered {
        /// Its (authenticated) principal.
        principal: String,
        /// The roles it registered in.
        roles: Vec<String>,
        /// Its id, as it asked.
        framework_id: String,
    },
    /// An agent is registered.
    AgentRegistered {
        /// Its principal.
        principal: String,
        /// The id given to it.
        agent_id: String,
    },
    /// Denied.
    Denied {
        /// The authenticated principal, if any.
        principal: Option<String>,
        /// Whether a framework (or an agent) was denied.
        framework: bool,
        /// Why.
        denial: Denial,
    },
}

impl RegistrationVerdict {
    /// Whether the framework or agent was registered.
    pub fn registered(&self) -> bool {
        !matches!(self, RegistrationVerdict::Denied { .. })
    }
}

/// The verdict and the message that answers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RegistrationAnswer {
    /// What was decided.
    pub verdict: RegistrationVerdict,
    /// The answer's message name.
    pub reply_name: String,
    /// The answer's protobuf bytes; sent from the master's own UPID to the sender.
    pub reply_body: Vec<u8>,
}

/// Where the ACLs come from.
#[derive(Clone, Debug)]
enum AclSource {
    Fixed(Arc<Acls>),
    File(Arc<AclFile>),
}

/// The gate: ACLs (fixed, or an [`AclFile`] that can be reloaded), the group
/// directory for `ldap-group:` principals, and the master's identity for its
/// answers. Cheap to clone (the id counters are shared).
#[derive(Clone)]
pub struct RegistrationGate {
    acls: AclSource,
    groups: Arc<dyn GroupDirectory>,
    peer_binding: PeerBinding,
    master_id: Arc<str>,
    next_framework: Arc<AtomicU64>,
    next_agent: Arc<AtomicU64>,
    /// The framework ids registered in this term, with their principals.
    frameworks: Arc<Mutex<KnownFrameworks>>,
}

/// Framework ids and their principals, bounded; the oldest go first.
#[derive(Default)]
struct KnownFrameworks {
    principals: HashMap<String, (String, u64)>,
    next: u64,
}

impl KnownFrameworks {
    /// Records `id` under `principal`, unless another principal holds it.
    fn claim(&mut self, id: &str, principal: &str) -> Result<(), Denial> {
        if self.principals.get(id).is_some_and(|(owner, _)| owner != principal) {
            return Err(Denial::FrameworkIdOwned { id: id.to_owned() });
        }
        if self.principals.len() >= MAX_KNOWN_FRAMEWORKS && !self.principals.contains_key(id) {
            // Forget the older half: those frameworks stay registered, but
            // another principal could then claim their ids (logged).
            let mut ages: Vec<u64> = self.principals.values().map(|(_, n)| *n).collect();
            let (_, median, _) = ages.select_nth_unstable(MAX_KNOWN_FRAMEWORKS / 2);
            let median = *median;
            self.principals.retain(|_, (_, n)| *n >= median);
            log::warn!("{MAX_KNOWN_FRAMEWORKS} framework ids known: the older half is forgotten");
        }
        self.next += 1;
        self.principals.insert(id.to_owned(), (principal.to_owned(), self.next));
        Ok(())
    }
}

impl fmt::Debug for RegistrationGate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RegistrationGate")
            .field("acls", &self.acls)
            .field("peer_binding", &self.peer_binding)
            .field("master_id", &self.master_id)
            .finish_non_exhaustive()
    }
}

impl RegistrationGate {
    /// A gate deciding by `acls`, with no group directory ([`NoDirectory`]: a
    /// rule naming an `ldap-group:` denies), peer binding on, and a random
    /// master id.
    pub fn new(acls: Arc<Acls>) -> Self {
        Self::with_source(AclSource::Fixed(acls))
    }

    /// The same, deciding by whatever `file` holds at each registration (so
    /// [`AclFile::reload`] takes effect at the next one).
    pub fn from_acl_file(file: Arc<AclFile>) -> Self {
        Self::with_source(AclSource::File(file))
    }

    fn with_source(acls: AclSource) -> Self {
        RegistrationGate {
            acls,
            groups: Arc::new(NoDirectory),
            peer_binding: PeerBinding::RequireIpMatch,
            master_id: format!("{:032x}", rand::random::<u128>()).into(),
            next_framework: Arc::new(AtomicU64::new(0)),
            next_agent: Arc::new(AtomicU64::new(0)),
            frameworks: Arc::new(Mutex::new(KnownFrameworks::default())),
        }
    }

    /// Forgets every framework id this gate (and its clones) has given out or
    /// accepted: a master that steps down starts its next term empty.
    pub fn forget_frameworks(&self) {
        *self.frameworks.lock() = KnownFrameworks::default();
    }

    /// Asks `groups` about `ldap-group:` principals.
    pub fn with_groups(mut self, groups: Arc<dyn GroupDirectory>) -> Self {
        self.groups = groups;
        self
    }

    /// Sets the peer binding (the master passes its
    /// [`ServerOptions::peer_binding`](super::ServerOptions)).
    pub fn with_peer_binding(mut self, peer_binding: PeerBinding) -> Self {
        self.peer_binding = peer_binding;
        self
    }

    /// Sets the master id (the prefix of the ids it gives out).
    pub fn with_master_id(mut self, id: impl Into<String>) -> Self {
        self.master_id = id.into().into();
        self
    }

    /// The master id.
    pub fn master_id(&self) -> &str {
        &self.master_id
    }

    /// Decides `request` from `from` (the sender UPID as claimed) over a TCP
    /// connection from `peer_ip`, against `registry`, and builds the answer;
    /// `master` is what the master advertises (sent whole in a framework's
    /// answer; see [`MasterInfo::for_master`]).
    ///
    /// May block on the group directory; from async code, call it on a
    /// blocking thread.
    pub fn decide(
        &self,
        request: &RegistrationRequest,
        from: &str,
        peer_ip: IpAddr,
        registry: &Registry,
        master: &MasterInfo,
    ) -> RegistrationAnswer {
        let framework = request.is_framework();
        let principal = registry.authenticated(from);
        let verdict = match self.check(request, from, peer_ip, principal.as_deref()) {
            Ok(verdict) => verdict,
            Err(denial) => RegistrationVerdict::Denied { principal, framework, denial },
        };
        let (reply_name, reply_body) = self.reply(&verdict, master);
        RegistrationAnswer { verdict, reply_name, reply_body }
    }

    fn check(
        &self,
        request: &RegistrationRequest,
        from: &str,
        peer_ip: IpAddr,
        principal: Option<&str>,
    ) -> Result<RegistrationVerdict, Denial> {
        if self.peer_binding == PeerBinding::RequireIpMatch && upid_ip(from) != Some(peer_ip.to_canonical()) {
            return Err(Denial::PeerAddressMismatch { from: from.to_owned(), peer_ip });
        }
        let principal = principal.ok_or(Denial::NotAuthenticated)?;
        let acls = match &self.acls {
            AclSource::Fixed(acls) => Arc::clone(acls),
            AclSource::File(file) => file.current(),
        };
        match &request.0 {
            Registrant::Framework(info) => {
                // Mesos fills in an unset principal with the authenticated one.
                if let Some(claimed) = info.principal.as_deref().filter(|c| *c != principal) {
                    return Err(Denial::PrincipalMismatch { claimed: claimed.to_owned() });
                }
                let roles: Vec<String> = match (&info.role, info.roles.is_empty()) {
                    (Some(_), false) => return Err(Denial::InvalidRoles),
                    (None, false) => info.roles.clone(),
                    (Some(role), true) => vec![role.clone()],
                    (None, true) => vec!["*".to_owned()],
                };
                let decision = acls
                    .decide_with(
                        &Request::register_framework(Some(principal), roles.iter().map(String::as_str)),
                        &*self.groups,
                    )
                    .map_err(Denial::Undecidable)?;
                if !decision.allowed {
                    return Err(Denial::NotAuthorized(decision.basis));
                }
                if let Some(id) = &info.id {
                    let id = valid_framework_id(&id.value)?;
                    self.frameworks.lock().claim(id, principal)?;
                    return Ok(RegistrationVerdict::FrameworkReregistered {
                        principal: principal.to_owned(),
                        roles,
                        framework_id: id.to_owned(),
                    });
                }
                let n = self.next_framework.fetch_add(1, Ordering::Relaxed);
                let framework_id = format!("{}-{n:04}", self.master_id);
                self.frameworks.lock().claim(&framework_id, principal)?;
                Ok(RegistrationVerdict::FrameworkRegistered { principal: principal.to_owned(), roles, framework_id })
            }
            Registrant::Agent(_) => {
                let decision = acls
                    .decide_with(&Request::register_agent(Some(principal)), &*self.groups)
                    .map_err(Denial::Undecidable)?;
                if !decision.allowed {
                    return Err(Denial::NotAuthorized(decision.basis));
                }
                let n = self.next_agent.fetch_add(1, Ordering::Relaxed);
                Ok(RegistrationVerdict::AgentRegistered {
                    principal: principal.to_owned(),
                    agent_id: format!("{}-S{n}", self.master_id),
                })
            }
        }
    }

    fn reply(&self, verdict: &RegistrationVerdict, master: &MasterInfo) -> (String, Vec<u8>) {
        use prost::Name;
        match verdict {
            RegistrationVerdict::FrameworkRegistered { framework_id, .. } => {
                let message = FrameworkRegisteredMessage {
                    framework_id: FrameworkId { value: framework_id.clone() },
                    master_info: master.to_protobuf(),
                };
                (FrameworkRegisteredMessage::full_name(), message.encode_to_vec())
            }
            RegistrationVerdict::FrameworkReregistered { framework_id, .. } => {
                let message = FrameworkReregisteredMessage {
                    framework_id: FrameworkId { value: framework_id.clone() },
                    master_info: master.to_protobuf(),
                };
                (FrameworkReregisteredMessage::full_name(), message.encode_to_vec())
            }
            RegistrationVerdict::AgentRegistered { agent_id, .. } => {
                let message = SlaveRegisteredMessage { slave_id: SlaveId { value: agent_id.clone() } };
                (SlaveRegisteredMessage::full_name(), message.encode_to_vec())
            }
            RegistrationVerdict::Denied { framework, denial, .. } => {
                let text = peer_text(denial, *framework);
                if *framework {
                    (FrameworkErrorMessage::full_name(), FrameworkErrorMessage { message: text }.encode_to_vec())
                } else {
                    (ShutdownMessage::full_name(), ShutdownMessage { message: Some(text) }.encode_to_vec())
                }
            }
        }
    }
}

/// `id` if a re-registering framework may keep it (rule 5).
fn valid_framework_id(id: &str) -> Result<&str, Denial> {
    let usable =
        !id.is_empty() && id.len() <= MAX_FRAMEWORK_ID_LEN && id.bytes().all(|b| b.is_ascii_graphic() && b != b'/');
    if usable { Ok(id) } else { Err(Denial::InvalidFrameworkId { id: id.chars().take(64).collect() }) }
}

/// What the peer is told: which check failed, never the ACLs or the
/// directory's state.
fn peer_text(denial: &Denial, framework: bool) -> String {
    let who = if framework { "Framework" } else { "Agent" };
    match denial {
        Denial::PeerAddressMismatch { .. } | Denial::NotAuthenticated => format!("{who} is not authenticated"),
        Denial::PrincipalMismatch { claimed } => {
            format!("Framework principal '{claimed}' does not match the authenticated principal")
        }
        Denial::InvalidRoles => "FrameworkInfo sets both 'role' and 'roles'".to_owned(),
        Denial::InvalidFrameworkId { .. } => "FrameworkInfo.id is not a valid framework id".to_owned(),
        Denial::FrameworkIdOwned { .. } => "The framework id is registered under another principal".to_owned(),
        Denial::NotAuthorized(_) | Denial::Undecidable(_) if framework => {
            "Not authorized to register the framework in the role(s) it asks for".to_owned()
        }
        Denial::NotAuthorized(_) | Denial::Undecidable(_) => "Agent is not authorized to register".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto::Subscribe;

    const FROM: &str = "scheduler-1@127.0.0.1:4000";

    fn master() -> MasterInfo {
        MasterInfo::for_master("M", "master@127.0.0.1:5050".parse().unwrap(), Some("m1")).unwrap()
    }

    fn gate(acls: &str) -> RegistrationGate {
        RegistrationGate::new(Arc::new(Acls::from_json(acls).unwrap())).with_master_id("M")
    }

    fn authenticated(pid: &str, principal: &str) -> Registry {
        let registry = Registry::default();
        let g = registry.begin(pid);
        registry.finish(pid, g, Some(principal));
        registry
    }

    fn framework(principal: Option<&str>, role: Option<&str>, roles: &[&str]) -> RegistrationRequest {
        RegistrationRequest(Registrant::Framework(FrameworkInfo {
            user: Some("u".into()),
            name: Some("n".into()),
            principal: principal.map(Into::into),
            role: role.map(Into::into),
            roles: roles.iter().map(|r| r.to_string()).collect(),
            ..FrameworkInfo::default()
        }))
    }

    fn denial(answer: &RegistrationAnswer) -> &Denial {
        match &answer.verdict {
            RegistrationVerdict::Denied { denial, .. } => denial,
            other => panic!("allowed: {other:?}"),
        }
    }

    #[test]
    fn decode_takes_subscribe_and_both_register_messages_and_nothing_else() {
        let info = FrameworkInfo { user: Some("u".into()), principal: Some("p".into()), ..FrameworkInfo::default() };
        let call = SchedulerCall {
            r#type: Some(SchedulerCall::SUBSCRIBE),
            subscribe: Some(Subscribe { framework_info: Some(info.clone()) }),
        };
        let decoded = RegistrationRequest::decode("mesos.scheduler.Call", &call.encode_to_vec()).unwrap();
        assert_eq!(decoded, Some(RegistrationRequest(Registrant::Framework(info.clone()))));
        let teardown = SchedulerCall { r#type: Some(2), subscribe: None };
        assert_eq!(RegistrationRequest::decode("mesos.scheduler.Call", &teardown.encode_to_vec()), Ok(None));
        let old = RegisterFrameworkMessage { framework: Some(info.clone()) }.encode_to_vec();
        assert_eq!(
            RegistrationRequest::decode("mesos.internal.RegisterFrameworkMessage", &old).unwrap(),
            Some(RegistrationRequest(Registrant::Framework(info)))
        );
        let agent = RegisterSlaveMessage { slave: Some(SlaveInfo { hostname: Some("h".into()) }), version: None };
        assert!(matches!(
            RegistrationRequest::decode("mesos.internal.RegisterSlaveMessage", &agent.encode_to_vec()),
            Ok(Some(RegistrationRequest(Registrant::Agent(_))))
        ));
        // A SUBSCRIBE without framework_info, and bytes that are no protobuf.
        let empty = SchedulerCall { r#type: Some(SchedulerCall::SUBSCRIBE), subscribe: None }.encode_to_vec();
        assert!(RegistrationRequest::decode("mesos.scheduler.Call", &empty).is_err());
        assert!(RegistrationRequest::decode("mesos.internal.RegisterSlaveMessage", &[0xff, 0xff]).is_err());
        assert_eq!(RegistrationRequest::decode("mesos.internal.Other", b""), Ok(None));
    }

    #[test]
    fn roles_come_from_roles_or_role_or_star_and_never_both() {
        let gate = gate(r#"{"permissive": true}"#);
        let registry = authenticated(FROM, "p");
        let ip = "127.0.0.1".parse().unwrap();
        let roles = |request| match gate.decide(&request, FROM, ip, &registry, &master()).verdict {
            RegistrationVerdict::FrameworkRegistered { roles, .. } => roles,
            other => panic!("{other:?}"),
        };
        assert_eq!(roles(framework(None, None, &[])), ["*"]);
        assert_eq!(roles(framework(None, Some("a"), &[])), ["a"]);
        assert_eq!(roles(framework(None, None, &["a", "b"])), ["a", "b"]);
        let both = gate.decide(&framework(None, Some("a"), &["b"]), FROM, ip, &registry, &master());
        assert_eq!(denial(&both), &Denial::InvalidRoles);
        assert_eq!(both.reply_name, "mesos.internal.FrameworkErrorMessage");
    }

    #[test]
    fn every_role_must_be_allowed() {
        let gate = gate(
            r#"{"permissive": false, "register_frameworks": [
                {"principals": {"values": ["p"]}, "roles": {"values": ["a"]}}]}"#,
        );
        let registry = authenticated(FROM, "p");
        let ip = "127.0.0.1".parse().unwrap();
        let master = &master();
        assert!(gate.decide(&framework(None, None, &["a"]), FROM, ip, &registry, master).verdict.registered());
        let answer = gate.decide(&framework(None, None, &["a", "b"]), FROM, ip, &registry, master);
        assert!(matches!(denial(&answer), Denial::NotAuthorized(_)));
    }

    #[test]
    fn a_sender_whose_claimed_ip_is_not_its_connections_is_denied() {
        let gate = gate(r#"{"permissive": true}"#);
        let registry = authenticated(FROM, "p");
        let answer = gate.decide(&framework(None, None, &[]), FROM, "10.0.0.9".parse().unwrap(), &registry, &master());
        assert!(matches!(denial(&answer), Denial::PeerAddressMismatch { .. }));
        let trusting = gate.with_peer_binding(PeerBinding::TrustClaimedAddress);
        let answer =
            trusting.decide(&framework(None, None, &[]), FROM, "10.0.0.9".parse().unwrap(), &registry, &master());
        assert!(answer.verdict.registered());
    }

    #[test]
    fn agents_are_decided_by_register_agents_and_denied_with_a_shutdown() {
        let gate = gate(
            r#"{"permissive": false, "register_agents": [
                {"principals": {"values": ["agent"]}, "agents": {"type": "ANY"}}]}"#,
        );
        let ip = "127.0.0.1".parse().unwrap();
        let master = &master();
        let agent = RegistrationRequest(Registrant::Agent(SlaveInfo { hostname: Some("h".into()) }));
        let ok = gate.decide(&agent, FROM, ip, &authenticated(FROM, "agent"), master);
        assert!(matches!(&ok.verdict, RegistrationVerdict::AgentRegistered { agent_id, .. } if agent_id == "M-S0"));
        assert_eq!(ok.reply_name, "mesos.internal.SlaveRegisteredMessage");
        let refused = gate.decide(&agent, FROM, ip, &authenticated(FROM, "bob"), master);
        assert!(matches!(denial(&refused), Denial::NotAuthorized(_)));
        assert_eq!(refused.reply_name, "mesos.internal.ShutdownMessage");
        let text = ShutdownMessage::decode(refused.reply_body.as_slice()).unwrap().message;
        assert_eq!(text.as_deref(), Some("Agent is not authorized to register"));
        let unauthenticated = gate.decide(&agent, FROM, ip, &Registry::default(), master);
        assert_eq!(denial(&unauthenticated), &Denial::NotAuthenticated);
    }

    #[test]
    fn an_unknown_group_denies_and_the_peer_is_not_told_why() {
        let gate = gate(
            r#"{"permissive": true, "register_frameworks": [
                {"principals": {"values": ["ldap-group:cn=g,dc=example,dc=test"]}, "roles": {"type": "ANY"}}]}"#,
        );
        let answer = gate.decide(
            &framework(None, None, &[]),
            FROM,
            "127.0.0.1".parse().unwrap(),
            &authenticated(FROM, "p"),
            &master(),
        );
        assert!(matches!(denial(&answer), Denial::Undecidable(_)));
        let text = FrameworkErrorMessage::decode(answer.reply_body.as_slice()).unwrap().message;
        assert!(!text.contains("ldap") && !text.contains("directory"), "{text}");
    }

    fn with_id(principal: Option<&str>, id: &str) -> RegistrationRequest {
        let RegistrationRequest(Registrant::Framework(mut info)) = framework(principal, None, &[]) else {
            unreachable!()
        };
        info.id = Some(FrameworkId { value: id.to_owned() });
        RegistrationRequest(Registrant::Framework(info))
    }

    #[test]
    fn a_subscribe_with_an_id_keeps_it_and_is_answered_reregistered_with_a_complete_master_info() {
        let gate = gate(r#"{"permissive": true}"#);
        let registry = authenticated(FROM, "p");
        let ip = "127.0.0.1".parse().unwrap();
        let answer = gate.decide(&with_id(None, "OLD-MASTER-0007"), FROM, ip, &registry, &master());
        assert_eq!(
            answer.verdict,
            RegistrationVerdict::FrameworkReregistered {
                principal: "p".into(),
                roles: vec!["*".into()],
                framework_id: "OLD-MASTER-0007".into()
            }
        );
        assert_eq!(answer.reply_name, "mesos.internal.FrameworkReregisteredMessage");
        let message = FrameworkReregisteredMessage::decode(answer.reply_body.as_slice()).unwrap();
        assert_eq!(message.framework_id.value, "OLD-MASTER-0007");
        let info = MasterInfo::from_protobuf(&message.master_info).unwrap();
        assert_eq!(info, master());
        assert_eq!(info.pid.to_string(), "master@127.0.0.1:5050");
        assert_eq!(info.version.as_deref(), Some(crate::zookeeper::ADVERTISED_MESOS_VERSION));
        // A first registration's answer carries the same complete MasterInfo.
        let first = gate.decide(&framework(None, None, &[]), FROM, ip, &registry, &master());
        let message = FrameworkRegisteredMessage::decode(first.reply_body.as_slice()).unwrap();
        assert_eq!(MasterInfo::from_protobuf(&message.master_info).unwrap(), master());
    }

    #[test]
    fn a_reregistration_goes_through_the_same_checks() {
        let gate = gate(
            r#"{"permissive": false, "register_frameworks": [
                {"principals": {"values": ["p"]}, "roles": {"values": ["*"]}}]}"#,
        );
        let ip = "127.0.0.1".parse().unwrap();
        let unauthenticated = gate.decide(&with_id(None, "F-1"), FROM, ip, &Registry::default(), &master());
        assert_eq!(denial(&unauthenticated), &Denial::NotAuthenticated);
        let mismatch = gate.decide(&with_id(Some("q"), "F-1"), FROM, ip, &authenticated(FROM, "p"), &master());
        assert!(matches!(denial(&mismatch), Denial::PrincipalMismatch { .. }));
        let denied = gate.decide(&with_id(None, "F-1"), FROM, ip, &authenticated(FROM, "bob"), &master());
        assert!(matches!(denial(&denied), Denial::NotAuthorized(_)));
        assert_eq!(denied.reply_name, "mesos.internal.FrameworkErrorMessage");
    }

    #[test]
    fn an_unusable_or_anothers_framework_id_is_denied() {
        let gate = gate(r#"{"permissive": true}"#);
        let ip = "127.0.0.1".parse().unwrap();
        let registry = authenticated(FROM, "p");
        let long = "x".repeat(MAX_FRAMEWORK_ID_LEN + 1);
        for bad in ["", "a b", "a/b", "a\nb", "\u{7f}", long.as_str(), "é"] {
            let answer = gate.decide(&with_id(None, bad), FROM, ip, &registry, &master());
            assert!(matches!(denial(&answer), Denial::InvalidFrameworkId { .. }), "{bad:?}");
            assert_eq!(answer.reply_name, "mesos.internal.FrameworkErrorMessage");
        }
        let longest = "x".repeat(MAX_FRAMEWORK_ID_LEN);
        assert!(gate.decide(&with_id(None, &longest), FROM, ip, &registry, &master()).verdict.registered());

        // An id given to p cannot be taken by q in the same term; p keeps it.
        let given = match gate.decide(&framework(None, None, &[]), FROM, ip, &registry, &master()).verdict {
            RegistrationVerdict::FrameworkRegistered { framework_id, .. } => framework_id,
            other => panic!("{other:?}"),
        };
        let other = authenticated(FROM, "q");
        let taken = gate.decide(&with_id(None, &given), FROM, ip, &other, &master());
        assert_eq!(denial(&taken), &Denial::FrameworkIdOwned { id: given.clone() });
        assert!(gate.decide(&with_id(None, &given), FROM, ip, &registry, &master()).verdict.registered());
        // A new term (the master stepped down) starts empty.
        gate.forget_frameworks();
        assert!(gate.decide(&with_id(None, &given), FROM, ip, &other, &master()).verdict.registered());
    }
}
