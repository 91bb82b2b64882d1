// Producer rtpParameters as Chromium's mediasoup-client sends them (Chrome's payload types
// and extension ids), for signaling tests that produce without a browser.

export const OPUS = { mimeType: 'audio/opus', payloadType: 111, clockRate: 48000, channels: 2, parameters: { minptime: 10, useinbandfec: 1 }, rtcpFeedback: [{ type: 'transport-cc', parameter: '' }] };
export const VP8 = { mimeType: 'video/VP8', payloadType: 96, clockRate: 90000, parameters: {}, rtcpFeedback: [{ type: 'nack', parameter: '' }, { type: 'nack', parameter: 'pli' }, { type: 'goog-remb', parameter: '' }, { type: 'transport-cc', parameter: '' }] };
export const VP8_RTX = { mimeType: 'video/rtx', payloadType: 97, clockRate: 90000, parameters: { apt: 96 }, rtcpFeedback: [] };
export const EXT = {
  mid: { uri: 'urn:ietf:params:rtp-hdrext:sdes:mid', id: 4, encrypt: false, parameters: {} },
  tcc: { uri: 'http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01', id: 3, encrypt: false, parameters: {} },
  abs: { uri: 'http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time', id: 2, encrypt: false, parameters: {} },
  level: { uri: 'urn:ietf:params:rtp-hdrext:ssrc-audio-level', id: 1, encrypt: false, parameters: {} },
};
export const video = (ssrc, patch = {}) => ({
  mid: '0', codecs: [VP8, VP8_RTX], headerExtensions: [EXT.mid, EXT.abs, EXT.tcc],
  encodings: [{ ssrc, rtx: { ssrc: ssrc + 1 } }], rtcp: { cname: 'alice-cname', reducedSize: true }, ...patch,
});
export const audio = (ssrc) => ({
  mid: '1', codecs: [OPUS], headerExtensions: [EXT.mid, EXT.abs, EXT.tcc, EXT.level],
  encodings: [{ ssrc }], rtcp: { cname: 'alice-cname', reducedSize: true },
});

