// relive demo page: one WebSocket to the backend, a voice call and a text chat over it.
//
// The page id lives in this module's memory only (never in storage or cookies): a reload is a new
// page and starts fresh. A dropped socket reconnects with backoff and the same id + the secret the
// server issued, so the server-side sessions carry on. No handle or API key ever reaches the page.

import { createPlayer } from "./player.js";
import { createToasts } from "./toasts.js";
import { TranscriptView } from "./transcript.js";

const MIC_RATE = 16000;
const MODES = ["call", "text"];

const stats = {
  audioChunksCaptured: 0, // every chunk the call made (sent at once or after a reconnect)
  audioChunksSent: 0,
  audioChunksReceived: 0,
  audioLog: [], // [time ms, duration ms] of the newest model audio frames (player.js)
  audioChunksPlayed: 0,
  messagesSent: 0,
  messagesReceived: 0,
  socketOpens: 0,
  welcomes: 0,
  goaways: 0,
  inputsResent: 0, // inputs sent again after a reconnect (not yet covered by a stored handle)
  inputsDropped: 0, // inputs dropped from what the page keeps (over its bound) before covered
  toasts: [],
  errors: [],
  pageId: null, // set below; lets tests see that a reload is a new page
};
window.reliveStats = stats;

function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const page = { id: randomId(), secret: null };
stats.pageId = page.id;
const $ = (id) => document.getElementById(id);
const body = document.body;
const toast = createToasts($("toasts"), stats);
const player = createPlayer(stats);

const views = {};
for (const mode of MODES) {
  views[mode] = new TranscriptView($(`transcript-${mode}`), $(`hint-${mode}`), () =>
    send({ type: "history", mode }),
  );
}

// ---------------------------------------------------------------------------------- status --

// Each mode has its own status, shown on its tab. A user's own hang-up ends neutrally; only an
// end the user did not ask for ("lost") is red.
const sessionStatus = { call: "idle", text: "idle" };
const trouble = { call: false, text: false };
const LABELS = {
  idle: "not started",
  connecting: "connecting",
  live: "live",
  reconnecting: "reconnecting",
  ended: "ended",
  lost: "lost",
};

function shownStatus(mode) {
  const status = sessionStatus[mode];
  if (status === "ended") return trouble[mode] ? "lost" : "ended";
  if (body.dataset.socket !== "open" && status !== "idle") return "reconnecting";
  return status;
}

function showStatus() {
  for (const mode of MODES) {
    const shown = shownStatus(mode);
    const el = $(`status-${mode}`);
    el.dataset.status = shown;
    el.querySelector(".label").textContent = LABELS[shown];
  }
  let current = sessionStatus[body.dataset.mode];
  if (body.dataset.socket !== "open" && current !== "idle" && current !== "ended") {
    current = "reconnecting";
  }
  body.dataset.status = current;
  body.dataset.callStatus = sessionStatus.call;
  body.dataset.textStatus = sessionStatus.text;
  showPanel();
}

// ----------------------------------------------------------------------- resilience panel --

const metrics = { call: null, text: null };

function showPanel() {
  const mode = body.dataset.mode;
  $("panel-mode").textContent = mode === "call" ? "call" : "chat";
  const running = ["live", "reconnecting", "connecting"].includes(sessionStatus[mode]);
  const open = body.dataset.socket === "open";
  for (const b of document.querySelectorAll("[data-fault]")) {
    b.disabled = !open || (b.dataset.fault !== "drop_page" && !running);
  }
  const m = metrics[mode] || {};
  $("m-connections").textContent = String(m.connections ?? 0);
  $("m-reconnects").textContent = String(m.reconnects ?? 0);
  $("m-downtime").textContent = m.last_downtime_ms == null ? "–" : `${m.last_downtime_ms} ms`;
  $("m-replayed").textContent = String(m.replayed ?? 0);
  $("m-new-sessions").textContent = String(m.new_sessions ?? 0);
  $("m-page-reconnects").textContent = String(Math.max(0, stats.welcomes - 1));
}

for (const b of document.querySelectorAll("[data-fault]")) {
  b.addEventListener("click", () => {
    send({ type: "fault", mode: body.dataset.mode, fault: b.dataset.fault });
  });
}

// ---------------------------------------------------------------------------------- socket --

// ------------------------------------------------------------------------ kept inputs --

// Every input is numbered per mode and kept until the backend says a stored handle covers it
// (`covered`); after a reconnect the ones above what the backend has (`welcome.received`) are
// sent again, so a replica that dies loses none of them. A mute is a call input too (the end of
// the user's audio stream), numbered in the audio's series. Bounded: 10 s of call audio (250
// chunks of 40 ms; beyond that the oldest goes), 50 chat messages.
const KEEP = { call: 250, text: 50 };
const MUTED = "muted"; // a kept call input that is the mute, not audio
const inputs = {
  call: { next: 1, kept: [] }, // kept: [{seq, data}], data an ArrayBuffer of PCM16, or MUTED
  text: { next: 1, kept: [] }, // kept: [{seq, data}], data the message's text
};
let audioSeqSent = null; // the number of the last audio frame sent on this socket (or none yet)
let inputsFlow = false; // this socket was welcomed: inputs go out (before that they wait)

function keep(mode, data) {
  const book = inputs[mode];
  const item = { seq: book.next++, data };
  book.kept.push(item);
  if (book.kept.length > KEEP[mode]) {
    book.kept.shift();
    stats.inputsDropped++;
  }
  return item;
}

function sendAudio(item) {
  if (!inputsFlow || !ws || ws.readyState !== WebSocket.OPEN) return false;
  if (item.data === MUTED) return send({ type: "mute", muted: true, seq: item.seq });
  if (audioSeqSent === null || item.seq !== audioSeqSent + 1) {
    send({ type: "audio", seq: item.seq }); // numbers this frame and the ones after it
  }
  ws.send(item.data);
  audioSeqSent = item.seq;
  return true;
}

// `again`: sent again after a welcome. The backend sends it once the model answered the one
// before it: sent back to back, each would cut off the answer to the one before.
function sendText(item, again = false) {
  const msg = { type: "text", text: item.data, seq: item.seq };
  return inputsFlow && send(again ? { ...msg, again } : msg);
}

function resend(received) {
  for (const item of inputs.text.kept) {
    if (item.seq > (received.text || 0) && sendText(item, true)) stats.inputsResent++;
  }
  if (!call.active) return;
  for (const item of inputs.call.kept) {
    if (item.seq > (received.call || 0) && sendAudio(item)) stats.inputsResent++;
  }
}

function covered(mode, seq) {
  const book = inputs[mode];
  while (book.kept.length && book.kept[0].seq <= seq) book.kept.shift();
}

// ---------------------------------------------------------------------------------- socket --

let ws = null;
let attempts = 0;
let everWelcomed = false;
let dropped = false;
let moving = false; // the backend said goaway: this socket closes, another replica takes the page
let toasts = {}; // the words of the toasts the page raises itself: the backend's, from the welcome

function send(obj) {
  if (!ws || ws.readyState !== WebSocket.OPEN) return false;
  ws.send(JSON.stringify(obj));
  stats.messagesSent++;
  return true;
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const sock = new WebSocket(`${scheme}://${location.host}/ws`);
  ws = sock;
  sock.binaryType = "arraybuffer";
  sock.onopen = () => {
    stats.socketOpens++;
    audioSeqSent = null;
    inputsFlow = false;
    sock.send(JSON.stringify({ type: "hello", page: page.id, secret: page.secret }));
  };
  sock.onmessage = (ev) => {
    if (sock !== ws) return;
    stats.messagesReceived++;
    if (typeof ev.data === "string") onJson(JSON.parse(ev.data));
    else player.play(ev.data);
  };
  sock.onclose = (ev) => {
    if (sock !== ws) return; // an older socket of this page: already replaced
    body.dataset.socket = "closed";
    showStatus();
    if (ev.code === 4403 || ev.code === 4409) {
      // Refused (not our session) or replaced by another socket of this page: do not retry.
      toast(ev.reason || "This page's connection was closed.", "error");
      return;
    }
    dropped = everWelcomed;
    // Told to move (the replica is draining): straight to another one, no toast on arrival.
    const delay =
      moving && attempts === 0
        ? 0
        : Math.min(5000, 250 * 2 ** attempts) * (0.5 + Math.random() / 2);
    attempts++;
    setTimeout(connect, delay);
  };
}

function onWelcome(msg) {
  page.secret = msg.secret;
  toasts = msg.toasts;
  attempts = 0;
  stats.welcomes++;
  body.dataset.socket = "open";
  body.dataset.model = msg.model?.emulator ? "emulator" : "gemini";
  body.dataset.panel = msg.panel ? "on" : "off";
  $("resilience").hidden = !msg.panel;
  const badge = $("model-badge");
  badge.hidden = !msg.model || !(msg.model.emulator || msg.model.name);
  if (!badge.hidden) {
    badge.textContent = msg.model.emulator ? "emulator" : `Gemini · ${msg.model.name}`;
    badge.classList.toggle("real", !msg.model.emulator);
    badge.title = msg.model.emulator
      ? "The model is relive's offline emulator: it echoes what it heard, with a turn number."
      : "The model is real Gemini; the API key stays on the server.";
  }
  // A hang-up the backend has not answered goes first, so a start after it begins a fresh call.
  const hangup = call.pendingHangup;
  if (hangup) send({ type: "hangup" });
  if (msg.fresh && everWelcomed) {
    // The server no longer knew this page (it was away too long): whatever ran is gone.
    const wasInCall = call.active;
    for (const mode of MODES) {
      views[mode].clear();
      sessionStatus[mode] = "idle";
      metrics[mode] = null;
    }
    for (const mode of MODES) inputs[mode].kept = []; // they belonged to what is gone
    if (wasInCall) {
      toast(toasts.new_session, "warn");
      send({ type: "start", mode: "call" });
    }
  } else if (dropped && !moving) {
    toast(toasts.reconnected);
  }
  // Another replica took the page over: its sessions open (and resume) when asked for.
  const callThere = msg.sessions && msg.sessions.call && msg.sessions.call !== "ended";
  if (call.active && (hangup || call.pendingStart || !callThere)) {
    send({ type: "start", mode: "call" });
  }
  inputsFlow = true;
  resend(msg.received || {});
  moving = false;
  everWelcomed = true;
  dropped = false;
  showStatus();
}

function onJson(msg) {
  switch (msg.type) {
    case "welcome":
      onWelcome(msg);
      break;
    case "status":
      sessionStatus[msg.mode] = msg.status;
      if (msg.status === "connecting") trouble[msg.mode] = false;
      if (msg.mode === "call") onCallStatus(msg.status);
      showStatus();
      break;
    case "transcript":
      views[msg.mode].update(msg);
      break;
    case "history":
      views[msg.mode].fill(msg);
      break;
    case "metrics":
      metrics[msg.mode] = msg;
      showPanel();
      break;
    case "notice":
      toast(msg.text, msg.level || "info");
      if (msg.kind === "new_session") views[msg.mode].clear();
      if (msg.kind === "gave_up" || msg.kind === "failed") trouble[msg.mode] = true;
      showStatus();
      break;
    case "covered":
      covered(msg.mode, msg.seq);
      break;
    case "interrupted":
    case "reply_cut": // a reconnect cut the reply: it comes again whole, from its start
      if (msg.mode === "call") player.flush();
      break;
    case "goaway":
      moving = true; // the backend closes this socket next; reconnect at once, quietly
      stats.goaways++;
      break;
    case "error":
      stats.errors.push(msg);
      // Audio still in flight when a call ends is harmless: counted, not shown.
      if (msg.code !== "no_call") toast(msg.message, "error");
      break;
  }
}

// ---------------------------------------------------------------------------------- call --

// pendingHangup: the user hung up and no "ended" has answered it yet; sent (again) after each
// welcome, so a hang-up pressed while the socket is down (or lost with it) still ends the call.
// hungUp: "ended" answers that hang-up until a new call's "connecting", so it does not end a
// call the user started again meanwhile.
const call = {
  active: false,
  muted: false,
  pendingStart: false,
  pendingHangup: false,
  hungUp: false,
  stream: null,
  ctx: null,
};

function onCallStatus(status) {
  call.pendingStart = false;
  if (status === "connecting") call.hungUp = false; // a new call: an end now is news
  if (status !== "ended") return;
  if (call.hungUp) call.pendingHangup = false; // the answer to the page's hang-up
  else if (call.active) endCall(false);
}

async function startCall() {
  $("call-start").disabled = true;
  try {
    call.stream = await navigator.mediaDevices.getUserMedia({
      audio: { channelCount: 1, echoCancellation: true, noiseSuppression: true },
    });
    call.ctx = new AudioContext({ sampleRate: MIC_RATE });
    await call.ctx.audioWorklet.addModule("/static/capture-worklet.js");
    const source = call.ctx.createMediaStreamSource(call.stream);
    const node = new AudioWorkletNode(call.ctx, "pcm16-capture");
    const sink = call.ctx.createGain();
    sink.gain.value = 0;
    source.connect(node).connect(sink).connect(call.ctx.destination);
    node.port.onmessage = (ev) => {
      $("mic-level").style.width = `${Math.min(100, ev.data.level * 140)}%`;
      if (!call.active || call.muted) return;
      // Kept until covered; sent now if the socket is open, else after the next welcome.
      stats.audioChunksCaptured++;
      if (!sendAudio(keep("call", ev.data.pcm))) return;
      stats.audioChunksSent++;
      body.dataset.audioSent = String(stats.audioChunksSent);
    };
    // Started from a click, so autoplay rules allow both contexts to run.
    await Promise.all([call.ctx.resume(), player.start()]);
  } catch (err) {
    toast(`Microphone unavailable: ${err.message || err}`, "error");
    stopAudio();
    $("call-start").disabled = false;
    return;
  }
  views.call.clear();
  inputs.call.kept = []; // a new call: nothing of the last one is sent again
  call.active = true;
  call.muted = false;
  trouble.call = false;
  body.dataset.call = "active";
  $("call-mute").disabled = false;
  $("call-hangup").disabled = false;
  $("call-mute").setAttribute("aria-pressed", "false");
  $("call-mute").textContent = "Mute";
  // Not connected right now: the start goes out with the next welcome.
  call.pendingStart = !send({ type: "start", mode: "call" });
}

function stopAudio() {
  if (call.stream) for (const t of call.stream.getTracks()) t.stop();
  if (call.ctx) call.ctx.close();
  player.stop();
  call.stream = call.ctx = null;
  $("mic-level").style.width = "0";
}

function endCall(tellServer) {
  if (tellServer) {
    call.pendingHangup = call.hungUp = true;
    send({ type: "hangup" }); // or after the next welcome
  }
  call.active = false;
  inputs.call.kept = [];
  stopAudio();
  body.dataset.call = "ended";
  $("call-start").disabled = false;
  $("call-mute").disabled = true;
  $("call-hangup").disabled = true;
  if (tellServer) $("call-start").focus(); // the focused Hang up button just went disabled
}

function toggleMute() {
  call.muted = !call.muted;
  $("call-mute").setAttribute("aria-pressed", String(call.muted));
  $("call-mute").textContent = call.muted ? "Unmute" : "Mute";
  // The mute ends the user's turn: kept and numbered like audio, so a move neither loses nor
  // doubles it. Unmuting needs nothing of the backend beyond the audio that follows.
  if (call.muted) sendAudio(keep("call", MUTED));
  else send({ type: "mute", muted: false });
}

// ------------------------------------------------------------------------------------ text --

function submitText(ev) {
  ev.preventDefault();
  const input = $("text-input");
  const text = input.value.trim();
  if (!text) return;
  if (!everWelcomed) {
    toast("Not connected yet; try again in a moment.", "warn");
    return;
  }
  sendText(keep("text", text)); // now, or after the next welcome
  input.value = "";
}

// ------------------------------------------------------------------------------------ tabs --

const tabs = Array.from(document.querySelectorAll('[role="tab"]'));

function selectMode(mode, focus = false) {
  body.dataset.mode = mode;
  for (const tab of tabs) {
    const selected = tab.dataset.mode === mode;
    tab.setAttribute("aria-selected", String(selected));
    tab.tabIndex = selected ? 0 : -1;
    if (selected && focus) tab.focus();
  }
  for (const m of MODES) $(`panel-${m}`).hidden = m !== mode;
  views[mode].reveal();
  showStatus();
}

for (const tab of tabs) {
  tab.addEventListener("click", () => {
    selectMode(tab.dataset.mode);
    if (tab.dataset.mode === "text") $("text-input").focus();
  });
  // Arrow keys, Home and End move between tabs (the WAI-ARIA tabs pattern, automatic activation).
  tab.addEventListener("keydown", (ev) => {
    const i = tabs.indexOf(tab);
    const to = { ArrowRight: i + 1, ArrowLeft: i - 1, Home: 0, End: tabs.length - 1 }[ev.key];
    if (to === undefined) return;
    ev.preventDefault();
    selectMode(tabs[(to + tabs.length) % tabs.length].dataset.mode, true);
  });
}
$("call-start").addEventListener("click", startCall);
$("call-hangup").addEventListener("click", () => endCall(true));
$("call-mute").addEventListener("click", toggleMute);
$("text-form").addEventListener("submit", submitText);
showStatus();
connect();
