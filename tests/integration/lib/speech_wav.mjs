// A microphone that talks, for Chromium's fake capture (--use-file-for-fake-audio-capture,
// which loops the file): syllables of a voiced tone (a 150 Hz fundamental with its
// harmonics, -12 dBFS) of 180-300 ms separated by 60-120 ms of silence, like continuous
// speech. Chromium's default fake microphone beeps for a moment twice a second, which the
// active-speaker observer rightly never takes for speech (docs: rtp/active_speaker.hpp).

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const RATE = 48000;

// The samples (16-bit mono at 48 kHz) of `seconds` of speech-like sound.
export function speechSamples(seconds = 4) {
  const samples = new Int16Array(Math.round(seconds * RATE));
  const pattern = [[240, 80], [180, 60], [300, 120], [220, 70]]; // [voiced ms, silent ms]
  let at = 0;
  for (let i = 0; at < samples.length; i++) {
    const [voiced, silent] = pattern[i % pattern.length];
    const n = Math.min(samples.length - at, (voiced * RATE) / 1000);
    for (let k = 0; k < n; k++) {
      const t = k / RATE;
      // Raised-cosine edges of 10 ms keep the syllable from clicking.
      const edge = Math.min(1, k / (RATE / 100), (n - k) / (RATE / 100));
      let v = 0;
      for (let h = 1; h <= 4; h++) v += Math.sin(2 * Math.PI * 150 * h * t) / h;
      samples[at + k] = Math.round(0.25 * 32767 * 0.5 * (1 - Math.cos(Math.PI * edge)) * v / 2.1);
    }
    at += n + (silent * RATE) / 1000;
  }
  return samples;
}

// Writes the samples as a PCM WAV file in a fresh temporary directory; returns its path.
export function writeSpeechWav(seconds = 4) {
  const samples = speechSamples(seconds);
  const data = Buffer.from(samples.buffer, samples.byteOffset, samples.byteLength);
  const header = Buffer.alloc(44);
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + data.length, 4);
  header.write('WAVE', 8);
  header.write('fmt ', 12);
  header.writeUInt32LE(16, 16); // fmt chunk size
  header.writeUInt16LE(1, 20); // PCM
  header.writeUInt16LE(1, 22); // mono
  header.writeUInt32LE(RATE, 24);
  header.writeUInt32LE(RATE * 2, 28); // bytes per second
  header.writeUInt16LE(2, 32); // block align
  header.writeUInt16LE(16, 34); // bits per sample
  header.write('data', 36);
  header.writeUInt32LE(data.length, 40);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'chorus-speech-'));
  const file = path.join(dir, 'speech.wav');
  fs.writeFileSync(file, Buffer.concat([header, data]));
  return file;
}
