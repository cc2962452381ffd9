//! A flow as a Graphviz DOT graph (`ctibox ivr graph FLOW`): one box per
//! node with its name, type and what it plays or does, the start marked,
//! and one labelled edge per exit. Targets that name no node are drawn as
//! red dashed boxes so a broken flow still draws.
//!
//! Node ids are `n0`, `n1`, … (by file order), so any node name is safe;
//! every label is a quoted DOT string with `\` and `"` escaped. Pure: the
//! caller runs `dot`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::ivr::flow::{CompareOp, Condition, Database, Flow, HttpMethod, NodeKind, PromptItem};

/// Longest text put in a box line or an edge label, in characters.
const MAX_LABEL_CHARS: usize = 40;

/// The DOT text of `flow`.
pub fn to_dot(flow: &Flow) -> String {
    let mut out = String::new();
    let ids: BTreeMap<&str, String> =
        flow.nodes.iter().enumerate().map(|(i, n)| (n.name.as_str(), format!("n{i}"))).collect();
    // Targets that name no node get a box of their own, one per name.
    let mut missing: BTreeMap<&str, String> = BTreeMap::new();
    let targets = std::iter::once(flow.start.node.as_str())
        .chain(flow.nodes.iter().flat_map(|n| n.kind.exits().into_iter().map(|(_, g)| g.node.as_str())));
    for name in targets {
        if !ids.contains_key(name) && !missing.contains_key(name) {
            let id = format!("missing{}", missing.len());
            missing.insert(name, id);
        }
    }
    let id_of = |name: &str| ids.get(name).or_else(|| missing.get(name)).cloned().unwrap_or_default();

    let title = format!("flow {} ({}) — {}", flow.name, flow.lang.code(), flow.file.display());
    let _ = writeln!(out, "digraph {} {{", quote(&flow.name));
    let _ = writeln!(out, "  graph [label={}, labelloc=t, rankdir=TB, fontname=\"Helvetica\"];", quote(&title));
    let _ = writeln!(out, "  node [shape=box, style=rounded, fontname=\"Helvetica\", fontsize=11];");
    let _ = writeln!(out, "  edge [fontname=\"Helvetica\", fontsize=10];");

    // The start marker.
    let _ = writeln!(out, "  start [shape=circle, style=filled, fillcolor=black, fontcolor=white, label=\"start\"];");
    for (i, node) in flow.nodes.iter().enumerate() {
        let mut lines = vec![node.name.clone(), node.kind.type_name().to_string()];
        lines.extend(summary(&node.kind).into_iter().map(|l| shorten(&l)));
        let mut attrs = format!("label={}", quote(&lines.join("\n")));
        if node.name == flow.start.node {
            attrs.push_str(", penwidth=2");
        }
        if node.kind.waits_for_input() {
            attrs.push_str(", style=\"rounded,filled\", fillcolor=\"#e8f0ff\"");
        }
        if matches!(node.kind, NodeKind::Hangup { .. }) {
            attrs.push_str(", shape=octagon, style=solid");
        }
        let _ = writeln!(out, "  n{i} [{attrs}];");
    }

    let mut edges = Vec::new();
    edges.push(("start".to_string(), id_of(&flow.start.node), String::new()));
    for (i, node) in flow.nodes.iter().enumerate() {
        for (label, target) in node.kind.exits() {
            let label = edge_label(&node.kind, &label);
            edges.push((format!("n{i}"), id_of(&target.node), label));
        }
    }
    for (name, id) in &missing {
        let _ = writeln!(
            out,
            "  {id} [label={}, color=red, fontcolor=red, style=dashed];",
            quote(&format!("{name}\n(no such node)"))
        );
    }
    for (from, to, label) in edges {
        if label.is_empty() {
            let _ = writeln!(out, "  {from} -> {to};");
        } else {
            let _ = writeln!(out, "  {from} -> {to} [label={}];", quote(&label));
        }
    }
    out.push_str("}\n");
    out
}

/// A DOT quoted string: `"` and `\` escaped, a newline as DOT's `\n`
/// (centred line break), other control characters dropped.
pub fn quote(text: &str) -> String {
    let mut q = String::with_capacity(text.len() + 2);
    q.push('"');
    for c in text.chars() {
        match c {
            '"' => q.push_str("\\\""),
            '\\' => q.push_str("\\\\"),
            '\n' => q.push_str("\\n"),
            c if c.is_control() => {}
            c => q.push(c),
        }
    }
    q.push('"');
    q
}

fn shorten(text: &str) -> String {
    let one_line: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if one_line.chars().count() <= MAX_LABEL_CHARS {
        return one_line;
    }
    let mut s: String = one_line.chars().take(MAX_LABEL_CHARS - 1).collect();
    s.push('…');
    s
}

fn item_text(item: &PromptItem) -> String {
    match item {
        PromptItem::Prompt { name, .. } => format!("▶ {}", name.text),
        PromptItem::Say { value, kind, .. } => format!("say {} as {}", value.text, kind.name()),
        PromptItem::Silence { ms, .. } => format!("silence {ms} ms"),
    }
}

/// The first prompt, with a count of the others.
fn first_prompt(items: &[PromptItem]) -> Option<String> {
    let first = items.first()?;
    let more = items.len() - 1;
    Some(if more == 0 { item_text(first) } else { format!("{} (+{more})", item_text(first)) })
}

/// The lines under a node's name and type.
fn summary(kind: &NodeKind) -> Vec<String> {
    let mut v: Vec<String> = Vec::new();
    match kind {
        NodeKind::Play { prompts, .. } | NodeKind::Hangup { prompts } => v.extend(first_prompt(prompts)),
        NodeKind::Say { item, .. } => v.push(item_text(item)),
        NodeKind::Menu { prompt, timeout_ms, retries, .. } => {
            v.extend(first_prompt(prompt));
            v.push(format!("wait {} s, {retries} tries", *timeout_ms as f64 / 1000.0));
        }
        NodeKind::Collect { prompt, var, min, max, .. } => {
            v.extend(first_prompt(prompt));
            v.push(format!("{min}-{max} digits → ${{{var}}}"));
        }
        NodeKind::Lookup { database, sql, prefix, .. } => {
            v.push(match database {
                Database::Records => "in records".to_string(),
                Database::File(p) => format!(
                    "in {}",
                    p.file_name().map_or_else(|| p.display().to_string(), |f| f.to_string_lossy().into_owned())
                ),
            });
            v.push(sql.clone());
            if !prefix.is_empty() {
                v.push(format!("→ {prefix}*"));
            }
        }
        NodeKind::Branch { cases, .. } => {
            v.push(format!("{} case{}", cases.len(), if cases.len() == 1 { "" } else { "s" }))
        }
        NodeKind::Set { vars, .. } => {
            v.extend(vars.iter().take(3).map(|(k, t)| format!("{k} = {}", t.text)));
            if vars.len() > 3 {
                v.push(format!("(+{} more)", vars.len() - 3));
            }
        }
        NodeKind::Webhook { method, url, .. } => {
            let m = match method {
                HttpMethod::Get => "GET",
                HttpMethod::Post => "POST",
            };
            v.push(format!("{m} {}", url.text));
        }
        NodeKind::Queue { queue, priority, .. } => {
            v.push(format!("queue {}", queue.text));
            if let Some(p) = priority {
                v.push(format!("priority {}", p.text));
            }
        }
        NodeKind::Transfer { to, .. } => v.push(format!("to {}", to.text)),
        NodeKind::Voicemail { mailbox, greeting, .. } => {
            v.push(format!("mailbox {}", mailbox.text));
            v.extend(first_prompt(greeting));
        }
        NodeKind::Record { prompt, var, .. } => {
            v.extend(first_prompt(prompt));
            v.push(format!("→ ${{{var}}}"));
        }
    }
    v
}

/// An exit's label: the key of a menu choice, a branch case with its
/// condition, else the exit's name.
fn edge_label(kind: &NodeKind, label: &str) -> String {
    if let NodeKind::Branch { cases, .. } = kind
        && let Some(n) = label.strip_prefix("case ").and_then(|n| n.parse::<usize>().ok())
        && let Some(case) = cases.get(n.wrapping_sub(1))
    {
        return shorten(&format!("{n}: {}", condition_text(&case.when)));
    }
    label.to_string()
}

fn condition_text(c: &Condition) -> String {
    match c {
        Condition::Compare { var, op, value } => {
            let op = match op {
                CompareOp::Eq => "==",
                CompareOp::Ne => "!=",
                CompareOp::Lt => "<",
                CompareOp::Le => "<=",
                CompareOp::Gt => ">",
                CompareOp::Ge => ">=",
                CompareOp::Matches => "matches",
                CompareOp::Empty => return format!("{var} empty"),
                CompareOp::NotEmpty => return format!("{var} not empty"),
            };
            format!("{var} {op} {}", value.text)
        }
        Condition::Caller { pattern } => format!("caller ~ {pattern}"),
        Condition::Schedule { name } => format!("in {name}"),
        Condition::Holiday { name } => format!("holiday {name}"),
        Condition::All(list) => list.iter().map(condition_text).collect::<Vec<_>>().join(" and "),
        Condition::Any(list) => format!("({})", list.iter().map(condition_text).collect::<Vec<_>>().join(" or ")),
        Condition::Not(inner) => format!("not {}", condition_text(inner)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ivr::flow::{Case, Goto, Lang, Node, Template};
    use std::path::PathBuf;

    fn g(n: &str) -> Goto {
        Goto { node: n.into(), line: 1 }
    }

    fn flow() -> Flow {
        let nodes = vec![
            Node {
                name: "say \"hi\"".into(),
                line: 1,
                kind: NodeKind::Play {
                    prompts: vec![PromptItem::Prompt { name: Template::new("a\\b"), line: 1 }],
                    barge_in: false,
                    next: g("pick"),
                },
            },
            Node {
                name: "pick".into(),
                line: 2,
                kind: NodeKind::Branch {
                    cases: vec![Case {
                        when: Condition::Compare { var: "vip".into(), op: CompareOp::Ge, value: Template::new("2") },
                        goto: g("gone"),
                        line: 2,
                    }],
                    default: g("end"),
                },
            },
            Node { name: "end".into(), line: 3, kind: NodeKind::Hangup { prompts: vec![] } },
        ];
        Flow {
            name: "t".into(),
            file: PathBuf::from("t.toml"),
            lang: Lang::Ru,
            start: g("say \"hi\""),
            nodes,
            schedules: vec![],
            holidays: vec![],
        }
    }

    #[test]
    fn quoting() {
        assert_eq!(quote("a\"b\\c\nd\u{7}"), "\"a\\\"b\\\\c\\nd\"");
        assert_eq!(quote("中文"), "\"中文\"");
    }

    #[test]
    fn nodes_edges_start_and_missing_targets() {
        let dot = to_dot(&flow());
        assert!(dot.starts_with("digraph \"t\" {\n"), "{dot}");
        assert!(dot.ends_with("}\n"));
        assert!(dot.contains("n0 [label=\"say \\\"hi\\\"\\nplay\\n▶ a\\\\b\", penwidth=2];"), "{dot}");
        assert!(dot.contains("n2 [label=\"end\\nhangup\", shape=octagon"), "{dot}");
        assert!(dot.contains("  start -> n0;\n"), "{dot}");
        assert!(dot.contains("  n0 -> n1 [label=\"next\"];\n"), "{dot}");
        assert!(dot.contains("  n1 -> missing0 [label=\"1: vip >= 2\"];\n"), "{dot}");
        assert!(dot.contains("  missing0 [label=\"gone\\n(no such node)\", color=red"), "{dot}");
        assert!(dot.contains("  n1 -> n2 [label=\"default\"];\n"), "{dot}");
        // Balanced quotes on every line: each label is one DOT string.
        for line in dot.lines() {
            let unescaped = line.replace("\\\\", "").replace("\\\"", "");
            assert_eq!(unescaped.matches('"').count() % 2, 0, "{line}");
        }
    }

    #[test]
    fn long_text_is_shortened() {
        let s = shorten(&"x".repeat(100));
        assert_eq!(s.chars().count(), MAX_LABEL_CHARS);
        assert!(s.ends_with('…'));
        assert_eq!(shorten("SELECT a\n  FROM b"), "SELECT a FROM b");
    }
}
