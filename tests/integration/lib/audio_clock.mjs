// Paces a 10 ms audio source by the wall clock: every tick sends as many 10 ms frames as
// the time since the start asks for, so the RTP timestamps (a count of samples) keep pace
// with real time on a loaded machine, where a timer alone fires late and the audio would
// fall behind (a recording shorter than the time it covered). A stall longer than a
// second is skipped, not made up in one burst.
export function paceTenMsFrames(sendFrame) {
  const started = performance.now();
  let sent = 0;
  return setInterval(() => {
    const due = Math.floor((performance.now() - started) / 10);
    if (due - sent > 100) sent = due - 100;
    for (; sent < due; sent++) sendFrame();
  }, 10);
}
