//! The rules of a Mesos ACL file and the local authorizer's decision over them.

use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use serde::Deserialize;

use super::groups::{AuthorizationError, GroupDirectory, LDAP_GROUP_PREFIX, NoDirectory};
use crate::error::{AclsProblem, FileError, FileErrorKind};

/// Who (the subjects) or what (the objects) an ACL is about: Mesos's
/// `ACL.Entity`.
///
/// In JSON: `{"values": ["a", "b"]}` ([`Entity::Values`]), `{"type": "ANY"}`,
/// `{"type": "NONE"}`. In principals, a value `ldap-group:DN` stands for every
/// member of that LDAP group (see [`GroupDirectory`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entity {
    /// `SOME`: exactly these values (never empty).
    Values(Vec<String>),
    /// `ANY`: every value, and also a request that names none.
    Any,
    /// `NONE`: matches like `ANY`, but an ACL that a request matches through it
    /// denies that request (Mesos's way of writing "nobody" or "nothing").
    None,
}

/// An [`Entity`] as written in the file, before its checks.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntity {
    #[serde(rename = "type")]
    kind: Option<RawKind>,
    values: Option<Vec<String>>,
}

#[derive(Deserialize)]
enum RawKind {
    #[serde(rename = "SOME")]
    Some,
    #[serde(rename = "ANY")]
    Any,
    #[serde(rename = "NONE")]
    None,
}

impl<'de> Deserialize<'de> for Entity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = RawEntity::deserialize(deserializer)?;
        Entity::try_from(raw).map_err(serde::de::Error::custom)
    }
}

impl TryFrom<RawEntity> for Entity {
    type Error = String;

    fn try_from(raw: RawEntity) -> Result<Self, String> {
        match (raw.kind, raw.values) {
            (Some(RawKind::Any), None) => Ok(Entity::Any),
            (Some(RawKind::None), None) => Ok(Entity::None),
            (Some(RawKind::Any | RawKind::None), Some(_)) => Err("\"values\" given with type ANY or NONE: Mesos \
                 ignores them, so the rule would not mean what it says; remove one of them"
                .to_owned()),
            (Some(RawKind::Some) | None, None) => {
                Err("no \"values\" and no \"type\": an entity is {\"values\": [...]}, {\"type\": \"ANY\"} or \
                     {\"type\": \"NONE\"}"
                    .to_owned())
            }
            (Some(RawKind::Some) | None, Some(values)) => {
                if values.is_empty() {
                    return Err("an empty \"values\" list matches nothing, so the rule could never apply; \
                                write {\"type\": \"NONE\"} for nobody"
                        .to_owned());
                }
                if let Some(bad) = values.iter().find(|v| v.is_empty() || v.chars().any(char::is_control)) {
                    return Err(format!("value {bad:?} is empty or holds a control character"));
                }
                if let Some(bad) = values.iter().find(|v| v.strip_prefix(LDAP_GROUP_PREFIX).is_some_and(str::is_empty))
                {
                    return Err(format!("value {bad:?} names no group: write {LDAP_GROUP_PREFIX}DN"));
                }
                Ok(Entity::Values(values))
            }
        }
    }
}

/// The object entity of `register_agents`: Mesos allows only `ANY` and `NONE`
/// there (`ACL.RegisterAgent type must be either NONE or ANY`).
#[derive(Debug, Clone, PartialEq, Eq)]
struct ImplicitEntity(Entity);

impl<'de> Deserialize<'de> for ImplicitEntity {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Entity::deserialize(deserializer)? {
            Entity::Values(_) => Err(serde::de::Error::custom(
                "agents are given implicitly: only {\"type\": \"ANY\"} or {\"type\": \"NONE\"} is allowed here",
            )),
            entity => Ok(ImplicitEntity(entity)),
        }
    }
}

/// An action the rules can be about, named as in the ACL file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// `register_frameworks`: may PRINCIPAL register a framework in ROLE?
    RegisterFramework,
    /// `run_tasks`: may PRINCIPAL run tasks as (operating system) USER?
    RunTask,
    /// `register_agents`: may PRINCIPAL register an agent?
    RegisterAgent,
    /// `teardown_frameworks`: may PRINCIPAL tear down frameworks registered by
    /// FRAMEWORK_PRINCIPAL?
    TeardownFramework,
}

impl Action {
    /// The key of the action's list in the ACL file, e.g. `register_frameworks`.
    pub fn key(self) -> &'static str {
        match self {
            Action::RegisterFramework => "register_frameworks",
            Action::RunTask => "run_tasks",
            Action::RegisterAgent => "register_agents",
            Action::TeardownFramework => "teardown_frameworks",
        }
    }
}

impl fmt::Display for Action {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.key())
    }
}

/// One rule: its subjects (principals) and objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// The principals the rule is about.
    pub principals: Entity,
    /// The roles, users, agents or framework principals it is about.
    pub objects: Entity,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterFrameworkRule {
    principals: Entity,
    roles: Entity,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RunTaskRule {
    principals: Entity,
    users: Entity,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RegisterAgentRule {
    principals: Entity,
    agents: ImplicitEntity,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TeardownFrameworkRule {
    principals: Entity,
    framework_principals: Entity,
}

fn permissive_default() -> bool {
    true
}

/// The ACL file as written (Mesos's `ACLs` message in JSON).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAcls {
    #[serde(default = "permissive_default")]
    permissive: bool,
    #[serde(default)]
    register_frameworks: Vec<RegisterFrameworkRule>,
    #[serde(default)]
    run_tasks: Vec<RunTaskRule>,
    #[serde(default)]
    register_agents: Vec<RegisterAgentRule>,
    #[serde(default)]
    teardown_frameworks: Vec<TeardownFrameworkRule>,
}

/// Parsed Mesos ACLs: `permissive` and the rules of each [`Action`], in file
/// order. Immutable; [`AclFile`](super::AclFile) swaps whole `Acls` on reload.
///
/// See [the module docs](super) for how a decision is made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acls {
    permissive: bool,
    register_frameworks: Vec<Rule>,
    run_tasks: Vec<Rule>,
    register_agents: Vec<Rule>,
    teardown_frameworks: Vec<Rule>,
}

impl Default for Acls {
    /// No rules and `permissive: true`, as Mesos runs without `--acls`:
    /// everything is allowed.
    fn default() -> Self {
        Acls {
            permissive: true,
            register_frameworks: Vec::new(),
            run_tasks: Vec::new(),
            register_agents: Vec::new(),
            teardown_frameworks: Vec::new(),
        }
    }
}

impl From<RawAcls> for Acls {
    fn from(raw: RawAcls) -> Self {
        Acls {
            permissive: raw.permissive,
            register_frameworks: raw
                .register_frameworks
                .into_iter()
                .map(|r| Rule { principals: r.principals, objects: r.roles })
                .collect(),
            run_tasks: raw.run_tasks.into_iter().map(|r| Rule { principals: r.principals, objects: r.users }).collect(),
            register_agents: raw
                .register_agents
                .into_iter()
                .map(|r| Rule { principals: r.principals, objects: r.agents.0 })
                .collect(),
            teardown_frameworks: raw
                .teardown_frameworks
                .into_iter()
                .map(|r| Rule { principals: r.principals, objects: r.framework_principals })
                .collect(),
        }
    }
}

/// What is asked: an action, by a principal (or none), on objects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request<'a> {
    action: Action,
    principal: Option<&'a str>,
    /// One decision per object; `None` is "no object given" (Mesos's ANY).
    objects: Vec<Option<&'a str>>,
}

impl<'a> Request<'a> {
    /// May `principal` register a framework in every one of `roles`?
    ///
    /// As in Mesos, each role is decided on its own and all must be allowed; a
    /// framework with no roles at all is decided by `permissive`.
    pub fn register_framework(principal: Option<&'a str>, roles: impl IntoIterator<Item = &'a str>) -> Self {
        Request { action: Action::RegisterFramework, principal, objects: roles.into_iter().map(Some).collect() }
    }

    /// May `principal` run tasks as `user` (`None`: no user given)?
    pub fn run_task(principal: Option<&'a str>, user: Option<&'a str>) -> Self {
        Request { action: Action::RunTask, principal, objects: vec![user] }
    }

    /// May `principal` register an agent?
    pub fn register_agent(principal: Option<&'a str>) -> Self {
        Request { action: Action::RegisterAgent, principal, objects: vec![None] }
    }

    /// May `principal` tear down frameworks registered by `framework_principal`
    /// (`None`: any framework)?
    pub fn teardown_framework(principal: Option<&'a str>, framework_principal: Option<&'a str>) -> Self {
        Request { action: Action::TeardownFramework, principal, objects: vec![framework_principal] }
    }

    /// The action asked about.
    pub fn action(&self) -> Action {
        self.action
    }

    /// The principal asking, if any.
    pub fn principal(&self) -> Option<&'a str> {
        self.principal
    }
}

/// Why a decision came out as it did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Basis {
    /// The rule at this index (0-based, in file order) of the action's list
    /// was the first to match.
    Rule {
        /// The action whose list holds the rule.
        action: Action,
        /// Its index in that list.
        index: usize,
        /// The object the rule was matched for (a role, a user ...), if any.
        object: Option<String>,
    },
    /// No rule matched; `permissive` decided.
    Permissive {
        /// The object no rule matched, if any.
        object: Option<String>,
    },
}

/// The outcome of [`Acls::decide`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request is allowed.
    pub allowed: bool,
    /// What decided it (for a denial of several objects: the first denied one).
    pub basis: Basis,
}

impl fmt::Display for Basis {
    /// `register_frameworks[1] for "analytics"`, or `no rule matched "analytics"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let object = match self {
            Basis::Rule { action, index, object } => {
                write!(f, "{action}[{index}]")?;
                object.as_ref().map(|o| (" for", o))
            }
            Basis::Permissive { object } => {
                f.write_str("no rule matched")?;
                object.as_ref().map(|o| ("", o))
            }
        };
        match object {
            Some((word, object)) => write!(f, "{word} {object:?}"),
            None => Ok(()),
        }
    }
}

impl fmt::Display for Decision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let verdict = if self.allowed { "allowed" } else { "denied" };
        match &self.basis {
            Basis::Rule { .. } => write!(f, "{verdict} by {}", self.basis),
            Basis::Permissive { .. } => write!(f, "{verdict}: {} and permissive is {}", self.basis, self.allowed),
        }
    }
}

/// How a request entity (a principal, an object, or none) stands against an
/// ACL entity: whether the ACL matches it, and whether, matching, it allows it.
/// Mesos's `matches` and `allows` in one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fit {
    /// The ACL does not match: look at the next one.
    No,
    /// The ACL matches and allows.
    Allows,
    /// The ACL matches and denies.
    Denies,
}

impl Acls {
    /// Parses ACLs from JSON text (what Mesos's `--acls` takes inline). Errors
    /// name the line, column and field; [`AclFile`](super::AclFile) adds the file.
    pub fn from_json(text: &str) -> Result<Acls, FileError> {
        parse(text.as_bytes())
    }

    /// Reads and parses an ACL file; `path` may start with `file://` as
    /// Mesos's `--acls` flag allows. At most
    /// [`MAX_ACLS_FILE_SIZE`] bytes are read.
    /// [`AclFile`](super::AclFile) does the same and can reload.
    pub fn read(path: impl AsRef<Path>) -> Result<Acls, FileError> {
        read_acls(path.as_ref())
    }

    /// The `permissive` flag: the decision when no rule matches.
    pub fn permissive(&self) -> bool {
        self.permissive
    }

    /// The rules of `action`, in file order.
    pub fn rules(&self, action: Action) -> &[Rule] {
        match action {
            Action::RegisterFramework => &self.register_frameworks,
            Action::RunTask => &self.run_tasks,
            Action::RegisterAgent => &self.register_agents,
            Action::TeardownFramework => &self.teardown_frameworks,
        }
    }

    /// Whether any principal of any rule names an LDAP group, i.e. whether some
    /// decisions need a [`GroupDirectory`].
    pub fn uses_groups(&self) -> bool {
        [Action::RegisterFramework, Action::RunTask, Action::RegisterAgent, Action::TeardownFramework]
            .into_iter()
            .flat_map(|a| self.rules(a))
            .any(|r| matches!(&r.principals, Entity::Values(v) if v.iter().any(|v| v.starts_with(LDAP_GROUP_PREFIX))))
    }

    /// Decides `request` with no group directory: a rule that would need one
    /// (its principals name an `ldap-group:`, the object matches and the
    /// principal is not listed by name) makes the decision fail with
    /// [`AuthorizationError::GroupLookup`] whose source is
    /// [`GroupLookupError::NoDirectory`](super::GroupLookupError::NoDirectory), never allow.
    pub fn decide(&self, request: &Request<'_>) -> Result<Decision, AuthorizationError> {
        self.decide_with(request, &NoDirectory)
    }

    /// Decides `request` as Mesos's local authorizer does, asking `groups` about
    /// `ldap-group:` principals (see [the module docs](super)).
    ///
    /// This may block on `groups` (an LDAP lookup). An `Err` is a denial:
    /// the caller must deny; the error says which group could not be read.
    pub fn decide_with(
        &self,
        request: &Request<'_>,
        groups: &dyn GroupDirectory,
    ) -> Result<Decision, AuthorizationError> {
        if request.objects.is_empty() {
            // A framework with no roles: Mesos lets `permissive` decide.
            return Ok(Decision { allowed: self.permissive, basis: Basis::Permissive { object: None } });
        }
        let rules = self.rules(request.action);
        let mut last = None;
        for object in &request.objects {
            let decision = self.decide_one(request.action, rules, request.principal, *object, groups)?;
            if !decision.allowed {
                return Ok(decision);
            }
            last = Some(decision);
        }
        Ok(last.expect("at least one object"))
    }

    fn decide_one(
        &self,
        action: Action,
        rules: &[Rule],
        principal: Option<&str>,
        object: Option<&str>,
        groups: &dyn GroupDirectory,
    ) -> Result<Decision, AuthorizationError> {
        let hierarchical = action == Action::RegisterFramework;
        for (index, rule) in rules.iter().enumerate() {
            // The object first: it never needs the directory, so a rule about
            // other objects is skipped without a lookup.
            let object_fit = fit(object, &rule.objects, |value, wanted| {
                Ok(value == wanted || (hierarchical && nested_role(value, wanted)))
            })?;
            if object_fit == Fit::No {
                continue;
            }
            let subject_fit =
                fit(principal, &rule.principals, |value, principal| match value.strip_prefix(LDAP_GROUP_PREFIX) {
                    Some(group) => groups.is_member(group, principal).map_err(|source| {
                        log::warn!(
                            target: LOG_TARGET,
                            "cannot decide {action} for principal {principal:?}: membership of LDAP group \
                             {group:?} unknown ({source}); denying"
                        );
                        AuthorizationError::GroupLookup {
                            group: group.to_owned(),
                            principal: principal.to_owned(),
                            source,
                        }
                    }),
                    None => Ok(value == principal),
                })?;
            if subject_fit == Fit::No {
                continue;
            }
            let allowed = subject_fit == Fit::Allows && object_fit == Fit::Allows;
            return Ok(Decision { allowed, basis: Basis::Rule { action, index, object: object.map(str::to_owned) } });
        }
        Ok(Decision { allowed: self.permissive, basis: Basis::Permissive { object: object.map(str::to_owned) } })
    }
}

/// Parses the JSON of an ACL file (no file name in errors).
fn parse(bytes: &[u8]) -> Result<Acls, FileError> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let raw: RawAcls = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        // serde_path_to_error names the top level ".".
        let field = match e.path().to_string() {
            top if top == "." => String::new(),
            field => field,
        };
        json_error(e.into_inner(), field)
    })?;
    // Nothing but white space may follow the object.
    deserializer.end().map_err(|e| json_error(e, String::new()))?;
    Ok(Acls::from(raw))
}

fn json_error(inner: serde_json::Error, field: String) -> FileError {
    // serde_json appends " at line L column C"; the error has fields for that.
    let message = inner.to_string();
    let suffix = format!(" at line {} column {}", inner.line(), inner.column());
    let message = message.strip_suffix(&suffix).unwrap_or(&message).to_owned();
    FileError::at(inner.line(), inner.column(), FileErrorKind::Acls(AclsProblem { field, message }))
}

/// The largest ACL file read: 1 MiB. A rule takes about 100 bytes, so this is
/// room for some 10,000; anything bigger is a mistake (a wrong path, a device,
/// a generated file gone wrong), refused before it is read.
pub const MAX_ACLS_FILE_SIZE: u64 = 1 << 20;

/// Reads and parses an ACL file (see [`Acls::read`]).
fn read_acls(path: &Path) -> Result<Acls, FileError> {
    let path = path.to_str().and_then(|p| p.strip_prefix("file://")).map_or(path, Path::new);
    let error = |kind| FileError::new(Some(path.to_owned()), kind);
    let io = |e: std::io::Error| error(FileErrorKind::Io(e));
    let file = File::open(path).map_err(io)?;
    // Cap the read itself, not only the size the metadata claims (a FIFO or a
    // file that grows while it is read).
    let mut bytes = Vec::new();
    file.take(MAX_ACLS_FILE_SIZE + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > MAX_ACLS_FILE_SIZE {
        return Err(error(FileErrorKind::TooLarge { limit: MAX_ACLS_FILE_SIZE }));
    }
    parse(&bytes).map_err(|e| e.in_file(path))
}

/// The `log` target of authorization decisions that fail.
pub(super) const LOG_TARGET: &str = "cyrus_sasl_mesos::authorization";

/// Mesos's match and allow matrices for one request entity against one ACL
/// entity. `listed(acl_value, request_value)` says whether a listed value covers
/// the request's; it is asked about literal names first (so a principal listed
/// by name never needs a group lookup), then about the rest in order.
fn fit(
    request: Option<&str>,
    acl: &Entity,
    mut listed: impl FnMut(&str, &str) -> Result<bool, AuthorizationError>,
) -> Result<Fit, AuthorizationError> {
    Ok(match (request, acl) {
        // A request without a principal (or object) is ANY: only ANY and NONE
        // match it, and only ANY allows it.
        (None, Entity::Any) => Fit::Allows,
        (None, Entity::None) => Fit::Denies,
        (None, Entity::Values(_)) => Fit::No,
        (Some(_), Entity::Any) => Fit::Allows,
        (Some(_), Entity::None) => Fit::Denies,
        (Some(wanted), Entity::Values(values)) => {
            let (literal, groups): (Vec<&String>, Vec<&String>) =
                values.iter().partition(|v| !v.starts_with(LDAP_GROUP_PREFIX));
            let mut found = false;
            for value in literal.into_iter().chain(groups) {
                if listed(value, wanted)? {
                    found = true;
                    break;
                }
            }
            if found { Fit::Allows } else { Fit::No }
        }
    })
}

/// Whether `role` is nested under the recursive role pattern `pattern`
/// (`king/%` covers `king/prince` and `king/prince/duke`, not `king`), as in
/// Mesos's hierarchical role ACLs of `register_frameworks`.
fn nested_role(pattern: &str, role: &str) -> bool {
    pattern.strip_suffix('%').is_some_and(|prefix| prefix.ends_with('/') && role.starts_with(prefix))
}
