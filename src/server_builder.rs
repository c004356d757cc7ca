//! [`ServerBuilder`]: every server option in one place, named, so that a
//! server can have a canon-user hook and a proxy policy at once.

use std::fmt;

use crate::config::Config;
use crate::error::Result;
use crate::hooks::{CanonUserFn, ProxyPolicyFn, ProxyRequest};
use crate::server::Server;

/// Builds a [`Server`] with every option named: the user realm, the
/// config, a canon-user hook and a proxy policy, each optional. Made by
/// [`Server::builder`].
///
/// ```
/// use cyrus_sasl::{Config, Server};
/// let config = Config::new().with("mech_list", "PLAIN")?;
/// let server = Server::builder("svc", "host.example.com")
///     .realm("EXAMPLE.COM")
///     .config(&config)
///     // User names are case-insensitive here (the realm part, if any, is kept)...
///     .canon_user(|name, _realm| match name.split_once('@') {
///         Some((user, realm)) => Some(format!("{}@{realm}", user.to_lowercase())),
///         None => Some(name.to_lowercase()),
///     })
///     // ...and operators may act as anyone.
///     .proxy_policy(|request| request.authid.starts_with("operator@"))
///     .build()?;
/// assert!(server.mechanisms()?.is_empty(), "PLAIN needs a TLS layer by default");
/// # Ok::<(), cyrus_sasl::Error>(())
/// ```
#[must_use = "a builder does nothing until build()"]
pub struct ServerBuilder<'a> {
    service: &'a str,
    fqdn: &'a str,
    realm: Option<&'a str>,
    config: Option<&'a Config>,
    canon: Option<Box<CanonUserFn>>,
    proxy: Option<Box<ProxyPolicyFn>>,
}

impl Server {
    /// A builder for a server of `service` on `fqdn` (see [`Server::new`]
    /// for what they mean), for the options [`Server::new`] does not take.
    pub fn builder<'a>(service: &'a str, fqdn: &'a str) -> ServerBuilder<'a> {
        ServerBuilder { service, fqdn, realm: None, config: None, canon: None, proxy: None }
    }
}

impl<'a> ServerBuilder<'a> {
    /// The user realm (default: none, so libsasl2 uses the lower-cased FQDN;
    /// see [`Server::new`]).
    pub fn realm(mut self, realm: &'a str) -> Self {
        self.realm = Some(realm);
        self
    }

    /// The config (default: [`Config::new`]).
    pub fn config(mut self, config: &'a Config) -> Self {
        self.config = Some(config);
        self
    }

    /// A hook that canonicalises user names; see [`Server::with_canon_user`].
    pub fn canon_user(mut self, hook: impl Fn(&str, Option<&str>) -> Option<String> + Send + 'static) -> Self {
        self.canon = Some(Box::new(hook));
        self
    }

    /// A proxy policy; see [`Server::with_proxy_policy`].
    pub fn proxy_policy(mut self, policy: impl Fn(&ProxyRequest<'_>) -> bool + Send + 'static) -> Self {
        self.proxy = Some(Box::new(policy));
        self
    }

    /// The server (`sasl_server_new`); fails as [`Server::new`] does.
    #[doc(alias = "sasl_server_new")]
    pub fn build(self) -> Result<Server> {
        let default = Config::new();
        let config = self.config.unwrap_or(&default);
        Server::build(self.service, self.fqdn, self.realm, config, self.canon, self.proxy)
    }
}

impl fmt::Debug for ServerBuilder<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerBuilder")
            .field("service", &self.service)
            .field("fqdn", &self.fqdn)
            .field("realm", &self.realm)
            .field("config", &self.config)
            .field("canon_user", &self.canon.is_some())
            .field("proxy_policy", &self.proxy.is_some())
            .finish()
    }
}
