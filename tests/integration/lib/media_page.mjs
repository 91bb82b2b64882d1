// A test page for end-to-end media: the stock mediasoup-client over Chorus's plain JSON
// dialect (seed 001 names, requestIds). window.chorusJoin() joins a room, optionally
// produces the fake camera and microphone, and consumes every producer of the other
// peers (existing ones and new-producer events). Helpers expose what the tests assert:
// decoded frames and audio samples per consumer, the sender's bandwidth estimate, the
// events received, producer pause / resume, a screen share, ICE restart and the selected
// candidate pair.

export const MEDIA_PAGE = `<!doctype html><meta charset="utf-8"><title>media</title>
<script src="/mediasoup-client.js"></script>
<script>
window.events = [];
window.consumers = new Map(); // consumerId -> { consumer, producerId, kind }
window.producers = new Map(); // kind -> Producer

// Options: produce (camera and microphone), video ({ width, height } of the camera),
// encodings (simulcast: mediasoup-client's encodings), codec (a mimeType to send video
// with, e.g. 'video/VP9'), scalabilityMode (one encoding's, e.g. 'L3T3_KEY').
// noise: the camera is a canvas of changing noise (video's size, 15 fps) instead of the
// fake device: every layer then costs what its maxBitrate allows, as a real camera's would.
window.chorusJoin = async (wsUrl, { produce = true, video = { width: 640, height: 480 }, encodings, codec, scalabilityMode, noise = false } = {}) => {
  const ws = new WebSocket(wsUrl);
  window.ws = ws;
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error('ws error')); });
  ws.onclose = (e) => { window.wsClosed = e.code; };
  let nextId = 1;
  const pending = new Map();
  const handlers = [];
  ws.onmessage = (ev) => {
    const msg = JSON.parse(ev.data);
    if (msg.requestId !== undefined && pending.has(msg.requestId)) {
      const resolve = pending.get(msg.requestId);
      pending.delete(msg.requestId);
      resolve(msg);
      return;
    }
    window.events.push(msg);
    for (const h of handlers) h(msg);
    if (window.onEvent) window.onEvent(msg); // a test's application logic
  };
  const request = (type, data) => new Promise((resolve) => {
    const requestId = nextId++;
    pending.set(requestId, resolve);
    ws.send(JSON.stringify({ type, data, requestId }));
  });
  const expect = async (type, data, replyType) => {
    const r = await request(type, data);
    if (r.type !== replyType) throw new Error(type + ': ' + JSON.stringify(r));
    return r.data;
  };
  window.chorusRequest = request;
  const caps = await expect('get-rtp-capabilities', {}, 'rtp-capabilities');
  const device = new mediasoupClient.Device();
  await device.load({ routerRtpCapabilities: caps });
  window.device = device;
  // A test may change the capabilities the page tells the server (window.adaptRtpCapabilities):
  // a receiver that does not list a codec.
  const recvCaps = () => (window.adaptRtpCapabilities ? window.adaptRtpCapabilities(device.rtpCapabilities) : device.rtpCapabilities);
  const joined = await expect('join-mediasoup-room', { rtpCapabilities: recvCaps() }, 'join-mediasoup-room');

  const wire = (transport) => {
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      expect('connect-transport', { transportId: transport.id, dtlsParameters }, 'transport-connected')
        .then(() => callback(), errback);
    });
  };
  // A test may change the transport options the server sent (window.adaptTransportParams).
  const adapt = (p) => (window.adaptTransportParams ? window.adaptTransportParams(p) : p);
  const recvParams = await expect('create-transport', { direction: 'recv' }, 'transport-params');
  const recvTransport = device.createRecvTransport(adapt(recvParams));
  wire(recvTransport);
  window.recvTransport = recvTransport;

  const consumed = new Set();
  const consume = async (producerId) => {
    if (consumed.has(producerId)) return;
    consumed.add(producerId);
    const p = await expect('consume', { producerId, transportId: recvTransport.id, rtpCapabilities: recvCaps() }, 'consumer-params');
    const consumer = await recvTransport.consume({ id: p.id, producerId: p.producerId, kind: p.kind, rtpParameters: p.rtpParameters });
    window.consumers.set(p.id, { consumer, producerId: p.producerId, kind: p.kind, peerId: p.peerId, type: p.type });
    // Chromium decodes remote audio only while something plays it out.
    const el = document.createElement(p.kind);
    el.muted = p.kind === 'video';
    el.autoplay = true;
    el.playsInline = true;
    el.srcObject = new MediaStream([consumer.track]);
    el.id = 'media-' + p.id;
    document.body.appendChild(el);
    el.play().catch(() => {});
    await expect('resume-consumer', { consumerId: p.id }, 'resume-consumer');
  };
  handlers.push((msg) => {
    if (msg.type === 'new-producer') consume(msg.data.producerId).catch((e) => window.events.push({ type: 'page-error', data: String(e) }));
    if (msg.type === 'consumer-closed') {
      const c = window.consumers.get(msg.data.consumerId);
      if (c) {
        c.consumer.close();
        document.getElementById('media-' + msg.data.consumerId)?.remove();
      }
    }
  });

  if (produce) {
    const sendParams = await expect('create-transport', { direction: 'send' }, 'transport-params');
    const sendTransport = device.createSendTransport(adapt(sendParams));
    wire(sendTransport);
    sendTransport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
      // appData only when the page gave some (window.chorusShare: a screen share).
      const extra = appData && Object.keys(appData).length ? { appData } : {};
      expect('produce', { transportId: sendTransport.id, kind, rtpParameters, ...extra }, 'producer-id')
        .then((d) => callback({ id: d.id }), errback);
    });
    window.sendTransport = sendTransport;
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video });
    const track = noise ? noiseTrack(video.width, video.height) : stream.getVideoTracks()[0];
    const options = { track };
    if (encodings) {
      options.encodings = encodings;
      track.contentHint = 'detail'; // keep the resolution under CPU load: layers keep their widths
    }
    if (scalabilityMode) options.encodings = [{ scalabilityMode }];
    if (codec) options.codec = device.rtpCapabilities.codecs.find((c) => c.mimeType.toLowerCase() === codec.toLowerCase());
    window.producers.set('video', await sendTransport.produce(options));
    window.producers.set('audio', await sendTransport.produce({ track: stream.getAudioTracks()[0] }));
  }
  for (const id of joined.existingProducers) await consume(id);
  return { producers: [...window.producers.values()].map((p) => p.id) };
};

// A video track of blocky noise (8x8-pixel blocks of random colour, four frames drawn in
// turn, each shifted): costly enough that every layer uses what its maxBitrate allows,
// keyframes of a size a camera's would have.
function noiseTrack(width, height) {
  const block = 32;
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  ctx.imageSmoothingEnabled = false;
  const frames = [];
  for (let f = 0; f < 4; ++f) {
    const small = document.createElement('canvas');
    small.width = Math.ceil(width / block) + 2;
    small.height = Math.ceil(height / block) + 2;
    const sctx = small.getContext('2d');
    const img = sctx.createImageData(small.width, small.height);
    const words = new Uint32Array(img.data.buffer);
    for (let i = 0; i < words.length; ++i) words[i] = (Math.random() * 0xffffff) | 0xff000000;
    sctx.putImageData(img, 0, 0);
    frames.push(small);
  }
  let n = 0;
  setInterval(() => {
    const f = frames[n % frames.length];
    ctx.drawImage(f, -((n * 3) % block), -((n * 5) % block), f.width * block, f.height * block);
    ++n;
  }, 66);
  window.noiseCanvas = canvas; // kept alive
  return canvas.captureStream(15).getVideoTracks()[0];
}

// What each consumer has received so far (from the browser's inbound-rtp stats).
window.received = async () => {
  const out = [];
  for (const [id, c] of window.consumers) {
    let row = { consumerId: id, producerId: c.producerId, kind: c.kind, closed: c.consumer.closed };
    if (c.consumer.closed) { // closed consumers have no stats (getStats throws)
      out.push(row);
      continue;
    }
    const stats = await c.consumer.getStats();
    // What the receiver negotiated: its payload types' codecs, the first the one it expects.
    row.negotiated = c.consumer.rtpReceiver.getParameters().codecs.map((k) => k.mimeType);
    stats.forEach((s) => {
      // From the server's sender reports.
      if (s.type === 'remote-outbound-rtp') row.senderReports = s.reportsSent || 0;
      if (s.type !== 'inbound-rtp') return;
      row.packetsReceived = s.packetsReceived || 0;
      row.packetsLost = s.packetsLost || 0;
      row.framesDecoded = s.framesDecoded || 0;
      row.keyFramesDecoded = s.keyFramesDecoded || 0;
      row.totalSamplesReceived = s.totalSamplesReceived || 0;
      row.nackCount = s.nackCount || 0;
      row.frameWidth = s.frameWidth || 0;
      row.concealedSamples = s.concealedSamples || 0;
      row.frameHeight = s.frameHeight || 0;
      row.freezeCount = s.freezeCount || 0;
      row.pliCount = s.pliCount || 0;
      // The jitter buffer's delay so far, per frame or sample played out: the receive side's
      // share of the latency.
      row.jitterBufferDelay = s.jitterBufferDelay || 0;
      row.jitterBufferEmittedCount = s.jitterBufferEmittedCount || 0;
    });
    out.push(row);
  }
  return out;
};

// What the video producer sends, per encoding (outbound-rtp: rid, frameWidth, bytes).
window.sentEncodings = async () => {
  const p = window.producers.get('video');
  const out = [];
  (await p.getStats()).forEach((s) => {
    if (s.type === 'outbound-rtp') out.push({ rid: s.rid, ssrc: s.ssrc, frameWidth: s.frameWidth || 0, framesEncoded: s.framesEncoded || 0, bytesSent: s.bytesSent || 0, scalabilityMode: s.scalabilityMode, qualityLimitationReason: s.qualityLimitationReason });
  });
  return out.sort((a, b) => (a.rid || '').localeCompare(b.rid || ''));
};

// The send side's bandwidth estimate: availableOutgoingBitrate of the selected pair.
window.outgoingBitrate = async () => {
  if (!window.sendTransport) return 0;
  const stats = await window.sendTransport.getStats();
  let selected;
  stats.forEach((s) => { if (s.type === 'transport' && s.selectedCandidatePairId) selected = s.selectedCandidatePairId; });
  let best = 0;
  stats.forEach((s) => {
    if (s.type !== 'candidate-pair') return;
    if ((selected && s.id === selected) || (!selected && s.nominated)) best = Math.max(best, s.availableOutgoingBitrate || 0);
  });
  return best;
};

// What the server's receiver reports told each producer (remote-inbound-rtp).
window.producerReports = async () => {
  const out = {};
  for (const [kind, p] of window.producers) {
    const stats = await p.getStats();
    stats.forEach((s) => {
      if (s.type === 'remote-inbound-rtp') out[kind] = { roundTripTime: s.roundTripTime, fractionLost: s.fractionLost, packetsLost: s.packetsLost };
    });
  }
  return out;
};

// A screen share: a second video producer with appData { source: 'screen' } on the send
// transport (window.producers 'screen'). With display, getDisplayMedia() is tried first;
// otherwise, or where it fails (headless browsers have no screen to capture), a canvas of
// width x height at fps frames per second, redrawn with a counter and a moving block.
// Resolves { producerId, via: 'getDisplayMedia' | 'canvas', displayError? }.
window.chorusShare = async ({ display = true, width = 960, height = 540, fps = 10 } = {}) => {
  let track = null;
  let displayError;
  if (display) {
    try {
      track = (await navigator.mediaDevices.getDisplayMedia({ video: true })).getVideoTracks()[0];
    } catch (e) {
      displayError = String(e && e.name ? e.name + ': ' + e.message : e);
    }
  }
  const via = track ? 'getDisplayMedia' : 'canvas';
  if (!track) {
    const canvas = document.createElement('canvas');
    canvas.width = width;
    canvas.height = height;
    const ctx = canvas.getContext('2d');
    let n = 0;
    setInterval(() => {
      ctx.fillStyle = '#f4f4f4';
      ctx.fillRect(0, 0, width, height);
      ctx.fillStyle = '#2050c0';
      ctx.fillRect((n * 7) % width, height / 3, width / 8, height / 3);
      ctx.fillStyle = '#000';
      ctx.font = (height / 8) + 'px sans-serif';
      ctx.fillText('slide ' + n, width / 10, height / 5);
      ++n;
    }, 1000 / fps);
    window.shareCanvas = canvas; // kept alive
    track = canvas.captureStream(fps).getVideoTracks()[0];
  }
  track.contentHint = 'detail';
  const p = await window.sendTransport.produce({ track, appData: { source: 'screen' } });
  window.producers.set('screen', p);
  return { producerId: p.id, via, displayError };
};

// ICE restart of window[which] ('sendTransport' or 'recvTransport'): restart-ice gives new
// server credentials, the browser restarts ICE with them. Resolves the new iceParameters.
window.chorusRestartIce = async (which) => {
  const t = window[which];
  const r = await window.chorusRequest('restart-ice', { transportId: t.id });
  if (r.type !== 'restart-ice') throw new Error('restart-ice: ' + JSON.stringify(r));
  await t.restartIce({ iceParameters: r.data.iceParameters });
  return r.data.iceParameters;
};

// The selected candidate pair of window[which] (getStats): both candidates' types, address
// and port, and the pair's byte counters; null before one is selected.
window.selectedPair = async (which) => {
  const stats = await window[which].getStats();
  const byId = new Map();
  let pair = null;
  stats.forEach((s) => {
    byId.set(s.id, s);
    if (s.type === 'transport' && s.selectedCandidatePairId) pair = s.selectedCandidatePairId;
  });
  // Without a transport entry naming it: the pair flagged selected (Firefox), or nominated.
  if (!pair) stats.forEach((s) => { if (s.type === 'candidate-pair' && (s.selected || (s.nominated && s.state === 'succeeded'))) pair = s.id; });
  const p = byId.get(pair);
  if (!p) return null;
  const cand = (c) => c && { type: c.candidateType, protocol: c.protocol, relayProtocol: c.relayProtocol, address: c.address, port: c.port };
  return { local: cand(byId.get(p.localCandidateId)), remote: cand(byId.get(p.remoteCandidateId)), state: p.state, bytesSent: p.bytesSent, bytesReceived: p.bytesReceived };
};

window.setProducerPaused = async (kind, paused) => {
  const p = window.producers.get(kind);
  if (paused) p.pause(); else p.resume();
  const r = await window.chorusRequest(paused ? 'pause-producer' : 'resume-producer', { producerId: p.id });
  if (r.type === 'error') throw new Error(JSON.stringify(r.data));
};
</script>`;
