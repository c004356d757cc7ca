//! Endpoint options: libprocess's variables, and the advertised address in UPIDs.

use std::net::SocketAddr;

use libprocess::{Endpoint, EndpointOptions};

#[test]
fn options_from_the_libprocess_variables() {
    let vars = |pairs: &'static [(&'static str, &'static str)]| {
        move |name: &str| pairs.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
    };
    let options = EndpointOptions::from_vars(vars(&[
        ("LIBPROCESS_IP", "127.0.0.1"),
        ("LIBPROCESS_PORT", "5051"),
        ("LIBPROCESS_ADVERTISE_IP", "10.1.2.3"),
        ("LIBPROCESS_ADVERTISE_PORT", "31000"),
    ]))
    .unwrap();
    assert_eq!((options.bind_ip.to_string(), options.bind_port), ("127.0.0.1".into(), 5051));
    assert_eq!(options.advertise_ip.unwrap().to_string(), "10.1.2.3");
    assert_eq!(options.advertise_port, Some(31000));
    assert_eq!(EndpointOptions::from_vars(vars(&[])).unwrap(), EndpointOptions::default());
    let err = EndpointOptions::from_vars(vars(&[("LIBPROCESS_PORT", "50x")])).unwrap_err();
    assert_eq!(err.var, "LIBPROCESS_PORT");
    assert_eq!(err.to_string(), "LIBPROCESS_PORT=\"50x\" is not a port number: give a valid one, or unset it");
    assert!(EndpointOptions::from_vars(vars(&[("LIBPROCESS_ADVERTISE_IP", "example.com")])).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upids_use_the_advertised_address() {
    let options = EndpointOptions {
        advertise_ip: Some("10.9.8.7".parse().unwrap()),
        advertise_port: Some(4242),
        ..EndpointOptions::default()
    };
    let a = Endpoint::bind(options).await.unwrap();
    assert_eq!(a.advertised_addr(), "10.9.8.7:4242".parse::<SocketAddr>().unwrap());
    assert_eq!(a.spawn_process("x").unwrap().upid().to_string(), "x(1)@10.9.8.7:4242");
    let unspecified = EndpointOptions { bind_ip: "0.0.0.0".parse().unwrap(), ..EndpointOptions::default() };
    let err = Endpoint::bind(unspecified).await.unwrap_err();
    assert!(matches!(err, libprocess::Error::NoAdvertiseIp { .. }), "{err:?}");
    assert!(err.to_string().contains("LIBPROCESS_ADVERTISE_IP"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_taken_port_is_a_listen_error_that_keeps_the_system_cause() {
    use std::error::Error as _;
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let options = EndpointOptions { bind_port: addr.port(), ..EndpointOptions::default() };
    let err = Endpoint::bind(options).await.unwrap_err();
    assert!(matches!(&err, libprocess::Error::Listen { addr: a, .. } if *a == addr), "{err:?}");
    assert!(err.to_string().contains("LIBPROCESS_PORT"), "{err}");
    let cause = err.source().expect("the system's error");
    assert!(!err.to_string().contains(&cause.to_string()), "{err}");
    assert_eq!(std::io::Error::from(err).kind(), std::io::ErrorKind::AddrInUse);
}
