// Barcode input: keyboard-wedge scanners and typing (Enter-terminated) through a
// form, and the camera through BarcodeDetector where the browser has it.

export const cameraSupported =
  typeof window !== "undefined" && "BarcodeDetector" in window && !!navigator.mediaDevices?.getUserMedia;

/**
 * Wire a scan form: every submitted value goes to ``onScan`` and the field is
 * cleared and keeps focus, ready for the next scan.
 */
export function bindScanForm(form, onScan) {
  const input = form.querySelector("input");
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    const value = input.value.trim();
    input.value = "";
    if (value) onScan(value);
    input.focus({ preventScroll: true });
  });
  const cam = form.querySelector("[data-camera]");
  if (cam) {
    cam.hidden = !cameraSupported;
    cam.addEventListener("click", async () => {
      const value = await scanWithCamera();
      if (value) onScan(value);
    });
  }
}

let detector = null;

/** Open the camera overlay; resolves to the first barcode read, or null when cancelled. */
export async function scanWithCamera() {
  if (!cameraSupported) return null;
  const overlay = document.getElementById("camera");
  const video = document.getElementById("camera-video");
  const close = document.getElementById("camera-close");
  let stream;
  try {
    if (!detector) {
      let formats;
      try {
        formats = await window.BarcodeDetector.getSupportedFormats();
      } catch {
        formats = undefined;
      }
      detector = formats && formats.length ? new window.BarcodeDetector({ formats }) : new window.BarcodeDetector();
    }
    stream = await navigator.mediaDevices.getUserMedia({
      video: { facingMode: { ideal: "environment" }, width: { ideal: 1280 } },
      audio: false,
    });
  } catch (err) {
    alert(`The camera is not available: ${err.message || err}`);
    return null;
  }
  overlay.hidden = false;
  video.srcObject = stream;
  await video.play().catch(() => {});
  return new Promise((resolve) => {
    let done = false;
    const finish = (value) => {
      if (done) return;
      done = true;
      overlay.hidden = true;
      stream.getTracks().forEach((t) => t.stop());
      video.srcObject = null;
      close.removeEventListener("click", cancel);
      if (value && navigator.vibrate) navigator.vibrate(80);
      resolve(value);
    };
    const cancel = () => finish(null);
    close.addEventListener("click", cancel);
    const tick = async () => {
      if (done) return;
      try {
        if (video.readyState >= 2) {
          const codes = await detector.detect(video);
          if (codes.length && codes[0].rawValue) {
            finish(codes[0].rawValue.trim());
            return;
          }
        }
      } catch {
        /* a frame the detector could not read */
      }
      setTimeout(tick, 150);
    };
    tick();
  });
}
