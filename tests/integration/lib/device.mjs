// mediasoup-client's Device in Node, on libwebrtc from @roamhq/wrtc.
//
// The native module is loaded on first use only, so that test files that do not need it
// never load it.

let installed = null;

// Makes @roamhq/wrtc's classes the globals mediasoup-client's Chrome111 handler uses.
export async function installWrtc() {
  if (!installed) {
    installed = (async () => {
      const { default: wrtc } = await import('@roamhq/wrtc');
      globalThis.RTCPeerConnection = wrtc.RTCPeerConnection;
      globalThis.MediaStream = wrtc.MediaStream;
      globalThis.MediaStreamTrack ??= wrtc.MediaStreamTrack;
      globalThis.RTCSessionDescription ??= wrtc.RTCSessionDescription;
      globalThis.RTCIceCandidate ??= wrtc.RTCIceCandidate;
      return wrtc;
    })();
  }
  return installed;
}

// Creates a Device (handler Chrome111: the user agent of Node is not recognised) and loads
// the router's capabilities into it. Rejects when mediasoup-client refuses them.
export async function loadDevice(routerRtpCapabilities) {
  await installWrtc();
  const { Device } = await import('mediasoup-client');
  const device = new Device({ handlerName: 'Chrome111' });
  await device.load({ routerRtpCapabilities });
  return device;
}
