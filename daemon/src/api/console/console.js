// The ctibox web console (docs/console.md). Plain JavaScript, no build
// step: login through the API, then the event stream (snapshot, then
// events) keeps a picture of agents, queues, calls and channels, and the
// views are drawn from it. Every figure shown comes from the API.
"use strict";

const API = "/api/v1";
const TOKEN_KEY = "ctibox.session";
const BACKOFF_MAX_MS = 30000;

// The state of the page.
const S = {
  session: null, // {token, role, username}
  me: null, // the ACD agent id the user is (agents only), or ""
  agents: new Map(),
  queues: new Map(),
  calls: new Map(),
  channels: new Map(),
  ended: new Map(), // call id -> the CallView it ended with (for the pop)
  seq: -1,
  boardMs: 0, // board time last heard of, and the wall time then
  boardWall: Date.now(),
  pop: null,
  preview: null,
  previewWall: 0,
  ws: null,
  retries: 0,
  retryTimer: null,
  clockTimer: null,
};

const $ = (id) => document.getElementById(id);

// An element with attributes and children (text is always text: no HTML).
function el(tag, attrs, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(e.dataset, v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const kid of kids.flat()) {
    if (kid === null || kid === undefined) continue;
    e.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return e;
}

function fill(tbody, rows) {
  tbody.replaceChildren(...rows);
}

function text(id, value) {
  $(id).textContent = value === null || value === undefined ? "" : String(value);
}

// Durations as h:mm:ss or m:ss.
function duration(ms) {
  if (ms === null || ms === undefined) return "";
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

// Board time now, estimated from the last time the daemon told it.
function boardNow() {
  return S.boardMs + (Date.now() - S.boardWall);
}

function heardBoard(ms) {
  if (typeof ms === "number" && ms >= S.boardMs) {
    S.boardMs = ms;
    S.boardWall = Date.now();
  }
}

// A cell whose text is the time since board time `since` (kept current).
function since(tag, sinceMs, extraMs) {
  const e = el(tag, { class: "ticking", dataset: { since: sinceMs, extra: extraMs || 0 } });
  tickOne(e);
  return e;
}

function tickOne(e) {
  const from = Number(e.dataset.since);
  const extra = Number(e.dataset.extra || 0);
  e.textContent = duration(boardNow() - from + extra);
}

function tick() {
  document.querySelectorAll(".ticking").forEach(tickOne);
  if (S.preview) {
    const left = S.preview.timeout_ms - (Date.now() - S.previewWall);
    text("preview-left", duration(left));
  }
}

const STATE_NAMES = {
  logged_out: "logged out",
  ready: "ready",
  not_ready: "not ready",
  offered: "offered",
  on_call: "on call",
  wrap_up: "wrap-up",
};

// The agent's phone is busy with a call that is not the ACD's.
function personal(a) {
  return a.busy && a.call === null;
}

function stateName(a) {
  return STATE_NAMES[a.state] || a.state;
}

// ---------------------------------------------------------------- API

class ApiError extends Error {
  constructor(status, message, field) {
    super(message);
    this.status = status;
    this.field = field;
  }
  describe() {
    return this.field ? `${this.message} (field: ${this.field})` : this.message;
  }
}

async function api(method, path, body) {
  const headers = {};
  if (S.session) headers.Authorization = `Bearer ${S.session.token}`;
  const opts = { method, headers };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  let res;
  try {
    res = await fetch(API + path, opts);
  } catch (e) {
    throw new ApiError(0, `cannot reach ctiboxd: ${e.message}`);
  }
  const raw = await res.text();
  let data = null;
  if (raw) {
    try {
      data = JSON.parse(raw);
    } catch (_) {
      data = { error: raw };
    }
  }
  if (!res.ok) {
    const err = new ApiError(res.status, (data && data.error) || res.statusText || `HTTP ${res.status}`, data && data.field);
    if (res.status === 401 && path !== "/login") sessionEnded(`Your session ended: ${err.describe()}`);
    throw err;
  }
  return data;
}

function say(msg) {
  text("message", msg);
}

// A button's action: asks first when `ask` is given, shows the API's error.
function act(fn, ask) {
  return async (ev) => {
    if (ev) ev.preventDefault();
    const question = typeof ask === "function" ? ask() : ask;
    if (question && !window.confirm(question)) return;
    say("");
    try {
      await fn();
    } catch (e) {
      if (e instanceof ApiError) {
        if (e.status !== 401) say(e.describe());
      } else {
        say(String(e));
      }
    }
  };
}

// ---------------------------------------------------------------- session

async function login(ev) {
  ev.preventDefault();
  text("login-error", "");
  const username = $("login-user").value.trim();
  const password = $("login-password").value;
  try {
    const answer = await api("POST", "/login", { username, password });
    S.session = { token: answer.token, role: answer.role, username: answer.username, agent: answer.agent || "" };
    sessionStorage.setItem(TOKEN_KEY, JSON.stringify(S.session));
    $("login-password").value = "";
    await start();
  } catch (e) {
    text("login-error", e instanceof ApiError ? e.describe() : String(e));
  }
}

async function logout() {
  try {
    await api("POST", "/logout");
  } catch (_) {
    // The session may have ended already.
  }
  stop("You are logged out.");
}

function sessionEnded(msg) {
  if (S.session) stop(msg);
}

// Back to the login form, with `msg` on it.
function stop(msg) {
  S.session = null;
  sessionStorage.removeItem(TOKEN_KEY);
  if (S.ws) {
    S.ws.onclose = null;
    S.ws.close();
    S.ws = null;
  }
  clearTimeout(S.retryTimer);
  clearInterval(S.clockTimer);
  S.me = null;
  S.pop = null;
  S.preview = null;
  $("app").hidden = true;
  $("login").hidden = false;
  $("who").hidden = true;
  $("logout").hidden = true;
  $("conn").hidden = true;
  text("login-error", msg || "");
  $("login-user").focus();
}

async function start() {
  const staff = S.session.role === "admin" || S.session.role === "supervisor";
  $("login").hidden = true;
  $("app").hidden = false;
  $("who").hidden = false;
  $("logout").hidden = false;
  $("conn").hidden = false;
  text("who-name", S.session.username);
  text("who-role", S.session.role);
  // The login answer names the ACD agent this user is (if any): agents
  // get the agent view, and so do supervisors and admins who also take
  // calls.
  S.me = S.session.agent || "";
  $("super-view").hidden = !staff;
  $("agent-view").hidden = staff && !S.me;
  $("agent-missing").hidden = !!S.me;
  $("agent-panel").hidden = !S.me;
  text("agent-missing", S.me ? "" : `User ${S.session.username} is not an ACD agent: only the calls panel applies.`);
  say("");
  S.clockTimer = setInterval(tick, 1000);
  connect();
}

// ---------------------------------------------------------------- events

function connect() {
  if (!S.session) return;
  const scheme = location.protocol === "https:" ? "wss:" : "ws:";
  const url = `${scheme}//${location.host}${API}/events?token=${encodeURIComponent(S.session.token)}`;
  setConn(S.retries ? "reconnecting…" : "connecting…", "warn");
  const ws = new WebSocket(url);
  S.ws = ws;
  ws.onmessage = (m) => {
    let msg;
    try {
      msg = JSON.parse(m.data);
    } catch (_) {
      return;
    }
    onEvent(msg);
  };
  ws.onclose = (c) => {
    if (S.ws !== ws) return;
    S.ws = null;
    if (c.code === 1008) {
      sessionEnded(`Your session ended: ${c.reason || "log in again"}`);
      return;
    }
    reconnectLater(c.reason);
  };
}

async function reconnectLater(reason) {
  if (!S.session) return;
  // A refused upgrade says nothing: ask the API whether the token is good.
  try {
    await api("GET", "/status");
  } catch (e) {
    if (e.status === 401) return;
  }
  const delay = Math.min(BACKOFF_MAX_MS, 1000 * 2 ** Math.min(S.retries, 5));
  S.retries += 1;
  setConn(`reconnecting in ${Math.round(delay / 1000)} s${reason ? ` (${reason})` : ""}`, "warn");
  clearTimeout(S.retryTimer);
  S.retryTimer = setTimeout(connect, delay);
}

function setConn(msg, kind) {
  const c = $("conn");
  c.textContent = msg;
  c.className = kind || "";
}

function onEvent(msg) {
  switch (msg.type) {
    case "snapshot":
      S.seq = msg.seq;
      S.boardMs = msg.board_ms;
      S.boardWall = Date.now();
      S.agents = new Map((msg.agents || []).map((a) => [a.id, a]));
      S.queues = new Map((msg.queues || []).map((q) => [q.name, { ...q, at_ms: msg.board_ms }]));
      S.calls = new Map((msg.calls || []).map((c) => [c.call, c]));
      S.channels = new Map((msg.channels || []).map((c) => [c.channel, c]));
      S.retries = 0;
      setConn("live", "ok");
      render();
      return;
    case "lagged":
      setConn(`missed ${msg.missed} events: reconnecting`, "warn");
      return;
    case "error":
      setConn(`the daemon: ${msg.error}`, "warn");
      return;
    default:
      break;
  }
  if (typeof msg.seq === "number") {
    if (msg.seq <= S.seq) return;
    S.seq = msg.seq;
  }
  heardBoard(msg.at_ms);
  switch (msg.type) {
    case "call":
      if (msg.call.status === "ended") {
        S.calls.delete(msg.call.call);
        S.ended.set(msg.call.call, msg.call);
        if (S.ended.size > 50) S.ended.delete(S.ended.keys().next().value);
      } else {
        S.calls.set(msg.call.call, msg.call);
      }
      break;
    case "channel":
      S.channels.set(msg.channel.channel, msg.channel);
      break;
    case "agent":
      S.agents.set(msg.agent.id, msg.agent);
      break;
    case "queue":
      S.queues.set(msg.queue.name, { ...msg.queue, at_ms: msg.at_ms });
      break;
    case "screen_pop":
      if (S.me && msg.pop.agent === S.me) S.pop = msg.pop;
      break;
    case "preview":
      if (S.me && msg.preview.agent === S.me) {
        if (msg.preview.state === "offered") {
          S.preview = msg.preview;
          S.previewWall = Date.now();
          showPreviewCustomer(msg.preview);
        } else {
          S.preview = null;
        }
      }
      break;
    default:
      return; // caller_id, dtmf: the call events carry what we show
  }
  render();
}

// ---------------------------------------------------------------- views

function render() {
  if (!S.session) return;
  if (S.me) renderAgent();
  if (!$("super-view").hidden) renderSupervisor();
  renderCalls();
}

function caller(c) {
  if (!c) return "";
  const v = c.vars || {};
  const number = c.caller_number || v.caller || "";
  const name = v.customer_name || c.caller_name || "";
  return name ? `${name} (${number || "unknown number"})` : number || "unknown";
}

function liveLegs(c) {
  return (c.legs || []).filter((l) => l.status !== "ended");
}

// The call my extension is in now, if any.
function myCall(agent) {
  if (agent.call !== null && S.calls.has(agent.call)) return S.calls.get(agent.call);
  if (!agent.extension) return null;
  for (const c of S.calls.values()) {
    if (liveLegs(c).some((l) => l.party === agent.extension)) return c;
  }
  return null;
}

function myLeg(call, agent) {
  return liveLegs(call).find((l) => l.party === agent.extension);
}

// The party I talk to (the customer): the first live leg that is not mine.
function otherLeg(call, agent) {
  return liveLegs(call).find((l) => l.party !== agent.extension);
}

function renderAgent() {
  const a = S.agents.get(S.me);
  if (!a) return;
  text("my-name", `${a.name} (${a.id})`);
  text("my-state", stateName(a));
  text("my-reason", a.reason ? `reason: ${a.reason}` : personal(a) ? "(on a personal call)" : "");
  $("my-since").replaceChildren(since("span", a.since_ms));
  text("my-extension", a.extension || "—");
  text("my-queues", a.queues.join(", ") || "—");
  text("my-answered", `${a.answered} queue calls, talk time ${duration(a.talk_ms)}`);
  const out = a.state === "logged_out";
  $("btn-agent-login").disabled = !out;
  $("btn-agent-logout").disabled = out;
  $("btn-ready").disabled = out || a.state === "ready";
  $("btn-not-ready").disabled = out;
  renderPop();
  renderPreview();
  const c = myCall(a);
  $("my-call").hidden = !c;
  if (c) {
    text("my-call-id", `#${c.call}`);
    const legs = liveLegs(c)
      .map((l) => `${l.party} ${l.held ? "on hold" : l.status}`)
      .join(", ");
    text("my-call-summary", `${c.direction} call from ${caller(c)} to ${c.called_number || "—"}, ${c.status}: ${legs}`);
    $("my-call").dataset.call = c.call;
  }
}

function renderPop() {
  const p = S.pop;
  $("pop").hidden = !p;
  if (!p) return;
  const live = S.calls.get(p.call);
  text("pop-status", live ? `(call #${p.call})` : `(call #${p.call} ended)`);
  text("pop-number", p.caller_number || "unknown number");
  text("pop-caller-name", p.caller_name);
  const cust = p.customer;
  if (cust) {
    const bits = [cust.name];
    if (cust.company) bits.push(cust.company);
    $("pop-customer").replaceChildren(el("strong", {}, bits.join(", ")), cust.notes ? ` — ${cust.notes}` : "");
    text("pop-vip", cust.vip ? `VIP ${cust.vip}` : "no");
  } else {
    $("pop-customer").replaceChildren(el("strong", {}, "New customer"));
    text("pop-vip", (p.vars && p.vars.customer_vip) || "—");
  }
  text("pop-queue", p.queue ? `${p.queue_title || p.queue} (${p.queue})` : "—");
  text("pop-wait", duration(p.wait_ms));
  text("pop-transferred", p.transferred_by || "—");
  text("pop-callback", p.callback ? "yes: the caller asked to be called back" : "no");
  text("pop-ivr", (p.ivr_path || []).join(" → ") || "—");
  const vars = Object.entries(p.vars || {});
  fill($("pop-vars").tBodies[0], vars.map(([k, v]) => el("tr", {}, el("td", {}, k), el("td", {}, v))));
  const notes = (live && live.notes) || p.notes || [];
  $("pop-notes").replaceChildren(...notes.map((n) => el("li", {}, el("strong", {}, n.author), `: ${n.text}`)));
  fill(
    $("pop-last").tBodies[0],
    (p.last_calls || []).map((c) =>
      el(
        "tr",
        {},
        el("td", {}, c.id),
        el("td", {}, c.start_wall_ms ? new Date(c.start_wall_ms).toLocaleString() : ""),
        el("td", {}, c.direction),
        el("td", {}, c.answered ? "yes" : "no"),
        el("td", {}, duration(c.duration_ms)),
        el("td", {}, c.cause || ""),
        el("td", {}, (c.extensions || []).join(", ")),
      ),
    ),
  );
}

async function showPreviewCustomer(p) {
  text("preview-customer", p.customer ? `customer #${p.customer}` : "new customer");
  if (!p.customer) return;
  try {
    const c = await api("GET", `/customers/${p.customer}`);
    if (S.preview === p) text("preview-customer", `${c.name}${c.company ? `, ${c.company}` : ""}${c.vip ? ` (VIP ${c.vip})` : ""}`);
  } catch (_) {
    // The number is shown; the record is a nicety.
  }
}

function renderPreview() {
  const p = S.preview;
  $("preview").hidden = !p;
  if (!p) return;
  text("preview-campaign", p.campaign);
  text("preview-number", p.number);
  text("preview-attempt", p.attempt);
  tick();
}

function agentActions(a) {
  const id = encodeURIComponent(a.id);
  const btn = (label, fn, ask) =>
    el("button", { type: "button", "aria-label": `${label}: ${a.name}`, onclick: act(fn, ask) }, label);
  const monitor = (mode) => () => {
    const ext = $("monitor-ext").value.trim();
    return api("POST", `/agents/${id}/monitor`, ext ? { mode, extension: ext } : { mode });
  };
  const talking = a.state === "on_call";
  const out = a.state === "logged_out";
  const kids = [];
  if (talking) {
    kids.push(btn("Listen", monitor("listen")), btn("Whisper", monitor("whisper")), btn("Barge in", monitor("barge")));
    kids.push(btn("Release call", () => api("POST", `/agents/${id}/release`), `Drop ${a.name}'s call?`));
  }
  if (!out) {
    if (a.state !== "ready") kids.push(btn("Ready", () => api("POST", `/agents/${id}/ready`)));
    if (a.state !== "not_ready") kids.push(btn("Not ready", () => api("POST", `/agents/${id}/not_ready`, { reason: "supervisor" })));
    kids.push(btn("Log out", () => api("POST", `/agents/${id}/logout`), `Log ${a.name} out of the queues?`));
  } else {
    kids.push(btn("Log in", () => api("POST", `/agents/${id}/login`, {})));
  }
  return kids;
}

function renderSupervisor() {
  const agents = [...S.agents.values()];
  fill(
    $("agents-table").tBodies[0],
    agents.map((a) => {
      const c = a.call !== null ? S.calls.get(a.call) : null;
      return el(
        "tr",
        { dataset: { agent: a.id, state: a.state } },
        el("th", { scope: "row" }, `${a.name} (${a.id})`),
        el("td", { class: "state" }, stateName(a), a.reason ? ` (${a.reason})` : "", personal(a) ? " (personal call)" : ""),
        since("td", a.since_ms),
        el("td", {}, a.extension || "—"),
        el("td", {}, `${a.answered} (talk ${duration(a.talk_ms)})`),
        el("td", { class: "caller" }, c ? caller(c) : a.call !== null ? `call #${a.call}` : ""),
        el("td", { class: "actions" }, agentActions(a)),
      );
    }),
  );
  const queues = [...S.queues.values()];
  fill(
    $("queues-table").tBodies[0],
    queues.map((q) =>
      el(
        "tr",
        { dataset: { queue: q.name } },
        el("th", { scope: "row" }, q.title && q.title !== q.name ? `${q.title} (${q.name})` : q.name),
        el("td", {}, q.waiting.length),
        q.longest_wait_ms ? since("td", q.at_ms, q.longest_wait_ms) : el("td", {}, "—"),
        el("td", {}, `${q.logged_in} / ${q.ready}`),
        el("td", {}, q.answered),
        el("td", {}, q.abandoned),
        el("td", {}, `${q.service_level_pct}%`),
        el("td", {}, q.estimated_wait_ms === null ? "nobody staffs it" : duration(q.estimated_wait_ms)),
      ),
    ),
  );
  const waiting = queues.flatMap((q) => q.waiting.map((w) => ({ q, w })));
  fill(
    $("waiting-table").tBodies[0],
    waiting.map(({ q, w }) => {
      const c = S.calls.get(w.call);
      const vip = c && c.vars ? c.vars.customer_vip : "";
      return el(
        "tr",
        { dataset: { call: w.call } },
        el("td", {}, q.name),
        el("td", {}, w.position),
        el("td", {}, w.call),
        el("td", {}, c ? caller(c) : "", w.callback ? " (callback)" : ""),
        el("td", {}, vip && vip !== "0" ? vip : ""),
        el("td", {}, w.priority),
        since("td", q.at_ms, w.wait_ms),
        el("td", {}, (w.offered_to || []).join(", ")),
        el("td", {}, w.reserved_for || ""),
      );
    }),
  );
  options(
    $("pick-call"),
    waiting.map(({ q, w }) => [w.call, `#${w.call} ${caller(S.calls.get(w.call))} in ${q.name}`]),
  );
  options(
    $("pick-agent"),
    agents.filter((a) => a.state !== "logged_out").map((a) => [a.id, `${a.name} (${a.id})`]),
  );
}

// Refill a select, keeping the choice when it is still there.
function options(select, pairs) {
  const was = select.value;
  select.replaceChildren(...pairs.map(([v, label]) => el("option", { value: v }, label)));
  if (pairs.some(([v]) => String(v) === was)) select.value = was;
}

function renderCalls() {
  fill(
    $("calls-table").tBodies[0],
    [...S.calls.values()].map((c) =>
      el(
        "tr",
        { dataset: { call: c.call } },
        el("td", {}, c.call),
        el("td", {}, c.direction),
        el("td", {}, caller(c)),
        el("td", {}, c.called_number || ""),
        el("td", {}, c.status),
        el("td", {}, liveLegs(c).map((l) => `${l.party}: ${l.held ? "held" : l.status}`).join(", ")),
        since("td", c.started_ms),
      ),
    ),
  );
  fill(
    $("channels-table").tBodies[0],
    [...S.channels.values()].map((ch) =>
      el(
        "tr",
        { dataset: { channel: ch.channel } },
        el("td", {}, ch.channel),
        el("td", {}, ch.kind),
        el("td", {}, ch.name || ch.role),
        el("td", {}, ch.status),
        el("td", {}, ch.call === null ? "" : ch.call),
        since("td", ch.since_ms),
      ),
    ),
  );
}

// ---------------------------------------------------------------- actions

function agentPath(what) {
  return `/agents/${encodeURIComponent(S.me)}/${what}`;
}

function currentCall() {
  const a = S.agents.get(S.me);
  const c = a && myCall(a);
  if (!c) throw new Error("you are on no call");
  return { a, c };
}

function wire() {
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", logout);
  $("btn-agent-login").addEventListener("click", act(() => api("POST", agentPath("login"), {})));
  $("btn-agent-logout").addEventListener("click", act(() => api("POST", agentPath("logout"))));
  $("btn-ready").addEventListener("click", act(() => api("POST", agentPath("ready"))));
  $("btn-not-ready").addEventListener(
    "click",
    act(() => {
      const reason = $("not-ready-reason").value.trim();
      return api("POST", agentPath("not_ready"), reason ? { reason } : {});
    }),
  );
  $("btn-preview-accept").addEventListener("click", act(() => api("POST", agentPath("preview/accept"))));
  $("btn-preview-skip").addEventListener("click", act(() => api("POST", agentPath("preview/skip"))));
  $("btn-hangup").addEventListener(
    "click",
    act(() => {
      const { a, c } = currentCall();
      // A two-party call ends; with more parties only my leg goes.
      const mine = myLeg(c, a);
      const body = liveLegs(c).length > 2 && mine ? { leg: mine.leg } : {};
      return api("POST", `/calls/${c.call}/hangup`, body);
    }),
  );
  const holdAction = (what) =>
    act(() => {
      const { a, c } = currentCall();
      const other = otherLeg(c, a);
      if (!other) throw new Error("nobody else is on the call");
      return api("POST", `/calls/${c.call}/${what}`, { leg: other.leg });
    });
  $("btn-hold").addEventListener("click", holdAction("hold"));
  $("btn-unhold").addEventListener("click", holdAction("unhold"));
  $("transfer-form").addEventListener(
    "submit",
    act(() => {
      const { a, c } = currentCall();
      const other = otherLeg(c, a);
      if (!other) throw new Error("nobody else is on the call");
      const to = $("transfer-to").value.trim();
      return api("POST", `/calls/${c.call}/transfer`, { leg: other.leg, to, mode: $("transfer-mode").value });
    }),
  );
  $("btn-transfer-complete").addEventListener(
    "click",
    act(() => api("POST", `/calls/${currentCall().c.call}/transfer/complete`)),
  );
  $("btn-transfer-cancel").addEventListener(
    "click",
    act(() => api("POST", `/calls/${currentCall().c.call}/transfer/cancel`)),
  );
  $("note-form").addEventListener(
    "submit",
    act(async () => {
      await api("POST", `/calls/${currentCall().c.call}/notes`, { text: $("note-text").value });
      $("note-text").value = "";
    }),
  );
  $("pick-form").addEventListener(
    "submit",
    act(() => {
      const call = $("pick-call").value;
      if (!call) throw new Error("no caller is waiting");
      return api("POST", `/queues/calls/${call}/pick`, { agent: $("pick-agent").value });
    }),
  );
  $("btn-priority").addEventListener(
    "click",
    act(() => {
      const call = $("pick-call").value;
      if (!call) throw new Error("no caller is waiting");
      return api("POST", `/queues/calls/${call}/priority`, { priority: Number($("priority-value").value) });
    }),
  );
}

function boot() {
  wire();
  const kept = sessionStorage.getItem(TOKEN_KEY);
  if (kept) {
    try {
      S.session = JSON.parse(kept);
    } catch (_) {
      S.session = null;
    }
  }
  if (S.session && S.session.token) start();
  else stop("");
}

document.addEventListener("DOMContentLoaded", boot);
