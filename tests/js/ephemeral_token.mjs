// The ephemeral-token flow a browser app uses, with the official @google/genai JS SDK:
// an app server mints a token with its API key (authTokens.create, REST on the Live port),
// the page connects with only that token (v1alpha, BidiGenerateContentConstrained,
// ?access_token=). Usage: node ephemeral_token.mjs BASE_URL SERVER_KEY
// Prints one JSON line per observation ({"event": ...}); pytest checks them. The token itself
// is never printed.
import { GoogleGenAI, Modality } from "@google/genai";
import { args, deadline, report } from "./observe.mjs";

const [baseUrl, serverKey] = args("node ephemeral_token.mjs BASE_URL SERVER_KEY", 2);
const timer = deadline();
const model = "gemini-live-2.5-flash-preview";
const httpOptions = { baseUrl, apiVersion: "v1alpha" };

// The app server: mint a one-use token locked to TEXT replies.
const server = new GoogleGenAI({ apiKey: serverKey, httpOptions });
const token = await server.authTokens.create({
  config: {
    uses: 1,
    liveConnectConstraints: { model, config: { responseModalities: [Modality.TEXT] } },
  },
});
report("minted", {
  prefixed: token.name.startsWith("auth_tokens/"),
  hasExpireTime: Boolean(token.expireTime),
});

// The page: only the token. It asks for AUDIO; the token's constraints decide.
const page = new GoogleGenAI({ apiKey: token.name, httpOptions });
function open() {
  let text = "";
  let turnDone;
  let closed;
  const turn = new Promise((resolve) => (turnDone = resolve));
  const close = new Promise((resolve) => (closed = resolve));
  const connecting = page.live.connect({
    model,
    config: { responseModalities: [Modality.AUDIO] },
    callbacks: {
      onmessage: (msg) => {
        for (const p of msg.serverContent?.modelTurn?.parts ?? []) text += p.text ?? "";
        if (msg.serverContent?.turnComplete) turnDone(text);
      },
      onerror: (e) => report("error", { message: String(e?.message ?? e) }),
      onclose: (e) => closed({ code: e.code, reason: e.reason }),
    },
  });
  return { connecting, turn, close };
}

const first = open();
const session = await first.connecting;
session.sendClientContent({ turns: "hello from the page", turnComplete: true });
report("turnComplete", { text: await first.turn });
session.close();
report("closed", await first.close);

// The token had one use: a second new session is refused.
const second = open();
const refusal = await second.connecting.then(
  () => "connected",
  (e) => String(e?.message ?? e),
);
report("refused", { ...(await second.close), connect: refusal });
clearTimeout(timer);
report("done");
