//! `ctibox status | channels | calls` (what the daemon is doing) and the
//! call-control commands `originate | answer | hangup | hold | unhold |
//! transfer | conference`, over the daemon's API (docs/api.md).
//!
//! The read commands print aligned tables, or the API's JSON untouched with
//! `--json`. The control commands print one line saying what was done;
//! `originate` prints only the new call's id, for scripts.

use anyhow::Result;
use clap::Args;
use serde_json::{Value, json};

use ctibox_daemon::api::{CallDone, StatusView};
use ctibox_daemon::core::{CallView, ChannelStatus, ChannelView, LegStatus};

use crate::api::{ApiArgs, Client};
use crate::table::Table;
use crate::wall_time::format_board_ms;

/// Options of the read commands.
#[derive(Debug, Args)]
pub struct ReadArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// Print the API's JSON answer as it is.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct OriginateArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The extension to ring first.
    pub from: String,
    /// The number it then calls (an extension, or an outside number as
    /// dialled, e.g. 913800138000).
    pub to: String,
}

#[derive(Debug, Args)]
pub struct CallArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The call's id (see `ctibox calls`).
    pub call: i64,
}

#[derive(Debug, Args)]
pub struct HangupArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The call's id (see `ctibox calls`).
    pub call: i64,
    /// Hang up only this leg (default: the whole call).
    #[arg(long, value_name = "N")]
    pub leg: Option<i64>,
}

#[derive(Debug, Args)]
pub struct LegArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The call's id (see `ctibox calls`).
    pub call: i64,
    /// The leg whose party is held or taken off hold.
    #[arg(long, value_name = "N")]
    pub leg: i64,
}

#[derive(Debug, Args)]
#[command(after_help = "\
Blind:     ctibox transfer 7 --leg 2 803
Attended:  ctibox transfer 7 --leg 2 803 --attended   (talk to 803 first)
           ctibox transfer 7 --complete               (then hand the call over)
           ctibox transfer 7 --cancel                 (or back to the held party)
To a queue: ctibox transfer 7 --leg 2 queue:sales [--attended]")]
pub struct TransferArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The call's id (see `ctibox calls`).
    pub call: i64,
    /// The leg whose party is transferred.
    #[arg(long, value_name = "N", required_unless_present_any = ["complete", "cancel"])]
    pub leg: Option<i64>,
    /// Where to: an extension, a ring group, an outside number, `agent:ID`
    /// or `queue:NAME`.
    #[arg(required_unless_present_any = ["complete", "cancel"])]
    pub to: Option<String>,
    /// Call the target first (consult); finish with --complete.
    #[arg(long)]
    pub attended: bool,
    /// Finish the attended transfer in progress on the call.
    #[arg(long, conflicts_with_all = ["leg", "to", "attended", "cancel"])]
    pub complete: bool,
    /// Give up the attended transfer in progress: back to the held party.
    #[arg(long, conflicts_with_all = ["leg", "to", "attended"])]
    pub cancel: bool,
}

#[derive(Debug, Args)]
pub struct ConferenceArgs {
    #[command(flatten)]
    pub api: ApiArgs,
    /// The call's id (see `ctibox calls`).
    pub call: i64,
    /// The third party to add: an extension or an outside number.
    pub to: String,
}

/// `ctibox status`.
pub fn status(args: ReadArgs) -> Result<i32> {
    let client = Client::connect(&args.api)?;
    if args.json {
        return print_json(&client.get::<Value>("/status")?);
    }
    let s: StatusView = client.get("/status")?;
    crate::emit(&status_text(&s))?;
    Ok(0)
}

fn status_text(s: &StatusView) -> String {
    let mut t = Table::default();
    t.row(vec!["system".into(), format!("{} (ctiboxd {})", s.name, s.version)]);
    t.row(vec![
        "board".into(),
        format!(
            "{}: {} channels, {} ms ticks, {} clock slips",
            s.board.name, s.board.channels, s.board.tick_ms, s.board.slips
        ),
    ]);
    t.row(vec!["board time".into(), format_board_ms(s.board_ms)]);
    t.row(vec![
        "engine".into(),
        format!(
            "{} ticks, {:.1}% busy, {} events dropped",
            s.engine.ticks,
            s.engine.busy_ratio * 100.0,
            s.engine.events_dropped
        ),
    ]);
    t.row(vec!["calls".into(), format!("{} active", s.calls_active)]);
    t.row(vec![
        "records".into(),
        format!("committed up to {}, queue full {} times", s.records.committed_seq, s.records.queue_full),
    ]);
    t.render()
}

/// `ctibox channels`.
pub fn channels(args: ReadArgs) -> Result<i32> {
    let client = Client::connect(&args.api)?;
    if args.json {
        return print_json(&client.get::<Value>("/channels")?);
    }
    let channels: Vec<ChannelView> = client.get("/channels")?;
    crate::emit(&channels_table(&channels))?;
    Ok(0)
}

pub fn channel_status(s: ChannelStatus) -> &'static str {
    match s {
        ChannelStatus::Idle => "idle",
        ChannelStatus::Ringing => "ringing",
        ChannelStatus::Dialing => "dialing",
        ChannelStatus::Calling => "calling",
        ChannelStatus::Talking => "talking",
        ChannelStatus::Held => "held",
        ChannelStatus::Releasing => "releasing",
        ChannelStatus::Down => "down",
    }
}

pub fn leg_status(s: LegStatus) -> &'static str {
    match s {
        LegStatus::Ringing => "ringing",
        LegStatus::Alerting => "alerting",
        LegStatus::Up => "up",
        LegStatus::Held => "held",
        LegStatus::Ended => "ended",
    }
}

fn channels_table(channels: &[ChannelView]) -> String {
    let mut t = Table::new(&["CH", "KIND", "NAME", "ROLE", "STATUS", "CALL", "SINCE"]);
    for c in channels {
        t.row(vec![
            c.channel.to_string(),
            c.kind.clone(),
            c.name.clone(),
            c.role.clone(),
            channel_status(c.status).into(),
            c.call.map(|c| c.to_string()).unwrap_or_default(),
            format_board_ms(c.since_ms),
        ]);
    }
    t.render()
}

/// `ctibox calls`.
pub fn calls(args: ReadArgs) -> Result<i32> {
    let client = Client::connect(&args.api)?;
    if args.json {
        return print_json(&client.get::<Value>("/calls")?);
    }
    let calls: Vec<CallView> = client.get("/calls")?;
    if calls.is_empty() {
        println!("no active calls");
    } else {
        crate::emit(&calls_table(&calls))?;
    }
    Ok(0)
}

/// One row per leg; the call's own columns on its first leg's row only.
fn calls_table(calls: &[CallView]) -> String {
    let mut t =
        Table::new(&["CALL", "DIR", "STATUS", "FROM", "TO", "STARTED", "LEG", "ROLE", "PARTY", "CH", "LEG STATUS"]);
    for c in calls {
        let call_cells = vec![
            c.call.to_string(),
            c.direction.clone(),
            call_status(c),
            c.caller_number.clone().unwrap_or_default(),
            c.called_number.clone().unwrap_or_default(),
            format_board_ms(c.started_ms),
        ];
        if c.legs.is_empty() {
            t.row(call_cells);
            continue;
        }
        for (i, leg) in c.legs.iter().enumerate() {
            let mut row = if i == 0 { call_cells.clone() } else { vec![String::new(); call_cells.len()] };
            row.extend([
                leg.leg.to_string(),
                leg.role.clone(),
                leg.party.clone(),
                leg.channel.to_string(),
                leg_status(leg.status).into(),
            ]);
            t.row(row);
        }
    }
    t.render()
}

pub fn call_status(c: &CallView) -> String {
    use ctibox_daemon::core::CallStatus;
    match c.status {
        CallStatus::Ringing => "ringing".into(),
        CallStatus::Up => "up".into(),
        CallStatus::Ended => match &c.cause {
            Some(cause) => format!("ended ({cause})"),
            None => "ended".into(),
        },
    }
}

fn print_json(v: &Value) -> Result<i32> {
    crate::emit(&format!("{}\n", serde_json::to_string_pretty(v)?))?;
    Ok(0)
}

/// `ctibox originate FROM TO`: prints the new call's id.
pub fn originate(args: OriginateArgs) -> Result<i32> {
    let client = Client::connect(&args.api)?;
    let done: CallDone = client.post("/calls", json!({"from": args.from, "to": args.to}))?;
    match done.call {
        Some(id) => println!("{id}"),
        None => println!("placed (the daemon gave no call id)"),
    }
    Ok(0)
}

/// `ctibox answer CALL`.
pub fn answer(args: CallArgs) -> Result<i32> {
    control(&args.api, args.call, "answer", json!({}), "answered; the caller is on hold")
}

/// `ctibox hangup CALL [--leg N]`.
pub fn hangup(args: HangupArgs) -> Result<i32> {
    let (body, what) = match args.leg {
        Some(leg) => (json!({"leg": leg}), format!("leg {leg} hung up")),
        None => (json!({}), "hung up".to_string()),
    };
    control(&args.api, args.call, "hangup", body, &what)
}

/// `ctibox hold CALL --leg N` (`hold == true`) or `ctibox unhold …`.
pub fn hold(args: LegArgs, hold: bool) -> Result<i32> {
    let (action, what) = if hold { ("hold", "on hold") } else { ("unhold", "off hold") };
    control(&args.api, args.call, action, json!({"leg": args.leg}), &format!("leg {} {what}", args.leg))
}

/// `ctibox transfer CALL --leg N TO [--attended]` or `ctibox transfer CALL
/// --complete`.
pub fn transfer(args: TransferArgs) -> Result<i32> {
    if args.complete {
        return control(&args.api, args.call, "transfer/complete", json!({}), "transfer completed");
    }
    if args.cancel {
        return control(&args.api, args.call, "transfer/cancel", json!({}), "transfer cancelled");
    }
    // clap requires both unless --complete.
    let (Some(leg), Some(to)) = (args.leg, args.to) else {
        anyhow::bail!("transfer needs --leg N and a target, or --complete, or --cancel")
    };
    let mode = if args.attended { "attended" } else { "blind" };
    let what = if args.attended {
        format!("leg {leg}: calling {to} (finish with `ctibox transfer {0} --complete`, or `--cancel`)", args.call)
    } else {
        format!("leg {leg} transferred to {to}")
    };
    control(&args.api, args.call, "transfer", json!({"leg": leg, "to": to, "mode": mode}), &what)
}

/// `ctibox conference CALL TO`.
pub fn conference(args: ConferenceArgs) -> Result<i32> {
    let what = format!("adding {}", args.to);
    control(&args.api, args.call, "conference", json!({"to": args.to}), &what)
}

fn control(api: &ApiArgs, call: i64, action: &str, body: Value, what: &str) -> Result<i32> {
    let client = Client::connect(api)?;
    let _: CallDone = client.post(&format!("/calls/{call}/{action}"), body)?;
    println!("call {call}: {what}");
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ctibox_daemon::core::{CallId, CallStatus, LegId, LegView};
    use ctibox_driver::hal::ChannelId;

    #[test]
    fn a_call_takes_one_row_per_leg() {
        let leg = |n: i64, ch: u16, role: &str, party: &str, status| LegView {
            leg: LegId(n),
            channel: ChannelId(ch),
            role: role.into(),
            party: party.into(),
            status,
            held: false,
        };
        let call = CallView {
            call: CallId(1),
            direction: "inbound".into(),
            caller_number: Some("13800138000".into()),
            caller_name: None,
            called_number: Some("801".into()),
            status: CallStatus::Ringing,
            legs: vec![
                leg(1, 1, "caller", "13800138000", LegStatus::Up),
                leg(2, 2, "callee", "801", LegStatus::Ringing),
            ],
            started_ms: 1020,
            answered_ms: None,
            ended_ms: None,
            cause: None,
            vars: Default::default(),
            notes: Vec::new(),
        };
        let text = calls_table(&[call]);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("CALL  DIR"), "{text}");
        assert!(
            lines[1].starts_with("1     inbound  ringing  13800138000  801  1.020s   1    caller  13800138000  1   up")
        );
        assert!(lines[2].trim_start().starts_with("2    callee  801"), "{text}");
        // The leg columns line up under their header.
        assert_eq!(lines[0].find("LEG STATUS"), lines[2].find("ringing"), "{text}");
    }
}
