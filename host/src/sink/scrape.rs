//! The local endpoint: `/metrics` serves every job's series (with a `job` label) so
//! a run is useful with nothing else installed; `/promemu/metrics` the
//! emulator's own metrics (events on the bus among them); `/status` the status
//! report; `/` a live page (embedded, no CDN) that shows the hosts page by page
//! with a sparkline per metric and the latest events, from `/api/page`.

use std::net::SocketAddr;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use tokio::net::TcpListener;

use super::feed::{Snapshots, StopSignal, fresh_page, with_fresh_status};
use super::{Sink, SinkError, SinkTask};
use crate::mixer::{MAX_PAGE_HOSTS, PageRange};

/// The HTTP endpoint, bound and ready to serve.
#[derive(Debug)]
pub struct ScrapeEndpoint {
    listener: TcpListener,
}

impl ScrapeEndpoint {
    /// Binds `address` (port 0 for any free port).
    pub async fn bind(address: SocketAddr) -> Result<Self, SinkError> {
        let bind_error = |source| SinkError::Bind { address, source };
        let listener = TcpListener::bind(address).await.map_err(bind_error)?;
        let bound = listener.local_addr().map_err(bind_error)?;
        tracing::info!("Serving metrics at http://{bound}/metrics");
        Ok(Self { listener })
    }
}

impl Sink for ScrapeEndpoint {
    fn name(&self) -> &'static str {
        "scrape endpoint"
    }

    fn run(self: Box<Self>, snapshots: Snapshots, mut stop: StopSignal) -> SinkTask {
        let app = Router::new()
            .route("/", get(index))
            .route("/api/page", get(page))
            .route("/metrics", get(metrics))
            .route("/promemu/metrics", get(own_metrics))
            .route("/status", get(status))
            .with_state(snapshots);
        Box::pin(async move {
            let shutdown = async move { stop.stopped().await };
            if let Err(err) = axum::serve(self.listener, app)
                .with_graceful_shutdown(shutdown)
                .await
            {
                tracing::error!("metrics endpoint stopped: {err}");
            }
        })
    }
}

/// The live page.
const PAGE_HTML: &str = include_str!("page.html");

async fn index() -> impl IntoResponse {
    Html(PAGE_HTML)
}

/// `/api/page?offset=N&limit=M`: at most [`MAX_PAGE_HOSTS`] hosts from `offset`.
#[derive(Debug, serde::Deserialize)]
struct PageQuery {
    #[serde(default)]
    offset: usize,
    limit: Option<usize>,
}

async fn page(State(snapshots): State<Snapshots>, Query(query): Query<PageQuery>) -> Response {
    let range = PageRange {
        offset: query.offset,
        limit: query.limit.unwrap_or(50).clamp(1, MAX_PAGE_HOSTS),
    };
    match fresh_page(&snapshots, range).await {
        Some(page) => (
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::to_string(&*page).unwrap_or_default(),
        )
            .into_response(),
        None => (
            StatusCode::SERVICE_UNAVAILABLE,
            "the simulation did not answer in time; try again\n",
        )
            .into_response(),
    }
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

async fn own_metrics(State(snapshots): State<Snapshots>) -> impl IntoResponse {
    let figures = snapshots.borrow().figures.clone();
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        super::own_metrics::render(&figures),
    )
}

async fn status(State(snapshots): State<Snapshots>) -> impl IntoResponse {
    let snapshot = with_fresh_status(&snapshots).await;
    let body = serde_json::to_string_pretty(&snapshot.status).unwrap_or_default();
    ([(header::CONTENT_TYPE, "application/json")], body)
}
