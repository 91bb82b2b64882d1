// The profile's browser-like scenario (scripts/pgo-train.sh): N libwebrtc senders
// (@roamhq/wrtc, tests/integration/lib/wrtc_speaker.mjs) send Opus with audio levels into
// one room for S seconds, as browsers' send path does (SRTP, RTCP, transport-wide feedback).
// usage: node bench/pgo/speakers.mjs PORT N SECONDS
import { speakerProcess } from '../../tests/integration/lib/wrtc_speaker.mjs';

const [port, n, seconds] = process.argv.slice(2).map(Number);
if (!(port > 0 && n > 0 && n <= 20 && seconds > 0 && seconds <= 120)) {
  console.error('usage: node bench/pgo/speakers.mjs PORT N(1-20) SECONDS(1-120)');
  process.exit(2);
}
const server = { wsUrl: (path) => `ws://127.0.0.1:${port}${path}` };
const speakers = [];
try {
  for (let i = 0; i < n; i++) {
    const s = await speakerProcess(server, `pgo${i}`, 'pgo', 300 + 100 * i);
    s.setAmplitude(3000 + 1000 * i);
    speakers.push(s);
  }
  await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
} finally {
  for (const s of speakers) s.kill();
}
process.exit(0);
