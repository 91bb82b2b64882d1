// Chorus demo app: join a room with camera and microphone, see and hear the others.
// It speaks seed 004's Socket.IO events exactly as the existing frontend does
// (get-rtp-capabilities, join-mediasoup-room, create-webrtc-transport, connect-transport,
// produce, consume, resume-consumer; new-producer, participant-list-update,
// participant-left) plus pause-producer / resume-producer for mute and camera off.
// Who may do what (docs/operations.md, "Tokens and roles"): /healthz tells the page the
// server's auth mode; in mode none the form offers a role, in mode jwt a token field. With a
// role or a token the page reads get-room-info after joining (the own role and permissions),
// joins as a receiver when publishing is refused (and publishes once a moderator allows it),
// gives moderators mute, allow, kick and block buttons on each remote tile, and reacts to the
// moderation events (peer-muted, kicked, room-ended, ...).
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
  stream: null, // the camera and microphone
  withRole: false, // joined with a role (mode none) or a token (mode jwt)
  info: null, // get-room-info: { role, permissions, locked, blocked?, participants }
  roles: new Map(), // peerId -> role, from get-room-info
  names: new Map(), // peerId -> name, kept after the peer left (for the log)
  refused: new Map(), // kind -> track whose produce was refused (publishing not allowed)
  modMuted: new Map(), // peerId -> Set of kinds a moderator muted
  ownModMuted: new Set(), // kinds of this page's producers a moderator muted
};

function log(text) {
  const line = document.createElement('div');
  line.textContent = `${new Date().toLocaleTimeString()} ${text}`;
  $('log').prepend(line);
  while ($('log').childElementCount > 50) $('log').lastChild.remove();
}

function notice(text) {
  $('notice').textContent = text;
}

// emit with an acknowledgement; rejects on the seed-004 `error` field (the error's `code`
// is the server's error code) or after 10 s.
function request(event, data) {
  return new Promise((resolve, reject) => {
    if (!state.socket) {
      reject(new Error(`${event}: not connected`));
      return;
    }
    state.socket.timeout(10000).emit(event, data, (err, response) => {
      if (err) reject(new Error(`${event}: no answer`));
      else if (response && response.error) reject(Object.assign(new Error(`${event}: ${response.error}`), { code: response.code }));
      else resolve(response);
    });
  });
}

const participantName = (peerId) => state.names.get(peerId) || peerId;
const isMe = (peerId) => !!state.socket && peerId === state.socket.id;
const can = (permission) => !!state.info?.permissions?.includes(permission);
const ALL_KINDS = ['audio', 'video', 'screen'];

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
  if (can('moderate') && !tile.querySelector('.mod')) addModeratorButtons(tile, peerId);
  return tile;
}

// A moderator's buttons on a remote tile; each sends one moderation request.
const MOD_BUTTONS = [
  ['mute-audio', 'Mute mic', 'mute-peer', { kind: 'audio' }],
  ['mute-video', 'Mute cam', 'mute-peer', { kind: 'video' }],
  ['allow', 'Allow', 'allow-publish', { kinds: ['audio', 'video'] }],
  ['kick', 'Kick', 'kick-peer', null],
  ['block', 'Block', 'block-peer', null],
];

function addModeratorButtons(tile, peerId) {
  const bar = document.createElement('div');
  bar.className = 'mod';
  for (const [action, label, event, data] of MOD_BUTTONS) {
    const b = document.createElement('button');
    b.type = 'button';
    b.dataset.action = action;
    b.textContent = label;
    b.addEventListener('click', () => {
      const reason = $('reason').value.trim();
      const extra = data || (reason ? { reason } : {});
      const who = participantName(peerId);
      request(event, { peerId, ...extra })
        .then(() => log(`${event} ${who}: done`), (e) => log(e.message));
    });
    bar.appendChild(b);
  }
  tile.appendChild(bar);
}

function renderParticipants() {
  for (const p of state.participants) {
    state.names.set(p.id, p.name);
    if (p.id === state.socket.id) continue;
    const tile = tileFor(p.id);
    const role = state.roles.get(p.id);
    const muted = [...(state.modMuted.get(p.id) || [])];
    tile.querySelector('.name').textContent =
      `${p.name}${role ? ` (${role})` : ''}${p.isAudioMuted ? ' · muted' : ''}${p.isVideoPaused ? ' · camera off' : ''}` +
      `${muted.length ? ` · muted by a moderator (${muted.join(', ')})` : ''}`;
    tile.classList.toggle('video-off', p.isVideoPaused);
    tile.classList.toggle('mod-muted', muted.length > 0);
  }
  for (const tile of document.querySelectorAll('#remotes .tile')) {
    if (!state.participants.some((p) => p.id === tile.dataset.peer)) tile.remove();
  }
  $('count').textContent = `${state.participants.length} in the room`;
}

// get-room-info: the own role and permissions, the others' roles, the lock and (for
// moderators) the block list. One request at a time; a change meanwhile asks again.
let infoBusy = null;
let infoAgain = false;
async function refreshInfo() {
  if (infoBusy) {
    infoAgain = true;
    return infoBusy;
  }
  infoBusy = (async () => {
    do {
      infoAgain = false;
      try {
        showInfo(await request('get-room-info', {}));
      } catch (e) {
        log(e.message);
      }
    } while (infoAgain && state.socket);
  })();
  try {
    await infoBusy;
  } finally {
    infoBusy = null;
  }
}

function showInfo(info) {
  if (!state.socket) return;
  state.info = info;
  state.roles = new Map((info.participants || []).filter((p) => p.role).map((p) => [p.id, p.role]));
  $('me').textContent = `you: ${info.role || 'no role'} (${(info.permissions || []).join(', ') || 'no permissions'})`;
  document.body.classList.toggle('moderator', can('moderate'));
  $('lock').textContent = info.locked ? 'Unlock room' : 'Lock room';
  const blocked = $('blocked');
  blocked.textContent = '';
  for (const b of info.blocked || []) {
    const item = document.createElement('span');
    item.textContent = ` blocked: ${b.userId || b.peerId}${b.reason ? ` (${b.reason})` : ''} `;
    const unblock = document.createElement('button');
    unblock.type = 'button';
    unblock.textContent = 'Unblock';
    unblock.addEventListener('click', () =>
      request('unblock-peer', { peerId: b.userId || b.peerId }).catch((e) => log(e.message)));
    item.appendChild(unblock);
    blocked.appendChild(item);
  }
  renderParticipants();
}

function showPublishState() {
  const refused = [...state.refused.keys()];
  const muted = [...state.ownModMuted];
  $('publish').textContent = [
    refused.length ? `publishing not allowed (${refused.join(', ')})` : '',
    muted.length ? `muted by a moderator (${muted.join(', ')})` : '',
  ].filter(Boolean).join(' · ');
}

// Publishes a track; a refusal for want of permission keeps the track for later (a
// moderator's allow-publish) and the page goes on as a receiver.
async function publish(track) {
  try {
    state.producers.set(track.kind, await state.sendTransport.produce({ track, stopTracks: false }));
    state.refused.delete(track.kind);
  } catch (e) {
    if (e.code !== 'forbidden') throw e;
    state.refused.set(track.kind, track);
    log(`publishing ${track.kind} not allowed: ${e.message}`);
  }
  showPublishState();
}

function onKicked({ reason, by, blocked }) {
  const text = `You were ${blocked ? 'blocked' : 'kicked'} by ${by}${reason ? `: ${reason}` : ''}.`;
  log(text);
  leave();
  notice(text);
}

function onRoomEnded({ reason, by }) {
  const text = `The room was ended by ${by}${reason ? `: ${reason}` : ''}.`;
  log(text);
  leave();
  notice(text);
}

// The moderation events of the room (to everyone, the target included).
function onModeration(event, { peerId, userId, kinds, reason, seconds, by }) {
  const who = isMe(peerId) ? 'you' : (peerId ? participantName(peerId) : '');
  const what = `${kinds?.length ? ` (${kinds.join(', ')})` : ''}${reason ? `: ${reason}` : ''}${seconds ? ` for ${seconds} s` : ''}`;
  log(`${event}${who ? ` ${who}` : ''}${what} by ${by}`);
  if (event === 'peer-muted' && peerId) {
    const set = state.modMuted.get(peerId) || new Set();
    for (const k of kinds || []) set.add(k);
    state.modMuted.set(peerId, set);
  }
  if (event === 'publish-allowed' && peerId) {
    const set = state.modMuted.get(peerId);
    for (const k of kinds || ALL_KINDS) set?.delete(k);
    if (isMe(peerId)) onAllowed(kinds || ALL_KINDS);
  }
  if (event === 'publish-disallowed' && isMe(peerId)) notice(`A moderator (${by}) stopped your publishing${what}.`);
  if (event === 'room-locked' || event === 'room-unlocked') $('lock').textContent = event === 'room-locked' ? 'Unlock room' : 'Lock room';
  renderParticipants();
  if (state.withRole) refreshInfo();
}

// allow-publish named this page: publish what was refused; a moderator's mute is lifted
// (unmuting is the user's choice).
async function onAllowed(kinds) {
  for (const k of kinds) state.ownModMuted.delete(k);
  for (const kind of kinds) {
    const track = state.refused.get(kind);
    if (!track || !state.sendTransport) continue;
    state.refused.delete(kind);
    await publish(track).catch((e) => log(`publishing ${kind} failed: ${e.message}`));
  }
  showPublishState();
  if (!state.ownModMuted.size && $('notice').textContent.startsWith('Muted')) notice('');
}

// producer-paused for this page's own producer: a moderator muted it.
function onOwnPaused(producerId) {
  for (const [kind, producer] of state.producers) {
    if (producer.id !== producerId) continue;
    producer.pause();
    state.ownModMuted.add(kind);
    setToggleLabel(kind, true);
    notice(`Muted by a moderator: your ${kind === 'audio' ? 'microphone' : 'camera'} is off until a moderator allows it.`);
    log(`your ${kind} was muted by a moderator`);
  }
  showPublishState();
}

// producer-closed for this page's own producer (disallow-publish): it may not publish again
// until allowed.
function onOwnClosed(producerId) {
  for (const [kind, producer] of state.producers) {
    if (producer.id !== producerId) continue;
    producer.close();
    state.producers.delete(kind);
    const track = state.stream?.getTracks().find((t) => t.kind === kind);
    if (track) state.refused.set(kind, track);
  }
  showPublishState();
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
  notice('');
  // Mode jwt: the token; mode none: the role, if one was chosen (none: every permission).
  const mode = document.body.dataset.auth;
  const token = mode !== 'none' ? $('token').value.trim() : '';
  const role = mode !== 'jwt' ? $('role').value : '';
  state.withRole = !!(token || role);
  try {
    state.socket = state.withRole
      ? io({ path: '/socket.io/', auth: token ? { token } : { role } })
      : io({ path: '/socket.io/' });
    state.socket.on('connect_error', (e) => {
      log(`connection error: ${e.message}`);
      if (e.data?.code) notice(`Not admitted (${e.data.code}): ${e.message}`);
    });
    state.socket.on('participant-list-update', (list) => { state.participants = list; renderParticipants(); });
    state.socket.on('participant-left', ({ peerId }) => log(`${participantName(peerId)} left`));
    state.socket.on('new-producer', ({ producerId }) => consume(producerId));
    state.socket.on('consumer-closed', ({ consumerId }) => {
      const c = state.consumers.get(consumerId);
      if (c) { c.consumer.close(); state.consumers.delete(consumerId); }
    });
    state.socket.on('disconnect', (reason) => log(`disconnected: ${reason}`));
    state.socket.on('producer-paused', ({ producerId, byModerator }) => {
      if (byModerator) onOwnPaused(producerId);
    });
    state.socket.on('producer-closed', ({ producerId }) => onOwnClosed(producerId));
    state.socket.on('kicked', onKicked);
    state.socket.on('room-ended', onRoomEnded);
    for (const event of ['peer-muted', 'publish-allowed', 'publish-disallowed', 'peer-kicked', 'peer-blocked',
      'peer-unblocked', 'room-locked', 'room-unlocked']) {
      state.socket.on(event, (data) => onModeration(event, data || {}));
    }
    if (state.withRole) state.socket.on('participant-list-update', () => refreshInfo());
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
    if (state.withRole) await refreshInfo();
    state.sendTransport = await createTransport('send');
    state.recvTransport = await createTransport('recv');
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } });
    state.stream = stream;
    $('local').srcObject = stream;
    for (const track of stream.getTracks()) await publish(track);
    for (const id of [...existingProducers, ...state.pending.splice(0)]) await consume(id);
    document.body.classList.add('joined');
    log(`joined ${state.roomId} as ${state.socket.id}`);
  } catch (e) {
    log(`join failed: ${e.message}`);
    leave();
    if (!$('notice').textContent) notice(`Could not join: ${e.message}`);
  }
}

function setToggleLabel(kind, paused) {
  $(kind === 'audio' ? 'mute' : 'camera').textContent = kind === 'audio'
    ? (paused ? 'Unmute' : 'Mute') : (paused ? 'Camera on' : 'Camera off');
}

// Pausing takes effect at once; resuming only once the server agrees (a producer muted by a
// moderator may not resume until allowed: forbidden).
async function toggle(kind) {
  const producer = state.producers.get(kind);
  if (!producer) return;
  const pause = !producer.paused;
  if (pause) {
    producer.pause();
    setToggleLabel(kind, true);
    await request('pause-producer', { roomId: state.roomId, producerId: producer.id }).catch((e) => log(e.message));
    return;
  }
  try {
    await request('resume-producer', { roomId: state.roomId, producerId: producer.id });
    producer.resume();
    setToggleLabel(kind, false);
  } catch (e) {
    log(e.message);
    if (e.code === 'forbidden') notice(`You cannot unmute: ${e.message.replace(/^resume-producer: /, '')}`);
  }
}

function leave() {
  for (const p of state.producers.values()) p.track?.stop();
  for (const t of state.stream?.getTracks() || []) t.stop();
  state.sendTransport?.close();
  state.recvTransport?.close();
  state.socket?.disconnect();
  Object.assign(state, { socket: null, sendTransport: null, recvTransport: null, stream: null, info: null, withRole: false });
  state.producers.clear();
  state.consumers.clear();
  state.consumed.clear();
  state.pending = [];
  state.participants = [];
  state.roles.clear();
  state.names.clear();
  state.refused.clear();
  state.modMuted.clear();
  state.ownModMuted.clear();
  $('remotes').innerHTML = '';
  $('local').srcObject = null;
  $('me').textContent = '';
  $('publish').textContent = '';
  $('blocked').textContent = '';
  $('count').textContent = '';
  $('join').disabled = false;
  setToggleLabel('audio', false);
  setToggleLabel('video', false);
  document.body.classList.remove('joined', 'moderator');
}

$('form').addEventListener('submit', join);
$('mute').addEventListener('click', () => toggle('audio'));
$('camera').addEventListener('click', () => toggle('video'));
$('leave').addEventListener('click', leave);
$('lock').addEventListener('click', () => {
  const event = state.info?.locked ? 'unlock-room' : 'lock-room';
  request(event, {}).catch((e) => log(e.message));
});
$('end').addEventListener('click', () => {
  const reason = $('reason').value.trim();
  request('end-room', reason ? { reason } : {}).catch((e) => log(e.message));
});

// A token naming one room fills the room field (the claims are only read here; the server
// checks the signature).
function roomOfToken(token) {
  try {
    const claims = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return typeof claims.room === 'string' && claims.room !== '*' ? claims.room : '';
  } catch {
    return '';
  }
}
$('token').addEventListener('input', () => {
  const room = roomOfToken($('token').value.trim());
  if (room) $('room').value = room;
});

// The server's auth mode decides which field the form shows (both until it is known).
fetch('/healthz', { cache: 'no-store' })
  .then((r) => r.json())
  .then((h) => { document.body.dataset.auth = h.auth?.mode === 'jwt' ? 'jwt' : 'none'; })
  .catch(() => {});

const params = new URLSearchParams(location.search);
if (params.get('room')) $('room').value = params.get('room');
if (params.get('name')) $('name').value = params.get('name');
if (params.get('role')) $('role').value = params.get('role');
if (params.get('token')) {
  $('token').value = params.get('token');
  $('token').dispatchEvent(new Event('input'));
}
window.chorusDemo = state; // for tests and curious people
