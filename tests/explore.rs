mod common;
use common::*;
use cyrus_sasl::*;

#[test]
fn explore() {
    let _ = env_logger_init();
    let db = sasldb(&[("alice", "secret")]);
    let config = Sasldb::new(&db.path, REALM).config().with("mech_list", "CRAM-MD5").unwrap();
    let mut s = Server::new("test", "localhost", Some(REALM), &config).unwrap();
    let mut c = Client::new("test", "localhost", Credentials::new("alice", "secret"), &Config::new()).unwrap();
    println!("ok: {:?}", handshake(&mut c, &mut s));
    for (u, p) in [("alice", "wrong"), ("bob", "x"), ("alice@EXAMPLE.TEST", "secret")] {
        let mut s = Server::new("test", "localhost", Some(REALM), &config).unwrap();
        let mut c = Client::new("test", "localhost", Credentials::new(u, p), &Config::new()).unwrap();
        println!("{u}/{p}: {:?}", handshake(&mut c, &mut s));
    }
    for path in ["/nonexistent/db", "/tmp"] {
        let config = Sasldb::new(path, REALM).config().with("mech_list", "CRAM-MD5").unwrap();
        println!("{path}: {:?}", Server::new("test", "localhost", Some(REALM), &config).map(|_|()));
    }
    std::fs::write(db.dir.path().join("junk"), b"this is not a database at all, just junk bytes ...").unwrap();
    let config = Sasldb::new(db.dir.path().join("junk"), REALM).config().with("mech_list", "CRAM-MD5").unwrap();
    let mut s = Server::new("test", "localhost", Some(REALM), &config).unwrap();
    let mut c = Client::new("test", "localhost", Credentials::new("alice", "secret"), &Config::new()).unwrap();
    println!("junk: {:?}", handshake(&mut c, &mut s));
    let sdb = Sasldb::new(&db.path, REALM);
    println!("set new: {:?}", sdb.set_password("carol", &Secret::from("pw1")));
    println!("set existing: {:?}", sdb.set_password("carol", &Secret::from("pw2")));
    println!("users: {:?}", sasldblistusers2(&db.path));
    println!("delete: {:?}", sdb.delete_user("carol"));
    println!("delete missing: {:?}", sdb.delete_user("nobody"));
    println!("users: {:?}", sasldblistusers2(&db.path));
    let mut c = Client::new("test", "localhost", Credentials { authname: "alice".into(), ..Default::default() }, &Config::new()).unwrap();
    println!("nopass: {:?}", c.start("CRAM-MD5").map(|_| ()));
    println!("nopass step: {:?}", c.step(b"<1.2@x>").map(|_| ()));
    let r = Server::new("test", "localhost", Some(REALM), &Config::new().with("mech_list", "CRAM-MD5 FOO-BAR").unwrap());
    println!("foo: {:?}", r.map(|_|()));
    let mut s = Server::new("test", "localhost", Some(REALM), &config).unwrap();
    println!("start digest: {:?}", s.start("DIGEST-MD5", None).map(|_|()));
    let mut s = Server::new("test", "localhost", Some(REALM), &config).unwrap();
    println!("start nope: {:?}", s.start("NOPE", None).map(|_|()));
    let mut s = Server::new("test", "localhost", None, &Sasldb::new(&db.path, REALM).config()).unwrap();
    println!("all mechs: {:?}", s.mechanisms());
}
fn env_logger_init() {}
