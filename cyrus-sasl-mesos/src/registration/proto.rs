//! The registration messages, partial: only the fields the gate reads are
//! declared (prost skips the others), with Mesos's field numbers. Not part of
//! this crate's API; a framework or agent brings its own types generated from
//! Mesos's `.proto` files.

/// `FrameworkID` (`required string value = 1`).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct FrameworkId {
    /// The id.
    #[prost(string, required, tag = "1")]
    pub value: String,
}

/// `SlaveID`, an agent's id (`required string value = 1`).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SlaveId {
    /// The id.
    #[prost(string, required, tag = "1")]
    pub value: String,
}

/// The fields of `FrameworkInfo` the gate reads (and sends back nowhere).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct FrameworkInfo {
    /// The operating system user its tasks run as (`user = 1`).
    #[prost(string, optional, tag = "1")]
    pub user: Option<String>,
    /// Its name (`name = 2`).
    #[prost(string, optional, tag = "2")]
    pub name: Option<String>,
    /// Its id, set when it fails over (`id = 3`).
    #[prost(message, optional, tag = "3")]
    pub id: Option<FrameworkId>,
    /// Its role, for drivers without `MULTI_ROLE` (`role = 6`, default `*`).
    #[prost(string, optional, tag = "6")]
    pub role: Option<String>,
    /// The host it runs on (`hostname = 7`).
    #[prost(string, optional, tag = "7")]
    pub hostname: Option<String>,
    /// The principal it claims to be (`principal = 8`).
    #[prost(string, optional, tag = "8")]
    pub principal: Option<String>,
    /// Its roles, for `MULTI_ROLE` frameworks (`roles = 12`).
    #[prost(string, repeated, tag = "12")]
    pub roles: Vec<String>,
}

/// The `Subscribe` of a `mesos.scheduler.Call`.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct Subscribe {
    /// `framework_info = 1`.
    #[prost(message, optional, tag = "1")]
    pub framework_info: Option<FrameworkInfo>,
}

/// `mesos.scheduler.Call`: what the 1.11 driver sends to subscribe.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SchedulerCall {
    /// `type = 2`; [`SchedulerCall::SUBSCRIBE`] is 1.
    #[prost(int32, optional, tag = "2")]
    pub r#type: Option<i32>,
    /// `subscribe = 3`.
    #[prost(message, optional, tag = "3")]
    pub subscribe: Option<Subscribe>,
}

impl SchedulerCall {
    /// `Call.Type.SUBSCRIBE`.
    pub const SUBSCRIBE: i32 = 1;
}

/// `mesos.internal.RegisterFrameworkMessage`, from drivers before the Call API.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct RegisterFrameworkMessage {
    /// `framework = 1`.
    #[prost(message, optional, tag = "1")]
    pub framework: Option<FrameworkInfo>,
}

/// The fields of `SlaveInfo` the gate reads.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SlaveInfo {
    /// `hostname = 1`.
    #[prost(string, optional, tag = "1")]
    pub hostname: Option<String>,
}

/// `mesos.internal.RegisterSlaveMessage`: an agent registers.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct RegisterSlaveMessage {
    /// `slave = 1`.
    #[prost(message, optional, tag = "1")]
    pub slave: Option<SlaveInfo>,
    /// The agent's Mesos version (`version = 2`).
    #[prost(string, optional, tag = "2")]
    pub version: Option<String>,
}

/// `mesos.internal.FrameworkRegisteredMessage`: the framework is registered.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct FrameworkRegisteredMessage {
    /// `framework_id = 1`.
    #[prost(message, required, tag = "1")]
    pub framework_id: FrameworkId,
    /// `master_info = 2`: a `MasterInfo` message, already encoded (an embedded
    /// message and `bytes` are the same on the wire), from
    /// [`MasterInfo::to_protobuf`](crate::zookeeper::MasterInfo::to_protobuf)
    /// so that one type describes a master; read it back with
    /// [`MasterInfo::from_protobuf`](crate::zookeeper::MasterInfo::from_protobuf).
    #[prost(bytes = "vec", required, tag = "2")]
    pub master_info: Vec<u8>,
}

/// `mesos.internal.FrameworkReregisteredMessage`: a framework that names its
/// id is registered again with it (the driver's `reregistered()` callback).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct FrameworkReregisteredMessage {
    /// `framework_id = 1`.
    #[prost(message, required, tag = "1")]
    pub framework_id: FrameworkId,
    /// `master_info = 2`, encoded as in [`FrameworkRegisteredMessage`].
    #[prost(bytes = "vec", required, tag = "2")]
    pub master_info: Vec<u8>,
}

/// `mesos.internal.FrameworkErrorMessage`: registration failed (the driver's
/// `error()` callback).
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct FrameworkErrorMessage {
    /// `message = 2`.
    #[prost(string, required, tag = "2")]
    pub message: String,
}

/// `mesos.internal.SlaveRegisteredMessage`: the agent is registered.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct SlaveRegisteredMessage {
    /// `slave_id = 1`.
    #[prost(message, required, tag = "1")]
    pub slave_id: SlaveId,
}

/// `mesos.internal.ShutdownMessage`: how Mesos refuses an agent.
#[derive(Clone, PartialEq, Eq, prost::Message)]
pub struct ShutdownMessage {
    /// `message = 1`.
    #[prost(string, optional, tag = "1")]
    pub message: Option<String>,
}

macro_rules! names {
    ($($ty:ident => $package:literal, $name:literal;)*) => {$(
        impl prost::Name for $ty {
            const NAME: &'static str = $name;
            const PACKAGE: &'static str = $package;
        }
    )*};
}

names! {
    SchedulerCall => "mesos.scheduler", "Call";
    RegisterFrameworkMessage => "mesos.internal", "RegisterFrameworkMessage";
    RegisterSlaveMessage => "mesos.internal", "RegisterSlaveMessage";
    FrameworkRegisteredMessage => "mesos.internal", "FrameworkRegisteredMessage";
    FrameworkReregisteredMessage => "mesos.internal", "FrameworkReregisteredMessage";
    FrameworkErrorMessage => "mesos.internal", "FrameworkErrorMessage";
    SlaveRegisteredMessage => "mesos.internal", "SlaveRegisteredMessage";
    ShutdownMessage => "mesos.internal", "ShutdownMessage";
}
