//! The one error type of the core. The Python binding converts it in exactly one place.

use thiserror::Error;

/// Everything that can go wrong in a render. Bad input always names the parameter.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Error {
    /// A parameter is out of range; `name` is the parameter as the user spells it.
    #[error("{name}: {reason}")]
    InvalidParameter { name: &'static str, reason: String },
    /// The render was stopped from outside (interrupt, a failing callback) before it finished.
    #[error("render cancelled")]
    Cancelled,
    /// The operating system refused a worker thread.
    #[error("could not start worker threads: {0}")]
    ThreadPool(String),
    /// A connection, request or response of the I/O lesson failed (feature `net`).
    #[error("network: {0}")]
    Network(String),
    /// A chart, image or server could not be drawn, encoded, written or started.
    #[error("{0}")]
    Output(String),
}

impl Error {
    pub fn invalid(name: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidParameter {
            name,
            reason: reason.into(),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
