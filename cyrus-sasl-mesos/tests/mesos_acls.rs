//! Mesos ACLs decided as Mesos's local authorizer decides them: Mesos's own
//! authorizer test scenarios (apache/mesos src/tests/authorization_tests.cpp,
//! their ACLs and expected outcomes) and the module docs' example, as table
//! tests; then bad ACL files and reloading.
//!
//! Group membership here comes from a fixed table (the decision logic is pure);
//! tests/ldap.rs runs group rules against a real slapd.

use std::collections::HashMap;
use std::io::Write as _;

use cyrus_sasl_mesos::FileErrorKind;
use cyrus_sasl_mesos::authorization::{
    AclFile, Acls, AuthorizationError, Basis, GroupDirectory, GroupLookupError, MAX_ACLS_FILE_SIZE, Request,
};

/// What is asked, in the table's words.
#[derive(Debug, Clone, Copy)]
enum Ask {
    /// register_frameworks: principal, role.
    Role(Option<&'static str>, &'static str),
    /// register_frameworks with several roles.
    Roles(Option<&'static str>, &'static [&'static str]),
    /// run_tasks: principal, user.
    User(Option<&'static str>, Option<&'static str>),
    /// register_agents: principal.
    Agent(Option<&'static str>),
    /// teardown_frameworks: principal, framework principal.
    Teardown(Option<&'static str>, Option<&'static str>),
}

impl Ask {
    fn request(self) -> Request<'static> {
        match self {
            Ask::Role(p, role) => Request::register_framework(p, [role]),
            Ask::Roles(p, roles) => Request::register_framework(p, roles.iter().copied()),
            Ask::User(p, user) => Request::run_task(p, user),
            Ask::Agent(p) => Request::register_agent(p),
            Ask::Teardown(p, fp) => Request::teardown_framework(p, fp),
        }
    }
}

const ALLOW: bool = true;
const DENY: bool = false;

/// One scenario: ACLs and the decisions expected under them.
struct Scenario {
    name: &'static str,
    acls: &'static str,
    rows: &'static [(Ask, bool)],
}

use Ask::*;

/// Mesos's `AuthorizationTest` cases for the four actions, with their ACLs and
/// every expected outcome (the JSON is the `--acls` form of the protobuf ACLs
/// each test builds). REGISTER_FRAMEWORK and REGISTER_FRAMEWORK_WITH_ROLE rows
/// ask the same question here and are listed once.
const MESOS_SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "AnyPrincipalRunAsUser",
        acls: r#"{"run_tasks": [{"principals": {"type": "ANY"}, "users": {"values": ["guest"]}}]}"#,
        rows: &[(User(Some("foo"), Some("guest")), ALLOW), (User(Some("foo"), Some("root")), ALLOW)],
    },
    Scenario {
        name: "NoPrincipalRunAsUser",
        acls: r#"{"run_tasks": [{"principals": {"type": "NONE"}, "users": {"values": ["root"]}}]}"#,
        rows: &[(User(Some("foo"), Some("root")), DENY)],
    },
    Scenario {
        name: "PrincipalRunAsAnyUser",
        acls: r#"{"permissive": false,
                  "run_tasks": [{"principals": {"values": ["foo"]}, "users": {"type": "ANY"}}]}"#,
        rows: &[(User(Some("foo"), Some("user1")), ALLOW), (User(Some("foo"), Some("user2")), ALLOW)],
    },
    Scenario {
        name: "AnyPrincipalRunAsAnyUser",
        acls: r#"{"permissive": false,
                  "run_tasks": [{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}]}"#,
        rows: &[
            (User(Some("foo"), Some("user1")), ALLOW),
            (User(Some("foo"), Some("user2")), ALLOW),
            (User(Some("bar"), Some("user1")), ALLOW),
            (User(Some("bar"), Some("user2")), ALLOW),
        ],
    },
    Scenario {
        name: "OnlySomePrincipalsRunAsSomeUsers",
        acls: r#"{"run_tasks": [
                    {"principals": {"values": ["foo", "bar"]}, "users": {"values": ["user1", "user2"]}},
                    {"principals": {"type": "NONE"}, "users": {"values": ["user1", "user2"]}}]}"#,
        rows: &[
            (User(Some("foo"), Some("user1")), ALLOW),
            (User(Some("foo"), Some("user2")), ALLOW),
            (User(Some("bar"), Some("user1")), ALLOW),
            (User(Some("bar"), Some("user2")), ALLOW),
            (User(Some("baz"), Some("user1")), DENY),
            (User(Some("baz"), Some("user2")), DENY),
        ],
    },
    Scenario {
        name: "SomePrincipalOnlySomeUser",
        acls: r#"{"run_tasks": [
                    {"principals": {"values": ["foo"]}, "users": {"values": ["user1"]}},
                    {"principals": {"values": ["foo"]}, "users": {"type": "NONE"}}]}"#,
        rows: &[
            (User(Some("foo"), Some("user1")), ALLOW),
            (User(Some("foo"), Some("user2")), DENY),
            (User(Some("bar"), Some("user1")), ALLOW),
            (User(Some("bar"), Some("user2")), ALLOW),
        ],
    },
    Scenario {
        name: "PrincipalRunAsSomeUserRestrictive",
        acls: r#"{"permissive": false,
                  "run_tasks": [{"principals": {"values": ["foo"]}, "users": {"values": ["user1"]}}]}"#,
        rows: &[
            (User(Some("foo"), Some("user1")), ALLOW),
            (User(Some("foo"), Some("user2")), DENY),
            (User(Some("bar"), Some("user2")), DENY),
        ],
    },
    Scenario {
        name: "AnyPrincipalOfferedRole",
        acls: r#"{"register_frameworks": [{"principals": {"type": "ANY"}, "roles": {"values": ["*"]}}]}"#,
        rows: &[(Role(Some("foo"), "*"), ALLOW), (Role(Some("bar"), "*"), ALLOW)],
    },
    Scenario {
        name: "SomePrincipalsOfferedRole",
        acls: r#"{"register_frameworks": [{"principals": {"values": ["foo", "bar"]}, "roles": {"values": ["ads"]}}]}"#,
        rows: &[
            (Role(Some("foo"), "ads"), ALLOW),
            (Role(Some("bar"), "ads"), ALLOW),
            (Role(Some("baz"), "ads"), ALLOW),
        ],
    },
    Scenario {
        name: "PrincipalOfferedRole",
        acls: r#"{"register_frameworks": [
                    {"principals": {"values": ["foo"]}, "roles": {"values": ["analytics"]}},
                    {"principals": {"type": "NONE"}, "roles": {"values": ["analytics"]}}]}"#,
        rows: &[(Role(Some("foo"), "analytics"), ALLOW), (Role(Some("bar"), "analytics"), DENY)],
    },
    Scenario {
        name: "PrincipalNotOfferedAnyRoleRestrictive",
        acls: r#"{"permissive": false,
                  "register_frameworks": [{"principals": {"values": ["foo"]}, "roles": {"values": ["analytics"]}}]}"#,
        rows: &[
            (Role(Some("foo"), "analytics"), ALLOW),
            (Role(Some("bar"), "analytics"), DENY),
            (Role(Some("bar"), "ads"), DENY),
        ],
    },
    Scenario {
        name: "RegisterFrameworkHierarchical",
        acls: r#"{"register_frameworks": [
                    {"principals": {"values": ["elizabeth-ii"]}, "roles": {"values": ["king/%", "king"]}},
                    {"principals": {"values": ["charles"]}, "roles": {"values": ["king/%"]}},
                    {"principals": {"values": ["j-welby"]}, "roles": {"values": ["king"]}},
                    {"principals": {"type": "ANY"}, "roles": {"type": "NONE"}}]}"#,
        rows: &[
            (Role(Some("elizabeth-ii"), "king"), ALLOW),
            (Role(Some("elizabeth-ii"), "king/prince"), ALLOW),
            (Role(Some("elizabeth-ii"), "king/prince/duke"), ALLOW),
            (Role(Some("charles"), "king"), DENY),
            (Role(Some("charles"), "king/prince"), ALLOW),
            (Role(Some("charles"), "king/prince/duke"), ALLOW),
            (Role(Some("j-welby"), "king"), ALLOW),
            (Role(Some("j-welby"), "king/prince"), DENY),
            (Role(Some("j-welby"), "king/prince/duke"), DENY),
        ],
    },
    Scenario {
        name: "RegisterAgent",
        acls: r#"{"register_agents": [
                    {"principals": {"values": ["foo"]}, "agents": {"type": "ANY"}},
                    {"principals": {"type": "ANY"}, "agents": {"type": "NONE"}}]}"#,
        rows: &[(Agent(Some("foo")), ALLOW), (Agent(Some("bar")), DENY)],
    },
    Scenario {
        name: "OptionalObject",
        acls: r#"{"teardown_frameworks": [
                    {"principals": {"values": ["foo"]}, "framework_principals": {"type": "ANY"}},
                    {"principals": {"type": "ANY"}, "framework_principals": {"type": "NONE"}}]}"#,
        rows: &[(Teardown(Some("foo"), None), ALLOW), (Teardown(Some("bar"), None), DENY)],
    },
];

/// Rows read from the local authorizer's code (authorizer.cpp) rather than its
/// tests: a request without a principal is the subject ANY, which only ANY and
/// NONE entities match; an object that is not given is ANY likewise; every role
/// of a framework must be allowed on its own.
const CODE_SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "no principal is subject ANY",
        acls: r#"{"permissive": false, "run_tasks": [
                    {"principals": {"values": ["foo"]}, "users": {"type": "ANY"}},
                    {"principals": {"type": "ANY"}, "users": {"values": ["nobody"]}},
                    {"principals": {"type": "NONE"}, "users": {"values": ["root"]}}]}"#,
        rows: &[
            (User(None, Some("guest")), DENY),
            (User(None, Some("nobody")), ALLOW),
            (User(None, Some("root")), DENY),
            (User(Some("foo"), Some("root")), ALLOW),
        ],
    },
    Scenario {
        name: "no principal, permissive",
        acls: r#"{"register_frameworks": [{"principals": {"values": ["foo"]}, "roles": {"type": "NONE"}}]}"#,
        // A values rule never matches a request without a principal.
        rows: &[(Role(None, "ads"), ALLOW), (Role(Some("foo"), "ads"), DENY)],
    },
    Scenario {
        name: "no user given is object ANY",
        acls: r#"{"run_tasks": [
                    {"principals": {"values": ["foo"]}, "users": {"values": ["guest"]}},
                    {"principals": {"values": ["foo"]}, "users": {"type": "NONE"}}]}"#,
        rows: &[(User(Some("foo"), None), DENY), (User(Some("bar"), None), ALLOW)],
    },
    Scenario {
        name: "every role must be allowed",
        acls: r#"{"permissive": false, "register_frameworks": [
                    {"principals": {"values": ["foo"]}, "roles": {"values": ["a", "b"]}}]}"#,
        rows: &[
            (Roles(Some("foo"), &["a", "b"]), ALLOW),
            (Roles(Some("foo"), &["a", "c"]), DENY),
            (Roles(Some("foo"), &[]), DENY),
        ],
    },
    Scenario {
        name: "recursive role patterns exist only for roles",
        acls: r#"{"permissive": false, "run_tasks": [
                    {"principals": {"values": ["foo"]}, "users": {"values": ["web/%"]}}]}"#,
        rows: &[(User(Some("foo"), Some("web/x")), DENY), (User(Some("foo"), Some("web/%")), ALLOW)],
    },
];

const FRAMEWORKS: &str = "cn=frameworks,ou=groups,dc=example,dc=test";

/// The module docs' example file.
const DOCS_EXAMPLE: &str = r#"{
  "permissive": false,
  "register_frameworks": [
    {"principals": {"values": ["alice"]}, "roles": {"values": ["analytics", "prod/%"]}},
    {"principals": {"values": ["ldap-group:cn=frameworks,ou=groups,dc=example,dc=test"]},
     "roles": {"values": ["dev"]}},
    {"principals": {"type": "NONE"}, "roles": {"values": ["analytics"]}},
    {"principals": {"type": "ANY"}, "roles": {"values": ["*"]}}
  ],
  "register_agents": [
    {"principals": {"values": ["agent"]}, "agents": {"type": "ANY"}},
    {"principals": {"type": "ANY"}, "agents": {"type": "NONE"}}
  ]
}"#;

/// Group membership from a fixed table: alice is in `frameworks`.
struct Groups(HashMap<&'static str, Vec<&'static str>>);

impl Groups {
    fn example() -> Groups {
        Groups(HashMap::from([(FRAMEWORKS, vec!["alice"])]))
    }
}

impl GroupDirectory for Groups {
    fn is_member(&self, group_dn: &str, principal: &str) -> Result<bool, GroupLookupError> {
        self.0.get(group_dn).map(|m| m.contains(&principal)).ok_or(GroupLookupError::NoSuchGroup)
    }
}

/// Runs every row, returns the rows that came out wrong.
fn run(scenarios: &[Scenario], groups: &dyn GroupDirectory) -> (usize, Vec<String>) {
    let mut count = 0;
    let mut wrong = Vec::new();
    for scenario in scenarios {
        let acls = Acls::from_json(scenario.acls).unwrap_or_else(|e| panic!("{}: {e}", scenario.name));
        for (ask, expected) in scenario.rows {
            count += 1;
            match acls.decide_with(&ask.request(), groups) {
                Ok(decision) if decision.allowed == *expected => {}
                Ok(decision) => {
                    wrong.push(format!("{}: {ask:?}: expected allowed={expected}, got {decision}", scenario.name))
                }
                Err(e) => wrong.push(format!("{}: {ask:?}: {e}", scenario.name)),
            }
        }
    }
    (count, wrong)
}

#[test]
fn mesos_authorizer_test_scenarios_decide_as_in_mesos() {
    let (count, wrong) = run(MESOS_SCENARIOS, &Groups::example());
    assert_eq!(count, 45, "every row of the table ran");
    assert!(wrong.is_empty(), "{} of {count} rows wrong:\n{}", wrong.len(), wrong.join("\n"));
}

#[test]
fn local_authorizer_code_rules_decide_as_in_mesos() {
    let (count, wrong) = run(CODE_SCENARIOS, &Groups::example());
    assert_eq!(count, 13, "every row of the table ran");
    assert!(wrong.is_empty(), "{} of {count} rows wrong:\n{}", wrong.len(), wrong.join("\n"));
}

#[test]
fn the_module_docs_example_table() {
    let acls = Acls::from_json(DOCS_EXAMPLE).unwrap();
    let groups = Groups::example();
    let rule = |index| Some(index);
    let rows: &[(Ask, bool, Option<usize>)] = &[
        (Role(Some("alice"), "analytics"), ALLOW, rule(0)),
        (Role(Some("alice"), "prod/web"), ALLOW, rule(0)),
        (Role(Some("alice"), "prod"), DENY, None),
        (Role(Some("bob"), "analytics"), DENY, rule(2)),
        (Role(Some("alice"), "dev"), ALLOW, rule(1)),
        (Role(Some("bob"), "dev"), DENY, None),
        (Role(Some("bob"), "*"), ALLOW, rule(3)),
        (Role(None, "*"), ALLOW, rule(3)),
        (Role(None, "analytics"), DENY, rule(2)),
        (Agent(Some("agent")), ALLOW, rule(0)),
        (Agent(Some("bob")), DENY, rule(1)),
    ];
    for (ask, allowed, by) in rows {
        let decision = acls.decide_with(&ask.request(), &groups).unwrap();
        assert_eq!(decision.allowed, *allowed, "{ask:?}: {decision}");
        match (&decision.basis, by) {
            (Basis::Rule { index, .. }, Some(by)) => assert_eq!(index, by, "{ask:?}: {decision}"),
            (Basis::Permissive { .. }, None) => {}
            (basis, by) => panic!("{ask:?}: decided by {basis:?}, expected rule {by:?}"),
        }
    }
}

#[test]
fn decisions_without_a_directory_fail_closed_only_where_a_group_could_apply() {
    let acls = Acls::from_json(DOCS_EXAMPLE).unwrap();
    // Rule 1 names a group; with no directory, a request that reaches it cannot
    // be decided, and the error names the group and the principal.
    let err = acls.decide(&Request::register_framework(Some("bob"), ["dev"])).unwrap_err();
    let AuthorizationError::GroupLookup { group, principal, source } = &err else { panic!("{err:?}") };
    assert_eq!((group.as_str(), principal.as_str()), (FRAMEWORKS, "bob"));
    assert_eq!(*source, GroupLookupError::NoDirectory);
    // A rule whose objects do not match is skipped without a lookup, and one
    // that lists the principal by name needs none.
    assert!(acls.decide(&Request::register_framework(Some("alice"), ["analytics"])).unwrap().allowed);
    assert!(!acls.decide(&Request::register_framework(Some("bob"), ["analytics"])).unwrap().allowed);
    assert!(acls.decide(&Request::register_agent(Some("agent"))).unwrap().allowed);
    // A group in a NONE-like position: a failed lookup is never an allow.
    let deny_group = Acls::from_json(
        r#"{"run_tasks": [{"principals": {"values": ["ldap-group:cn=banned,dc=x"]}, "users": {"type": "NONE"}}]}"#,
    )
    .unwrap();
    assert!(deny_group.decide(&Request::run_task(Some("mallory"), Some("root"))).is_err());
    // An unknown group is an error, not an empty group.
    assert!(matches!(
        deny_group.decide_with(&Request::run_task(Some("mallory"), Some("root")), &Groups::example()),
        Err(AuthorizationError::GroupLookup { source: GroupLookupError::NoSuchGroup, .. })
    ));
    assert!(deny_group.uses_groups());
    assert!(!Acls::from_json(MESOS_SCENARIOS[0].acls).unwrap().uses_groups());
}

#[test]
fn no_acls_allow_everything_as_mesos_without_acls() {
    for acls in [Acls::default(), Acls::from_json("{}").unwrap()] {
        assert!(acls.permissive());
        assert!(acls.decide(&Request::register_agent(None)).unwrap().allowed);
        assert!(acls.decide(&Request::run_task(Some("x"), Some("root"))).unwrap().allowed);
    }
    let restrictive = Acls::from_json(r#"{"permissive": false}"#).unwrap();
    assert!(!restrictive.decide(&Request::register_agent(Some("agent"))).unwrap().allowed);
}

// ---------------------------------------------------------------------------
// Bad files.

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

/// (what, file text, line, field, a word the message must contain)
const BAD_FILES: &[(&str, &str, usize, &str, &str)] = &[
    (
        "unknown action",
        "{\n  \"register_framework\": []\n}",
        2,
        "register_framework",
        "unknown field `register_framework`",
    ),
    (
        "an action Mesos has but this crate does not decide",
        "{\"get_endpoints\": []}",
        1,
        "get_endpoints",
        "unknown field `get_endpoints`",
    ),
    ("permissive not a boolean", "{\n\"permissive\": \"yes\"\n}", 2, "permissive", "invalid type"),
    (
        "values not a list",
        "{\"register_frameworks\": [\n  {\"principals\": {\"values\": \"alice\"},\n   \"roles\": {\"type\": \"ANY\"}}]}",
        2,
        "register_frameworks[0].principals.values",
        "invalid type",
    ),
    ("rules not a list", "{\"run_tasks\": {\"principals\": {\"type\": \"ANY\"}}}", 1, "run_tasks", "invalid type"),
    (
        "empty principal list",
        "{\"run_tasks\": [\n {\"principals\": {\"values\": []},\n  \"users\": {\"type\": \"ANY\"}}]}",
        2,
        "run_tasks[0].principals",
        "empty",
    ),
    (
        "entity with neither type nor values",
        "{\"run_tasks\": [{\"principals\": {}, \"users\": {\"type\": \"ANY\"}}]}",
        1,
        "run_tasks[0].principals",
        "no \"values\"",
    ),
    (
        "missing entity",
        "{\"run_tasks\": [\n{\"principals\": {\"type\": \"ANY\"}}\n]}",
        2,
        "run_tasks[0]",
        "missing field `users`",
    ),
    (
        "unknown entity type",
        "{\"run_tasks\": [{\"principals\": {\"type\": \"SOMEONE\"}, \"users\": {\"type\": \"ANY\"}}]}",
        1,
        "run_tasks[0].principals.type",
        "unknown variant `SOMEONE`",
    ),
    (
        "values with type ANY",
        "{\"run_tasks\": [{\"principals\": {\"type\": \"ANY\", \"values\": [\"a\"]}, \"users\": {\"type\": \"ANY\"}}]}",
        1,
        "run_tasks[0].principals",
        "ANY or NONE",
    ),
    (
        "agents with values",
        "{\"register_agents\": [\n{\"principals\": {\"values\": [\"foo\"]},\n \"agents\": {\"values\": [\"yoda\"]}}]}",
        3,
        "register_agents[0].agents",
        "implicitly",
    ),
    // The field path of a duplicate is its parent; the message names the key.
    ("duplicate key", "{\"permissive\": true,\n \"permissive\": false}", 2, "", "duplicate field `permissive`"),
    (
        "duplicate key in an entity",
        "{\"run_tasks\": [{\"principals\": {\"type\": \"ANY\", \"type\": \"NONE\"}, \"users\": {\"type\": \"ANY\"}}]}",
        1,
        "run_tasks[0].principals",
        "duplicate field `type`",
    ),
    (
        "empty group",
        "{\"run_tasks\": [{\"principals\": {\"values\": [\"ldap-group:\"]}, \"users\": {\"type\": \"ANY\"}}]}",
        1,
        "run_tasks[0].principals",
        "names no group",
    ),
    (
        "empty principal",
        "{\"run_tasks\": [{\"principals\": {\"values\": [\"\"]}, \"users\": {\"type\": \"ANY\"}}]}",
        1,
        "run_tasks[0].principals",
        "empty",
    ),
    ("not JSON", "permissive: false\n", 1, "", "expected value"),
    ("trailing text", "{}\n{}", 2, "", "trailing characters"),
    ("empty file", "", 1, "", "EOF"),
];

#[test]
fn bad_acl_files_are_errors_naming_file_line_and_field() {
    let dir = tempfile::tempdir().unwrap();
    for (what, text, line, field, word) in BAD_FILES {
        let path = write(&dir, "acls.json", text);
        let e = Acls::read(&path).expect_err(what);
        assert_eq!(e.path.as_deref(), Some(path.as_path()), "{what}");
        assert_eq!(e.line, *line, "{what}: {e}");
        assert_eq!(e.acls_problem().expect("an ACL problem").field, *field, "{what}: {e}");
        let shown = e.to_string();
        assert!(shown.contains(word), "{what}: {shown:?} should say {word:?}");
        assert!(shown.contains(&path.display().to_string()), "{what}: {shown}");
        let names_line = |end: &str| shown.contains(&format!("line {line}{end}"));
        assert!(names_line(" ") || names_line(":"), "{what}: {shown}");
        if !field.is_empty() {
            assert!(shown.contains(&format!("field {field}:")), "{what}: {shown}");
        }
    }
}

#[test]
fn a_huge_acl_file_is_refused_before_it_is_read_whole() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("huge.json");
    let mut file = std::fs::File::create(&path).unwrap();
    // Valid JSON all the way: only the size is wrong.
    file.write_all(b"{\"run_tasks\": [").unwrap();
    let rule = br#"{"principals": {"type": "ANY"}, "users": {"type": "ANY"}},"#;
    let mut written = 0;
    while written <= MAX_ACLS_FILE_SIZE {
        file.write_all(rule).unwrap();
        written += rule.len() as u64;
    }
    file.write_all(br#"{"principals": {"type": "ANY"}, "users": {"type": "ANY"}}]}"#).unwrap();
    drop(file);
    let e = Acls::read(&path).unwrap_err();
    assert!(matches!(e.kind, FileErrorKind::TooLarge { limit: MAX_ACLS_FILE_SIZE }), "{e:?}");
    assert!(e.to_string().contains("huge.json"), "{e}");
}

#[test]
fn a_missing_file_and_the_file_url_form() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    let e = Acls::read(&missing).unwrap_err();
    assert_eq!(e.io_kind(), Some(std::io::ErrorKind::NotFound), "{e:?}");
    assert!(e.to_string().contains("nope.json"), "{e}");
    let path = write(&dir, "acls.json", r#"{"permissive": false}"#);
    let acls = Acls::read(format!("file://{}", path.display())).unwrap();
    assert!(!acls.permissive());
}

#[test]
fn reload_swaps_good_files_in_and_keeps_the_previous_acls_on_error() {
    let dir = tempfile::tempdir().unwrap();
    let allow_foo = r#"{"permissive": false,
        "register_agents": [{"principals": {"values": ["foo"]}, "agents": {"type": "ANY"}}]}"#;
    let allow_bar = r#"{"permissive": false,
        "register_agents": [{"principals": {"values": ["bar"]}, "agents": {"type": "ANY"}}]}"#;
    let path = write(&dir, "acls.json", allow_foo);
    let file = AclFile::read(&path).unwrap();
    let may = |who| file.current().decide(&Request::register_agent(Some(who))).unwrap().allowed;
    assert!(may("foo") && !may("bar"));

    // Decisions in flight keep the ACLs they started with.
    let before = file.current();

    for bad in ["{\"permissive\": fals", r#"{"register_agents": [{"principals": {"values": []}}]}"#] {
        std::fs::write(&path, bad).unwrap();
        let e = file.reload().unwrap_err();
        assert!(e.to_string().contains("acls.json"), "{e}");
        assert!(may("foo") && !may("bar"), "the previous ACLs stay in force after {bad:?}");
    }
    std::fs::remove_file(&path).unwrap();
    assert!(file.reload().is_err());
    assert!(may("foo"), "a vanished file keeps the ACLs in force");

    std::fs::write(&path, allow_bar).unwrap();
    file.reload().unwrap();
    assert!(!may("foo") && may("bar"), "the new ACLs are in force");
    assert!(before.decide(&Request::register_agent(Some("foo"))).unwrap().allowed);
}
