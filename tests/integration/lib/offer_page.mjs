// What a page that POSTs SDP offers (WHIP, WHEP) needs besides its transceivers: run
// OFFER_HELPERS in the page first (page.evaluate(OFFER_HELPERS)); it defines
//   window.iceCredentials(sdp)  -> { ufrag, pwd } of an SDP
//   window.offerGathered(pc)    resolves when ICE gathering is complete (at most 5 s)
//   window.offerRestartIce(r)   an ICE restart over PATCH (RFC 9725 §4.3.2) of the resource
//                               r = { pc, location, etag, answer }: the page's new
//                               credentials PATCHed (with `mids`' m-lines when given), the
//                               server's new ones put into the answer; r.answer and r.etag
//                               updated. -> { status, contentType, before, after, etag } or
//                               { status, body } when refused.
export function OFFER_HELPERS() {
  window.iceCredentials = (sdp) => ({ ufrag: /a=ice-ufrag:(.*)\r\n/.exec(sdp)[1], pwd: /a=ice-pwd:(.*)\r\n/.exec(sdp)[1] });
  window.offerGathered = (pc) => new Promise((resolve) => {
    if (pc.iceGatheringState === 'complete') return resolve();
    const timer = setTimeout(resolve, 5000);
    pc.addEventListener('icegatheringstatechange', () => { if (pc.iceGatheringState === 'complete') { clearTimeout(timer); resolve(); } });
  });
  window.offerRestartIce = async (r, { mids = [] } = {}) => {
    r.pc.restartIce();
    const offer = await r.pc.createOffer();
    await r.pc.setLocalDescription(offer);
    const mine = window.iceCredentials(offer.sdp);
    const frag = `a=ice-ufrag:${mine.ufrag}\r\na=ice-pwd:${mine.pwd}\r\n` + mids.map((mid) => `m=audio 9 RTP/AVP 0\r\na=mid:${mid}\r\n`).join('');
    const res = await fetch(r.location, { method: 'PATCH', headers: { 'content-type': 'application/trickle-ice-sdpfrag', 'if-match': r.etag }, body: frag });
    const body = await res.text();
    if (res.status !== 200) return { status: res.status, body };
    const theirs = window.iceCredentials(body);
    const before = window.iceCredentials(r.answer);
    r.answer = r.answer.replaceAll(`a=ice-ufrag:${before.ufrag}\r\n`, `a=ice-ufrag:${theirs.ufrag}\r\n`)
      .replaceAll(`a=ice-pwd:${before.pwd}\r\n`, `a=ice-pwd:${theirs.pwd}\r\n`);
    await r.pc.setRemoteDescription({ type: 'answer', sdp: r.answer });
    r.etag = res.headers.get('etag');
    return { status: res.status, contentType: res.headers.get('content-type'), before: before.ufrag, after: theirs.ufrag, etag: r.etag };
  };
}
