//! The IVR a config asks for, loaded: every flow of its directory, checked,
//! and every prompt converted. Built off the core thread at start and on
//! reload; calls in progress keep the flow they started on (`Arc<Flow>`).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use super::check::{CheckContext, check_flows};
use super::flow::{Flow, Lang};
use super::parse::load_dir;
use super::prompts::{PromptIndex, Prompts};
use crate::config::{Config, ConfigError, ConfigErrors};
use ctibox_driver::media::player::PlayBuffer;

/// `queue` nodes naming a queue the config does not have: neither a
/// `[[queue]]` nor a ring group (by number or name). Names with `${…}` are
/// only known during a call.
fn queue_errors(config: &Config, flows: &[Flow]) -> Vec<ConfigError> {
    use super::flow::NodeKind;
    let mut out = Vec::new();
    for f in flows {
        for n in &f.nodes {
            if let NodeKind::Queue { queue, .. } = &n.kind
                && queue.is_literal()
                && config.queue(&queue.text).is_none()
                && !config
                    .ring_groups
                    .iter()
                    .any(|g| g.number == queue.text || g.name.eq_ignore_ascii_case(&queue.text))
            {
                out.push(ConfigError {
                    file: f.file.display().to_string(),
                    line: Some(n.line),
                    col: None,
                    message: format!(
                        "node `{}`: there is no queue `{}` (neither a [[queue]] name nor a ring group's number or name)",
                        n.name, queue.text
                    ),
                });
            }
        }
    }
    out
}

/// Comfort prompts of `[[queue]]`s that the prompt set does not have in the
/// queue's language.
fn comfort_errors(config: &Config, index: &PromptIndex) -> Vec<ConfigError> {
    let mut out = Vec::new();
    for q in &config.queues {
        let lang = Lang::parse(&q.language).unwrap_or(Lang::En);
        for (i, name) in q.comfort.iter().enumerate() {
            if !index.has(lang, name) {
                out.push(q.comfort_error(
                    &config.source,
                    i,
                    format!("queue `{}`: comfort prompt `{name}` does not exist in {}", q.name(), lang.code()),
                ));
            }
        }
    }
    out
}

/// Loaded flows and prompts.
#[derive(Debug, Clone)]
pub struct IvrSet {
    pub dir: Option<PathBuf>,
    pub flows: BTreeMap<String, Arc<Flow>>,
    pub prompts: Arc<Prompts>,
    pub crm_url: Option<String>,
    /// Queues' own music on hold (`[[queue]] music_on_hold`), by queue.
    pub queue_music: BTreeMap<String, PlayBuffer>,
    /// What `check` warns about (unreachable nodes…).
    pub warnings: Vec<ConfigError>,
}

impl IvrSet {
    /// Load the config's IVR directory. Every problem is an error naming
    /// file:line: flow files, checks, prompt files, and `ivr:FLOW` targets
    /// of the config that name no flow.
    pub fn load(config: &Config) -> Result<IvrSet, ConfigErrors> {
        let mut errors = Vec::new();
        let mut warnings = Vec::new();
        let mut flows = BTreeMap::new();
        let index = match &config.ivr.dir {
            Some(dir) => match PromptIndex::scan(dir) {
                Ok(i) => i,
                Err(e) => {
                    errors.push(ConfigError {
                        file: dir.display().to_string(),
                        line: None,
                        col: None,
                        message: e.to_string(),
                    });
                    PromptIndex::builtin()
                }
            },
            None => PromptIndex::builtin(),
        };
        if let Some(dir) = &config.ivr.dir {
            if !dir.is_dir() {
                errors.push(ConfigError {
                    file: config.source.name.clone(),
                    line: None,
                    col: None,
                    message: format!("ivr dir {} is not a directory", dir.display()),
                });
            } else {
                let (loaded, errs) = load_dir(dir);
                errors.extend(errs);
                let report = check_flows(&loaded, &CheckContext { prompts: &index });
                errors.extend(report.errors);
                warnings.extend(report.warnings);
                errors.extend(queue_errors(config, &loaded));
                for f in loaded {
                    flows.insert(f.name.clone(), Arc::new(f));
                }
            }
        }
        errors.extend(comfort_errors(config, &index));
        let mut queue_music = BTreeMap::new();
        for q in &config.queues {
            let Some(path) = &q.music_on_hold else { continue };
            match ctibox_driver::media::wav::load_mono_8k(path) {
                Ok(samples) if !samples.is_empty() => {
                    queue_music.insert(q.name().to_string(), PlayBuffer::new(samples));
                }
                Ok(_) => errors.push(q.error(
                    &config.source,
                    format!("queue `{}`: music_on_hold {}: the file has no audio", q.name(), path.display()),
                )),
                Err(e) => errors.push(
                    q.error(&config.source, format!("queue `{}`: music_on_hold {}: {e}", q.name(), path.display())),
                ),
            }
        }
        for (name, span) in &config.ivr.refs {
            if !flows.contains_key(name) {
                let msg = match &config.ivr.dir {
                    Some(d) => format!("there is no IVR flow `{name}` in {}", d.display()),
                    None => format!(
                        "there is no IVR flow `{name}`: no [ivr] dir is set and there is no ivr/ directory next to the config"
                    ),
                };
                errors.push(config.source.error(Some(span.clone()), msg));
            }
        }
        let prompts = match Prompts::load(&index) {
            Ok(p) => p,
            Err(e) => {
                for p in e.0 {
                    errors.push(ConfigError { file: String::new(), line: None, col: None, message: p.to_string() })
                }
                Prompts::default()
            }
        };
        if !errors.is_empty() {
            return Err(ConfigErrors(errors));
        }
        Ok(IvrSet {
            dir: config.ivr.dir.clone(),
            flows,
            prompts: Arc::new(prompts),
            crm_url: config.ivr.crm_url.clone(),
            queue_music,
            warnings,
        })
    }

    /// No flows; the default prompts only.
    pub fn empty() -> IvrSet {
        IvrSet {
            dir: None,
            flows: BTreeMap::new(),
            prompts: Arc::new(Prompts::load(&PromptIndex::builtin()).unwrap_or_default()),
            crm_url: None,
            queue_music: BTreeMap::new(),
            warnings: Vec::new(),
        }
    }

    /// A webhook URL: absolute as is, else joined to the CRM base URL.
    pub fn webhook_url(&self, url: &str) -> Result<String, String> {
        if url.starts_with("http://") || url.starts_with("https://") {
            return Ok(url.to_string());
        }
        match &self.crm_url {
            Some(base) => Ok(format!("{}/{}", base.trim_end_matches('/'), url.trim_start_matches('/'))),
            None => Err(format!("`{url}` is not an absolute URL and no [ivr] crm_url is set")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &std::path::Path, inbound: &str) -> Config {
        let text = format!(
            "[board]\nbackend = \"builtin:fxo=1,fxs=1\"\n\n[ivr]\ndir = \"{}\"\n\n[[trunk]]\nname = \"pstn\"\n\
             channels = \"1\"\ninbound = \"{inbound}\"\n",
            dir.display()
        );
        Config::parse("c.toml", &text).expect("config parses")
    }

    #[test]
    fn flows_load_and_targets_are_checked_at_their_line() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(
            d.path().join("main.toml"),
            "start = \"bye\"\n\n[nodes.bye]\ntype = \"hangup\"\nprompts = [\"goodbye\"]\n",
        )
        .unwrap();
        let set = IvrSet::load(&config(d.path(), "ivr:main")).expect("loads");
        assert_eq!(set.flows.keys().collect::<Vec<_>>(), ["main"]);
        assert!(set.prompts.get(crate::ivr::flow::Lang::En, "goodbye").is_some());
        let e = IvrSet::load(&config(d.path(), "ivr:sales")).unwrap_err().to_string();
        assert!(e.starts_with("c.toml:10:11: there is no IVR flow `sales` in "), "{e}");
        // A broken flow file stops the load with its file and line.
        std::fs::write(d.path().join("bad.toml"), "start = \"x\"\n\n[nodes.x]\ntype = \"dance\"\n").unwrap();
        let e = IvrSet::load(&config(d.path(), "ivr:main")).unwrap_err().to_string();
        assert!(e.contains("bad.toml:4:") && e.contains("dance"), "{e}");
        // A queue that is no ring group.
        std::fs::write(d.path().join("bad.toml"), "start = \"q\"\n\n[nodes.q]\ntype = \"queue\"\nqueue = \"sales\"\n")
            .unwrap();
        let e = IvrSet::load(&config(d.path(), "ivr:main")).unwrap_err().to_string();
        assert!(e.contains("bad.toml:3: node `q`: there is no queue `sales`"), "{e}");
        std::fs::remove_file(d.path().join("bad.toml")).unwrap();
        // A missing directory is named.
        let e = IvrSet::load(&config(&d.path().join("nope"), "ivr:main")).unwrap_err().to_string();
        assert!(e.contains("nope is not a directory"), "{e}");
    }

    #[test]
    fn queue_nodes_name_acd_queues_and_comfort_prompts_must_exist() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join("main.toml"), "start = \"q\"\n\n[nodes.q]\ntype = \"queue\"\nqueue = \"sales\"\n")
            .unwrap();
        let text = |comfort: &str| {
            format!(
                "[board]\nbackend = \"builtin:fxo=1,fxs=1\"\n\n[ivr]\ndir = \"{}\"\n\n[[trunk]]\nname = \"pstn\"\n\
                 channels = \"1\"\ninbound = \"ivr:main\"\n\n[[agent]]\nid = \"1001\"\npin = \"1234\"\n\n\
                 [[queue]]\nname = \"sales\"\nstrategy = \"linear\"\nmembers = [\"1001\"]\nlanguage = \"en\"\n\
                 comfort = [{comfort}]\n",
                d.path().display()
            )
        };
        // `sales` is a [[queue]], not a ring group: the node is fine.
        let good = Config::parse("c.toml", &text("\"goodbye\"")).expect("config parses");
        IvrSet::load(&good).expect("loads");
        // A comfort prompt the prompt set lacks, at its place in the list.
        let bad = Config::parse("c.toml", &text("\"goodbye\", \"queue/nope\"")).expect("config parses");
        let e = IvrSet::load(&bad).unwrap_err().to_string();
        assert_eq!(e, "c.toml:21:23: queue `sales`: comfort prompt `queue/nope` does not exist in en");
        // Without the queue, the node names nothing.
        let none = Config::parse("c.toml", &text("").replace("name = \"sales\"", "name = \"other\"")).unwrap();
        let e = IvrSet::load(&none).unwrap_err().to_string();
        assert!(e.contains("node `q`: there is no queue `sales` (neither a [[queue]] name"), "{e}");
    }

    #[test]
    fn webhook_urls_join_the_crm_base() {
        let mut s = IvrSet::empty();
        assert!(s.webhook_url("lookup").unwrap_err().contains("no [ivr] crm_url"));
        s.crm_url = Some("http://crm.local/api/".into());
        assert_eq!(s.webhook_url("/lookup").unwrap(), "http://crm.local/api/lookup");
        assert_eq!(s.webhook_url("https://x.example/y").unwrap(), "https://x.example/y");
    }

    #[test]
    fn a_queues_music_on_hold_is_loaded_or_named_at_the_queue() {
        let d = tempfile::tempdir().unwrap();
        let wav = d.path().join("hold.wav");
        let samples: Vec<i16> = (0..8000).map(|i| ((i as f64 * 0.3).sin() * 8000.0) as i16).collect();
        ctibox_driver::media::wav::save_pcm16_mono(&wav, 8000, &samples).expect("wav");
        let text = |music: &str| {
            format!(
                "[board]\nbackend = \"builtin:fxo=1,fxs=1\"\n\n[[trunk]]\nname = \"pstn\"\nchannels = \"1\"\n\
                 inbound = \"queue:sales\"\n\n[[agent]]\nid = \"1001\"\npin = \"1234\"\n\n\
                 [[queue]]\nname = \"sales\"\nstrategy = \"linear\"\nmembers = [\"1001\"]\nmusic_on_hold = \"{}\"\n\n\
                 [[queue]]\nname = \"plain\"\nstrategy = \"linear\"\nmembers = [\"1001\"]\n",
                music
            )
        };
        let c = Config::parse("c.toml", &text(&wav.display().to_string())).expect("config parses");
        let set = IvrSet::load(&c).expect("loads");
        assert_eq!(set.queue_music.keys().collect::<Vec<_>>(), ["sales"], "only the queue with its own music");
        let missing = d.path().join("nope.wav");
        let c = Config::parse("c.toml", &text(&missing.display().to_string())).expect("config parses");
        let e = IvrSet::load(&c).unwrap_err().to_string();
        assert!(
            e.starts_with("c.toml:13:") && e.contains("queue `sales`: music_on_hold") && e.contains("nope.wav"),
            "{e}"
        );
    }
}
