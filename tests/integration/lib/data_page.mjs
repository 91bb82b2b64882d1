// A test page for end-to-end data channels: the stock mediasoup-client over Chorus's plain
// JSON dialect. window.dataJoin() joins a room with transports that carry SCTP
// (sctpCapabilities), consumes every data producer announced (new-data-producer,
// including the room's own) and, optionally, produces one data channel (and the fake
// camera on the same send transport). What the tests assert: window.got (each message
// received, per data producer, in arrival order), window.closedConsumers, window.events.

export const DATA_PAGE = `<!doctype html><meta charset="utf-8"><title>data</title>
<script src="/mediasoup-client.js"></script>
<script>
window.events = [];
window.got = [];             // { dataProducerId, label, kind: 'string'|'binary', text?, length?, ok?, at }
window.dataConsumers = new Map();
window.closedConsumers = []; // data consumer ids the page saw closing (event or channel)

// Byte i of a binary test message: (i * 31 + seed) & 255.
window.pattern = (n, seed) => {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; ++i) b[i] = (i * 31 + seed) & 255;
  return b;
};
const checkPattern = (b) => {
  if (b.length < 1) return true;
  const seed = b[0];
  for (let i = 0; i < b.length; ++i) if (b[i] !== ((i * 31 + seed) & 255)) return false;
  return true;
};

window.dataJoin = async (wsUrl, { produce = false, consume = true, media = false, label = 'chat' } = {}) => {
  const ws = new WebSocket(wsUrl);
  window.ws = ws;
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error('ws error')); });
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
  await expect('join-mediasoup-room', { rtpCapabilities: device.rtpCapabilities }, 'join-mediasoup-room');
  const wire = (transport) => {
    transport.on('connect', ({ dtlsParameters }, callback, errback) => {
      expect('connect-transport', { transportId: transport.id, dtlsParameters }, 'transport-connected')
        .then(() => callback(), errback);
    });
  };
  const pageError = (e) => window.events.push({ type: 'page-error', data: String(e && e.stack || e) });

  if (consume) {
    const recvParams = await expect('create-transport', { direction: 'recv', sctpCapabilities: device.sctpCapabilities }, 'transport-params');
    if (!recvParams.sctpParameters) throw new Error('no sctpParameters: ' + JSON.stringify(recvParams));
    const recvTransport = device.createRecvTransport(recvParams);
    wire(recvTransport);
    window.recvTransport = recvTransport;
    const seen = new Set();
    const consumeData = async (dataProducerId) => {
      if (seen.has(dataProducerId)) return;
      seen.add(dataProducerId);
      const p = await expect('consume-data', { dataProducerId, transportId: recvTransport.id }, 'consume-data');
      const dc = await recvTransport.consumeData({ id: p.id, dataProducerId: p.dataProducerId,
        sctpStreamParameters: p.sctpStreamParameters, label: p.label, protocol: p.protocol });
      window.dataConsumers.set(p.id, dc);
      dc.on('message', (data) => {
        const row = { dataProducerId: p.dataProducerId, label: p.label, at: performance.now(), wall: Date.now() };
        if (typeof data === 'string') {
          row.kind = 'string';
          row.text = data;
        } else {
          const b = new Uint8Array(data);
          row.kind = 'binary';
          row.length = b.length;
          row.ok = checkPattern(b);
        }
        window.got.push(row);
      });
      dc.on('close', () => window.closedConsumers.push(p.id));
    };
    handlers.push((msg) => {
      if (msg.type === 'new-data-producer') consumeData(msg.data.dataProducerId).catch(pageError);
      if (msg.type === 'data-consumer-closed') {
        const dc = window.dataConsumers.get(msg.data.dataConsumerId);
        if (dc && !dc.closed) { dc.close(); window.closedConsumers.push(msg.data.dataConsumerId); }
      }
    });
    // Data producers announced before these handlers existed.
    for (const e of window.events.filter((x) => x.type === 'new-data-producer'))
      await consumeData(e.data.dataProducerId).catch(pageError);
  }

  if (produce) {
    const sendParams = await expect('create-transport', { direction: 'send', sctpCapabilities: device.sctpCapabilities }, 'transport-params');
    const sendTransport = device.createSendTransport(sendParams);
    wire(sendTransport);
    sendTransport.on('producedata', ({ sctpStreamParameters, label, protocol, appData }, callback, errback) => {
      expect('produce-data', { transportId: sendTransport.id, sctpStreamParameters, label, protocol, appData }, 'produce-data')
        .then((d) => callback({ id: d.id }), errback);
    });
    sendTransport.on('produce', ({ kind, rtpParameters }, callback, errback) => {
      expect('produce', { transportId: sendTransport.id, kind, rtpParameters }, 'producer-id')
        .then((d) => callback({ id: d.id }), errback);
    });
    window.sendTransport = sendTransport;
    if (media) {
      const stream = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 } });
      window.videoProducer = await sendTransport.produce({ track: stream.getVideoTracks()[0] });
    }
    window.dataProducer = await sendTransport.produceData({ ordered: true, label });
    await new Promise((resolve, reject) => {
      if (window.dataProducer.readyState === 'open') return resolve();
      window.dataProducer.on('open', resolve);
      window.dataProducer.on('error', reject);
    });
    return { dataProducerId: window.dataProducer.id };
  }
  return {};
};

// One more data producer on the send transport with these options (ordered,
// maxPacketLifeTime, maxRetransmits, label); resolves its id once open.
window.produceMore = async (options) => {
  const dp = await window.sendTransport.produceData(options);
  await new Promise((resolve, reject) => {
    if (dp.readyState === 'open') return resolve();
    dp.on('open', resolve);
    dp.on('error', reject);
  });
  window.moreProducers = window.moreProducers || new Map();
  window.moreProducers.set(dp.id, dp);
  return dp.id;
};

// Sends messages as fast as the channel accepts them (bufferedAmount kept under 'high').
window.sendAll = async (items, high = 1 << 20) => {
  const dp = window.dataProducer;
  for (const it of items) {
    const stuck = performance.now() + 30000; // bounded: a stalled channel fails the test
    while (dp.bufferedAmount > high) {
      if (performance.now() > stuck) throw new Error('sendAll: bufferedAmount stuck at ' + dp.bufferedAmount);
      await new Promise((r) => setTimeout(r, 5));
    }
    dp.send(it.text !== undefined ? it.text : window.pattern(it.length, it.seed));
  }
};

// Consumes a media producer on the receive transport and plays it (video).
window.consumeMedia = async (producerId) => {
  const r = await window.chorusRequest('consume', { producerId, transportId: window.recvTransport.id, rtpCapabilities: window.device.rtpCapabilities });
  if (r.type !== 'consumer-params') throw new Error(JSON.stringify(r));
  const p = r.data;
  const consumer = await window.recvTransport.consume({ id: p.id, producerId: p.producerId, kind: p.kind, rtpParameters: p.rtpParameters });
  const el = document.createElement('video');
  el.muted = true; el.autoplay = true; el.playsInline = true;
  el.srcObject = new MediaStream([consumer.track]);
  document.body.appendChild(el);
  el.play().catch(() => {});
  await window.chorusRequest('resume-consumer', { consumerId: p.id });
  window.mediaConsumer = consumer;
};

// Frames decoded so far by the media consumer.
window.framesDecoded = async () => {
  let frames = 0;
  if (!window.mediaConsumer) return 0;
  (await window.mediaConsumer.getStats()).forEach((s) => { if (s.type === 'inbound-rtp') frames += s.framesDecoded || 0; });
  return frames;
};

// Floods: sends 'size'-byte binary messages for 'ms' milliseconds as fast as the channel
// takes them (bufferedAmount kept under 'high'). Returns { messages, bytes }.
window.flood = async (ms, size, high = 4 << 20) => {
  const dp = window.dataProducer;
  const msg = window.pattern(size, 7);
  let messages = 0;
  const end = performance.now() + ms;
  while (performance.now() < end) {
    if (dp.bufferedAmount > high) { await new Promise((r) => setTimeout(r, 1)); continue; }
    for (let i = 0; i < 64; ++i) { dp.send(msg); ++messages; }
  }
  return { messages, bytes: messages * size };
};

// Sends 'count' small JSON messages { i, t: Date.now() } every 'intervalMs'.
window.pings = async (count, intervalMs) => {
  for (let i = 0; i < count; ++i) {
    window.dataProducer.send(JSON.stringify({ i, t: Date.now() }));
    await new Promise((r) => setTimeout(r, intervalMs));
  }
};

// The sender's own counters: bytes and messages sent on its data channel (RTCDataChannel stats).
window.dataChannelStats = async () => {
  const out = [];
  (await window.sendTransport.getStats()).forEach((s) => {
    if (s.type === 'data-channel') out.push({ label: s.label, state: s.state, messagesSent: s.messagesSent, bytesSent: s.bytesSent });
  });
  return out;
};
</script>`;
