// A page that speaks Janus's VideoRoom over its WebSocket API with a plain RTCPeerConnection
// (no janus.js, no mediasoup-client): the Janus side of the impaired-link comparison
// (browser_impaired_janus.test.mjs). Its receive side fills window.consumers as
// lib/media_page.mjs does ({ kind, consumer: { getStats } } per received track), so that
// lib/receiver_figures.mjs samples it alike.
//
//   await page.evaluate(([u, room]) => window.janusPublish(u, room), [wsUrl, 1234]) -> feed id
//   const offer = await page.evaluate(([u, room, feed]) => window.janusSubscribeOffer(u, room, feed), ...)
//   await page.evaluate((sdp) => window.janusSubscribeAnswer(sdp), offerAsTheBrowserShouldSeeIt)
//
// The subscriber's answer carries no candidate and none is trickled: Janus (a full ICE agent)
// learns the browser's address from the checks that reach it, through whatever path the
// offer's candidates (rewritten by the test) lead them.

export const JANUS_PAGE = `<!doctype html><meta charset="utf-8"><title>janus</title>
<script>
window.consumers = new Map();
window.events = [];

// One Janus session over one WebSocket: requests matched to replies by transaction
// (acks skipped unless they are the answer), keepalives every 20 s (Janus drops a session after 60 s of silence).
async function janusSession(url) {
  const ws = new WebSocket(url, 'janus-protocol');
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error('janus websocket')); });
  const waiting = new Map();
  let next = 1;
  ws.onmessage = (m) => {
    const msg = JSON.parse(m.data);
    const w = waiting.get(msg.transaction);
    if (msg.janus === 'ack' && w?.ackEnough) { waiting.delete(msg.transaction); w(msg); return; }
    if (msg.janus === 'ack' || msg.janus === 'keepalive') return;
    if (w) { waiting.delete(msg.transaction); w(msg); } else window.events.push(msg);
  };
  // A reply of its own, or (ackEnough: a trickle, which Janus only acknowledges) the ack.
  const send = (body, ackEnough = false) => new Promise((resolve, reject) => {
    const transaction = 't' + next++;
    const t = setTimeout(() => { waiting.delete(transaction); reject(new Error('janus: no answer to ' + JSON.stringify(body))); }, 10000);
    const w = (msg) => { clearTimeout(t); msg.janus === 'error' ? reject(new Error(JSON.stringify(msg.error))) : resolve(msg); };
    w.ackEnough = ackEnough;
    waiting.set(transaction, w);
    ws.send(JSON.stringify({ ...body, transaction }));
  });
  const created = await send({ janus: 'create' });
  const session_id = created.data.id;
  setInterval(() => ws.send(JSON.stringify({ janus: 'keepalive', session_id, transaction: 'k' + next++ })), 20000);
  const attach = async () => {
    const a = await send({ janus: 'attach', plugin: 'janus.plugin.videoroom', session_id });
    const handle_id = a.data.id;
    return {
      message: (body, jsep) => send({ janus: 'message', session_id, handle_id, body, ...(jsep ? { jsep } : {}) }),
      trickleDone: () => send({ janus: 'trickle', session_id, handle_id, candidate: { completed: true } }, true),
    };
  };
  return { attach };
}

// Camera and microphone (Chromium's fake devices, as media_page's) into the room; the offer
// goes with its candidates gathered. Returns the publisher's feed id. \`encodings\`: VP8
// simulcast by rid, lowest first as lib/simulcast.mjs lists them; they go out highest first
// (h, m, l), the order janus.js sends and Janus's VideoRoom reads.
window.janusPublish = async (url, room, { width = 640, height = 480, encodings = null } = {}) => {
  const session = await janusSession(url);
  const h = await session.attach();
  const joined = await h.message({ request: 'join', ptype: 'publisher', room, display: 'teacher' });
  const feed = joined.plugindata.data.id;
  const pc = new RTCPeerConnection();
  window.publisherPc = pc;
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width, height } });
  const rids = ['h', 'm', 'l'];
  const sendEncodings = encodings && [...encodings].reverse().map((e, i) => ({ rid: rids[i], active: true, ...e }));
  for (const t of stream.getTracks())
    pc.addTransceiver(t, { direction: 'sendonly', ...(t.kind === 'video' && sendEncodings ? { sendEncodings } : {}) });
  await pc.setLocalDescription(await pc.createOffer());
  await new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    pc.onicegatheringstatechange = () => pc.iceGatheringState === 'complete' && resolve();
    setTimeout(resolve, 5000);
  });
  const configured = await h.message({ request: 'configure', audio: true, video: true }, { type: 'offer', sdp: pc.localDescription.sdp });
  await pc.setRemoteDescription(configured.jsep);
  // Janus offers a feed to subscribers once its media flows: wait (bounded) for the
  // connection, so that a subscriber joining next finds the feed's streams.
  await new Promise((resolve, reject) => {
    if (pc.connectionState === 'connected') return resolve();
    const t = setTimeout(() => reject(new Error('janus: the publisher did not connect within 10 s')), 10000);
    pc.onconnectionstatechange = () => { if (pc.connectionState === 'connected') { clearTimeout(t); resolve(); } };
  });
  return feed;
};

let subscriber = null;
// Joins as a subscriber of one feed; returns Janus's offer (its candidates in it).
window.janusSubscribeOffer = async (url, room, feed) => {
  const session = await janusSession(url);
  const h = await session.attach();
  const joined = await h.message({ request: 'join', ptype: 'subscriber', room, streams: [{ feed }] });
  if (!joined.jsep) throw new Error('janus: no offer for feed ' + feed + ': ' + JSON.stringify(joined.plugindata));
  subscriber = { h };
  return joined.jsep.sdp;
};

// Takes the offer (as the test rewrote it), answers without candidates, starts.
window.janusSubscribeAnswer = async (sdp) => {
  const pc = new RTCPeerConnection();
  window.subscriberPc = pc;
  pc.ontrack = (e) => {
    const receiver = e.receiver;
    window.consumers.set(e.track.id, { kind: e.track.kind, consumer: { getStats: () => receiver.getStats() } });
    // Chromium decodes remote audio only while something plays it out (as media_page).
    const el = document.createElement(e.track.kind);
    el.muted = e.track.kind === 'video';
    el.autoplay = true;
    el.playsInline = true;
    el.srcObject = new MediaStream([e.track]);
    document.body.appendChild(el);
    el.play().catch(() => {});
  };
  await pc.setRemoteDescription({ type: 'offer', sdp });
  const answer = await pc.createAnswer();
  await pc.setLocalDescription(answer);
  const bare = answer.sdp.split('\\r\\n').filter((l) => !l.startsWith('a=candidate') && !l.startsWith('a=end-of-candidates')).join('\\r\\n');
  await subscriber.h.message({ request: 'start' }, { type: 'answer', sdp: bare });
  await subscriber.h.trickleDone();
};

// What the publisher sends, per encoding (as media_page's sentEncodings).
window.sentEncodings = async () => {
  const out = [];
  const sender = window.publisherPc.getSenders().find((x) => x.track?.kind === 'video');
  (await sender.getStats()).forEach((s) => {
    if (s.type === 'outbound-rtp') out.push({ rid: s.rid, ssrc: s.ssrc, frameWidth: s.frameWidth || 0, framesEncoded: s.framesEncoded || 0, bytesSent: s.bytesSent || 0 });
  });
  return out.sort((a, b) => (a.rid || '').localeCompare(b.rid || ''));
};

// What each received track has decoded so far (media_page's rows, in part).
window.received = async () => {
  const out = [];
  for (const [id, c] of window.consumers) {
    const row = { consumerId: id, kind: c.kind };
    (await c.consumer.getStats()).forEach((s) => {
      if (s.type !== 'inbound-rtp') return;
      row.packetsReceived = s.packetsReceived || 0;
      row.packetsLost = s.packetsLost || 0;
      row.framesDecoded = s.framesDecoded || 0;
      row.totalSamplesReceived = s.totalSamplesReceived || 0;
      row.nackCount = s.nackCount || 0;
      row.frameWidth = s.frameWidth || 0;
    });
    out.push(row);
  }
  return out;
};
</script>`;
