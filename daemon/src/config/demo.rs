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
inbound = "group:600"           # inbound calls ring the sales group

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

[dial_plan]
digit_map = ["8XX", "600", "9.", "0"]
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
"##;
