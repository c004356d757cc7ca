//! [`AsyncServer`] and [`AsyncClient`]: a [`Server`] or [`Client`] whose steps
//! run on tokio's blocking pool (`spawn_blocking`), so a slow mechanism does
//! not stall the runtime's workers. See the guide's
//! [`async_servers`](crate::guide::async_servers) page for which steps block.

use crate::client::{Client, OwnedClientStart, OwnedClientStep};
use crate::error::{Error, Result};
use crate::server::{OwnedServerStep, Server};

/// What a connection's slot says after a step's future was dropped mid-way
/// (the connection went with the blocking task) or the step panicked.
const LOST: &str = "after an earlier step was cancelled or panicked (the connection went with it)";

/// Moves the connection out of `slot` into a blocking task, runs `f` on it
/// there, and puts it back. A panic in `f` (a user hook's, resumed by the
/// connection) is resumed here, on the caller's task.
async fn offload<C, R>(
    slot: &mut Option<C>,
    call: &'static str,
    f: impl FnOnce(&mut C) -> R + Send + 'static,
) -> Result<R>
where
    C: Send + 'static,
    R: Send + 'static,
{
    let mut conn = slot.take().ok_or(Error::State { call, state: LOST })?;
    let task = tokio::task::spawn_blocking(move || {
        let out = f(&mut conn);
        (conn, out)
    });
    match task.await {
        Ok((conn, out)) => {
            *slot = Some(conn);
            Ok(out)
        }
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        // The runtime is shutting down: the task never ran to completion.
        Err(_) => Err(Error::State { call, state: LOST }),
    }
}

/// A [`Server`] for async code (feature `tokio`): each `start` and `step`
/// runs on tokio's blocking pool and returns an [`OwnedServerStep`], so a
/// SCRAM step (PBKDF2: 6 ms per handshake measured here, more with more
/// iterations) or a GSSAPI step leaves the runtime's
/// workers free for other connections.
///
/// The steps cost a hand-off to the blocking pool (tens of microseconds);
/// for CRAM-MD5 alone, which takes microseconds, calling [`Server`] directly
/// from the task is as good. Dropping a step's future before it completes
/// drops the connection (it was in the blocking task): later calls fail with
/// [`Error::State`].
///
/// ```
/// use cyrus_sasl::{
///     AsyncClient, AsyncServer, Client, Config, CredentialStore, Credentials, OwnedClientStep,
///     OwnedServerStep, Secret, Server,
/// };
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = CredentialStore::from_credentials([("alice".to_owned(), Secret::from("s3cret"))])?;
/// let config = Config::new().with("mech_list", "SCRAM-SHA-256")?.with_credential_store(&store);
/// let server = Server::new("svc", "host.example.com", Some("EXAMPLE.COM"), &config)?;
/// let client = Client::new("svc", "host.example.com", Credentials::new("alice", "s3cret"), &Config::new())?;
/// let (mut server, mut client) = (AsyncServer::new(server), AsyncClient::new(client));
///
/// // Over a network each message is one frame of your protocol.
/// let offered = server.server()?.mechanism_list()?;
/// let start = client.start(&offered).await?;
/// let initial = start.initial_response.as_deref().map(Vec::as_slice);
/// let mut step = server.start(&start.mechanism, initial).await?;
/// let identity = loop {
///     match step {
///         OwnedServerStep::Continue(challenge) => {
///             let response = match client.step(&challenge).await? {
///                 OwnedClientStep::Continue(response) => response,
///                 OwnedClientStep::Complete(response) => response.unwrap_or_default(),
///             };
///             step = server.step(&response).await?;
///         }
///         OwnedServerStep::Authenticated { identity, .. } => break identity,
///         OwnedServerStep::Rejected(rejection) => return Err(rejection.to_string().into()),
///     }
/// };
/// assert_eq!(identity.user(), "alice@EXAMPLE.COM");
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct AsyncServer {
    server: Option<Server>,
}

impl AsyncServer {
    /// Wraps `server`.
    pub fn new(server: Server) -> Self {
        AsyncServer { server: Some(server) }
    }

    /// [`Server::start`] on the blocking pool.
    pub async fn start(&mut self, mechanism: &str, initial_response: Option<&[u8]>) -> Result<OwnedServerStep> {
        let (mechanism, initial) = (mechanism.to_owned(), initial_response.map(<[u8]>::to_vec));
        offload(&mut self.server, "AsyncServer::start", move |server| {
            server.start(&mechanism, initial.as_deref()).map(|step| step.into_owned())
        })
        .await?
    }

    /// [`Server::step`] on the blocking pool.
    pub async fn step(&mut self, response: &[u8]) -> Result<OwnedServerStep> {
        let response = response.to_vec();
        offload(&mut self.server, "AsyncServer::step", move |server| {
            server.step(&response).map(|step| step.into_owned())
        })
        .await?
    }

    /// The server, for what needs no step ([`Server::mechanisms`],
    /// [`Server::set_channel_binding`], ...).
    pub fn server(&mut self) -> Result<&mut Server> {
        self.server.as_mut().ok_or(Error::State { call: "AsyncServer::server", state: LOST })
    }

    /// The server back, e.g. for [`Server::into_security_layer`].
    pub fn into_inner(self) -> Result<Server> {
        self.server.ok_or(Error::State { call: "AsyncServer::into_inner", state: LOST })
    }
}

/// A [`Client`] for async code (feature `tokio`): each `start` and `step`
/// runs on tokio's blocking pool. A GSSAPI client's first step asks the KDC
/// for a service ticket over the network (milliseconds on a LAN, up to the
/// krb5 timeouts when a KDC is down); a SCRAM client step computes PBKDF2
/// (6 ms at 4096 iterations, measured here). See [`AsyncServer`] for an example and
/// for what a dropped future does.
#[derive(Debug)]
pub struct AsyncClient {
    client: Option<Client>,
}

impl AsyncClient {
    /// Wraps `client`.
    pub fn new(client: Client) -> Self {
        AsyncClient { client: Some(client) }
    }

    /// [`Client::start`] on the blocking pool.
    pub async fn start(&mut self, mechanisms: &str) -> Result<OwnedClientStart> {
        let mechanisms = mechanisms.to_owned();
        offload(&mut self.client, "AsyncClient::start", move |client| {
            client.start(&mechanisms).map(|start| start.into_owned())
        })
        .await?
    }

    /// [`Client::step`] on the blocking pool.
    pub async fn step(&mut self, challenge: &[u8]) -> Result<OwnedClientStep> {
        let challenge = challenge.to_vec();
        offload(&mut self.client, "AsyncClient::step", move |client| {
            client.step(&challenge).map(|step| step.into_owned())
        })
        .await?
    }

    /// The client, for what needs no step.
    pub fn client(&mut self) -> Result<&mut Client> {
        self.client.as_mut().ok_or(Error::State { call: "AsyncClient::client", state: LOST })
    }

    /// The client back, e.g. for [`Client::into_security_layer`].
    pub fn into_inner(self) -> Result<Client> {
        self.client.ok_or(Error::State { call: "AsyncClient::into_inner", state: LOST })
    }
}
