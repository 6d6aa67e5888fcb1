// Microphone capture: whatever rate the AudioContext runs at -> 16 kHz mono PCM16 chunks.
// Posts {pcm: ArrayBuffer (640 samples = 40 ms), level: 0..1} to the main thread.
const TARGET_RATE = 16000;
const CHUNK = 640;

class Pcm16Capture extends AudioWorkletProcessor {
  constructor() {
    super();
    this.step = sampleRate / TARGET_RATE; // input samples per output sample
    this.pos = 0; // fractional read position into the current input block
    this.prev = 0; // last sample of the previous block, for interpolation across blocks
    this.out = new Int16Array(CHUNK);
    this.n = 0;
    this.peak = 0;
  }

  process(inputs) {
    const input = inputs[0];
    if (!input || input.length === 0 || !input[0]) return true;
    const x = input[0];
    // Linear interpolation between samples; positions are relative to this block, -1 = prev.
    while (this.pos < x.length) {
      const i = Math.floor(this.pos);
      const frac = this.pos - i;
      const a = i === 0 ? this.prev : x[i - 1];
      const b = x[i];
      const v = Math.max(-1, Math.min(1, a + (b - a) * frac));
      this.peak = Math.max(this.peak, Math.abs(v));
      this.out[this.n++] = v < 0 ? v * 0x8000 : v * 0x7fff;
      if (this.n === CHUNK) {
        const pcm = this.out.buffer;
        this.port.postMessage({ pcm, level: this.peak }, [pcm]);
        this.out = new Int16Array(CHUNK);
        this.n = 0;
        this.peak = 0;
      }
      this.pos += this.step;
    }
    this.pos -= x.length;
    this.prev = x[x.length - 1];
    return true;
  }
}

registerProcessor("pcm16-capture", Pcm16Capture);
