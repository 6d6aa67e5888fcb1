// The call's speaker: 24 kHz PCM16 chunks from the backend, scheduled back to back on one
// AudioContext. On `interrupted` (barge-in) everything queued stops at once.

const SPEAKER_RATE = 24000;

export function createPlayer(stats) {
  const player = { ctx: null, at: 0, sources: new Set() };

  function flush() {
    for (const src of player.sources) {
      src.onended = null;
      src.stop();
    }
    player.sources.clear();
    player.at = 0;
  }

  return {
    /** Called from a click, so autoplay rules let the context run. */
    async start() {
      player.ctx = new AudioContext({ sampleRate: SPEAKER_RATE });
      await player.ctx.resume();
    },
    play(buf) {
      stats.audioChunksReceived++;
      // When each piece of the model's voice came (page clock, ms) and how long it is (ms):
      // what a test measures of the gap a crash leaves. The newest 500 only.
      stats.audioLog.push([performance.now(), buf.byteLength / 48]);
      if (stats.audioLog.length > 500) stats.audioLog.shift();
      if (!player.ctx) return;
      const pcm = new Int16Array(buf);
      const audio = player.ctx.createBuffer(1, pcm.length, SPEAKER_RATE);
      const ch = audio.getChannelData(0);
      for (let i = 0; i < pcm.length; i++) ch[i] = pcm[i] / 0x8000;
      const src = player.ctx.createBufferSource();
      src.buffer = audio;
      src.connect(player.ctx.destination);
      player.at = Math.max(player.at, player.ctx.currentTime + 0.04);
      src.start(player.at);
      player.at += audio.duration;
      player.sources.add(src);
      src.onended = () => {
        player.sources.delete(src);
        stats.audioChunksPlayed++;
        document.body.dataset.audioPlayed = String(stats.audioChunksPlayed);
      };
    },
    flush,
    stop() {
      flush();
      if (player.ctx) player.ctx.close();
      player.ctx = null;
    },
  };
}
