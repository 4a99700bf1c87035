//! The signals that stop a run, and waiting for them.

/// A signal that stops the emulator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signal {
    /// SIGINT (Ctrl+C).
    Interrupt,
    /// SIGTERM.
    Terminate,
}

impl Signal {
    pub fn name(self) -> &'static str {
        match self {
            Signal::Interrupt => "SIGINT",
            Signal::Terminate => "SIGTERM",
        }
    }

    /// The exit status of a process this signal cut short: 128 + its number.
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Interrupt => 130,
            Signal::Terminate => 143,
        }
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, out: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        out.write_str(self.name())
    }
}

/// Waits for the next SIGINT or SIGTERM.
#[cfg(unix)]
pub async fn next() -> Signal {
    use tokio::signal::unix::{SignalKind, signal};
    match signal(SignalKind::terminate()) {
        Ok(mut terminate) => tokio::select! {
            _ = tokio::signal::ctrl_c() => Signal::Interrupt,
            _ = terminate.recv() => Signal::Terminate,
        },
        Err(err) => {
            tracing::warn!("cannot listen for SIGTERM: {err}");
            let _ = tokio::signal::ctrl_c().await;
            Signal::Interrupt
        }
    }
}

/// Waits for the next Ctrl+C.
#[cfg(not(unix))]
pub async fn next() -> Signal {
    let _ = tokio::signal::ctrl_c().await;
    Signal::Interrupt
}
