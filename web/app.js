// Chorus demo app: join a room with camera and microphone, see and hear the others.
// It speaks seed 004's Socket.IO events exactly as the existing frontend does
// (get-rtp-capabilities, join-mediasoup-room, create-webrtc-transport, connect-transport,
// produce, consume, resume-consumer; new-producer, participant-list-update,
// participant-left) plus pause-producer / resume-producer for mute and camera off.
// Bundled with mediasoup-client and socket.io-client by esbuild (scripts/build-web.mjs).

import { Device } from 'mediasoup-client';
import { io } from 'socket.io-client';

const $ = (id) => document.getElementById(id);
const state = {
  socket: null,
  device: null,
  roomId: '',
  sendTransport: null,
  recvTransport: null,
  producers: new Map(), // kind -> Producer
  consumers: new Map(), // consumerId -> { consumer, peerId, kind }
  consumed: new Set(), // producerIds
  pending: [], // new-producer ids announced before the receive transport existed
  participants: [],
};

function log(text) {
  const line = document.createElement('div');
  line.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  $('log').prepend(line);
  while ($('log').childElementCount > 50) $('log').lastChild.remove();
}

// emit with an acknowledgement; rejects on the seed-004 `error` field or after 10 s.
function request(event, data) {
  return new Promise((resolve, reject) => {
    state.socket.timeout(10000).emit(event, data, (err, response) => {
      if (err) reject(new Error(`${event}: no answer`));
      else if (response && response.error) reject(new Error(`${event}: ${response.error}`));
      else resolve(response);
    });
  });
}

async function createTransport(direction) {
  const { params } = await request('create-webrtc-transport', { roomId: state.roomId, direction });
  const transport = direction === 'send'
    ? state.device.createSendTransport(params)
    : state.device.createRecvTransport(params);
  transport.on('connect', ({ dtlsParameters }, callback, errback) => {
    request('connect-transport', { roomId: state.roomId, transportId: transport.id, dtlsParameters })
      .then(() => callback(), errback);
  });
  transport.on('connectionstatechange', (s) => log(`${direction} transport ${s}`));
  if (direction === 'send') {
    transport.on('produce', ({ kind, rtpParameters }, callback, errback) => {
      request('produce', { roomId: state.roomId, transportId: transport.id, kind, rtpParameters })
        .then(({ id }) => callback({ id }), errback);
    });
  }
  return transport;
}

function tileFor(peerId) {
  let tile = document.querySelector(`#remotes .tile[data-peer="${CSS.escape(peerId)}"]`);
  if (!tile) {
    tile = document.createElement('div');
    tile.className = 'tile';
    tile.dataset.peer = peerId;
    tile.innerHTML = '<video autoplay playsinline muted></video><audio autoplay></audio><div class="name"></div>';
    $('remotes').appendChild(tile);
  }
  return tile;
}

function renderParticipants() {
  for (const p of state.participants) {
    if (p.id === state.socket.id) continue;
    const tile = tileFor(p.id);
    tile.querySelector('.name').textContent =
      `${p.name}${p.isAudioMuted ? ' · muted' : ''}${p.isVideoPaused ? ' · camera off' : ''}`;
    tile.classList.toggle('video-off', p.isVideoPaused);
  }
  for (const tile of document.querySelectorAll('#remotes .tile')) {
    if (!state.participants.some((p) => p.id === tile.dataset.peer)) tile.remove();
  }
  $('count').textContent = `${state.participants.length} in the room`;
}

async function consume(producerId) {
  if (!state.recvTransport) {
    state.pending.push(producerId); // consumed once the receive transport exists
    return;
  }
  if (state.consumed.has(producerId)) return;
  state.consumed.add(producerId);
  try {
    const params = await request('consume', {
      roomId: state.roomId, producerId, rtpCapabilities: state.device.rtpCapabilities,
      transportId: state.recvTransport.id,
    });
    const consumer = await state.recvTransport.consume({
      id: params.id, producerId: params.producerId, kind: params.kind, rtpParameters: params.rtpParameters,
    });
    const peerId = params.peerId || 'unknown';
    state.consumers.set(consumer.id, { consumer, peerId, kind: consumer.kind });
    const el = tileFor(peerId).querySelector(consumer.kind);
    el.srcObject = new MediaStream([consumer.track]);
    el.play().catch(() => {});
    consumer.on('trackended', () => state.consumers.delete(consumer.id));
    await request('resume-consumer', { roomId: state.roomId, consumerId: consumer.id });
  } catch (e) {
    state.consumed.delete(producerId);
    log(`consume failed: ${e.message}`);
  }
}

async function join(event) {
  event.preventDefault();
  state.roomId = $('room').value.trim();
  const name = $('name').value.trim();
  if (!state.roomId) return;
  $('join').disabled = true;
  try {
    state.socket = io({ path: '/socket.io/' });
    state.socket.on('connect_error', (e) => log(`connection error: ${e.message}`));
    state.socket.on('participant-list-update', (list) => { state.participants = list; renderParticipants(); });
    state.socket.on('participant-left', ({ peerId }) => log(`${peerId} left`));
    state.socket.on('new-producer', ({ producerId }) => consume(producerId));
    state.socket.on('consumer-closed', ({ consumerId }) => {
      const c = state.consumers.get(consumerId);
      if (c) { c.consumer.close(); state.consumers.delete(consumerId); }
    });
    state.socket.on('disconnect', (reason) => log(`disconnected: ${reason}`));
    await new Promise((resolve, reject) => {
      state.socket.once('connect', resolve);
      state.socket.once('connect_error', reject);
    });
    const { rtpCapabilities } = await request('get-rtp-capabilities', { roomId: state.roomId });
    state.device = new Device();
    await state.device.load({ routerRtpCapabilities: rtpCapabilities });
    const { existingProducers } = await request('join-mediasoup-room', {
      roomId: state.roomId, rtpCapabilities: state.device.rtpCapabilities, name: name || undefined,
    });
    state.sendTransport = await createTransport('send');
    state.recvTransport = await createTransport('recv');
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
    $('local').srcObject = stream;
    for (const track of stream.getTracks()) {
      state.producers.set(track.kind, await state.sendTransport.produce({ track }));
    }
    for (const id of [...existingProducers, ...state.pending.splice(0)]) await consume(id);
    document.body.classList.add('joined');
    log(`joined ${state.roomId} as ${state.socket.id}`);
  } catch (e) {
    log(`join failed: ${e.message}`);
    leave();
  }
}

async function toggle(kind) {
  const producer = state.producers.get(kind);
  if (!producer) return;
  const pause = !producer.paused;
  if (pause) producer.pause(); else producer.resume();
  await request(pause ? 'pause-producer' : 'resume-producer', { roomId: state.roomId, producerId: producer.id })
    .catch((e) => log(e.message));
  $(kind === 'audio' ? 'mute' : 'camera').textContent = kind === 'audio'
    ? (pause ? 'Unmute' : 'Mute') : (pause ? 'Camera on' : 'Camera off');
}

function leave() {
  for (const p of state.producers.values()) p.track?.stop();
  state.sendTransport?.close();
  state.recvTransport?.close();
  state.socket?.disconnect();
  Object.assign(state, { socket: null, sendTransport: null, recvTransport: null });
  state.producers.clear();
  state.consumers.clear();
  state.consumed.clear();
  state.pending = [];
  state.participants = [];
  $('remotes').innerHTML = '';
  $('local').srcObject = null;
  $('join').disabled = false;
  document.body.classList.remove('joined');
}

$('form').addEventListener('submit', join);
$('mute').addEventListener('click', () => toggle('audio'));
$('camera').addEventListener('click', () => toggle('video'));
$('leave').addEventListener('click', leave);
const params = new URLSearchParams(location.search);
if (params.get('room')) $('room').value = params.get('room');
if (params.get('name')) $('name').value = params.get('name');
window.chorusDemo = state; // for tests and curious people
