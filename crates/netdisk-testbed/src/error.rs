/// An engine's program is not installed.
#[derive(Debug, thiserror::Error)]
#[error("{program} not found ({hint})")]
pub struct Missing {
    pub program: &'static str,
    pub hint: &'static str,
}

#[derive(Debug, thiserror::Error)]
pub enum TestbedError {
    #[error(transparent)]
    Missing(#[from] Missing),
    #[error("{what}: {source}")]
    Io {
        what: String,
        #[source]
        source: std::io::Error,
    },
    /// A command ran and failed; its output is in the message.
    #[error("{command} failed ({status}): {output}")]
    Command {
        command: String,
        status: String,
        output: String,
    },
    /// A server did not come up in time (or stopped); `tail` is the end
    /// of what it logged.
    #[error("{what} not ready after {seconds} s; its log ends:\n{tail}")]
    NotReady {
        what: String,
        seconds: u64,
        tail: String,
    },
    #[error("unexpected output of {command}: {output}")]
    Output { command: String, output: String },
}

impl TestbedError {
    pub(crate) fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> TestbedError {
        let what = what.into();
        move |source| TestbedError::Io { what, source }
    }
}
