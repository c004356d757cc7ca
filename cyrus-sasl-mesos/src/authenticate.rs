//! The framework's or agent's side of Mesos authentication over libprocess:
//! [`authenticate`] drives [`AuthenticationRetry`] over an [`Endpoint`], as
//! Mesos's scheduler driver and agent drive `CRAMMD5Authenticatee`.

use std::time::Duration;

use rand::rngs::StdRng;
use tokio::time::{Instant, sleep_until};

use libprocess::{BlockingEndpoint, Endpoint, Process, RegisterError, SendError, Upid};

use crate::LOG_TARGET;
use crate::{
    AttemptFailure, AuthenticationRetry, Backoff, ClientOptions, Credential, ExchangeError, Message, MessageType,
    RetryEvent, SecureChannel, Verdict,
};

/// The process id prefix of each attempt, as in Mesos (`crammd5-authenticatee(N)`).
pub const AUTHENTICATEE_PREFIX: &str = "crammd5-authenticatee";

/// How [`authenticate`] runs.
#[derive(Clone, Debug)]
pub struct AuthenticateOptions {
    /// The SASL client's options (service `mesos`, mechanisms).
    pub client: ClientOptions,
    /// The timeout of each attempt, growing with each retry (Mesos's defaults).
    pub backoff: Backoff,
    /// The overall deadline: no verdict by then is [`NoVerdict::Timeout`]
    /// (default 60 s).
    pub timeout: Duration,
    /// The pause after a message could not be delivered to the master (refused
    /// connection, `404`), doubling with each such failure in a row up to 8 times
    /// this (default 250 ms). The attempt fails at once; the next waits this long.
    pub reconnect_delay: Duration,
    /// Give up with [`NoVerdict::Unreachable`] after this many delivery
    /// failures in a row; `None` (the default) keeps trying until `timeout`, as
    /// Mesos does. An operator tool wants a small number.
    pub max_delivery_failures: Option<u32>,
}

impl Default for AuthenticateOptions {
    fn default() -> Self {
        AuthenticateOptions {
            client: ClientOptions::default(),
            backoff: Backoff::default(),
            timeout: Duration::from_secs(60),
            reconnect_delay: Duration::from_millis(250),
            max_delivery_failures: None,
        }
    }
}

/// Why [`authenticate`] ended without a [`Verdict`]: the master could not
/// be reached, or did not decide in time.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NoVerdict {
    /// No verdict within [`AuthenticateOptions::timeout`]. Why the last
    /// attempt that ended failed is `last`, also the error's
    /// [`source`](std::error::Error::source).
    #[error(
        "no verdict from {master} within {timeout:?} ({attempts} attempts){}",
        if last.is_some() { "" } else { ": is it a master, and does it answer this host's address?" }
    )]
    Timeout {
        /// The master.
        master: Upid,
        /// The deadline that passed.
        timeout: Duration,
        /// How many attempts were made.
        attempts: u32,
        /// Why the last attempt that ended failed; `None` when none ended
        /// before the deadline (the master never answered the first).
        /// Boxed: it keeps the error value small.
        #[source]
        last: Option<Box<AttemptFailure>>,
    },
    /// [`AuthenticateOptions::max_delivery_failures`] messages in a row could not
    /// be delivered; the last failure.
    #[error("cannot reach {master}; check its address and that it runs")]
    Unreachable {
        /// The master.
        master: Upid,
        /// The last delivery failure.
        #[source]
        last: SendError,
    },
    /// The master offers none of the mechanisms this client allows, so no
    /// attempt can succeed: returned at the first such offer, unless
    /// [`ClientOptions::retry_on_mechanism_mismatch`].
    #[error("cannot authenticate with {master}: {mismatch}")]
    MechanismMismatch {
        /// The master.
        master: Upid,
        /// Both lists.
        mismatch: crate::MechanismMismatch,
    },
    /// The attempt's process could not be registered on the endpoint.
    #[error("cannot register an authenticatee process on this endpoint")]
    Register(#[source] RegisterError),
    /// The credential has no secret and the client allows a mechanism that
    /// needs one ([`Credential::check`]): no attempt is made.
    #[error(transparent)]
    MissingSecret(#[from] crate::MissingSecret),
}

/// The current attempt: its process and the session that answered it.
struct Attempt {
    number: u32,
    process: Process,
    /// The master's session process that answered first: where the attempt's
    /// messages go (the sans-IO authenticatee hears only it).
    session: Option<Upid>,
    /// The TLS connection the `AuthenticateMessage` went out on: the master
    /// binds its session to it, and so does this attempt.
    channel: Option<SecureChannel>,
}

/// Authenticates `credential` with the master `master` (`master@ip:port`) for
/// the component whose UPID is `pid` (what the master will record as
/// authenticated, e.g. the scheduler's UPID), with retries: the verdict, or why
/// there is none.
///
/// As Mesos's authenticatee does, each attempt is a new process
/// `crammd5-authenticatee(N)` on `endpoint` that sends `AuthenticateMessage{pid}`
/// to the master. Unlike Mesos's (which answers whoever wrote last), it then
/// listens only to the session process that answered first, and only if that
/// session lives at the master's address: messages from anyone else are
/// ignored and logged. A message that cannot be delivered (a refused
/// connection, a `404`) fails the attempt at once; the next starts after
/// [`AuthenticateOptions::reconnect_delay`]. Each retry is logged at `info`.
pub async fn authenticate(
    endpoint: &Endpoint,
    master: &Upid,
    pid: &Upid,
    credential: Credential,
    options: &AuthenticateOptions,
) -> Result<Verdict, NoVerdict> {
    credential.check(&options.client)?;
    let overall = Instant::now() + options.timeout;
    let mut retry = AuthenticationRetry::new(
        credential,
        pid.to_string(),
        options.client.clone(),
        options.backoff,
        rand::make_rng::<StdRng>(),
    );
    retry.start(std::time::Instant::now());
    let mut current: Option<Attempt> = None;
    let mut failures_in_a_row = 0u32;
    // After a delivery failure: when the next attempt may start.
    let mut paused_until: Option<Instant> = None;
    // Why the last attempt that ended failed, for the final error.
    let mut last: Option<AttemptFailure> = None;
    loop {
        while let Some(event) = retry.poll_event() {
            match event {
                RetryEvent::AttemptStarted { attempt, timeout, .. } => {
                    // Dropping the old process unregisters it: its late messages get 404.
                    drop(current.take());
                    let process = endpoint.spawn_process(AUTHENTICATEE_PREFIX).map_err(NoVerdict::Register)?;
                    log::info!(
                        target: LOG_TARGET,
                        "authenticating with {master} as {}: attempt {attempt} (timeout {timeout:?})",
                        process.upid()
                    );
                    current = Some(Attempt { number: attempt, process, session: None, channel: None });
                }
                RetryEvent::AttemptFailed { attempt, error } => {
                    log::info!(
                        target: LOG_TARGET,
                        "authentication attempt {attempt} with {master} failed: {}; retrying",
                        crate::error::Chain(&error)
                    );
                    // An attempt abandoned after its delivery failed: that
                    // failure is the reason, not the abandonment.
                    let undelivered =
                        matches!(&last, Some(AttemptFailure::Undelivered { attempt: a, .. }) if *a == attempt);
                    if !(undelivered && matches!(error, ExchangeError::Discarded(_))) {
                        last = Some(AttemptFailure::Exchange { attempt, error });
                    }
                }
                RetryEvent::Finished(verdict) => {
                    log::info!(target: LOG_TARGET, "authentication with {master}: {verdict:?}");
                    return Ok(verdict);
                }
                RetryEvent::GaveUp(mismatch) => {
                    return Err(NoVerdict::MechanismMismatch { master: master.clone(), mismatch });
                }
            }
        }
        if paused_until.is_none() {
            while let Some((number, message)) = retry.poll_transmit() {
                let Some(attempt) = current.as_mut().filter(|a| a.number == number) else {
                    continue;
                };
                let to = match (&message, &attempt.session) {
                    (Message::Authenticate(_), _) => master,
                    (_, Some(session)) => session,
                    (_, None) => continue,
                };
                let name = message.message_type().proto_name();
                let sent = endpoint.send_on(attempt.process.upid(), to, name, &message.encode()).await;
                if let (Ok(session), Message::Authenticate(_)) = (&sent, &message) {
                    attempt.channel = session.as_ref().map(|tls| SecureChannel::from_tls(tls));
                }
                if let Err(error) = sent {
                    failures_in_a_row += 1;
                    if options.max_delivery_failures.is_some_and(|max| failures_in_a_row >= max) {
                        return Err(NoVerdict::Unreachable { master: master.clone(), last: error });
                    }
                    let delay = options.reconnect_delay * 2u32.pow(failures_in_a_row.min(4) - 1);
                    log::info!(
                        target: LOG_TARGET,
                        "authentication attempt {number}: cannot deliver to {to}: {error}; next attempt in {delay:?}"
                    );
                    last = Some(AttemptFailure::Undelivered { attempt: number, error });
                    paused_until = Some(Instant::now() + delay);
                    break;
                }
                failures_in_a_row = 0;
            }
        }

        let wake = [retry.poll_timeout().map(Instant::from_std), paused_until, Some(overall)]
            .into_iter()
            .flatten()
            .min()
            .expect("the overall deadline is always there");
        let received = match current.as_mut() {
            Some(attempt) => tokio::select! {
                envelope = attempt.process.recv() => envelope,
                _ = sleep_until(wake) => None,
            },
            None => {
                sleep_until(wake).await;
                None
            }
        };
        let now = Instant::now();
        if now >= overall {
            return Err(NoVerdict::Timeout {
                master: master.clone(),
                timeout: options.timeout,
                attempts: retry.attempt(),
                last: last.map(Box::new),
            });
        }
        if paused_until.is_some_and(|at| at <= now) {
            paused_until = None;
            retry.retry_now(now.into_std());
            continue;
        }
        retry.handle_timeout(now.into_std());
        let (Some(envelope), Some(attempt)) = (received, current.as_mut()) else {
            continue;
        };
        let Some(message_type) = MessageType::from_proto_name(&envelope.name) else {
            log::warn!(target: LOG_TARGET, "ignoring {:?} from {}: not an authentication message", envelope.name, envelope.from);
            continue;
        };
        // The session must live where the master does; which session is heard
        // after the first answer is the sans-IO authenticatee's rule (it pins the
        // first sender and logs the rest), mirrored here only to address replies.
        if attempt.session.is_none() {
            if envelope.from.addr() != master.addr() {
                log::warn!(
                    target: LOG_TARGET,
                    "ignoring {:?} from {} ({}): not a process of {master}",
                    envelope.name,
                    envelope.from,
                    envelope.peer_addr
                );
                continue;
            }
            log::debug!(target: LOG_TARGET, "attempt {} answered by {}", attempt.number, envelope.from);
            attempt.session = Some(envelope.from.clone());
            retry.set_secure_channel(attempt.number, attempt.channel.clone());
        }
        match Message::decode(message_type.tag(), &envelope.body) {
            Ok(message) => retry.handle_message(now.into_std(), attempt.number, &envelope.from.to_string(), message),
            Err(error) if attempt.session.as_ref() == Some(&envelope.from) => {
                log::info!(target: LOG_TARGET, "attempt {}: {error} from {}; retrying", attempt.number, envelope.from);
                retry.abandon();
            }
            Err(error) => log::warn!(target: LOG_TARGET, "ignoring {error} from {}", envelope.from),
        }
    }
}

/// [`authenticate`] for blocking code, on the endpoint's own runtime.
pub fn authenticate_blocking(
    endpoint: &BlockingEndpoint,
    master: &Upid,
    pid: &Upid,
    credential: Credential,
    options: &AuthenticateOptions,
) -> Result<Verdict, NoVerdict> {
    endpoint.block_on(authenticate(endpoint.endpoint(), master, pid, credential, options))
}
