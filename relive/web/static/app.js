// relive demo page: one WebSocket to the backend, a voice call and a text chat over it.
//
// The page id lives in this module's memory only (never in storage or cookies): a reload is a new
// page and starts fresh. A dropped socket reconnects with backoff and the same id + the secret the
// server issued, so the server-side sessions carry on. No handle or API key ever reaches the page.

const MIC_RATE = 16000;
const SPEAKER_RATE = 24000;
const TOAST_MS = window.RELIVE_TOAST_MS || 4000; // tests shorten it with an init script

const stats = {
  audioChunksSent: 0,
  audioChunksReceived: 0,
  audioChunksPlayed: 0,
  messagesSent: 0,
  messagesReceived: 0,
  socketOpens: 0,
  welcomes: 0,
  toasts: [],
  errors: [],
};
stats.pageId = null; // set below; lets tests see that a reload is a new page
window.reliveStats = stats;

function randomId() {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

const page = { id: randomId(), secret: null };
stats.pageId = page.id;
const $ = (id) => document.getElementById(id);
const body = document.body;

// ---------------------------------------------------------------------------------- toasts --

function toast(text, level = "info") {
  stats.toasts.push({ text, level });
  for (const shown of $("toasts").children) if (shown.textContent === text) return; // no repeats
  const el = document.createElement("div");
  el.className = `toast ${level}`;
  el.dataset.level = level;
  el.textContent = text;
  $("toasts").append(el);
  setTimeout(() => el.remove(), TOAST_MS);
}

// ------------------------------------------------------------------------------ transcript --

const transcripts = { call: null, text: null };

function renderTranscript(mode) {
  const list = $(`transcript-${mode}`);
  const t = transcripts[mode];
  list.replaceChildren();
  if (!t) return;
  if (t.summary) {
    const li = document.createElement("li");
    li.className = "summary";
    li.textContent = `Earlier (${t.folded_turns} turns): ${t.summary}`;
    list.append(li);
  }
  for (const turn of t.recent) {
    const li = document.createElement("li");
    li.className = `turn ${turn.role}`;
    if (!turn.final) li.classList.add("streaming");
    if (turn.interrupted) li.classList.add("interrupted");
    li.dataset.role = turn.role;
    li.textContent = turn.text;
    list.append(li);
  }
  list.scrollTop = list.scrollHeight;
}

function clearTranscript(mode) {
  transcripts[mode] = null;
  renderTranscript(mode);
}

// ---------------------------------------------------------------------------------- status --

const sessionStatus = { call: "idle", text: "idle" };

function showStatus() {
  const mode = body.dataset.mode;
  let status = sessionStatus[mode];
  if (body.dataset.socket !== "open" && status !== "idle" && status !== "ended") {
    status = "reconnecting";
  }
  body.dataset.status = status;
  body.dataset.callStatus = sessionStatus.call;
  body.dataset.textStatus = sessionStatus.text;
  $("status-label").textContent = status;
}

// ---------------------------------------------------------------------------------- socket --

let ws = null;
let attempts = 0;
let everWelcomed = false;
let dropped = false;

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
    sock.send(JSON.stringify({ type: "hello", page: page.id, secret: page.secret }));
  };
  sock.onmessage = (ev) => {
    if (sock !== ws) return;
    stats.messagesReceived++;
    if (typeof ev.data === "string") onJson(JSON.parse(ev.data));
    else onAudio(ev.data);
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
    const delay = Math.min(5000, 250 * 2 ** attempts) * (0.5 + Math.random() / 2);
    attempts++;
    setTimeout(connect, delay);
  };
}

function onJson(msg) {
  switch (msg.type) {
    case "welcome": {
      page.secret = msg.secret;
      attempts = 0;
      stats.welcomes++;
      body.dataset.socket = "open";
      if (msg.fresh && everWelcomed) {
        // The server no longer knew this page (it was away too long): whatever ran is gone.
        const wasInCall = call.active;
        clearTranscript("call");
        clearTranscript("text");
        sessionStatus.call = sessionStatus.text = "idle";
        if (wasInCall) {
          toast("The call could not be resumed; a new one was started.", "warn");
          send({ type: "start", mode: "call" });
        }
      } else if (dropped) {
        toast("Reconnected");
      }
      if (call.active && call.pendingStart) send({ type: "start", mode: "call" });
      everWelcomed = true;
      dropped = false;
      showStatus();
      break;
    }
    case "status":
      sessionStatus[msg.mode] = msg.status;
      if (msg.mode === "call") call.pendingStart = false;
      showStatus();
      if (msg.mode === "call" && msg.status === "ended" && call.active) endCall(false);
      break;
    case "transcript":
      transcripts[msg.mode] = msg;
      renderTranscript(msg.mode);
      break;
    case "notice":
      toast(msg.text, msg.level || "info");
      if (msg.kind === "new_session") clearTranscript(msg.mode);
      break;
    case "interrupted":
      if (msg.mode === "call") flushPlayback();
      break;
    case "error":
      stats.errors.push(msg);
      // Audio still in flight when a call ends is harmless: counted, not shown.
      if (msg.code !== "no_call") toast(msg.message, "error");
      break;
  }
}

// -------------------------------------------------------------------------------- playback --

const player = { ctx: null, at: 0, sources: new Set() };

function onAudio(buf) {
  stats.audioChunksReceived++;
  if (!player.ctx) return;
  const pcm = new Int16Array(buf);
  const audio = player.ctx.createBuffer(1, pcm.length, SPEAKER_RATE);
  const ch = audio.getChannelData(0);
  for (let i = 0; i < pcm.length; i++) ch[i] = pcm[i] / 0x8000;
  const src = player.ctx.createBufferSource();
  src.buffer = audio;
  src.connect(player.ctx.destination);
  const now = player.ctx.currentTime;
  player.at = Math.max(player.at, now + 0.04);
  src.start(player.at);
  player.at += audio.duration;
  player.sources.add(src);
  src.onended = () => {
    player.sources.delete(src);
    stats.audioChunksPlayed++;
    body.dataset.audioPlayed = String(stats.audioChunksPlayed);
  };
}

function flushPlayback() {
  for (const src of player.sources) {
    src.onended = null;
    src.stop();
  }
  player.sources.clear();
  player.at = 0;
}

// ---------------------------------------------------------------------------------- call --

const call = { active: false, muted: false, pendingStart: false, stream: null, ctx: null };

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
      if (!call.active || call.muted || !ws || ws.readyState !== WebSocket.OPEN) return;
      ws.send(ev.data.pcm);
      stats.audioChunksSent++;
      body.dataset.audioSent = String(stats.audioChunksSent);
    };
    player.ctx = new AudioContext({ sampleRate: SPEAKER_RATE });
    // Started from a click, so autoplay rules allow both contexts to run.
    await Promise.all([call.ctx.resume(), player.ctx.resume()]);
  } catch (err) {
    toast(`Microphone unavailable: ${err.message || err}`, "error");
    stopAudio();
    $("call-start").disabled = false;
    return;
  }
  clearTranscript("call");
  call.active = true;
  call.muted = false;
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
  flushPlayback();
  if (player.ctx) player.ctx.close();
  call.stream = call.ctx = player.ctx = null;
  $("mic-level").style.width = "0";
}

function endCall(tellServer) {
  if (tellServer) send({ type: "hangup" });
  call.active = false;
  stopAudio();
  body.dataset.call = "ended";
  $("call-start").disabled = false;
  $("call-mute").disabled = true;
  $("call-hangup").disabled = true;
}

function toggleMute() {
  call.muted = !call.muted;
  $("call-mute").setAttribute("aria-pressed", String(call.muted));
  $("call-mute").textContent = call.muted ? "Unmute" : "Mute";
  send({ type: "mute", muted: call.muted });
}

// ------------------------------------------------------------------------------------ text --

function sendText(ev) {
  ev.preventDefault();
  const input = $("text-input");
  const text = input.value.trim();
  if (!text) return;
  if (send({ type: "text", text })) input.value = "";
  else toast("Not connected yet; try again in a moment.", "warn");
}

// ------------------------------------------------------------------------------------ tabs --

function selectMode(mode) {
  body.dataset.mode = mode;
  for (const b of document.querySelectorAll(".tabs button")) {
    b.setAttribute("aria-selected", String(b.dataset.mode === mode));
  }
  $("panel-call").hidden = mode !== "call";
  $("panel-text").hidden = mode !== "text";
  showStatus();
  if (mode === "text") $("text-input").focus();
}

for (const b of document.querySelectorAll(".tabs button")) {
  b.addEventListener("click", () => selectMode(b.dataset.mode));
}
$("call-start").addEventListener("click", startCall);
$("call-hangup").addEventListener("click", () => endCall(true));
$("call-mute").addEventListener("click", toggleMute);
$("text-form").addEventListener("submit", sendText);
connect();
