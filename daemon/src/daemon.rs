//! Putting the daemon together: board, engine, records, call-control core
//! (and the API when it is asked for), and taking it apart again.
//!
//! `ctiboxd` is a thin shell over [`Daemon::start`]; tests start a daemon the
//! same way, on a simulated board, with a temporary database.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use crossbeam_channel::Sender;

use ctibox_boardsim::open_board;
use ctibox_boardsim::world::ControlHandle;
use ctibox_driver::engine::{self, EngineCommand, EngineConfig, EngineHandle};
use ctibox_driver::hal::{BoardError, BoardInfo};

use crate::config::{Config, ConfigErrors};
use crate::core::ivr_io::IvrIo;
use crate::core::{self, Core, CoreControl, CoreHandle, CoreParts};
use crate::ivr::set::IvrSet;
use crate::records::{Records, RecordsConfig};

/// How to start a daemon.
#[derive(Debug, Clone)]
pub struct DaemonOptions {
    pub config: Config,
    /// Board string overriding the config's.
    pub board: Option<String>,
    /// Database file (default: `data_dir/ctibox.db`).
    pub database: Option<PathBuf>,
}

/// Why a daemon could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("{0}")]
    Board(String),
    #[error("the config does not fit the board:\n{0}")]
    Layout(ConfigErrors),
    #[error("cannot create the data directory {path}: {error}")]
    DataDir { path: PathBuf, error: std::io::Error },
    #[error("records: {0}")]
    Records(String),
    #[error("line settings: {0}")]
    Lines(String),
    #[error("cannot start a thread: {0}")]
    Thread(std::io::Error),
    #[error("music on hold {path}: {error}")]
    MusicOnHold { path: PathBuf, error: String },
    #[error("IVR:\n{0}")]
    Ivr(ConfigErrors),
}

/// What may be changed in a running daemon from other threads: its
/// configuration. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DaemonControl {
    control: Sender<CoreControl>,
    current: Arc<Mutex<Arc<Config>>>,
    /// The board's layout (a new config is checked against it).
    pub board: BoardInfo,
}

impl DaemonControl {
    /// The configuration in force.
    pub fn config(&self) -> Arc<Config> {
        self.current.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Put `config` and its IVR (already checked and loaded) in force.
    pub fn reload(&self, config: Config, ivr: IvrSet) {
        let config = Arc::new(config);
        *self.current.lock().unwrap_or_else(|p| p.into_inner()) = config.clone();
        let _ = self.control.try_send(CoreControl::Reload(config, Arc::new(ivr)));
    }
}

/// A running daemon.
#[derive(Debug)]
pub struct Daemon {
    pub core: CoreHandle,
    pub engine: EngineHandle,
    pub records: Records,
    /// Live control of the built-in simulated board (to place test calls).
    pub sim_control: Option<ControlHandle>,
    pub config: Arc<Config>,
    control: DaemonControl,
    engine_thread: Option<std::thread::JoinHandle<Result<(), BoardError>>>,
    core_thread: Option<std::thread::JoinHandle<()>>,
}

impl Daemon {
    /// Open the board, the database, and start the engine and the core.
    pub fn start(opts: DaemonOptions) -> Result<Daemon, StartError> {
        let config = Arc::new(opts.config);
        let spec = opts.board.clone().unwrap_or_else(|| config.board.clone());
        let opened = open_board(&spec, "ctiboxd").map_err(|e| StartError::Board(e.to_string()))?;
        config.check_board(opened.board.info()).map_err(StartError::Layout)?;
        let lockstep = !opened.board.paced_by_clock();

        let db = match &opts.database {
            Some(p) => p.clone(),
            None => {
                std::fs::create_dir_all(&config.data_dir)
                    .map_err(|error| StartError::DataDir { path: config.data_dir.clone(), error })?;
                config.data_dir.join("ctibox.db")
            }
        };
        let records = Records::open(&db, &RecordsConfig::default()).map_err(|e| StartError::Records(e.to_string()))?;
        let rec = records.recovery();
        if rec.interrupted_calls > 0 {
            tracing::warn!(
                calls = rec.interrupted_calls,
                "calls left in flight by the last run were closed as interrupted"
            );
        }

        let music = match &config.music_on_hold {
            None => core::moh::default_music_on_hold(),
            Some(path) => match ctibox_driver::media::wav::load_mono_8k(path) {
                Ok(samples) if !samples.is_empty() => ctibox_driver::media::player::PlayBuffer::new(samples),
                Ok(_) => {
                    return Err(StartError::MusicOnHold { path: path.clone(), error: "the file has no audio".into() });
                }
                Err(e) => return Err(StartError::MusicOnHold { path: path.clone(), error: e.to_string() }),
            },
        };
        let ivr = IvrSet::load(&config).map_err(StartError::Ivr)?;
        for w in &ivr.warnings {
            tracing::warn!("{w}");
        }
        let mut ecfg = EngineConfig::for_country(config.country);
        ecfg.lockstep = lockstep;
        let setups = core::lines::setups(&config, &ecfg).map_err(StartError::Lines)?;
        // Lines are set up before the first tick, so a ring in it is seen.
        let (mut engine, engine_handle) = engine::Engine::new(opened.board, ecfg);
        for (channel, setup) in setups {
            // The queue holds 4096 commands: more than any board's channels.
            let _ = engine_handle.send(EngineCommand::Setup { channel, setup });
        }
        let engine_thread = std::thread::Builder::new()
            .name("ctibox-engine".into())
            .spawn(move || engine.run())
            .map_err(StartError::Thread)?;

        let (core_handle, inbox) = core::handle::channel(1024, 4096);
        let (control_tx, control_rx) = crossbeam_channel::bounded(16);
        let ivr_io =
            IvrIo::start(engine_handle.records.clone(), engine_handle.pool.clone()).map_err(StartError::Thread)?;
        let parts =
            CoreParts { inbox, control: control_rx, moh: music, ivr: Arc::new(ivr), ivr_io, records_db: db.clone() };
        let core = Core::new(config.clone(), engine_handle.clone(), records.handle(), parts);
        let core_thread = core::spawn(core).map_err(StartError::Thread)?;
        let info = engine_handle.info.clone();
        tracing::info!(board = %engine_handle.info.name, lockstep, database = %db.display(), "ctiboxd started");
        Ok(Daemon {
            core: core_handle,
            engine: engine_handle,
            records,
            sim_control: opened.control,
            control: DaemonControl { control: control_tx, current: Arc::new(Mutex::new(config.clone())), board: info },
            config,
            engine_thread: Some(engine_thread),
            core_thread: Some(core_thread),
        })
    }

    /// Take a new config (already checked) and load its IVR; on an IVR
    /// error the old config stays. Lines keep their settings; calls in a
    /// flow finish on the flow they started on.
    pub fn reload(&self, config: Config) -> Result<(), ConfigErrors> {
        let ivr = IvrSet::load(&config)?;
        self.control.reload(config, ivr);
        Ok(())
    }

    /// A handle to change the configuration from other threads.
    pub fn control(&self) -> DaemonControl {
        self.control.clone()
    }

    /// Whether the engine is still running (a simulated board may end).
    pub fn engine_running(&self) -> bool {
        self.engine_thread.as_ref().is_some_and(|t| !t.is_finished())
    }

    /// Wait until the engine stops by itself (the board went away).
    pub fn wait_engine(&mut self) -> Option<Result<(), BoardError>> {
        self.engine_thread.take().and_then(|t| t.join().ok())
    }

    /// Stop everything: calls in progress end as interrupted, the journal
    /// is committed, threads are joined.
    pub fn shutdown(mut self) {
        let _ = self.control.control.send_timeout(CoreControl::Shutdown, std::time::Duration::from_secs(5));
        if let Some(t) = self.core_thread.take() {
            let _ = t.join();
        }
        self.engine.stop();
        if let Some(t) = self.engine_thread.take() {
            let _ = t.join();
        }
        self.records.shutdown();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &std::path::Path, moh: Option<&std::path::Path>) -> Config {
        let moh = moh.map(|p| format!("music_on_hold = \"{}\"\n", p.display())).unwrap_or_default();
        let text = format!(
            "[system]\ndata_dir = \"{}\"\n{moh}\n[board]\nbackend = \"builtin:fxo=1,fxs=1,pace=fast\"\n\n\
             [[extension]]\nnumber = \"801\"\nchannel = 2\n",
            dir.display()
        );
        Config::parse("moh.toml", &text).expect("config")
    }

    #[test]
    fn music_on_hold_from_a_file_or_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let wav = dir.path().join("hold.wav");
        let tone: Vec<i16> = (0..16_000).map(|n| ((n as f64 * 0.3).sin() * 8000.0) as i16).collect();
        ctibox_driver::media::wav::save_pcm16_mono(&wav, 16_000, &tone).unwrap();
        let opts = |moh: Option<&std::path::Path>| DaemonOptions {
            config: config(dir.path(), moh),
            board: None,
            database: Some(dir.path().join("db.sqlite")),
        };
        let d = Daemon::start(opts(Some(&wav))).expect("starts with a 16 kHz WAV as music on hold");
        d.shutdown();
        let missing = dir.path().join("nothing.wav");
        let e = Daemon::start(opts(Some(&missing))).unwrap_err().to_string();
        assert!(e.starts_with(&format!("music on hold {}:", missing.display())), "{e}");
        let e = Config::parse("m.toml", "[system]\nmusic_on_hold = \"\"\n").unwrap_err().to_string();
        assert!(e.contains("m.toml:2:") && e.contains("music_on_hold is empty"), "{e}");
    }
}
