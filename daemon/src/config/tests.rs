use super::*;
use ctibox_driver::hal::{BoardLayout, Law, TickLength};

fn errors(text: &str) -> Vec<String> {
    match Config::parse("t.toml", text) {
        Ok(_) => panic!("expected errors in:\n{text}"),
        Err(e) => e.0.iter().map(|e| e.to_string()).collect(),
    }
}

fn one_error(text: &str, want_line: usize, want: &str) {
    let e = errors(text);
    assert!(
        e.iter().any(|m| m.starts_with(&format!("t.toml:{want_line}:")) && m.contains(want)),
        "wanted `{want}` at line {want_line}, got {e:#?}"
    );
}

const BASE: &str = r#"
[board]
backend = "builtin:fxo=2,fxs=2"

[[trunk]]
name = "pstn"
channels = "1-2"
inbound = "ext:801"

[[extension]]
number = "801"
channel = 3

[[extension]]
number = "802"
channel = 4
"#;

#[test]
fn demo_config_is_valid_and_fits_its_board() {
    let c = Config::demo();
    assert_eq!(c.trunks.len(), 1);
    assert_eq!(c.extensions.len(), 4);
    assert_eq!(c.trunks[0].channels, (1..=4).map(ChannelId).collect::<Vec<_>>());
    assert_eq!(c.users.len(), 5);
    assert!(c.warnings.iter().all(|w| w.message.contains("plain-text password")));
    let b = ctibox_boardsim::open_board(&c.board.replace("country=CN", "country=CN,pace=fast"), "test").unwrap();
    c.check_board(b.board.info()).unwrap();
    assert_eq!(c.route("801").unwrap().to, Target::DialledExtension);
    assert_eq!(c.route("913800138000").unwrap().to, Target::Trunk("pstn".into()));
    assert_eq!(c.route("0").unwrap().to, Target::Extension("804".into()));
    assert!(c.route("7").is_none());
}

#[test]
fn minimal_file_gets_defaults() {
    let c = Config::parse("t.toml", BASE).unwrap();
    assert_eq!(c.country, Country::Cn);
    assert_eq!(c.listen.to_string(), "127.0.0.1:8080");
    assert_eq!(c.trunks[0].answer_after_rings, 2);
    assert!(c.trunks[0].disconnect.loop_drop && c.trunks[0].disconnect.busy_tone);
    assert_eq!(c.extensions[0].name, "Extension 801");
    assert!(c.warnings.is_empty());
    let empty = Config::parse("t.toml", "").unwrap();
    assert_eq!(empty.board, "builtin");
}

#[test]
fn syntax_and_unknown_keys_name_the_line() {
    one_error("[system]\ncountry = \"CN\"\ncolour = \"red\"\n", 3, "unknown field `colour`");
    one_error("[system]\ncountry = CN\n", 2, "");
    one_error("[[extension]]\nnumber = \"801\"\nchannel = \"five\"\n", 3, "invalid type");
    one_error("[[extension]]\nnumber = \"801\"\n", 1, "missing field `channel`");
}

#[test]
fn value_errors_name_the_line() {
    one_error("[system]\ncountry = \"Atlantis\"\n", 2, "country");
    one_error("[api]\nlisten = \"localhost\"\n", 2, "is not an address:port");
    one_error("[api]\ntoken_ttl = \"3 parsecs\"\n", 2, "unknown unit `parsecs`");
    one_error("[board]\nbackend = \"floppy:a\"\n", 2, "unknown kind `floppy`");
    one_error("[board]\nbackend = \"builtin:fxo=many\"\n", 2, "fxo must be a whole number");
    let bad_hunt = BASE.replace("inbound = \"ext:801\"", "inbound = \"ext:801\"\nhunt = \"random\"");
    one_error(&bad_hunt, 9, "hunt: `random`");
    let bad_rings = BASE.replace("inbound = \"ext:801\"", "inbound = \"ext:801\"\nanswer_after_rings = 40");
    one_error(&bad_rings, 9, "answer_after_rings must be 0 to 15");
    let bad_disc = BASE.replace("inbound = \"ext:801\"", "inbound = \"ext:801\"\ndisconnect = [\"smoke\"]");
    one_error(&bad_disc, 9, "`smoke` is not loop_drop");
}

#[test]
fn channel_conflicts_and_ranges() {
    one_error(&BASE.replace("channels = \"1-2\"", "channels = \"2-1\""), 7, "runs backwards");
    one_error(&BASE.replace("channels = \"1-2\"", "channels = \"0,1\""), 7, "numbered from 1");
    one_error(&BASE.replace("channel = 3", "channel = 2"), 12, "channel 2 is already used by trunk `pstn`");
    one_error(&BASE.replace("channel = 4", "channel = 3"), 16, "channel 3 is already used by extension 801");
}

#[test]
fn references_must_exist() {
    one_error(&BASE.replace("inbound = \"ext:801\"", "inbound = \"ext:999\""), 8, "there is no extension 999");
    one_error(&BASE.replace("inbound = \"ext:801\"", "inbound = \"group:600\""), 8, "there is no ring group 600");
    one_error(&BASE.replace("inbound = \"ext:801\"", "inbound = \"queue:sales\""), 8, "there is no queue `sales`");
    let group = format!("{BASE}\n[[ring_group]]\nnumber = \"600\"\nmembers = [\"801\", \"805\"]\n");
    one_error(&group, 20, "member 805 is not an extension");
    let clash = format!("{BASE}\n[[ring_group]]\nnumber = \"801\"\nmembers = [\"801\"]\n");
    one_error(&clash, 19, "number 801 is already used by a extension");
    let route = format!("{BASE}\n[[dial_plan.route]]\npattern = \"9.\"\nto = \"trunk:gsm\"\n");
    one_error(&route, 20, "there is no trunk `gsm`");
    let pat = format!("{BASE}\n[[dial_plan.route]]\npattern = \"9[\"\nto = \"ext\"\n");
    one_error(&pat, 19, "pattern `9[`");
    let dup = format!("{BASE}\n[[extension]]\nnumber = \"801\"\nchannel = 9\n");
    one_error(&dup, 19, "extension 801 is defined twice");
}

#[test]
fn users_are_checked() {
    let u = |body: &str| format!("{BASE}\n[[user]]\n{body}\n");
    one_error(&u("name = \"a\"\nrole = \"king\"\npassword = \"x\""), 20, "role `king`");
    one_error(&u("name = \"a\"\nrole = \"agent\"\npassword_hash = \"md5:x\""), 21, "argon2");
    one_error(&u("name = \"a\"\nrole = \"agent\""), 18, "has no password_hash");
    one_error(&u("name = \"a b\"\nrole = \"agent\"\npassword = \"x\""), 19, "without spaces");
    one_error(&u("name = \"a\"\nrole = \"agent\"\npassword = \"x\"\nextension = \"899\""), 22, "no extension 899");
    let two = format!(
        "{}{}",
        u("name = \"a\"\nrole = \"agent\"\npassword = \"x\""),
        "\n[[user]]\nname = \"a\"\nrole = \"agent\"\npassword = \"y\"\n"
    );
    one_error(&two, 24, "user a is defined twice");
}

#[test]
fn tone_overrides_are_checked() {
    let ok = format!("{BASE}\n[tones]\nbusy = \"450/350,0/350\"\n");
    let c = Config::parse("t.toml", &ok).unwrap();
    assert_eq!(c.tones, vec![(ToneKind::Busy, "450/350,0/350".to_string())]);
    let bad = format!("{BASE}\n[tones]\nbusy = \"loud\"\n");
    one_error(&bad, 19, "tones: busy");
    let kind = format!("{BASE}\n[tones]\nhonk = \"450\"\n");
    one_error(&kind, 19, "tones: `honk`");
}

#[test]
fn every_error_is_reported_at_once_in_line_order() {
    let text =
        "[system]\ncountry = \"XX\"\n[api]\nlisten = \"nowhere\"\n[[extension]]\nnumber = \"8x1\"\nchannel = 0\n";
    let e = errors(text);
    assert_eq!(e.len(), 4, "{e:#?}");
    let lines: Vec<&str> = e.iter().map(|m| m.split(':').nth(1).unwrap_or("")).collect();
    assert_eq!(lines, ["2", "4", "6", "7"]);
}

#[test]
fn board_check_names_channel_problems() {
    let c = Config::parse("t.toml", BASE).unwrap();
    let small = BoardLayout::new("tiny", TickLength::DEFAULT).analog_span(Law::ALaw, 3, 0).build().unwrap();
    let e = c.check_board(&small).unwrap_err().to_string();
    assert!(e.contains("t.toml:12:11: extension 801: channel 3 is an fxo port; phones need FXS ports"), "{e}");
    assert!(e.contains("t.toml:16:11: extension 802: channel 4 does not exist (board tiny has channels 1-3)"), "{e}");
    let swapped = BoardLayout::new("sw", TickLength::DEFAULT).analog_span(Law::ALaw, 0, 4).build().unwrap();
    let e = c.check_board(&swapped).unwrap_err().to_string();
    assert!(e.contains("t.toml:7:12: trunk `pstn`: channel 1 is an fxs port; trunks need FXO ports"), "{e}");
}

#[test]
fn channel_and_target_parsers() {
    assert_eq!(parse_channels("1-3, 7").unwrap(), vec![ChannelId(1), ChannelId(2), ChannelId(3), ChannelId(7)]);
    assert!(parse_channels("").is_err());
    assert!(parse_channels("a").unwrap_err().contains("`a` is not a channel number"));
    assert_eq!(parse_target("hangup"), Ok(Target::Hangup));
    assert_eq!(parse_target(" ext "), Ok(Target::DialledExtension));
    assert!(parse_target("ext:").is_err());
    assert!(parse_target("phone:1").unwrap_err().contains("is not a call target"));
}

#[test]
fn extension_release_loop_open_is_a_bounded_duration() {
    let c = Config::parse("t.toml", &BASE.replace("channel = 3\n", "channel = 3\nrelease_loop_open = \"600ms\"\n"))
        .unwrap();
    assert_eq!(c.extensions[0].release_loop_open_ms, Some(600));
    assert_eq!(c.extensions[1].release_loop_open_ms, None);
    let off =
        Config::parse("t.toml", &BASE.replace("channel = 3\n", "channel = 3\nrelease_loop_open = \"0s\"\n")).unwrap();
    assert_eq!(off.extensions[0].release_loop_open_ms, None);
    one_error(
        &BASE.replace("channel = 3\n", "channel = 3\nrelease_loop_open = \"20ms\"\n"),
        13,
        "release_loop_open: 20 ms is outside 50 ms–5 s",
    );
    one_error(&BASE.replace("channel = 3\n", "channel = 3\nrelease_loop_open = \"soon\"\n"), 13, "release_loop_open:");
}
