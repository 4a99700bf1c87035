//! The local endpoint: `/metrics` serves every job's series (with a `job` label) so
//! a run is useful with nothing else installed; `/status` serves the status report.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::sync::watch;

use crate::mixer::Snapshot;

type Snapshots = watch::Receiver<Arc<Snapshot>>;

/// Binds `address` and serves snapshots until `shutdown` resolves.
pub async fn serve(
    address: SocketAddr,
    snapshots: Snapshots,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(address).await?;
    let bound = listener.local_addr()?;
    let app = Router::new()
        .route("/", get(index))
        .route("/metrics", get(metrics))
        .route("/status", get(status))
        .with_state(snapshots);
    let task = tokio::spawn(async move {
        if let Err(err) = axum::serve(listener, app)
            .with_graceful_shutdown(shutdown)
            .await
        {
            tracing::error!("metrics endpoint stopped: {err}");
        }
    });
    Ok((bound, task))
}

async fn index() -> impl IntoResponse {
    "promemu: /metrics (Prometheus text format), /status (JSON)\n"
}

async fn metrics(State(snapshots): State<Snapshots>) -> impl IntoResponse {
    let text = snapshots.borrow().scrape_text.clone();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        text,
    )
}

async fn status(State(snapshots): State<Snapshots>) -> impl IntoResponse {
    let body = serde_json::to_string_pretty(&snapshots.borrow().status).unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], body)
}
