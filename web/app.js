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
// The live class (docs/protocol.md, "The live class"): raise and lower a hand (a moderator
// sees the queue and lowers hands), the chat (history on join, private messages, a
// moderator deletes messages and turns the chat off), polls (a moderator starts and closes
// them, everyone votes and sees live results), screen shares (getDisplayMedia, produced
// with appData.source "screen", shown big on the others' pages) and the active speaker's
// tile highlighted (active-speaker, audio-levels).
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
  sources: new Map(), // producerId -> appData.source from new-producer ("screen", ...)
  screen: null, // this page's screen share: { producer, track }
  hands: [], // hands-update: [{ peerId, userId, name, raisedAt }], oldest first
  chat: { room: true, me: true }, // whether the room's chat is on, and this page may write
  polls: new Map(), // pollId -> the newest poll-started / poll-results / poll-closed
  myVotes: new Map(), // pollId -> Set of option indexes this page voted for
  speaker: null, // the active speaker's peer id
  audience: 0, // audience-update's count: those who watch, counted instead of listed
  audienceQuery: null, // the moderator's search of the audience is being answered
  audienceAgain: false, // asked again while a search was being answered
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
    transport.on('produce', ({ kind, rtpParameters, appData }, callback, errback) => {
      const extra = appData && Object.keys(appData).length ? { appData } : {};
      request('produce', { roomId: state.roomId, transportId: transport.id, kind, rtpParameters, ...extra })
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
    tile.innerHTML = '<video autoplay playsinline muted></video><audio autoplay></audio><div class="level"></div>' +
      '<div class="name"></div><div class="badge">Hand raised</div>';
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
  ['allow-screen', 'Allow share', 'allow-publish', { kinds: ['screen'] }],
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
  for (const tile of document.querySelectorAll('#remotes .tile, #screens .screen-tile:not(.own)')) {
    if (!state.participants.some((p) => p.id === tile.dataset.peer)) tile.remove();
  }
  renderCount();
  renderScreens();
  renderMarks();
  renderChatTo();
}

// On stage (listed, with tiles) and in the audience (a count, which moderators can search).
function renderCount() {
  const stage = `${state.participants.length} on stage`;
  $('count').textContent = state.audience > 0 ? `${stage} · ${state.audience} watching` : `${state.participants.length} in the class`;
  $('audience-count').textContent = String(state.audience);
}

// A moderator's view of the audience: get-participants with the search's text, the first
// 50 matches, each with its hand and a button that brings it on stage (allow-publish).
// One request at a time; a search typed or an update meanwhile asks again when it is done,
// so the list always ends up matching the text in the box.
async function searchAudience() {
  if (!can('moderate')) return;
  if (state.audienceQuery) {
    state.audienceAgain = true;
    return;
  }
  state.audienceAgain = false;
  const filter = $('audience-filter').value.trim();
  state.audienceQuery = request('get-participants', { limit: 50, filter });
  try {
    const page = await state.audienceQuery;
    if (state.audienceAgain) return; // the finally asks again with the newer text
    // Rows are kept per participant (only their text changes), so an "On stage" click
    // while an update arrives lands on the row it was aimed at.
    const list = $('audience-list');
    const rows = new Map([...list.children].map((li) => [li.dataset.peer, li]));
    const shown = [];
    for (const p of page.participants.filter((x) => x.inAudience)) {
      let item = rows.get(p.id);
      if (!item) {
        item = elt('li');
        item.dataset.peer = p.id;
        item.append(elt('span', 'who'), button('On stage', 'on-stage', () => bringOnStage(p.id, p.name)));
      }
      item.querySelector('.who').textContent = `${p.name}${p.handRaised ? ' · hand raised' : ''}`;
      shown.push(item);
    }
    list.replaceChildren(...shown);
    $('audience-empty').hidden = shown.length > 0;
  } catch (e) {
    log(e.message);
  } finally {
    state.audienceQuery = null;
    if (state.audienceAgain) searchAudience();
  }
}

function bringOnStage(peerId, name) {
  request('allow-publish', { peerId, kinds: ['audio', 'video'] })
    .then(() => log(`${name || participantName(peerId)} brought on stage`), (e) => log(e.message));
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
  $('me').textContent = `you: ${info.role || 'no role'}`;
  $('me').title = `permissions: ${(info.permissions || []).join(', ') || 'none'}`;
  document.body.classList.toggle('moderator', can('moderate'));
  if (typeof info.chatEnabled === 'boolean') state.chat.me = info.chatEnabled || can('moderate');
  renderChatState();
  renderHands();
  renderPoll();
  if (can('moderate') && state.audience > 0) searchAudience();
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
    const appData = { source: track.kind === 'audio' ? 'mic' : 'webcam' };
    state.producers.set(track.kind, await state.sendTransport.produce({ track, stopTracks: false, appData }));
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
  if (state.screen?.producer.id === producerId) {
    stopShare(false);
    notice('A moderator stopped your screen share.');
  }
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
  removeScreen(producerId);
  if (state.screen?.producer.id === producerId) stopShare(false);
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
    const source = state.sources.get(producerId) || '';
    state.consumers.set(consumer.id, { consumer, peerId, kind: consumer.kind, source });
    if (source === 'screen') showScreen(peerId, producerId, consumer.track);
    else {
      const el = tileFor(peerId).querySelector(consumer.kind);
      el.srcObject = new MediaStream([consumer.track]);
      el.play().catch(() => {});
    }
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
    state.socket.on('new-producer', ({ producerId, source }) => {
      if (source) state.sources.set(producerId, source);
      consume(producerId);
    });
    state.socket.on('consumer-closed', ({ consumerId, producerId }) => {
      const c = state.consumers.get(consumerId);
      if (c) { c.consumer.close(); state.consumers.delete(consumerId); }
      removeScreen(producerId || c?.consumer.producerId);
    });
    addClassHandlers(state.socket);
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
    findExistingScreens(existingProducers);
    document.body.classList.add('joined');
    $('roomname').textContent = state.roomId;
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
  stopShare(false);
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
  state.audience = 0;
  state.roles.clear();
  state.names.clear();
  state.refused.clear();
  state.modMuted.clear();
  state.ownModMuted.clear();
  $('remotes').innerHTML = '';
  $('screens').innerHTML = '';
  $('chat-list').innerHTML = '';
  Object.assign(state, { hands: [], speaker: null, chat: { room: true, me: true } });
  state.sources.clear();
  state.polls.clear();
  state.myVotes.clear();
  renderScreens();
  renderMarks();
  renderHands();
  renderPoll();
  renderChatState();
  renderChatTo();
  $('roomname').textContent = '';
  $('local').srcObject = null;
  $('me').textContent = '';
  $('publish').textContent = '';
  $('blocked').textContent = '';
  $('count').textContent = '';
  $('join').disabled = false;
  setToggleLabel('audio', false);
  setToggleLabel('video', false);
  document.body.classList.remove('joined', 'moderator', 'poll-open');
}

// ---- The live class -------------------------------------------------------------------

function elt(tag, className, text) {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}
function button(text, action, onClick, className = '') {
  const b = elt('button', className, text);
  b.type = 'button';
  if (action) b.dataset.action = action;
  b.addEventListener('click', onClick);
  return b;
}
const clock = (ms) => new Date(ms || Date.now()).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
const TEACHING_ROLES = ['teacher', 'moderator'];
const teaches = (peerId) => TEACHING_ROLES.includes(state.roles.get(peerId));
const escaped = (value) => CSS.escape(String(value));

// Screen shares: a big tile per share above the cameras (this page's own share too, small).
function showScreen(peerId, producerId, track, own = false) {
  let tile = document.querySelector(`#screens .screen-tile[data-producer="${escaped(producerId)}"]`);
  if (!tile) {
    tile = elt('div', `screen-tile${own ? ' own' : ''}`);
    tile.dataset.peer = peerId;
    tile.dataset.producer = producerId;
    tile.innerHTML = '<video autoplay playsinline muted></video><div class="name"></div>';
    $('screens').appendChild(tile);
  }
  const video = tile.querySelector('video');
  video.srcObject = new MediaStream([track]);
  video.play().catch(() => {});
  renderScreens();
}

function removeScreen(producerId) {
  if (!producerId) return;
  document.querySelector(`#screens .screen-tile[data-producer="${escaped(producerId)}"]`)?.remove();
  renderScreens();
}

function renderScreens() {
  for (const tile of document.querySelectorAll('#screens .screen-tile')) {
    tile.querySelector('.name').textContent = tile.classList.contains('own')
      ? 'Your screen: the class sees it' : `${participantName(tile.dataset.peer)} is presenting`;
  }
  document.body.classList.toggle('has-screen', !!document.querySelector('#screens .screen-tile'));
}

// The producers handed over at the join are ids only: a participant listed with
// isScreenSharing shares its newest video producer (the list is in creation order).
function findExistingScreens(ids) {
  const existing = new Set(ids);
  for (const p of state.participants) {
    if (!p.isScreenSharing || isMe(p.id)) continue;
    const videos = [...state.consumers.values()].filter((c) => c.peerId === p.id && c.kind === 'video'
      && existing.has(c.consumer.producerId) && !state.sources.has(c.consumer.producerId));
    const share = videos.at(-1);
    if (!share) continue;
    share.source = 'screen';
    state.sources.set(share.consumer.producerId, 'screen');
    const video = tileFor(p.id).querySelector('video');
    if (video.srcObject?.getTracks()[0] === share.consumer.track) {
      const camera = videos.at(-2);
      video.srcObject = camera ? new MediaStream([camera.consumer.track]) : null;
    }
    showScreen(p.id, share.consumer.producerId, share.consumer.track);
  }
}

function renderShareButton() {
  $('share').textContent = state.screen ? 'Stop sharing' : 'Share screen';
  $('share').classList.toggle('active', !!state.screen);
}

async function startShare() {
  if (state.screen || !state.sendTransport) return;
  if (state.info && !can('publish-screen')) {
    notice('Sharing your screen needs your teacher\'s permission: raise your hand to ask.');
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getDisplayMedia({ video: { frameRate: 15 }, audio: false });
  } catch (e) {
    log(`screen share not started: ${e.message}`);
    return;
  }
  await shareTrack(stream.getVideoTracks()[0]);
}

// Produces `track` as this page's screen share (appData.source "screen").
async function shareTrack(track) {
  try {
    const producer = await state.sendTransport.produce({ track, stopTracks: false, appData: { source: 'screen' } });
    state.screen = { producer, track };
    track.addEventListener('ended', () => stopShare(true)); // the browser's own "stop sharing"
    showScreen(state.socket.id, producer.id, track, true);
    log('screen share started');
  } catch (e) {
    track.stop();
    if (e.code === 'forbidden') notice('Sharing your screen needs your teacher\'s permission.');
    log(`screen share refused: ${e.message}`);
  }
  renderShareButton();
}

function stopShare(tellServer = true) {
  const share = state.screen;
  if (!share) return;
  state.screen = null;
  share.track.stop();
  if (!share.producer.closed) share.producer.close();
  if (tellServer && state.socket) {
    request('close-producer', { roomId: state.roomId, producerId: share.producer.id }).catch((e) => log(e.message));
  }
  removeScreen(share.producer.id);
  renderShareButton();
  log('screen share stopped');
}

// Hands: the own button, the moderators' queue, a badge on the tiles of raised hands.
const myHandUp = () => !!state.socket && state.hands.some((h) => h.peerId === state.socket.id);

function renderHands() {
  const up = myHandUp();
  $('hand').textContent = up ? 'Lower hand' : 'Raise hand';
  $('hand').classList.toggle('active', up);
  const list = $('hands-list');
  list.textContent = '';
  for (const h of state.hands) {
    const item = elt('li');
    item.dataset.peer = h.peerId;
    item.append(elt('span', 'who', `${h.name || participantName(h.peerId)}${isMe(h.peerId) ? ' (you)' : ''}`),
      elt('span', 'since', clock(h.raisedAt)));
    if (can('moderate')) {
      if (!state.participants.some((p) => p.id === h.peerId)) {
        item.append(button('On stage', 'on-stage', () => bringOnStage(h.peerId, h.name)));
      }
      item.append(button('Lower', 'lower-hand', () =>
        request('lower-hand', { peerId: h.peerId }).catch((e) => log(e.message))));
    }
    list.append(item);
  }
  $('hands-count').textContent = String(state.hands.length);
  $('hands-empty').hidden = state.hands.length > 0;
  renderMarks();
}

// The marks on the tiles: a raised hand, the active speaker, the audio level.
function renderMarks() {
  const up = new Set(state.hands.map((h) => h.peerId));
  for (const tile of document.querySelectorAll('#remotes .tile')) {
    tile.classList.toggle('hand-up', up.has(tile.dataset.peer));
    tile.classList.toggle('speaking', !!state.speaker && tile.dataset.peer === state.speaker);
  }
  const local = document.querySelector('#stage .tile.local');
  local.classList.toggle('hand-up', !!state.socket && up.has(state.socket.id));
  local.classList.toggle('speaking', !!state.speaker && isMe(state.speaker));
}

function onActiveSpeaker({ peerId } = {}) {
  state.speaker = peerId || null;
  renderMarks();
}

// audio-levels: volumes in dBov (-127..0) of the loudest producers; -80 and below show empty.
function onAudioLevels(levels) {
  const level = new Map();
  for (const l of Array.isArray(levels) ? levels : []) {
    level.set(l.peerId, Math.max(level.get(l.peerId) || 0, Math.min(1, Math.max(0, (Number(l.volume) + 80) / 80))));
  }
  for (const tile of document.querySelectorAll('#remotes .tile')) tile.style.setProperty('--level', level.get(tile.dataset.peer) || 0);
  const mine = state.socket ? level.get(state.socket.id) || 0 : 0;
  document.querySelector('#stage .tile.local').style.setProperty('--level', mine);
}

// Chat.
function renderChatTo() {
  const select = $('chat-to');
  const keep = select.value;
  select.textContent = '';
  select.append(new Option('To everyone', ''));
  for (const p of state.participants) {
    // A student writes privately to the teachers; a moderator to anyone.
    if (isMe(p.id) || !(can('moderate') || teaches(p.id))) continue;
    const role = state.roles.get(p.id);
    select.append(new Option(`Privately to ${p.name}${role && teaches(p.id) ? ` (${role})` : ''}`, p.id));
  }
  select.value = [...select.options].some((o) => o.value === keep) ? keep : '';
  select.parentElement.hidden = select.options.length < 2;
}

function renderChatState() {
  const moderator = can('moderate');
  const mayWrite = state.chat.me && (state.chat.room || moderator);
  $('chat-text').disabled = !mayWrite;
  $('chat-send').disabled = !mayWrite;
  $('chat-text').placeholder = mayWrite ? 'Write a message' : 'The chat is closed';
  $('chat-panel').classList.toggle('chat-off', !mayWrite);
  $('chat-state').textContent = !state.chat.room
    ? (moderator ? 'The chat is off for the class (teachers may still write).' : 'The teacher has turned the chat off.')
    : (!state.chat.me ? 'You cannot write in the chat now.' : '');
  $('chat-toggle').textContent = state.chat.room ? 'Turn chat off' : 'Turn chat on';
}

function addChatMessage(m) {
  if (!m || m.id === undefined || document.querySelector(`#chat-list .msg[data-id="${escaped(m.id)}"]`)) return;
  const mine = isMe(m.from);
  const box = elt('div', `msg${mine ? ' mine' : ''}${m.to ? ' private' : ''}`);
  box.dataset.id = m.id;
  box.dataset.from = m.from;
  const meta = elt('div', 'meta');
  meta.append(elt('span', 'who', mine ? 'You' : (m.name || participantName(m.from))));
  const role = state.roles.get(m.from);
  if (TEACHING_ROLES.includes(role)) meta.append(elt('span', 'pill', role));
  if (m.to) meta.append(elt('span', 'priv', mine ? `privately to ${participantName(m.to)}` : 'privately to you'));
  meta.append(elt('span', 'spacer'), elt('span', 'when', clock(m.at)));
  if (!m.to) {
    meta.append(button('Delete', 'delete-chat', () =>
      request('delete-chat-message', { id: m.id }).catch((e) => log(e.message)), 'del'));
  }
  box.append(meta, elt('div', 'text', m.text));
  const list = $('chat-list');
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  list.append(box);
  if (atBottom || mine) list.scrollTop = list.scrollHeight;
}

async function sendChat(event) {
  event.preventDefault();
  const text = $('chat-text').value.trim();
  if (!text || !state.socket) return;
  const to = $('chat-to').value;
  try {
    await request('chat-message', to ? { text, to } : { text });
    $('chat-text').value = '';
  } catch (e) {
    log(e.message);
    $('chat-state').textContent = {
      'rate-limited': 'Slow down: too many messages at once.',
      forbidden: 'You cannot write in the chat now.',
    }[e.code] || `Not sent: ${e.message.replace(/^chat-message: /, '')}`;
  }
}

// chat-disabled / chat-enabled: for the room (no peerId) or for one participant.
function onChatSwitch(enabled, { peerId, by }) {
  if (!peerId) state.chat.room = enabled;
  else if (isMe(peerId)) state.chat.me = enabled;
  log(`chat ${enabled ? 'enabled' : 'disabled'}${peerId ? ` for ${isMe(peerId) ? 'you' : participantName(peerId)}` : ''} by ${by}`);
  renderChatState();
  if (state.withRole) refreshInfo();
}

// Polls: the newest one is shown, with vote buttons, live results and (for moderators) Close.
function currentPoll() {
  let current = null;
  for (const p of state.polls.values()) if (!current || (p.createdAt || 0) >= (current.createdAt || 0)) current = p;
  return current;
}

function onPoll(poll) {
  if (!poll?.pollId) return;
  state.polls.set(poll.pollId, poll);
  renderPoll();
}

// The poll box is rebuilt only for another poll (or another state of it: closed, the
// moderator's button); live results update the rows in place, so a vote clicked while
// results arrive lands on the button it was aimed at, not on one being replaced.
function renderPoll() {
  const box = $('poll');
  const p = currentPoll();
  document.body.classList.toggle('poll-open', !!p && !p.closed);
  if (!p) {
    box.textContent = '';
    delete box.dataset.poll;
    delete box.dataset.shape;
    box.append(elt('p', 'empty', 'No poll right now.'));
    return;
  }
  const shape = `${p.pollId}|${!!p.closed}|${can('moderate')}`;
  if (box.dataset.shape !== shape) buildPoll(box, p, shape);
  const mine = state.myVotes.get(p.pollId) || new Set();
  for (const row of box.querySelectorAll('.option')) {
    const i = Number(row.dataset.index);
    const count = p.counts?.[i] || 0;
    const percent = p.voters ? Math.round((100 * count) / p.voters) : 0;
    row.classList.toggle('chosen', mine.has(i));
    row.dataset.count = count;
    row.querySelector('.bar').style.width = `${percent}%`;
    row.querySelector('.count').textContent = `${count} · ${percent} %`;
  }
  box.querySelector('.voters').textContent =
    `${p.voters || 0} ${p.voters === 1 ? 'vote' : 'votes'}${p.multiple ? ' · several answers allowed' : ''}`;
}

function buildPoll(box, p, shape) {
  box.textContent = '';
  box.dataset.poll = p.pollId;
  box.dataset.shape = shape;
  box.dataset.closed = String(!!p.closed);
  box.append(elt('p', 'question', p.question));
  p.options.forEach((text, i) => {
    const row = elt('div', 'option');
    row.dataset.index = i;
    const b = button('', 'vote', () => vote(p.pollId, i));
    b.disabled = !!p.closed;
    b.append(elt('span', 'bar'), document.createTextNode(text));
    row.append(b, elt('span', 'count', ''));
    box.append(row);
  });
  const footer = elt('div', 'footer');
  footer.append(elt('span', 'voters', ''), elt('span', 'spacer'));
  if (p.closed) footer.append(elt('span', 'closed-tag', 'Closed: final results'));
  else if (can('moderate')) {
    const close = button('Close poll', 'close-poll', () =>
      request('close-poll', { pollId: p.pollId }).catch((e) => log(e.message)));
    close.id = 'poll-close';
    footer.append(close);
  }
  box.append(footer);
}

async function vote(pollId, index) {
  const poll = state.polls.get(pollId);
  if (!poll || poll.closed) return;
  const chosen = new Set(state.myVotes.get(pollId) || []);
  if (!poll.multiple) chosen.clear();
  if (poll.multiple && chosen.has(index)) chosen.delete(index);
  else chosen.add(index);
  if (!chosen.size) return;
  try {
    await request('vote', { pollId, options: [...chosen].sort((a, b) => a - b) });
    state.myVotes.set(pollId, chosen);
    renderPoll();
  } catch (e) {
    log(e.message);
  }
}

async function createPoll(event) {
  event.preventDefault();
  const question = $('poll-question').value.trim();
  const options = $('poll-options').value.split('\n').map((o) => o.trim()).filter(Boolean);
  $('poll-error').textContent = '';
  if (!question || options.length < 2 || options.length > 10) {
    $('poll-error').textContent = 'A poll needs a question and 2 to 10 answers, one per line.';
    return;
  }
  try {
    await request('create-poll', { question, options, multiple: $('poll-multiple').checked });
    $('poll-question').value = '';
    $('poll-options').value = '';
    $('poll-multiple').checked = false;
  } catch (e) {
    $('poll-error').textContent = e.message.replace(/^create-poll: /, '');
  }
}

function addClassHandlers(socket) {
  socket.on('audience-update', ({ count }) => {
    state.audience = count;
    renderCount();
    searchAudience();
  });
  socket.on('hands-update', (hands) => {
    state.hands = Array.isArray(hands) ? hands : [];
    renderHands();
  });
  socket.on('chat-history', (messages) => {
    $('chat-list').textContent = '';
    for (const m of Array.isArray(messages) ? messages : []) addChatMessage(m);
  });
  socket.on('chat-message', addChatMessage);
  socket.on('chat-message-deleted', ({ id } = {}) =>
    document.querySelector(`#chat-list .msg[data-id="${escaped(id)}"]`)?.remove());
  socket.on('chat-disabled', (data) => onChatSwitch(false, data || {}));
  socket.on('chat-enabled', (data) => onChatSwitch(true, data || {}));
  for (const event of ['poll-started', 'poll-results', 'poll-closed']) socket.on(event, onPoll);
  socket.on('active-speaker', onActiveSpeaker);
  socket.on('audio-levels', onAudioLevels);
}

$('hand').addEventListener('click', () => {
  request(myHandUp() ? 'lower-hand' : 'raise-hand', {}).catch((e) => log(e.message));
});
$('share').addEventListener('click', () => (state.screen ? stopShare(true) : startShare()));
$('chat-form').addEventListener('submit', sendChat);
$('chat-toggle').addEventListener('click', () => {
  request(state.chat.room ? 'disable-chat' : 'enable-chat', {}).catch((e) => log(e.message));
});
$('poll-form').addEventListener('submit', createPoll);
$('audience-filter').addEventListener('input', () => searchAudience());
renderChatTo();
renderShareButton();

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
