//! The daemon as a service: a [`Daemon`] plus the HTTP/WebSocket API, the
//! users seeded from the config, configuration reloads (from the file it
//! was loaded from) and, on a built-in simulated board, the simulator's
//! control socket. `ctiboxd` is a thin shell over [`Service::start`]; tests
//! start a service on port 0 the same way.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use ctibox_boardsim::control::ControlServer;

use crate::api::{self, ApiState, Auth, BoardStatus, EngineStatus, RecordsStatus, StatusView};
use crate::config::{Config, ConfigErrors};
use crate::core::{CoreReply, CoreRequest};
use crate::daemon::{Daemon, DaemonControl, DaemonOptions, StartError};

/// Where the configuration comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// A file, read again on every reload.
    File(PathBuf),
    /// The built-in demo configuration.
    Demo,
}

impl ConfigSource {
    /// Read and check the configuration.
    pub fn load(&self) -> Result<Config, ConfigErrors> {
        match self {
            ConfigSource::File(p) => Config::load(p),
            ConfigSource::Demo => {
                // The demo's flow lives in its data directory.
                let mut c = Config::demo();
                let dir = c.data_dir.join("ivr");
                crate::config::demo::install_ivr(&dir).map_err(|message| {
                    ConfigErrors(vec![crate::config::ConfigError {
                        file: "<built-in demo config>".into(),
                        line: None,
                        col: None,
                        message,
                    }])
                })?;
                c.ivr.dir = Some(dir);
                Ok(c)
            }
        }
    }
}

impl std::fmt::Display for ConfigSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigSource::File(p) => write!(f, "{}", p.display()),
            ConfigSource::Demo => f.write_str("the built-in demo config"),
        }
    }
}

/// How to start a [`Service`].
#[derive(Debug, Clone)]
pub struct ServiceOptions {
    pub source: ConfigSource,
    /// Board string overriding the config's.
    pub board: Option<String>,
    /// Database file overriding `data_dir/ctibox.db`.
    pub database: Option<PathBuf>,
    /// API address overriding the config's `[api] listen` (port 0: any).
    pub listen: Option<SocketAddr>,
    /// Control socket of a built-in simulated board (for `ctibox-sim call`
    /// and friends); `None`: no control socket.
    pub sim_control: Option<PathBuf>,
}

/// Why a service could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServiceError {
    #[error("{source_name}: the configuration has errors:\n{errors}")]
    Config { source_name: String, errors: ConfigErrors },
    #[error(transparent)]
    Start(#[from] StartError),
    #[error("users from the config: {0}")]
    Users(String),
    #[error("cannot listen on {addr} for the API: {error}")]
    Listen { addr: SocketAddr, error: std::io::Error },
    #[error("cannot start the API runtime: {0}")]
    Runtime(std::io::Error),
    #[error("the simulator's control socket {path}: {error}")]
    SimControl { path: PathBuf, error: String },
}

/// A running daemon with its API.
#[derive(Debug)]
pub struct Service {
    pub daemon: Daemon,
    /// Where the API listens.
    pub api_addr: SocketAddr,
    reloader: Reloader,
    runtime: Option<tokio::runtime::Runtime>,
    stop_api: Option<tokio::sync::oneshot::Sender<()>>,
    api_task: Option<tokio::task::JoinHandle<()>>,
    sim_control: Option<ControlServer>,
}

/// Reloads the configuration from its source; shared by SIGHUP and the API.
#[derive(Debug, Clone)]
pub struct Reloader {
    source: ConfigSource,
    control: DaemonControl,
    auth: Auth,
    records: crate::records::RecordsHandle,
    reader: crate::records::RecordsReader,
}

impl Reloader {
    /// Read the source again; on success the new config is in force (lines
    /// in a call keep their settings until it ends); on error every problem
    /// is returned as `file:line:col: message` and the old config stays.
    pub fn reload(&self) -> Result<(), Vec<String>> {
        let lines = |e: ConfigErrors| e.0.iter().map(ToString::to_string).collect::<Vec<_>>();
        let config = self.source.load().map_err(lines)?;
        config.check_board(&self.control.board).map_err(lines)?;
        let ivr = crate::ivr::set::IvrSet::load(&config).map_err(lines)?;
        if config.listen != self.control.config().listen {
            tracing::warn!(
                old = %self.control.config().listen,
                new = %config.listen,
                "config reload: the API address changes only on restart"
            );
        }
        api::seed_users(&self.records, &self.reader, &config.users).map_err(|e| vec![format!("users: {e}")])?;
        self.auth.set_config_users(&config.users);
        self.auth.set_token_ttl_ms(config.token_ttl_ms);
        self.control.reload(config, ivr);
        tracing::info!(source = %self.source, "configuration reloaded");
        Ok(())
    }
}

impl Service {
    /// Load the configuration, start the daemon and serve the API.
    pub fn start(opts: ServiceOptions) -> Result<Service, ServiceError> {
        let config = opts
            .source
            .load()
            .map_err(|errors| ServiceError::Config { source_name: opts.source.to_string(), errors })?;
        // The demo's plain passwords are on purpose.
        if opts.source != ConfigSource::Demo {
            for w in &config.warnings {
                tracing::warn!("{w}");
            }
        }
        let listen = opts.listen.unwrap_or(config.listen);
        let users = config.users.clone();
        let token_ttl_ms = config.token_ttl_ms;
        let name = config.name.clone();
        let daemon = Daemon::start(DaemonOptions { config, board: opts.board, database: opts.database })?;
        let records = daemon.records.handle();
        let reader = daemon.records.reader();
        let seeded = api::seed_users(&records, &reader, &users).map_err(|e| ServiceError::Users(e.to_string()))?;
        tracing::info!(created = seeded.created, updated = seeded.updated, "users from the config");
        let auth = Auth::new(token_ttl_ms, &users);

        let sim_control = match (&opts.sim_control, &daemon.sim_control) {
            (Some(path), Some(handle)) => Some(
                ControlServer::start(path, handle.clone())
                    .map_err(|e| ServiceError::SimControl { path: path.clone(), error: e.to_string() })?,
            ),
            _ => None,
        };

        let reloader = Reloader {
            source: opts.source.clone(),
            control: daemon.control(),
            auth: auth.clone(),
            records: records.clone(),
            reader: reader.clone(),
        };
        let calls_active = Arc::new(AtomicU64::new(0));
        let status = status_fn(name, &daemon, calls_active.clone());
        let r = reloader.clone();
        let reload: api::ReloadFn = Arc::new(move || r.reload());
        let control = daemon.control();
        let config: api::ConfigFn = Arc::new(move || control.config());
        let state = ApiState::new(daemon.core.clone(), records, reader, status, reload, config, auth);

        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("ctiboxd-api")
            .enable_all()
            .build()
            .map_err(ServiceError::Runtime)?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(listen))
            .map_err(|error| ServiceError::Listen { addr: listen, error })?;
        let api_addr = listener.local_addr().map_err(|error| ServiceError::Listen { addr: listen, error })?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let api_task = runtime.spawn(async move {
            if let Err(e) = api::serve(listener, state, async move {
                let _ = stop_rx.await;
            })
            .await
            {
                tracing::error!(error = %e, "api server failed");
            }
        });
        // Keep the active-call count of `GET /status` fresh (once a second,
        // so the status handler never waits for the core).
        let core = daemon.core.clone();
        runtime.spawn(async move {
            let mut every = tokio::time::interval(Duration::from_secs(1));
            loop {
                every.tick().await;
                if let Ok(CoreReply::Snapshot(s)) =
                    core.request_async(CoreRequest::Snapshot, Duration::from_secs(2)).await
                {
                    calls_active.store(s.calls.len() as u64, Ordering::Relaxed);
                }
            }
        });
        Ok(Service {
            daemon,
            api_addr,
            reloader,
            runtime: Some(runtime),
            stop_api: Some(stop_tx),
            api_task: Some(api_task),
            sim_control,
        })
    }

    /// Reload the configuration (see [`Reloader::reload`]).
    pub fn reload(&self) -> Result<(), Vec<String>> {
        self.reloader.reload()
    }

    /// The simulator's control socket, when one is served.
    pub fn sim_control_path(&self) -> Option<&Path> {
        self.sim_control.as_ref().map(|s| s.path())
    }

    /// Stop the API (event streams close, requests in flight finish), then
    /// the daemon (calls in progress end as interrupted; the journal is
    /// committed).
    pub fn shutdown(mut self) {
        if let Some(tx) = self.stop_api.take() {
            let _ = tx.send(());
        }
        if let (Some(rt), Some(task)) = (self.runtime.as_ref(), self.api_task.take()) {
            let _ = rt.block_on(async { tokio::time::timeout(Duration::from_secs(5), task).await });
        }
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(1));
        }
        if let Some(mut s) = self.sim_control.take() {
            s.stop();
        }
        self.daemon.shutdown();
    }
}

/// `GET /status` from the engine's and the records' counters.
fn status_fn(name: String, daemon: &Daemon, calls_active: Arc<AtomicU64>) -> api::StatusFn {
    let stats = daemon.engine.stats.clone();
    let info = daemon.engine.info.clone();
    let records = daemon.records.handle();
    let tick_ns = info.tick.wall().as_nanos() as u64;
    Arc::new(move || {
        let e = stats.snapshot();
        let r = records.stats();
        StatusView {
            name: name.clone(),
            version: env!("CARGO_PKG_VERSION").into(),
            board: BoardStatus {
                name: info.name.clone(),
                channels: info.channels.len() as u32,
                tick_ms: info.tick.wall().as_millis() as u32,
                slips: e.board_slips,
            },
            board_ms: e.board_time.as_ms(),
            engine: EngineStatus {
                ticks: e.ticks,
                events_dropped: e.events_dropped,
                busy_ratio: if e.ticks == 0 { 0.0 } else { e.busy_ns as f64 / (e.ticks * tick_ns) as f64 },
                busy_ns: e.busy_ns,
            },
            calls_active: calls_active.load(Ordering::Relaxed),
            records: RecordsStatus { committed_seq: r.committed_seq, queue_full: r.queue_full },
        }
    })
}
