// What a scan felt like, without looking at the screen: a short high beep and a tap
// for a good scan, two low beeps and a long buzz for a wrong one. Sound and
// vibration are best effort: a browser without them (or muted) just shows the text.

export const PATTERNS = Object.freeze({
  ok: { tones: [[1320, 0.07]], vibrate: [40] },
  error: { tones: [[220, 0.16], [0, 0.06], [220, 0.16]], vibrate: [200, 80, 200] },
});

let audio = null;

function context(win) {
  const Ctx = win.AudioContext || win.webkitAudioContext;
  if (!Ctx) return null;
  audio ??= new Ctx();
  if (audio.state === "suspended") audio.resume?.();
  return audio;
}

/** Play ``kind`` ("ok" or "error"); answers what was done, for tests and for a muted device. */
export function signal(kind, { win = globalThis, sound = true } = {}) {
  const pattern = PATTERNS[kind];
  if (!pattern) throw new Error(`unknown feedback ${kind}`);
  const done = { sound: false, vibrate: false };
  if (sound) {
    try {
      const ctx = context(win);
      if (ctx) {
        let at = ctx.currentTime;
        for (const [hz, seconds] of pattern.tones) {
          if (hz) {
            const osc = ctx.createOscillator();
            const gain = ctx.createGain();
            osc.frequency.value = hz;
            gain.gain.value = 0.2;
            osc.connect(gain).connect(ctx.destination);
            osc.start(at);
            osc.stop(at + seconds);
          }
          at += seconds;
        }
        done.sound = true;
      }
    } catch { /* no sound here: the text says it */ }
  }
  try {
    done.vibrate = Boolean(win.navigator?.vibrate?.(pattern.vibrate));
  } catch { /* no vibration here */ }
  return done;
}
