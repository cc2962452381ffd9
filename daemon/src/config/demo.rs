//! The built-in demo configuration: what `ctiboxd` runs when no config
//! file exists. It is also a complete, commented example of the format.

/// A small call center on the built-in simulated board: four CO lines and
/// four phones.
pub const DEMO_CONFIG: &str = r##"# ctibox demo configuration (built in; `ctiboxd --print-demo-config`)

[system]
name = "ctibox demo"
country = "CN"                  # tones, ring cadence, caller-ID standard
data_dir = "/tmp/ctibox-demo"   # database, recordings, voicemail
# music_on_hold = "/etc/ctibox/hold.wav"   # any common WAV; built-in music when left out

[api]
listen = "127.0.0.1:8080"       # HTTP + WebSocket API and the web console
token_ttl = "12h"

[board]
# The simulated board linked into the daemon, paced like a real card; its
# central office sends FSK caller ID. Place calls on it with
# `ctibox-sim call --line 1 --from 13800138000`, answer a phone with
# `ctibox-sim answer --phone 5` (add `answer=2` here: phones answer by
# themselves after two rings).
# Real hardware: "dahdi"; a separate simulator: "sim:/tmp/ctibox-sim.sock".
backend = "builtin:fxo=4,fxs=4,country=CN,cid=fsk"

[[trunk]]
name = "pstn"
channels = "1-4"                # FXO ports
number = "88880000"             # our published number
hunt = "ascending"              # outgoing line choice
answer_after_rings = 2
caller_id = "auto"              # FSK Bell 202 in China
disconnect = ["loop_drop", "busy_tone"]
inbound = "ivr:main"            # inbound calls go to the IVR flow `main`

[[extension]]
number = "801"
name = "Alice"
channel = 5

[[extension]]
number = "802"
name = "Bob"
channel = 6

[[extension]]
number = "803"
name = "Carol"
channel = 7

[[extension]]
number = "804"
name = "Operator"
channel = 8

[[ring_group]]
number = "600"
name = "Sales"
members = ["801", "802"]
strategy = "simultaneous"
ring_time = "30s"
no_answer = "ext:804"

[[ring_group]]
number = "601"
name = "Support"
members = ["803"]
ring_time = "30s"
no_answer = "ext:804"

[ivr]
# One flow per *.toml file; prompts under ivr/prompts/<lang>/ override the
# built-in set. Relative to this file; the demo's flow (main.toml) and its
# order database (shop.db) are written to data_dir/ivr when ctiboxd runs
# the built-in demo: copy them next to your config.
dir = "ivr"
# crm_url = "http://127.0.0.1:9000/crm"   # base of relative webhook URLs

[dial_plan]
digit_map = ["8XX", "60X", "500", "9.", "0"]
first_digit_timeout = "10s"
interdigit_timeout = "4s"

[[dial_plan.route]]
pattern = "8XX"
to = "ext"                      # the extension dialled

[[dial_plan.route]]
pattern = "600"
to = "group:600"

[[dial_plan.route]]
pattern = "9."
to = "trunk:pstn"               # 9 + number goes out on a CO line
strip = 1

[[dial_plan.route]]
pattern = "0"
to = "ext:804"                  # the operator

[[dial_plan.route]]
pattern = "500"
to = "ivr:main"                 # extensions can try the IVR too

# Demo users. Real installations store password_hash (ctiboxd hash-password).
[[user]]
name = "admin"
role = "admin"
password = "admin"

[[user]]
name = "super"
role = "supervisor"
password = "super"

[[user]]
name = "alice"
role = "agent"
password = "alice"
extension = "801"

[[user]]
name = "bob"
role = "agent"
password = "bob"
extension = "802"

[[user]]
name = "carol"
role = "agent"
password = "carol"
extension = "803"

# --- ACD: queues and agents (docs/config-acd.md) ---------------------------
# Agents log in and change state from any phone with these codes:
#   *51 AGENT * PIN #   log in (e.g. *511001*1111#) at that phone
#   *52                 log out
#   *53                 ready for calls
#   *54 [REASON] #      not ready, with an optional reason code
# Each code is * or # and digits; the dial plan collects them by itself.
[acd]
login_code = "*51"
logout_code = "*52"
ready_code = "*53"
not_ready_code = "*54"
seed = 1                        # weighted_random's choices repeat with the seed

# A queue is reached as the target `queue:NAME` (trunk inbound, routes, ring
# group no_answer, another queue's overflow) and from IVR `queue` nodes.
[[queue]]
name = "sales"                  # lower-case letters, digits, _ or -
title = "Sales"                 # what consoles show (default: the name)
# strategy: ring_all, round_robin, longest_idle, fewest_calls,
# least_talk_time, linear, weighted_random or skills
strategy = "longest_idle"
members = ["1001", "1002"]      # agent ids
# weights = { "1002" = 3 }      # weighted_random: shares (default 1)
offer_timeout = "15s"           # an agent's phone rings this long (1s to 5m)
no_answer = "not_ready"         # an agent who lets it ring out: not_ready or ready
wrap_up = "5s"                  # after-call work before the next call (up to 1h)
max_wait = "3m"                 # then the caller leaves for overflow
# max_len = 20                  # more waiting callers go to overflow at once
overflow = "ext:804"            # after max_wait, when full or empty (default hangup)
join_empty = true               # callers may wait while no agent is logged in
leave_empty = false             # callers leave when the last agent logs out
sticky = "20s"                  # the caller's personal manager rings first ("0s": off)
service_level = "20s"           # answered within this counts as in service
announce = "60s"                # position and expected wait, this often ("off")
# comfort = ["queue/comfort"]   # prompts between the music…
# comfort_every = "45s"         # …this often
# music_on_hold = "hold.wav"    # relative to this file (default: [system]'s)
callback_key = "1"              # the caller presses 1 to be called back instead (the spoken offer says 1)
# language = "zh-CN"            # announcements: zh-CN, en or ru (default: country's)

[[queue]]
name = "support"
title = "Support"
strategy = "skills"             # callers' required skills pick the agent
members = ["1001", "1002", "1003"]
# relax = [ { after = "30s", lower = 1 }, { after = "90s", lower = "any" } ]
#   after waiting 30s a caller's minimum levels drop by 1; after 90s any
#   member will do

[[agent]]
id = "1001"                     # digits: typed on the phone after *51
name = "Alice"
pin = "1111"                    # 4 to 8 digits
extension = "801"               # her usual phone (a login elsewhere overrides)
skills = { sales = 8, english = 5 }   # levels 1 to 10
user = "alice"                  # the API user who is this agent

[[agent]]
id = "1002"
name = "Bob"
pin = "2222"
extension = "802"
skills = { sales = 5, support = 3 }
user = "bob"

[[agent]]
id = "1003"
name = "Carol"
pin = "3333"
extension = "803"
skills = { support = 9 }
user = "carol"

# --- Outbound campaigns (docs/campaigns.md) ---------------------------------
# A progressive campaign dials the numbers imported into it (a CSV file with
# a `number` column) through a trunk, one call per ready agent of its queue;
# an answered call goes to the next ready agent. Numbers on the do-not-call
# list are never dialled.
[[campaign]]
name = "spring-offer"           # lower-case letters, digits, _ or -
mode = "progressive"            # or "preview": agents see each number first
queue = "sales"                 # its ready agents take answered calls
trunk = "pstn"                  # the calls go out on these lines
# caller_id = "88880000"        # presented where the line allows it
max_lines = 2                   # at most 2 calls dialling at once
ratio = 1.0                     # dials per ready agent (1.0: progressive; up to 5.0)
ring_timeout = "30s"            # ringing this long is no answer
agent_wait = "2s"               # an answered party waits this long for an agent's phone to ring
hours = "09:00-18:00"           # dial only then (local time)…
days = "mon-fri"                # …on these days
# After each result the number is dialled again `after` later, at most
# `max` times for that result; then it is done with that result.
retry.busy = { after = "5m", max = 3 }
retry.no_answer = { after = "30m", max = 2 }
retry.fax = { max = 0 }         # a fax line will not become a person
retry.failed = { after = "2m", max = 3 }       # no dial tone, congestion, no free line
retry.abandoned = { after = "10m", max = 2 }   # answered while no agent was free
"##;

/// The demo's IVR flow: greeting, 1 sales, 2 support, 3 order status
/// (looked up in `shop.db`), 8 leave a message, 0 operator.
pub const DEMO_FLOW: &str = r##"# The ctibox demo IVR flow (docs/ivr.md describes the format).
name = "main"
language = "zh-CN"          # zh-CN, en or ru: prompts and spoken numbers
start = "greeting"

[nodes.greeting]
type = "play"
prompts = ["demo/welcome"]
barge_in = true             # a caller who knows the menu can press at once
next = "menu"

[nodes.menu]
type = "menu"
prompt = ["demo/main-menu"]
choices = { "1" = "sales", "2" = "support", "3" = "order_number", "8" = "message", "0" = "operator" }
timeout = "5s"
retries = 3
fallback = "operator"

[nodes.sales]
type = "play"
prompts = ["demo/to-sales"]
next = "sales_queue"

[nodes.sales_queue]
type = "queue"
queue = "600"               # the sales ring group until ACD queues exist
on_failure = "all_busy"

[nodes.support]
type = "play"
prompts = ["demo/to-support"]
next = "support_queue"

[nodes.support_queue]
type = "queue"
queue = "601"
on_failure = "all_busy"

[nodes.order_number]
type = "collect"
prompt = ["demo/enter-order"]
var = "order"
min = 4
max = 10
terminator = "#"
first_digit_timeout = "8s"
inter_digit_timeout = "4s"
next = "find_order"
fallback = "operator"

[nodes.find_order]
type = "lookup"
database = "shop.db"        # relative to this file
sql = "SELECT status, delivery FROM orders WHERE number = :order"
prefix = "order_"
found = "say_order"
not_found = "no_order"
error = "operator"

[nodes.say_order]
type = "play"
prompts = ["demo/order", { say = "${order}", as = "digits" }, "demo/status-${order_status}"]
next = "has_delivery"

[nodes.has_delivery]
type = "branch"
cases = [ { when = { var = "order_delivery", op = "not_empty" }, goto = "say_delivery" } ]
default = "menu"

[nodes.say_delivery]
type = "say"
before = ["demo/delivery-date"]
value = "${order_delivery}"
as = "date"
next = "menu"

[nodes.no_order]
type = "play"
prompts = ["demo/no-such-order"]
next = "menu"

[nodes.message]
type = "voicemail"
mailbox = "general"
greeting = ["leave-message"]
max = "120s"
silence = "5s"
next = "saved"

[nodes.saved]
type = "hangup"
prompts = ["message-saved", "goodbye"]

[nodes.operator]
type = "play"
prompts = ["demo/to-operator"]
next = "operator_transfer"

[nodes.operator_transfer]
type = "transfer"
to = "804"
on_failure = "all_busy"

[nodes.all_busy]
type = "play"
prompts = ["all-busy"]
next = "message"
"##;

/// The demo shop's orders: number, status, expected delivery date.
pub const DEMO_ORDERS: &[(&str, &str, &str)] = &[
    ("10001", "shipped", "2026-11-25"),
    ("10002", "processing", "2026-12-01"),
    ("10003", "delivered", "2026-11-18"),
    ("10004", "cancelled", ""),
    ("20260815", "shipped", "2026-08-20"),
];

/// Write the demo's IVR directory: `main.toml` (rewritten when it differs)
/// and `shop.db` (made when missing).
pub fn install_ivr(dir: &std::path::Path) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let flow = dir.join("main.toml");
    if std::fs::read_to_string(&flow).ok().as_deref() != Some(DEMO_FLOW) {
        std::fs::write(&flow, DEMO_FLOW).map_err(|e| format!("cannot write {}: {e}", flow.display()))?;
    }
    let db = dir.join("shop.db");
    if !db.exists() {
        let tmp = dir.join("shop.db.tmp");
        let _ = std::fs::remove_file(&tmp);
        let conn = rusqlite::Connection::open(&tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
        conn.execute_batch(
            "CREATE TABLE orders (number TEXT PRIMARY KEY, status TEXT NOT NULL, delivery TEXT NOT NULL);",
        )
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
        for (n, st, d) in DEMO_ORDERS {
            conn.execute("INSERT INTO orders VALUES (?1, ?2, ?3)", [n, st, d])
                .map_err(|e| format!("{}: {e}", tmp.display()))?;
        }
        drop(conn);
        std::fs::rename(&tmp, &db).map_err(|e| format!("cannot write {}: {e}", db.display()))?;
    }
    Ok(())
}
