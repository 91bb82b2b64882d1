// The page of the seed 004 frontend's flow (shared/guide/seed004-frontend.md) for the
// Chromium tests: socket.io-client and mediasoup-client (served as /libs.js), window.join()
// as the frontend joins, produces and consumes (streams keyed by user id, `${userId}-screen`
// for shares). Hooks for extensions (a second <script>): window.beforeJoin(socket, roomId,
// userId, name) runs once connected, before set-user-id; window.afterJoin(joinAck) after the
// join; window.mic is the microphone producer and window.sendTransport the send transport.
// window.joinOptions (set before join): { role } joins with that role (auth.mode none),
// { publish: false } joins without producing; window.publish(share) produces later.
// window.eventCounts counts every event received by name; window.audience is the latest
// audience-update.

export const PAGE = `<!doctype html><meta charset="utf-8"><title>frontend</title>
<script src="/libs.js"></script>
<script>
window.events = [];   // new-producer, producer-closed, participant-left, in order
window.errors = [];   // failures of consumes started by events
window.list = null;   // the latest participant-list-update
window.audience = null; // the latest audience-update
window.eventCounts = {};
window.streams = {};  // key (userId or userId-screen) -> [{ kind, consumer, ...consume ack }]
let socket, device, recvTransport, roomId, userId, shareProducer, markReady;
const ready = new Promise((resolve) => { markReady = resolve; });
const consumed = new Set();
const closed = new Set();
const ack = async (event, data) => {
  const r = await socket.timeout(10000).emitWithAck(event, data);
  if (!r || typeof r !== 'object' || r.error !== undefined) throw new Error(event + ' -> ' + JSON.stringify(r));
  return r;
};
const removeProducer = (producerId) => {
  for (const [key, list] of Object.entries(window.streams)) {
    for (const s of list.filter((x) => x.producerId === producerId)) { s.consumer.close(); s.el.remove(); }
    window.streams[key] = list.filter((x) => x.producerId !== producerId);
    if (window.streams[key].length === 0) delete window.streams[key];
  }
};
const consume = async (producerId) => {
  if (consumed.has(producerId)) return;
  consumed.add(producerId);
  await ready;
  const p = await ack('consume', { roomId, producerId, rtpCapabilities: device.rtpCapabilities, transportId: recvTransport.id });
  const consumer = await recvTransport.consume({ id: p.id, producerId: p.producerId, kind: p.kind, rtpParameters: p.rtpParameters, appData: p.appData });
  const el = document.createElement(p.kind);
  el.muted = true;
  el.srcObject = new MediaStream([consumer.track]);
  document.body.appendChild(el);
  el.play().catch(() => {});
  const key = p.isScreenShare ? p.userId + '-screen' : p.userId;
  (window.streams[key] ||= []).push({ kind: p.kind, consumer, el, producerId: p.producerId, userId: p.userId, userName: p.userName,
    producerSocketId: p.producerSocketId, isScreenShare: p.isScreenShare, appData: p.appData });
  if (closed.has(producerId)) removeProducer(producerId);
  socket.emit('resume-consumer', { roomId, consumerId: p.id });
};

// Joins as the frontend does; with share, also produces a canvas screen share.
window.join = async (serverUrl, room, name, isCreator, share) => {
  roomId = room;
  userId = 'user_' + name.toLowerCase();
  const options = window.joinOptions || {};
  socket = io(serverUrl, { path: '/socket.io/', transports: ['websocket'], reconnection: false,
    query: options.role ? { role: options.role } : undefined });
  window.socket = socket;
  socket.onAny((n) => { window.eventCounts[n] = (window.eventCounts[n] || 0) + 1; });
  socket.on('participant-list-update', (l) => { window.list = l; });
  socket.on('audience-update', (a) => { window.audience = a; });
  for (const n of ['new-producer', 'producer-closed', 'participant-left']) socket.on(n, (data) => window.events.push({ name: n, data }));
  socket.on('new-producer', (d) => consume(d.producerId).catch((e) => window.errors.push(String(e))));
  socket.on('producer-closed', (d) => { closed.add(d.producerId); removeProducer(d.producerId); });
  await new Promise((resolve, reject) => { socket.once('connect', resolve); socket.once('connect_error', reject); });
  if (window.beforeJoin) await window.beforeJoin(socket, roomId, userId, name);
  const setUserId = await ack('set-user-id', userId);
  const { rtpCapabilities } = await ack('get-rtp-capabilities', { roomId });
  device = new mediasoupClient.Device();
  await device.load({ routerRtpCapabilities: rtpCapabilities });
  const joined = await ack('join-mediasoup-room', { roomId, rtpCapabilities: device.rtpCapabilities, userId, userName: name,
    userImageUrl: 'https://img.example/' + name.toLowerCase() + '.png', isCreator });
  const send = device.createSendTransport((await ack('create-webrtc-transport', { roomId, direction: 'send' })).params);
  recvTransport = device.createRecvTransport((await ack('create-webrtc-transport', { roomId, direction: 'recv' })).params);
  for (const t of [send, recvTransport]) {
    t.on('connect', ({ dtlsParameters }, cb, eb) => { ack('connect-transport', { roomId, transportId: t.id, dtlsParameters }).then(() => cb(), eb); });
  }
  send.on('produce', ({ kind, rtpParameters, appData }, cb, eb) => {
    ack('produce', { roomId, transportId: send.id, kind, rtpParameters, appData }).then(({ id }) => cb({ id }), eb);
  });
  window.sendTransport = send;
  if (window.afterJoin) window.afterJoin(joined);
  markReady();
  const producers = options.publish === false ? {} : await window.publish(share);
  for (const e of joined.existingProducers) await consume(typeof e === 'string' ? e : e.producerId);
  return { socketId: socket.id, setUserId, joined, producers };
};

// Produces camera and microphone on the send transport (and with share, a canvas screen
// share); resolves their ids by kind ('share' for the share).
window.publish = async (share) => {
  const send = window.sendTransport;
  const media = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
  const producers = {};
  window.mic = await send.produce({ track: media.getAudioTracks()[0], appData: {} });
  producers.audio = window.mic.id;
  producers.video = (await send.produce({ track: media.getVideoTracks()[0], appData: {} })).id;
  if (share) {
    const canvas = document.createElement('canvas');
    canvas.width = 640;
    canvas.height = 360;
    const g = canvas.getContext('2d');
    let n = 0;
    const draw = () => {
      g.fillStyle = 'hsl(' + ((n++ * 7) % 360) + ',80%,50%)';
      g.fillRect(0, 0, 640, 360);
      g.fillStyle = '#000';
      g.font = '48px sans-serif';
      g.fillText('screen ' + n, 40, 80);
    };
    draw();
    setInterval(draw, 66);
    shareProducer = await send.produce({ track: canvas.captureStream(15).getVideoTracks()[0], appData: { share: true } });
    producers.share = shareProducer.id;
  }
  return producers;
};

window.stopShare = async () => {
  const producerId = shareProducer.id;
  shareProducer.close();
  return ack('screen-share-stopped', { roomId, userId, producerId });
};

window.socketIdFor = (user) => ack('get-socket-id-for-user', { userId: user });

// Per stream key: what the consume ack said and the consumer's inbound-rtp counters. A
// consumer closed while the streams are sampled (its producer-closed arrived between two
// keys) is left out: it has just left window.streams, as the next sample shows.
window.streamStats = async () => {
  const out = {};
  for (const [key, list] of Object.entries(window.streams)) {
    const rows = await Promise.all(list.map(async (s) => {
      const row = { kind: s.kind, consumerId: s.consumer.id, producerId: s.producerId, userId: s.userId, userName: s.userName,
        producerSocketId: s.producerSocketId, isScreenShare: s.isScreenShare, appData: s.appData, framesDecoded: 0, packetsReceived: 0 };
      let report;
      try {
        report = await s.consumer.getStats();
      } catch (e) {
        if (s.consumer.closed) return null;
        throw e;
      }
      report.forEach((x) => {
        if (x.type !== 'inbound-rtp') return;
        row.framesDecoded = x.framesDecoded || 0;
        row.packetsReceived = x.packetsReceived || 0;
      });
      return row;
    }));
    const open = rows.filter((r) => r !== null);
    if (open.length > 0) out[key] = open;
  }
  return out;
};
</script>`;
