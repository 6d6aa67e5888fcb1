// The official @google/genai JS SDK against the relive emulator over ws:// or wss://.
// Usage: node emulator_smoke.mjs BASE_URL   (http://127.0.0.1:PORT, or https:// with
// NODE_EXTRA_CA_CERTS pointing at the emulator's CA)
// Prints one JSON line per observation ({"event": ...}); pytest checks them.
import { GoogleGenAI, Modality } from "@google/genai";
import { args, deadline, report } from "./observe.mjs";

const [baseUrl] = args("node emulator_smoke.mjs BASE_URL", 1);
const timer = deadline();

const ai = new GoogleGenAI({
  apiKey: "js-test-key",
  httpOptions: { baseUrl, apiVersion: "v1beta" },
});

let text = "";
let handles = 0;
let turnDone;
const turnComplete = new Promise((resolve) => (turnDone = resolve));
let goAwayDone;
const goAway = new Promise((resolve) => (goAwayDone = resolve));
let closed;
const closedP = new Promise((resolve) => (closed = resolve));

const session = await ai.live.connect({
  model: "gemini-live-2.5-flash-preview",
  config: { responseModalities: [Modality.TEXT], sessionResumption: {} },
  callbacks: {
    onmessage: (msg) => {
      if (msg.setupComplete) report("setupComplete");
      const parts = msg.serverContent?.modelTurn?.parts ?? [];
      for (const p of parts) text += p.text ?? "";
      if (msg.serverContent?.generationComplete) report("generationComplete");
      if (msg.serverContent?.turnComplete) {
        report("turnComplete", { text });
        turnDone();
      }
      const update = msg.sessionResumptionUpdate;
      if (update?.resumable && update.newHandle) {
        handles += 1;
        report("handle", { length: update.newHandle.length, count: handles });
      }
      if (msg.goAway) {
        report("goAway", { timeLeft: msg.goAway.timeLeft });
        goAwayDone();
      }
    },
    onerror: (e) => report("error", { message: String(e?.message ?? e) }),
    onclose: (e) => {
      report("close", { code: e.code, reason: e.reason });
      closed();
    },
  },
});

session.sendClientContent({ turns: "hello from js", turnComplete: true });
await turnComplete;
await goAway;
await closedP;
clearTimeout(timer);
report("done", { handles });
