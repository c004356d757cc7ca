//! [`BlockingEndpoint`]: the async [`Endpoint`] on a runtime of its own, for
//! blocking code. Every call runs the async one; nothing is duplicated.

use std::sync::Arc;
use std::time::Duration;

use tokio::runtime::Runtime;

use super::endpoint::{Endpoint, EndpointOptions, Envelope, Process};
use super::error::{Error, RegisterError, SendError};
use super::upid::{Upid, UpidError};

/// An [`Endpoint`] with its own tokio runtime (one worker thread), for code that
/// is not async. Do not call it from inside an async task (tokio panics on a
/// nested `block_on`).
#[derive(Debug, Clone)]
pub struct BlockingEndpoint {
    runtime: Arc<Runtime>,
    endpoint: Endpoint,
}

impl BlockingEndpoint {
    /// Starts a runtime and binds an endpoint on it ([`Endpoint::bind`]).
    pub fn bind(options: EndpointOptions) -> Result<Self, Error> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("libprocess-endpoint")
            .enable_all()
            .build()
            .map_err(Error::Runtime)?;
        let endpoint = runtime.block_on(Endpoint::bind(options))?;
        Ok(BlockingEndpoint { runtime: Arc::new(runtime), endpoint })
    }

    /// The async endpoint, e.g. to hand to async code running elsewhere.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Runs `future` to completion on the endpoint's runtime: how a blocking
    /// facade of a protocol built on the endpoint drives its async side.
    ///
    /// # Panics
    /// When called from inside an async runtime (tokio forbids nesting).
    pub fn block_on<F: std::future::Future>(&self, future: F) -> F::Output {
        self.runtime.block_on(future)
    }

    /// The UPID of local process `id` ([`Endpoint::upid`]).
    pub fn upid(&self, id: &str) -> Result<Upid, UpidError> {
        self.endpoint.upid(id)
    }

    /// [`Endpoint::spawn_process`].
    pub fn spawn_process(&self, prefix: &str) -> Result<BlockingProcess, RegisterError> {
        Ok(BlockingProcess { process: self.endpoint.spawn_process(prefix)?, runtime: self.runtime.clone() })
    }

    /// [`Endpoint::register`].
    pub fn register(&self, id: &str) -> Result<BlockingProcess, RegisterError> {
        Ok(BlockingProcess { process: self.endpoint.register(id)?, runtime: self.runtime.clone() })
    }

    /// [`Endpoint::send`], blocking until the answer (bounded by the endpoint's
    /// connect and response timeouts).
    pub fn send(&self, from: &Upid, to: &Upid, name: &str, body: &[u8]) -> Result<(), SendError> {
        self.runtime.block_on(self.endpoint.send(from, to, name, body))
    }
}

/// A [`Process`] of a [`BlockingEndpoint`].
#[derive(Debug)]
pub struct BlockingProcess {
    process: Process,
    runtime: Arc<Runtime>,
}

impl BlockingProcess {
    /// Its UPID.
    pub fn upid(&self) -> &Upid {
        self.process.upid()
    }

    /// The next message, waiting at most `timeout`; `None` when none came.
    pub fn recv_timeout(&mut self, timeout: Duration) -> Option<Envelope> {
        let process = &mut self.process;
        self.runtime.block_on(async { tokio::time::timeout(timeout, process.recv()).await.ok().flatten() })
    }

    /// Sends a message from this process ([`Process::send`]).
    pub fn send(&self, to: &Upid, name: &str, body: &[u8]) -> Result<(), SendError> {
        self.runtime.block_on(self.process.send(to, name, body))
    }

    /// Sends a protobuf message from this process ([`Process::send_message`]).
    pub fn send_message<M: prost::Name>(&self, to: &Upid, message: &M) -> Result<(), SendError> {
        self.runtime.block_on(self.process.send_message(to, message))
    }
}
